// Package igvmtest writes IGVM files for tests: any sequence of headers with
// their file data, laid out as the igvm crate lays files out (fixed header,
// variable headers, file data), with the checksum computed. It is not part
// of the library's API.
package igvmtest

import (
	"bytes"
	"io"
	"sync/atomic"

	"github.com/snpmeasure/snpmeasure/igvm"
)

// Builder collects headers in file order.
type Builder struct {
	// Version is the format version: 1 (default) or 2 (x64, 4 KiB pages).
	Version uint32
	// Dedup shares the file data of identical pages, as the igvm crate's
	// serializer does.
	Dedup   bool
	entries []entry
}

type entry struct {
	body igvm.Body
	data []byte
}

// Add appends a header; data, when not nil, is placed in the file data and
// its offset written into the body's file_offset (PAGE_DATA, PARAMETER_AREA,
// VP_CONTEXT). It returns the header's position among all headers added.
func (b *Builder) Add(body igvm.Body, data []byte) int {
	b.entries = append(b.entries, entry{body, data})
	return len(b.entries) - 1
}

// Platform adds a SUPPORTED_PLATFORM header.
func (b *Builder) Platform(mask uint32, p igvm.PlatformType) {
	b.Add(igvm.SupportedPlatform{CompatibilityMask: mask, PlatformType: p, PlatformVersion: 1}, nil)
}

// Policy adds a GUEST_POLICY header.
func (b *Builder) Policy(mask uint32, policy uint64) {
	b.Add(igvm.GuestPolicy{Policy: policy, CompatibilityMask: mask}, nil)
}

// Page adds a PAGE_DATA directive; data (nil: none) is zero-padded to 4 KiB.
func (b *Builder) Page(gpa uint64, mask uint32, flags igvm.PageDataFlags, t igvm.PageDataType, data []byte) {
	if data != nil && len(data) < igvm.PageSize {
		data = append(append([]byte(nil), data...), make([]byte, igvm.PageSize-len(data))...)
	}
	b.Add(igvm.PageData{GPA: gpa, CompatibilityMask: mask, Flags: flags, DataType: t}, data)
}

// VMSA adds a VP_CONTEXT directive with a 4 KiB VMSA page.
func (b *Builder) VMSA(gpa uint64, mask uint32, vp uint16, page []byte) {
	b.Add(igvm.VPContext{GPA: gpa, CompatibilityMask: mask, VPIndex: vp}, page)
}

// Bytes lays the file out. A file without data gets one zero page of data:
// the igvm crate refuses files whose variable headers end the file.
func (b *Builder) Bytes() []byte {
	version := b.Version
	if version == 0 {
		version = igvm.Version1
	}
	fixed := igvm.FixedHeader{Magic: igvm.Magic, FormatVersion: version, PageSize: igvm.PageSize}
	fixedSize := fixed.Size()
	varSize := 0
	for _, e := range b.entries {
		varSize += len(igvm.AppendHeader(nil, e.body))
	}
	dataStart := fixedSize + varSize
	var data []byte
	seen := map[string]uint32{}
	var vh []byte
	for _, e := range b.entries {
		body := e.body
		if e.data != nil {
			off, ok := seen[string(e.data)]
			if !ok || !b.Dedup {
				off = uint32(dataStart + len(data))
				data = append(data, e.data...)
				seen[string(e.data)] = off
			}
			switch v := body.(type) {
			case igvm.PageData:
				v.FileOffset = off
				body = v
			case igvm.ParameterArea:
				v.FileOffset = off
				body = v
			case igvm.VPContext:
				v.FileOffset = off
				body = v
			}
		}
		vh = igvm.AppendHeader(vh, body)
	}
	if len(data) == 0 {
		data = make([]byte, igvm.PageSize)
	}
	fixed.VariableHeaderOffset = uint32(fixedSize)
	fixed.VariableHeaderSize = uint32(len(vh))
	fixed.TotalFileSize = uint32(dataStart + len(data))
	fixed.Checksum = igvm.Checksum(fixed, vh)
	var out bytes.Buffer
	out.Write(fixed.Marshal())
	out.Write(vh)
	out.Write(data)
	return out.Bytes()
}

// CountingReaderAt counts the reads made of R and the bytes they return,
// for tests of how often a file is read.
type CountingReaderAt struct {
	R            io.ReaderAt
	Calls, Bytes atomic.Int64
}

// ReadAt reads from R and counts.
func (c *CountingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.Calls.Add(1)
	n, err := c.R.ReadAt(p, off)
	c.Bytes.Add(int64(n))
	return n, err
}
