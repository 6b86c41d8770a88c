package igvm

import (
	"bytes"
	"fmt"
)

// areaState is the state of a parameter area index.
type areaState uint8

const (
	areaAllocated areaState = iota + 1
	areaInserted
)

// directiveValidator checks directives as the igvm crate's new_from_binary
// and validate_directive_headers do. Its memory grows with the number of
// parameter areas only.
type directiveValidator struct {
	f        *File
	areas    map[uint32]areaState
	vpIdents []vpIdent
	zero     []byte
}

func newDirectiveValidator(f *File) *directiveValidator {
	return &directiveValidator{f: f, areas: map[uint32]areaState{}, vpIdents: append([]vpIdent(nil), f.vpIdents...)}
}

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
		v.areas[b.Index] = areaAllocated
	case Parameter:
		if v.areas[b.Index] != areaAllocated {
			return bad("parameter area %d is not declared, or already inserted", b.Index)
		}
	case ParameterInsert:
		if !aligned(b.GPA) {
			return bad("GPA %#x is not 4 KiB aligned", b.GPA)
		}
		if v.areas[b.Index] != areaAllocated {
			return bad("parameter area %d is not declared, or already inserted", b.Index)
		}
		v.areas[b.Index] = areaInserted
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
	case ErrorRange:
		if !aligned(b.GPA) {
			return bad("GPA %#x is not 4 KiB aligned", b.GPA)
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
// registers of one VTL and of names the igvm crate knows, for VP 0.
func (v *directiveValidator) vbs(c VPContext) (uint8, error) {
	off, err := v.f.DataRange(c.FileOffset, VBSVPContextHeaderSize)
	if err != nil {
		return 0, err
	}
	var hdr [VBSVPContextHeaderSize]byte
	if _, err := v.f.r.ReadAt(hdr[:], off); err != nil {
		return 0, fmt.Errorf("reading the VBS context at %#x: %w", off, err)
	}
	count := uint64(le.Uint32(hdr[:]))
	if count == 0 {
		return 0, &FormatError{Offset: off, Msg: "VBS VP context has no registers", Err: ErrInvalid}
	}
	regsOff := off + VBSVPContextHeaderSize
	if count*VBSVPContextRegisterSize > uint64(v.f.size-regsOff) {
		return 0, &FormatError{Offset: off, Msg: fmt.Sprintf("VBS VP context of %d registers goes beyond the end of the file", count), Err: ErrFileData}
	}
	if c.VPIndex != 0 {
		return 0, &FormatError{Offset: off, Msg: fmt.Sprintf("VBS VP context for VP %d (the igvm crate supports VP 0 only)", c.VPIndex), Err: ErrInvalid}
	}
	known := vbsX64Registers
	if v.f.Arch() == ArchAArch64 {
		known = vbsAArch64Registers
	}
	var reg [VBSVPContextRegisterSize]byte
	var vtl uint8
	for i := uint64(0); i < count; i++ {
		ro := regsOff + int64(i)*VBSVPContextRegisterSize
		if _, err := v.f.r.ReadAt(reg[:], ro); err != nil {
			return 0, fmt.Errorf("reading the VBS context at %#x: %w", ro, err)
		}
		if i == 0 {
			vtl = reg[0]
		} else if reg[0] != vtl {
			return 0, &FormatError{Offset: ro, Msg: fmt.Sprintf("register %d has VTL %d, the first has %d", i, reg[0], vtl), Err: ErrInvalid}
		}
		if name := le.Uint32(reg[1:]); !known[name] {
			return 0, &FormatError{Offset: ro, Msg: fmt.Sprintf("register %d: register name %#x is not supported", i, name), Err: ErrInvalid}
		}
	}
	if vtl > 2 {
		return 0, &FormatError{Offset: regsOff, Msg: fmt.Sprintf("VTL %d", vtl), Err: ErrInvalid}
	}
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
