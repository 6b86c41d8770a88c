package igvm

import (
	"bufio"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
)

// Checksum returns the fixed header's checksum for a fixed header (its
// checksum field is ignored) followed by the variable headers.
func Checksum(fixed FixedHeader, variableHeaders []byte) uint32 {
	fixed.Checksum = 0
	crc := crc32.ChecksumIEEE(fixed.Marshal())
	return crc32.Update(crc, crc32.IEEETable, variableHeaders)
}

// AppendHeader appends a variable header (type, length, body padded with
// zeros to 8 bytes) to dst.
func AppendHeader(dst []byte, b Body) []byte {
	body := b.Marshal()
	var th [VariableHeaderSize]byte
	le.PutUint32(th[0:], uint32(b.Type()))
	le.PutUint32(th[4:], uint32(len(body)))
	dst = append(dst, th[:]...)
	dst = append(dst, body...)
	pad := (alignment - len(body)%alignment) % alignment
	return append(dst, make([]byte, pad)...)
}

// ErrIDBlocks is returned when a file has several ID blocks for the platform.
var ErrIDBlocks = errors.New("the file has more than one SNP_ID_BLOCK for the platform")

// idBlockHeaderSize is the size an SNP_ID_BLOCK directive takes in the variable headers.
const idBlockHeaderSize = VariableHeaderSize + SNPIDBlockSize

// WithIDBlock writes to w a copy of f that carries blk. An SNP_ID_BLOCK
// whose compatibility mask overlaps blk's is replaced in place; otherwise blk
// is appended after the last directive, as igvmmeasure sign appends it, and
// every file offset in the directives moves by the directive's 704 bytes.
// The sizes and the checksum are recomputed; the format version, the other
// headers and the file data are kept (igvmmeasure sign rewrites the whole
// file as version 1; the headers and the measurement are the same). The file
// is read twice, in bounded memory.
func WithIDBlock(w io.Writer, f *File, blk SNPIDBlock) error {
	replace := -1
	n := 0
	for h, err := range f.Directives() {
		if err != nil {
			return err
		}
		if b, ok := h.Body.(SNPIDBlock); ok && b.CompatibilityMask&blk.CompatibilityMask != 0 {
			replace = h.Index
			n++
		}
	}
	if n > 1 {
		return fmt.Errorf("%w (%d)", ErrIDBlocks, n)
	}
	varOff := int64(f.Fixed.VariableHeaderOffset)
	if varOff < int64(f.Fixed.Size()) {
		return fmt.Errorf("variable headers at %#x overlap the fixed header", varOff)
	}
	fixed := f.Fixed
	var delta int64
	if replace < 0 {
		delta = idBlockHeaderSize
		if int64(fixed.TotalFileSize)+delta > math.MaxUint32 {
			return fmt.Errorf("the file with an ID block would exceed 4 GiB")
		}
		fixed.VariableHeaderSize += uint32(delta)
		fixed.TotalFileSize += uint32(delta)
	}
	emit := func(out func([]byte) error) error {
		return f.rewriteHeaders(replace, blk, delta, out)
	}
	crc := crc32.ChecksumIEEE(func() []byte { h := fixed; h.Checksum = 0; return h.Marshal() }())
	if err := emit(func(b []byte) error { crc = crc32.Update(crc, crc32.IEEETable, b); return nil }); err != nil {
		return err
	}
	fixed.Checksum = crc
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.Write(fixed.Marshal()); err != nil {
		return err
	}
	// Bytes between the fixed header and the variable headers are kept.
	if _, err := io.Copy(bw, io.NewSectionReader(f.r, int64(f.Fixed.Size()), varOff-int64(f.Fixed.Size()))); err != nil {
		return err
	}
	if err := emit(func(b []byte) error { _, err := bw.Write(b); return err }); err != nil {
		return err
	}
	if _, err := io.Copy(bw, io.NewSectionReader(f.r, f.dataStart, f.size-f.dataStart)); err != nil {
		return fmt.Errorf("copying the file data: %w", err)
	}
	return bw.Flush()
}

// rewriteHeaders streams the variable headers to out, replacing directive
// replace with blk (or appending blk when replace < 0) and moving every
// non-zero file offset by delta.
func (f *File) rewriteHeaders(replace int, blk SNPIDBlock, delta int64, out func([]byte) error) error {
	br := bufio.NewReaderSize(io.NewSectionReader(f.r, int64(f.Fixed.VariableHeaderOffset), f.varEnd-int64(f.Fixed.VariableHeaderOffset)), 64<<10)
	off := int64(f.Fixed.VariableHeaderOffset)
	dir := 0
	var buf []byte
	for off < f.varEnd {
		var th [VariableHeaderSize]byte
		if _, err := io.ReadFull(br, th[:]); err != nil {
			return fmt.Errorf("reading the variable headers at %#x: %w", off, err)
		}
		t := HeaderType(le.Uint32(th[:]))
		padded := (int64(le.Uint32(th[4:])) + alignment - 1) &^ (alignment - 1)
		if off+VariableHeaderSize+padded > f.varEnd {
			return formatErr(off, "", ErrTruncated, "header crosses the end of the variable headers")
		}
		if int64(cap(buf)) < padded {
			buf = make([]byte, padded)
		}
		body := buf[:padded]
		if _, err := io.ReadFull(br, body); err != nil {
			return fmt.Errorf("reading the variable headers at %#x: %w", off, err)
		}
		if t.Section() == SectionDirective {
			if dir == replace {
				if err := out(AppendHeader(nil, blk)); err != nil {
					return err
				}
				off += VariableHeaderSize + padded
				dir++
				continue
			}
			dir++
			switch t {
			case TypePageData, TypeParameterArea, TypeVPContext:
				if fo := le.Uint32(body[0x0C:]); fo != 0 && delta != 0 {
					nfo := int64(fo) + delta
					if nfo > math.MaxUint32 {
						return formatErr(off, "", ErrFileData, "file offset %#x cannot move past 4 GiB", fo)
					}
					le.PutUint32(body[0x0C:], uint32(nfo))
				}
			}
		}
		if err := out(th[:]); err != nil {
			return err
		}
		if err := out(body); err != nil {
			return err
		}
		off += VariableHeaderSize + padded
	}
	if replace < 0 {
		return out(AppendHeader(nil, blk))
	}
	return nil
}
