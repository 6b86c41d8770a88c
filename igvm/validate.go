package igvm

import (
	"bytes"
	"fmt"
)

// MaxRelocationRegions bounds the RELOCATABLE_REGION and
// PAGE_TABLE_RELOCATION headers of a file (each is checked against the
// others of its mask bits). A real file has one or two.
const MaxRelocationRegions = 1024

// MaxParameterAreas bounds the PARAMETER_AREA directives of a file. A real
// file has a handful (igvmbuilder writes four: the parameter page, the
// memory map, the MADT and the device tree); the bound keeps the memory
// the validator and the loaders spend on areas small whatever the file.
const MaxParameterAreas = 1 << 16

// MaxVBSRegisters bounds the registers of one VBS VP context. The igvm
// crate knows 41 x64 and 10 AArch64 register names (registers.rs) and a
// context sets each register once, so a real context has at most 41; the
// bound leaves room for more and caps one context's table at 32 KiB, read
// in one piece.
const MaxVBSRegisters = 1024

// areaState is the state of a parameter area index.
type areaState uint8

const (
	areaAllocated areaState = iota + 1
	areaInserted
)

type area struct {
	state areaState
	size  uint64
}

// directiveValidator checks directives as the igvm crate's new_from_binary
// and validate_directive_headers do. Its memory grows with the number of
// parameter areas (at most MaxParameterAreas) and of distinct VBS contexts
// (bounded by the file data) only.
type directiveValidator struct {
	f        *File
	areas    map[uint32]area
	vpIdents []vpIdent
	zero     []byte
	// vbsVTL holds the VTL of each VBS context checked, by file offset:
	// many VP_CONTEXT directives may name one context, which is read once.
	vbsVTL map[uint32]uint8
	// vbsBytes counts the bytes of the distinct VBS contexts read; their
	// tables do not overlap in a real file, so it never exceeds the file
	// data, and the work of checking them is linear in the file.
	vbsBytes int64
	vbsBuf   []byte
}

func newDirectiveValidator(f *File) *directiveValidator {
	return &directiveValidator{f: f, areas: map[uint32]area{}, vpIdents: append([]vpIdent(nil), f.vpIdents...),
		vbsVTL: map[uint32]uint8{}}
}

// endsPast2to64 reports whether n bytes (n > 0) at gpa go past the top of
// the 64-bit guest physical address space (a range ending at 2^64 is fine).
func endsPast2to64(gpa, n uint64) bool { return n > 0 && gpa+(n-1) < gpa }

// VBS register names the igvm crate accepts (registers.rs, hv_defs.rs).
var (
	vbsX64Registers = map[uint32]bool{
		0x70001: true, 0x70000: true, 0x60003: true, 0x60000: true, 0x60004: true, 0x60005: true, 0x60002: true,
		0x60001: true, 0x60007: true, 0x40000: true, 0x40002: true, 0x40003: true, 0x80001: true, 0x80004: true,
		0x20005: true, 0x20010: true, 0x20006: true, 0x20004: true, 0x20008: true, 0x20009: true, 0x2000a: true,
		0x2000b: true, 0x2000c: true, 0x20011: true, 0x8000e: true,
		0x80010: true, 0x80011: true, 0x80012: true, 0x80013: true, 0x80014: true,
		0x80040: true, 0x80041: true, 0x80042: true, 0x80043: true, 0x80044: true,
		0x80070: true, 0x80071: true, 0x80077: true, 0x80078: true, 0x80079: true, 0x8007a: true,
	}
	vbsAArch64Registers = map[uint32]bool{
		0x20022: true, 0x20000: true, 0x20001: true, 0x20023: true, 0x40002: true, 0x40007: true, 0x4000B: true,
		0x4000C: true, 0x40005: true, 0x40006: true,
	}
)

func (v *directiveValidator) check(h *Header, name string) error {
	bad := func(format string, args ...any) error {
		return formatErr(h.Offset, name, ErrInvalid, format, args...)
	}
	dataErr := func(err error) error {
		return &FormatError{Offset: h.Offset, Header: name, Msg: err.Error(), Err: ErrFileData}
	}
	aligned := func(gpa uint64) bool { return gpa%PageSize == 0 }
	switch b := h.Body.(type) {
	case PageData:
		if b.Reserved != 0 {
			return bad("reserved field is %#x, must be zero", b.Reserved)
		}
		if r := b.Flags &^ pageDataFlagsDefined; r != 0 {
			return bad("flags %#x: bits %#x are reserved (igvm_defs IgvmPageDataFlags defines bits 0 to 2 only)", uint32(b.Flags), uint32(r))
		}
		if b.HasData() {
			if _, err := v.f.DataRange(b.FileOffset, PageSize); err != nil {
				return dataErr(err)
			}
		}
		if !aligned(b.GPA) {
			return bad("GPA %#x is not 4 KiB aligned", b.GPA)
		}
		if b.DataType > DataCPUIDXF {
			return bad("data type %#x is not NORMAL, SECRETS, CPUID_DATA or CPUID_XF", uint16(b.DataType))
		}
		if endsPast2to64(b.GPA, b.PageSize()) {
			return bad("a %#x-byte page at GPA %#x goes past the top of the address space (2^64)", b.PageSize(), b.GPA)
		}
	case ParameterArea:
		if b.FileOffset != 0 {
			if _, err := v.f.DataRange(b.FileOffset, b.NumberOfBytes); err != nil {
				return dataErr(err)
			}
		}
		if b.NumberOfBytes%PageSize != 0 {
			return bad("size %#x is not a multiple of 4 KiB", b.NumberOfBytes)
		}
		if _, dup := v.areas[b.Index]; dup {
			return bad("parameter area index %d is declared twice", b.Index)
		}
		if len(v.areas) >= MaxParameterAreas {
			return bad("more than %d parameter areas (a real file has a handful)", MaxParameterAreas)
		}
		v.areas[b.Index] = area{areaAllocated, b.NumberOfBytes}
	case Parameter:
		if v.areas[b.Index].state != areaAllocated {
			return bad("parameter area %d is not declared, or already inserted", b.Index)
		}
	case ParameterInsert:
		if !aligned(b.GPA) {
			return bad("GPA %#x is not 4 KiB aligned", b.GPA)
		}
		a := v.areas[b.Index]
		if a.state != areaAllocated {
			return bad("parameter area %d is not declared, or already inserted", b.Index)
		}
		if endsPast2to64(b.GPA, a.size) {
			return bad("parameter area %d of %#x bytes at GPA %#x goes past the top of the address space (2^64)", b.Index, a.size, b.GPA)
		}
		a.state = areaInserted
		v.areas[b.Index] = a
		for _, r := range v.f.ptRegions {
			if r.CompatibilityMask&b.CompatibilityMask != 0 && b.GPA >= r.GPA && b.GPA-r.GPA < r.Size {
				return bad("parameter insert at %#x inside the page table region %#x-%#x", b.GPA, r.GPA, r.GPA+r.Size)
			}
		}
	case VPContext:
		p, ok := v.f.maskPlatform[b.CompatibilityMask]
		if !ok {
			return bad("compatibility mask %#x is not the mask of one platform", b.CompatibilityMask)
		}
		switch p {
		case PlatformSEVSNP, PlatformSEVES:
			b.Kind = VPContextVMSA
			if err := v.zeroTail(b.FileOffset, VMSASize); err != nil {
				return wrapData(h, name, err)
			}
			if !aligned(b.GPA) {
				return bad("GPA %#x is not 4 KiB aligned", b.GPA)
			}
		case PlatformNative, PlatformSEV:
			b.Kind = VPContextNative
			if err := v.zeroTail(b.FileOffset, NativeVPContextX64Size); err != nil {
				return wrapData(h, name, err)
			}
			if v.f.Arch() != ArchX64 {
				return bad("native x64 VP context in an AArch64 file")
			}
		case PlatformVSM:
			b.Kind = VPContextVBS
			vtl, err := v.vbs(b)
			if err != nil {
				return wrapData(h, name, err)
			}
			b.VBSVTL = vtl
			kept := v.vpIdents[:0]
			for _, id := range v.vpIdents {
				if !(id.mask&b.CompatibilityMask != 0 && id.vpIndex == 0 && id.vtl == vtl) {
					kept = append(kept, id)
				}
			}
			v.vpIdents = kept
		default:
			return bad("VP context for the %s platform", p)
		}
		h.Body = b
	case RequiredMemory:
		if b.Reserved != 0 {
			return bad("reserved field is %#x, must be zero", b.Reserved)
		}
		if !aligned(b.GPA) || b.NumberOfBytes%PageSize != 0 {
			return bad("GPA %#x and size %#x must be 4 KiB aligned", b.GPA, b.NumberOfBytes)
		}
		if endsPast2to64(b.GPA, uint64(b.NumberOfBytes)) {
			return bad("%#x bytes at GPA %#x go past the top of the address space (2^64)", b.NumberOfBytes, b.GPA)
		}
	case ErrorRange:
		if !aligned(b.GPA) {
			return bad("GPA %#x is not 4 KiB aligned", b.GPA)
		}
		if endsPast2to64(b.GPA, uint64(b.SizeBytes)) {
			return bad("%#x bytes at GPA %#x go past the top of the address space (2^64)", b.SizeBytes, b.GPA)
		}
	}
	return nil
}

func wrapData(h *Header, name string, err error) error {
	if fe, ok := err.(*FormatError); ok {
		fe.Header = name
		return fe
	}
	return &FormatError{Offset: h.Offset, Header: name, Msg: err.Error(), Err: ErrFileData}
}

// zeroTail checks that a 4 KiB context at fileOffset exists and that its
// bytes after the structure (n bytes) are zero.
func (v *directiveValidator) zeroTail(fileOffset uint32, n int) error {
	off, err := v.f.DataRange(fileOffset, PageSize)
	if err != nil {
		return err
	}
	tail := make([]byte, PageSize-n)
	if _, err := v.f.r.ReadAt(tail, off+int64(n)); err != nil {
		return fmt.Errorf("reading the VP context at %#x: %w", off, err)
	}
	if v.zero == nil {
		v.zero = make([]byte, PageSize)
	}
	if !bytes.Equal(tail, v.zero[:len(tail)]) {
		return &FormatError{Offset: off + int64(n), Msg: fmt.Sprintf("VP context has non-zero bytes after its %#x-byte structure", n), Err: ErrInvalid}
	}
	return nil
}

// vbs checks a VBS VP context: a register count, then that many 32-byte
// registers of one VTL and of names the igvm crate knows, for VP 0. A
// context named by several directives is checked once; its register table
// is read in one piece.
func (v *directiveValidator) vbs(c VPContext) (uint8, error) {
	off, err := v.f.DataRange(c.FileOffset, VBSVPContextHeaderSize)
	if err != nil {
		return 0, err
	}
	if c.VPIndex != 0 {
		return 0, &FormatError{Offset: off, Msg: fmt.Sprintf("VBS VP context for VP %d (the igvm crate supports VP 0 only)", c.VPIndex), Err: ErrInvalid}
	}
	if vtl, ok := v.vbsVTL[c.FileOffset]; ok {
		return vtl, nil
	}
	var hdr [VBSVPContextHeaderSize]byte
	if _, err := v.f.r.ReadAt(hdr[:], off); err != nil {
		return 0, fmt.Errorf("reading the VBS context at %#x: %w", off, err)
	}
	count := int64(le.Uint32(hdr[:]))
	switch {
	case count == 0:
		return 0, &FormatError{Offset: off, Msg: "VBS VP context has no registers", Err: ErrInvalid}
	case count > MaxVBSRegisters:
		return 0, &FormatError{Offset: off, Msg: fmt.Sprintf("VBS VP context of %d registers, more than %d (the igvm crate knows 41 x64 and 10 AArch64 register names)", count, MaxVBSRegisters), Err: ErrInvalid}
	}
	regsOff := off + VBSVPContextHeaderSize
	n := count * VBSVPContextRegisterSize
	if n > v.f.size-regsOff {
		return 0, &FormatError{Offset: off, Msg: fmt.Sprintf("VBS VP context of %d registers goes beyond the end of the file", count), Err: ErrFileData}
	}
	v.vbsBytes += VBSVPContextHeaderSize + n
	if data := v.f.size - v.f.dataStart; v.vbsBytes > data {
		return 0, &FormatError{Offset: off, Msg: fmt.Sprintf("the VBS VP contexts' register tables add up to more than the %#x bytes of file data: they overlap", data), Err: ErrInvalid}
	}
	if int64(cap(v.vbsBuf)) < n {
		v.vbsBuf = make([]byte, MaxVBSRegisters*VBSVPContextRegisterSize)
	}
	regs := v.vbsBuf[:n]
	if _, err := v.f.r.ReadAt(regs, regsOff); err != nil {
		return 0, fmt.Errorf("reading the VBS context at %#x: %w", regsOff, err)
	}
	known := vbsX64Registers
	if v.f.Arch() == ArchAArch64 {
		known = vbsAArch64Registers
	}
	vtl := regs[0]
	for i := int64(0); i < count; i++ {
		reg := regs[i*VBSVPContextRegisterSize : (i+1)*VBSVPContextRegisterSize]
		ro := regsOff + i*VBSVPContextRegisterSize
		if reg[0] != vtl {
			return 0, &FormatError{Offset: ro, Msg: fmt.Sprintf("register %d has VTL %d, the first has %d", i, reg[0], vtl), Err: ErrInvalid}
		}
		if name := le.Uint32(reg[1:]); !known[name] {
			return 0, &FormatError{Offset: ro, Msg: fmt.Sprintf("register %d: register name %#x is not supported", i, name), Err: ErrInvalid}
		}
	}
	if vtl > 2 {
		return 0, &FormatError{Offset: regsOff, Msg: fmt.Sprintf("VTL %d", vtl), Err: ErrInvalid}
	}
	v.vbsVTL[c.FileOffset] = vtl
	return vtl, nil
}

func (v *directiveValidator) finish() error {
	if len(v.vpIdents) > 0 {
		id := v.vpIdents[0]
		return formatErr(v.f.dirStart, "", ErrInvalid,
			"a relocation header for mask %#x names VP %d VTL %d, but no VBS VP context matches it", id.mask, id.vpIndex, id.vtl)
	}
	return nil
}
