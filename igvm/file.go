package igvm

import (
	"bufio"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"iter"
	"math/bits"
)

// Errors wrapped by FormatError, for callers that branch on the kind.
var (
	ErrTruncated    = errors.New("file is truncated")
	ErrMagic        = errors.New("not an IGVM file (bad magic)")
	ErrVersion      = errors.New("unsupported IGVM format version")
	ErrChecksum     = errors.New("checksum does not match")
	ErrUnknownType  = errors.New("unknown variable header type")
	ErrHeaderLength = errors.New("variable header has the wrong length")
	ErrOrder        = errors.New("variable header out of section order")
	ErrInvalid      = errors.New("invalid header")
	ErrFileData     = errors.New("file data out of range")
)

// FormatError is a malformed IGVM file: Offset is the file offset at fault
// (the start of the header that is wrong, or of the data it names).
type FormatError struct {
	Offset int64
	// Header names the header at fault, e.g. "directive[12] PAGE_DATA"; empty for the fixed header.
	Header string
	Msg    string
	Err    error
}

func (e *FormatError) Error() string {
	if e.Header != "" {
		return fmt.Sprintf("offset %#x: %s: %s", e.Offset, e.Header, e.Msg)
	}
	return fmt.Sprintf("offset %#x: %s", e.Offset, e.Msg)
}

func (e *FormatError) Unwrap() error { return e.Err }

func formatErr(off int64, hdr string, kind error, format string, args ...any) error {
	return &FormatError{Offset: off, Header: hdr, Msg: fmt.Sprintf(format, args...), Err: kind}
}

// Header is one variable header.
type Header struct {
	// Section is the header's section; Index its position in that section
	// (directive[Index] for directives).
	Section Section
	Index   int
	// Offset is the file offset of the header's type field.
	Offset int64
	Type   HeaderType
	// Length is the body length in the header (before padding to 8 bytes).
	Length uint32
	Body   Body
}

// Name returns e.g. "directive[12] PAGE_DATA" or "platform[0] SUPPORTED_PLATFORM".
func (h *Header) Name() string {
	return fmt.Sprintf("%s[%d] %s", sectionPrefix(h.Section), h.Index, h.Type)
}

func sectionPrefix(s Section) string {
	switch s {
	case SectionPlatform:
		return "platform"
	case SectionInitialization:
		return "initialization"
	}
	return "directive"
}

// File is an opened IGVM file: its fixed header, platform and initialization
// headers, read and validated by Open. Directives are streamed from the file
// by Directives, so that files of any size are read in bounded memory.
type File struct {
	r    io.ReaderAt
	size int64

	Fixed           FixedHeader
	Platforms       []Header // SUPPORTED_PLATFORM headers, in file order
	Initializations []Header // initialization headers, in file order

	dataStart int64 // variable_header_offset + variable_header_size
	varEnd    int64
	dirStart  int64 // offset of the first directive header

	maskPlatform map[uint32]PlatformType
	ptRegions    []PageTableRelocation
	vpIdents     []vpIdent
}

type vpIdent struct {
	mask    uint32
	vpIndex uint16
	vtl     uint8
}

// Size returns the file size.
func (f *File) Size() int64 { return f.size }

// DataStart returns the offset of the file data section.
func (f *File) DataStart() int64 { return f.dataStart }

// ReaderAt returns the reader the file was opened on.
func (f *File) ReaderAt() io.ReaderAt { return f.r }

// Revision2 reports whether the file has a version 2 fixed header.
func (f *File) Revision2() bool { return f.Fixed.FormatVersion == Version2 }

// Arch returns the file's architecture (ArchX64 for version 1).
func (f *File) Arch() uint32 {
	if f.Revision2() {
		return f.Fixed.Architecture
	}
	return ArchX64
}

// Platform returns the compatibility mask of the first SUPPORTED_PLATFORM
// header of the platform type, as igvmmeasure selects it.
func (f *File) Platform(p PlatformType) (uint32, bool) {
	for _, h := range f.Platforms {
		sp := h.Body.(SupportedPlatform)
		if sp.PlatformType == p {
			return sp.CompatibilityMask, true
		}
	}
	return 0, false
}

// PlatformOfMask returns the platform whose compatibility mask equals m (the
// last such header wins, as in the igvm crate).
func (f *File) PlatformOfMask(m uint32) (PlatformType, bool) {
	p, ok := f.maskPlatform[m]
	return p, ok
}

// Open reads and checks the fixed header (magic, version, sizes, checksum),
// and the platform and initialization headers. It reads the variable headers
// once to check the checksum, in bounded memory.
func Open(r io.ReaderAt, size int64) (*File, error) {
	f := &File{r: r, size: size, maskPlatform: map[uint32]PlatformType{}}
	var fh [FixedHeaderV2Size]byte
	n, err := r.ReadAt(fh[:], 0)
	if n < FixedHeaderV1Size {
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("reading the fixed header: %w", err)
		}
		return nil, formatErr(0, "", ErrTruncated, "%d bytes, shorter than the %d-byte fixed header", size, FixedHeaderV1Size)
	}
	h := parseFixedHeader(fh[:FixedHeaderV1Size])
	if h.Magic != Magic {
		return nil, formatErr(0, "", ErrMagic, "magic %#08x, want %#08x (\"IGVM\")", h.Magic, Magic)
	}
	switch h.FormatVersion {
	case Version1:
	case Version2:
		if n < FixedHeaderV2Size {
			return nil, formatErr(0, "", ErrTruncated, "version 2 file shorter than the %d-byte fixed header", FixedHeaderV2Size)
		}
		h = parseFixedHeader(fh[:])
		if h.Architecture != ArchX64 && h.Architecture != ArchAArch64 {
			return nil, formatErr(0x18, "", ErrInvalid, "architecture %d, want 0 (x64) or 1 (AArch64)", h.Architecture)
		}
		if h.PageSize != PageSize {
			return nil, formatErr(0x1C, "", ErrInvalid, "page size %#x, want 0x1000", h.PageSize)
		}
	default:
		return nil, formatErr(4, "", ErrVersion, "format version %d, want 1 or 2", h.FormatVersion)
	}
	f.Fixed = h
	if int64(h.TotalFileSize) != size {
		return nil, formatErr(0x10, "", ErrTruncated, "total_file_size %#x, but the file has %#x bytes", h.TotalFileSize, size)
	}
	varOff := int64(h.VariableHeaderOffset)
	if varOff >= size {
		return nil, formatErr(0x08, "", ErrInvalid, "variable_header_offset %#x is not inside the %#x-byte file", varOff, size)
	}
	f.dataStart = varOff + int64(h.VariableHeaderSize)
	if f.dataStart >= size {
		return nil, formatErr(0x0C, "", ErrInvalid,
			"variable headers end at %#x, not before the end of the %#x-byte file (the igvm crate requires file data after them)",
			f.dataStart, size)
	}
	f.varEnd = f.dataStart
	if err := f.checkChecksum(); err != nil {
		return nil, err
	}
	if err := f.readHeadSections(); err != nil {
		return nil, err
	}
	return f, nil
}

// checkChecksum computes CRC-32 (IEEE, as crc32fast) over the fixed header
// with its checksum field zero, then the variable headers.
func (f *File) checkChecksum() error {
	h := f.Fixed
	h.Checksum = 0
	crc := crc32.ChecksumIEEE(h.Marshal())
	sr := io.NewSectionReader(f.r, int64(f.Fixed.VariableHeaderOffset), f.varEnd-int64(f.Fixed.VariableHeaderOffset))
	buf := make([]byte, 64<<10)
	for {
		n, err := sr.Read(buf)
		crc = crc32.Update(crc, crc32.IEEETable, buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading the variable headers: %w", err)
		}
	}
	if crc != f.Fixed.Checksum {
		return formatErr(0x14, "", ErrChecksum, "checksum %#08x, computed %#08x", f.Fixed.Checksum, crc)
	}
	return nil
}

// headerReader reads variable headers one by one.
type headerReader struct {
	f   *File
	br  *bufio.Reader
	off int64
	buf []byte
}

func (f *File) newHeaderReader(start int64) *headerReader {
	return &headerReader{f: f, br: bufio.NewReaderSize(io.NewSectionReader(f.r, start, f.varEnd-start), 64<<10), off: start}
}

// peekType returns the type of the next header, or ok false at the end.
func (hr *headerReader) peek() (HeaderType, uint32, bool, error) {
	if hr.off >= hr.f.varEnd {
		return 0, 0, false, nil
	}
	b, err := hr.br.Peek(VariableHeaderSize)
	if len(b) < VariableHeaderSize {
		if err == io.EOF || err == nil || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, 0, false, formatErr(hr.off, "", ErrTruncated, "%d bytes left in the variable headers, too few for a header", hr.f.varEnd-hr.off)
		}
		return 0, 0, false, fmt.Errorf("reading the variable headers at %#x: %w", hr.off, err)
	}
	return HeaderType(le.Uint32(b)), le.Uint32(b[4:]), true, nil
}

// next reads the header whose type and length peek returned. It checks the
// length against igvm_defs and returns the body and the header's offset.
func (hr *headerReader) next(name string) (Body, int64, error) {
	off := hr.off
	t, length, _, err := hr.peek()
	if err != nil {
		return nil, off, err
	}
	want := bodySize(t)
	if !t.Known() {
		return nil, off, formatErr(off, name, ErrUnknownType, "header type %#x is not defined by igvm_defs 0.4.0", uint32(t))
	}
	if int(length) != want {
		return nil, off, formatErr(off, name, ErrHeaderLength, "length %d, want %d", length, want)
	}
	padded := (want + alignment - 1) &^ (alignment - 1)
	total := int64(VariableHeaderSize + padded)
	if off+total > hr.f.varEnd {
		return nil, off, formatErr(off, name, ErrTruncated, "header of %d bytes crosses the end of the variable headers at %#x", total, hr.f.varEnd)
	}
	if cap(hr.buf) < int(total) {
		hr.buf = make([]byte, total)
	}
	b := hr.buf[:total]
	if _, err := io.ReadFull(hr.br, b); err != nil {
		return nil, off, fmt.Errorf("reading the variable headers at %#x: %w", off, err)
	}
	hr.off += total
	return decodeBody(t, b[VariableHeaderSize:VariableHeaderSize+want]), off, nil
}

// readHeadSections reads the platform and initialization headers.
func (f *File) readHeadSections() error {
	hr := f.newHeaderReader(int64(f.Fixed.VariableHeaderOffset))
	platformTypes := map[PlatformType]bool{}
	ptMasks := uint32(0)
	type region struct{ start, end uint64 } // [start, end)
	regions := map[uint32][]region{}
	nRegions := 0
	for {
		start := hr.off
		t, _, ok, err := hr.peek()
		if err != nil {
			return err
		}
		if !ok {
			f.dirStart = hr.off
			break
		}
		sec := t.Section()
		if sec == SectionDirective {
			f.dirStart = start
			break
		}
		if sec == SectionNone {
			return formatErr(start, "", ErrUnknownType, "header type %#x is in no section's range", uint32(t))
		}
		if sec == SectionPlatform && len(f.Initializations) > 0 {
			return formatErr(start, "", ErrOrder, "platform header %s after the initialization headers", t)
		}
		var name string
		if sec == SectionPlatform {
			name = fmt.Sprintf("platform[%d] %s", len(f.Platforms), t)
		} else {
			name = fmt.Sprintf("initialization[%d] %s", len(f.Initializations), t)
		}
		body, off, err := hr.next(name)
		if err != nil {
			return err
		}
		bad := func(format string, args ...any) error { return formatErr(off, name, ErrInvalid, format, args...) }
		switch v := body.(type) {
		case SupportedPlatform:
			if bits.OnesCount32(v.CompatibilityMask) != 1 {
				return bad("compatibility mask %#x must have exactly one bit set", v.CompatibilityMask)
			}
			if v.HighestVTL != 0 && v.HighestVTL != highestVTLMax {
				return bad("highest VTL %d, want 0 or 2", v.HighestVTL)
			}
			if !v.PlatformType.Known() {
				return bad("unknown platform type %#x", uint8(v.PlatformType))
			}
			if v.PlatformVersion != platformVersion {
				return bad("%s platform version %d, want 1", v.PlatformType, v.PlatformVersion)
			}
			if (v.PlatformType == PlatformNative || v.PlatformType == PlatformVSM) && v.SharedGPABoundary != 0 {
				return bad("%s platform with a shared GPA boundary %#x", v.PlatformType, v.SharedGPABoundary)
			}
			if v.PlatformType != PlatformVSM && f.Arch() != ArchX64 {
				return bad("%s platform in an AArch64 file", v.PlatformType)
			}
			if platformTypes[v.PlatformType] {
				return bad("a second %s platform header", v.PlatformType)
			}
			platformTypes[v.PlatformType] = true
			f.maskPlatform[v.CompatibilityMask] = v.PlatformType
			f.Platforms = append(f.Platforms, Header{Section: sec, Index: len(f.Platforms), Offset: off, Type: t, Length: uint32(bodySize(t)), Body: v})
			continue
		case GuestPolicy:
			if v.Reserved != 0 {
				return bad("reserved field is %#x, must be zero", v.Reserved)
			}
		case RelocatableRegion:
			switch {
			case v.RelocationRegionSize%PageSize != 0:
				return bad("region size %#x is not a multiple of 4 KiB", v.RelocationRegionSize)
			case v.RelocationAlignment%PageSize != 0 || v.RelocationAlignment == 0:
				return bad("relocation alignment %#x is not a non-zero multiple of 4 KiB", v.RelocationAlignment)
			case v.RelocationRegionGPA%v.RelocationAlignment != 0, v.MinimumRelocationGPA%v.RelocationAlignment != 0,
				v.MaximumRelocationGPA%v.RelocationAlignment != 0:
				return bad("region GPA %#x, minimum %#x or maximum %#x not aligned to %#x", v.RelocationRegionGPA,
					v.MinimumRelocationGPA, v.MaximumRelocationGPA, v.RelocationAlignment)
			case v.VTL > 2:
				return bad("VTL %d", v.VTL)
			}
		case PageTableRelocation:
			switch {
			case v.Reserved != 0:
				return bad("reserved field is %#x, must be zero", v.Reserved)
			case v.GPA%PageSize != 0 || v.Size%PageSize != 0 || v.UsedSize%PageSize != 0:
				return bad("GPA %#x, size %#x and used size %#x must be 4 KiB aligned", v.GPA, v.Size, v.UsedSize)
			case v.UsedSize > v.Size:
				return bad("used size %#x exceeds the size %#x", v.UsedSize, v.Size)
			case v.VTL > 2:
				return bad("VTL %d", v.VTL)
			case v.CompatibilityMask&ptMasks != 0:
				return bad("a second page table relocation region for mask %#x", v.CompatibilityMask&ptMasks)
			}
			ptMasks |= v.CompatibilityMask
		}
		// Relocation regions and page table regions of one mask bit must not overlap.
		var mask uint32
		var rs, size uint64
		switch v := body.(type) {
		case RelocatableRegion:
			mask, rs, size = v.CompatibilityMask, v.RelocationRegionGPA, v.RelocationRegionSize
			f.vpIdents = append(f.vpIdents, vpIdent{v.CompatibilityMask, v.VPIndex, v.VTL})
		case PageTableRelocation:
			mask, rs, size = v.CompatibilityMask, v.GPA, v.Size
			f.vpIdents = append(f.vpIdents, vpIdent{v.CompatibilityMask, v.VPIndex, v.VTL})
			f.ptRegions = append(f.ptRegions, v)
		}
		switch body.(type) {
		case RelocatableRegion, PageTableRelocation:
			if nRegions++; nRegions > MaxRelocationRegions {
				return bad("more than %d relocation regions", MaxRelocationRegions)
			}
		}
		if mask != 0 || size != 0 {
			if size == 0 || rs+size < rs {
				return bad("region at %#x of size %#x is empty or wraps", rs, size)
			}
			for m := mask; m != 0; m &= m - 1 {
				bit := m & -m
				for _, r := range regions[bit] {
					if rs < r.end && r.start < rs+size {
						return bad("region %#x-%#x overlaps region %#x-%#x of mask %#x", rs, rs+size, r.start, r.end, bit)
					}
				}
				regions[bit] = append(regions[bit], region{rs, rs + size})
			}
		}
		f.Initializations = append(f.Initializations, Header{Section: sec, Index: len(f.Initializations), Offset: off, Type: t, Length: uint32(bodySize(t)), Body: body})
	}
	if len(f.Platforms) == 0 {
		return formatErr(int64(f.Fixed.VariableHeaderOffset), "", ErrInvalid, "no SUPPORTED_PLATFORM header")
	}
	return nil
}

// Directives yields every directive header in file order, validated as the
// igvm crate validates them (lengths, alignment, reserved fields, file data
// ranges, parameter area use, VP context decoding). It stops at the first
// error, which it yields with a zero Header. Only the header being read is in
// memory; file data is checked against the file size, never read, except the
// few bytes that decide whether a VP context is valid.
func (f *File) Directives() iter.Seq2[Header, error] {
	return func(yield func(Header, error) bool) {
		v := newDirectiveValidator(f)
		hr := f.newHeaderReader(f.dirStart)
		for i := 0; ; i++ {
			start := hr.off
			t, _, ok, err := hr.peek()
			if err != nil {
				yield(Header{}, err)
				return
			}
			if !ok {
				break
			}
			name := fmt.Sprintf("directive[%d] %s", i, t)
			if sec := t.Section(); sec != SectionDirective {
				if sec == SectionNone {
					yield(Header{}, formatErr(start, name, ErrUnknownType, "header type %#x is in no section's range", uint32(t)))
				} else {
					yield(Header{}, formatErr(start, name, ErrOrder, "%s header after the directives", sec))
				}
				return
			}
			body, off, err := hr.next(name)
			if err != nil {
				yield(Header{}, err)
				return
			}
			h := Header{Section: SectionDirective, Index: i, Offset: off, Type: t, Length: uint32(bodySize(t)), Body: body}
			if err := v.check(&h, name); err != nil {
				yield(Header{}, err)
				return
			}
			if !yield(h, nil) {
				return
			}
		}
		if err := v.finish(); err != nil {
			yield(Header{}, err)
		}
	}
}

// Headers is every header of a file, collected by ReadAll.
type Headers struct {
	Platforms       []Header
	Initializations []Header
	Directives      []Header
}

// ReadAll collects every directive of f. It is meant for small files: the
// directives of a 1 GiB file take about 100 MiB; use Directives to stream.
func (f *File) ReadAll() (*Headers, error) {
	hs := &Headers{Platforms: f.Platforms, Initializations: f.Initializations}
	for h, err := range f.Directives() {
		if err != nil {
			return nil, err
		}
		hs.Directives = append(hs.Directives, h)
	}
	return hs, nil
}

// Parse opens an IGVM file held in memory and collects all its headers.
func Parse(data []byte) (*File, *Headers, error) {
	f, err := Open(bytesReaderAt(data), int64(len(data)))
	if err != nil {
		return nil, nil, err
	}
	hs, err := f.ReadAll()
	if err != nil {
		return nil, nil, err
	}
	return f, hs, nil
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// DataRange returns the file range [off, off+n) of n bytes of file data at
// fileOffset, checked as the igvm crate checks it: inside the file data
// section (after the variable headers) and the file.
func (f *File) DataRange(fileOffset uint32, n uint64) (int64, error) {
	off := int64(fileOffset)
	if off < f.dataStart {
		return 0, fmt.Errorf("%w: file offset %#x is before the file data at %#x", ErrFileData, off, f.dataStart)
	}
	if n > uint64(f.size) || off > f.size-int64(n) {
		return 0, fmt.Errorf("%w: %#x bytes at file offset %#x go beyond the end of the %#x-byte file", ErrFileData, n, off, f.size)
	}
	return off, nil
}

// ReadData reads n bytes of file data at fileOffset (n is bounded by the file size).
func (f *File) ReadData(fileOffset uint32, n int) ([]byte, error) {
	off, err := f.DataRange(fileOffset, uint64(n))
	if err != nil {
		return nil, err
	}
	b := make([]byte, n)
	if _, err := f.r.ReadAt(b, off); err != nil {
		return nil, fmt.Errorf("reading %d bytes at %#x: %w", n, off, err)
	}
	return b, nil
}

// VPContextData returns the 4096 bytes of a VMSA VP context.
func (f *File) VPContextData(v VPContext) ([]byte, error) {
	return f.ReadData(v.FileOffset, PageSize)
}
