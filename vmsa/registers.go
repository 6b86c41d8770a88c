package vmsa

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Byte offsets of further VMSA fields (AMD64 APM vol. 2 table B-4; the igvm
// crate's SevVmsa and QEMU's struct sev_es_save_area lay them out alike).
const (
	OffVMPL       = 0x0CA
	OffCPL        = 0x0CB
	OffCR3        = 0x150
	OffRSP        = 0x1D8
	OffRAX        = 0x1F8
	OffRCX        = 0x308
	OffRBX        = 0x318
	OffRBP        = 0x328
	OffRSI        = 0x330
	OffRDI        = 0x338
	OffR8         = 0x340
	OffR9         = 0x348
	OffR10        = 0x350
	OffR11        = 0x358
	OffR12        = 0x360
	OffR13        = 0x368
	OffR14        = 0x370
	OffR15        = 0x378
	OffVirtualTOM = 0x3C8
	// SaveAreaSize is the size of the SEV-ES save area structure, up to the
	// end of the YMM registers; the rest of the page is zero.
	SaveAreaSize = 0x670
)

// Registers is the register state QEMU 10.2 takes from an IGVM VMSA and
// loads into a vCPU (target/i386/sev.c, sev_apply_cpu_context): the segment
// and descriptor table registers, EFER, CR0, CR3, CR4, XCR0, PAT, DR6, DR7,
// the general purpose registers, RIP, RFLAGS, the x87 control word, MXCSR,
// and SEV_FEATURES (which QEMU passes to KVM_SEV_INIT2 instead).
type Registers struct {
	ES, CS, SS, DS, FS, GS, GDTR, LDTR, IDTR, TR Segment

	EFER, CR0, CR3, CR4, XCR0, PAT, DR6, DR7 uint64
	RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI   uint64
	R8, R9, R10, R11, R12, R13, R14, R15     uint64
	RIP, RFLAGS                              uint64
	X87FCW                                   uint16
	MXCSR                                    uint32
	SEVFeatures                              uint64
}

var segmentOffsets = []struct {
	off  int
	name string
	reg  func(*Registers) *Segment
}{
	{OffES, "ES", func(r *Registers) *Segment { return &r.ES }},
	{OffCS, "CS", func(r *Registers) *Segment { return &r.CS }},
	{OffSS, "SS", func(r *Registers) *Segment { return &r.SS }},
	{OffDS, "DS", func(r *Registers) *Segment { return &r.DS }},
	{OffFS, "FS", func(r *Registers) *Segment { return &r.FS }},
	{OffGS, "GS", func(r *Registers) *Segment { return &r.GS }},
	{OffGDTR, "GDTR", func(r *Registers) *Segment { return &r.GDTR }},
	{OffLDTR, "LDTR", func(r *Registers) *Segment { return &r.LDTR }},
	{OffIDTR, "IDTR", func(r *Registers) *Segment { return &r.IDTR }},
	{OffTR, "TR", func(r *Registers) *Segment { return &r.TR }},
}

var u64Fields = []struct {
	off  int
	name string
	reg  func(*Registers) *uint64
}{
	{OffEFER, "EFER", func(r *Registers) *uint64 { return &r.EFER }},
	{OffCR4, "CR4", func(r *Registers) *uint64 { return &r.CR4 }},
	{OffCR3, "CR3", func(r *Registers) *uint64 { return &r.CR3 }},
	{OffCR0, "CR0", func(r *Registers) *uint64 { return &r.CR0 }},
	{OffDR7, "DR7", func(r *Registers) *uint64 { return &r.DR7 }},
	{OffDR6, "DR6", func(r *Registers) *uint64 { return &r.DR6 }},
	{OffRFLAGS, "RFLAGS", func(r *Registers) *uint64 { return &r.RFLAGS }},
	{OffRIP, "RIP", func(r *Registers) *uint64 { return &r.RIP }},
	{OffRSP, "RSP", func(r *Registers) *uint64 { return &r.RSP }},
	{OffRAX, "RAX", func(r *Registers) *uint64 { return &r.RAX }},
	{OffGPAT, "G_PAT", func(r *Registers) *uint64 { return &r.PAT }},
	{OffRCX, "RCX", func(r *Registers) *uint64 { return &r.RCX }},
	{OffRDX, "RDX", func(r *Registers) *uint64 { return &r.RDX }},
	{OffRBX, "RBX", func(r *Registers) *uint64 { return &r.RBX }},
	{OffRBP, "RBP", func(r *Registers) *uint64 { return &r.RBP }},
	{OffRSI, "RSI", func(r *Registers) *uint64 { return &r.RSI }},
	{OffRDI, "RDI", func(r *Registers) *uint64 { return &r.RDI }},
	{OffR8, "R8", func(r *Registers) *uint64 { return &r.R8 }},
	{OffR9, "R9", func(r *Registers) *uint64 { return &r.R9 }},
	{OffR10, "R10", func(r *Registers) *uint64 { return &r.R10 }},
	{OffR11, "R11", func(r *Registers) *uint64 { return &r.R11 }},
	{OffR12, "R12", func(r *Registers) *uint64 { return &r.R12 }},
	{OffR13, "R13", func(r *Registers) *uint64 { return &r.R13 }},
	{OffR14, "R14", func(r *Registers) *uint64 { return &r.R14 }},
	{OffR15, "R15", func(r *Registers) *uint64 { return &r.R15 }},
	{OffSEVFeatures, "SEV_FEATURES", func(r *Registers) *uint64 { return &r.SEVFeatures }},
	{OffXCR0, "XCR0", func(r *Registers) *uint64 { return &r.XCR0 }},
}

// Registers returns the fields of the page that QEMU loads into a vCPU.
func (p *Page) Registers() Registers {
	var r Registers
	for _, s := range segmentOffsets {
		*s.reg(&r) = p.Segment(s.off)
	}
	for _, f := range u64Fields {
		*f.reg(&r) = p.Uint64(f.off)
	}
	r.X87FCW = binary.LittleEndian.Uint16(p[OffX87FCW:])
	r.MXCSR = binary.LittleEndian.Uint32(p[OffMXCSR:])
	return r
}

// ErrUnsupportedVMSA is wrapped by the errors of VMSAs that QEMU or KVM
// refuse, or that a launch could not reproduce.
var ErrUnsupportedVMSA = errors.New("VMSA not supported by QEMU/KVM")

// CheckQEMU reports the first field QEMU 10.2 refuses in an IGVM VMSA
// (target/i386/sev.c, check_vmsa_supported): every byte of the save area
// outside the fields of Registers must be zero, since QEMU cannot hand it to
// KVM, and so must the rest of the page.
func (p *Page) CheckQEMU() error {
	var q Page
	copy(q[:], p[:])
	for _, s := range segmentOffsets {
		clear(q[s.off : s.off+16])
	}
	for _, f := range u64Fields {
		clear(q[f.off : f.off+8])
	}
	clear(q[OffX87FCW : OffX87FCW+2])
	clear(q[OffMXCSR : OffMXCSR+4])
	for i, b := range q {
		if b != 0 {
			return fmt.Errorf("%w: byte %#x of the VMSA is %#02x: QEMU 10.2 loads only the registers it knows and refuses any other field that is not zero",
				ErrUnsupportedVMSA, i, b)
		}
	}
	return nil
}

// Control register and flag bits the rebuild reads.
const (
	cr0PE   = 1 << 0
	cr0ET   = 1 << 4
	cr0NW   = 1 << 29
	cr0CD   = 1 << 30
	cr0PG   = 1 << 31
	cr4PAE  = 1 << 5
	cr4MCE  = 1 << 6
	eferLME = 1 << 8
	eferLMA = 1 << 10
	eferSVM = 1 << 12
	dr7Fix1 = 0x400
	rflags1 = 1 << 1
	rflagVM = 1 << 17
	segL    = 1 << 9
	// CR4 bits QEMU clears unless the vCPU model has the feature
	// (target/i386/helper.c, cpu_x86_update_cr4): SMAP, PKE, PKS, LAM_SUP.
	cr4ModelBits = 1<<21 | 1<<22 | 1<<24 | 1<<28
)

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupportedVMSA, fmt.Sprintf(format, args...))
}

// BuildKVM returns the VMSA page KVM measures for a vCPU whose register
// state QEMU 10.2 loaded from r, with SEV_FEATURES sevFeatures (KVM takes
// them from KVM_SEV_INIT2, not from the vCPU). It follows QEMU's
// sev_apply_cpu_context and KVM's register setters and sev_es_sync_vmsa
// (arch/x86/kvm/svm/sev.c and svm.c, for a KVM_SEV_INIT2 VM):
//
//   - segments keep selector, base and limit; attributes keep their 12
//     defined bits (QEMU's segment cache and KVM's kvm_segment carry no
//     more); TR takes LDTR's base (QEMU loads TR from vmsa.ldtr.base);
//   - GDTR and IDTR keep base and a 16-bit limit; selector and attributes 0;
//   - CPL is SS.DPL (svm_set_segment);
//   - CR0 is cut to 32 bits, ET set (cpu_x86_update_cr0), CD and NW cleared
//     (svm_set_cr0, KVM_X86_QUIRK_CD_NW_CLEARED); CR3 is kept
//     (svm_post_set_cr3); CR4 is cut to 32 bits with the host's MCE bit set
//     (svm_set_cr4);
//   - EFER gains SVME (svm_set_efer) and LMA when LME and CR0.PG are set;
//   - RFLAGS gains its fixed bit 1 (kvm_arch_vcpu_ioctl_set_regs);
//   - DR6, DR7, the GPRs, RIP, XCR0, PAT, the x87 control word and MXCSR are
//     kept; the other x87, SSE and AVX state is the reset state, all zero.
//
// States KVM or QEMU refuse, or that depend on the vCPU model, are errors.
func BuildKVM(r Registers, sevFeatures uint64) (*Page, error) {
	switch {
	case r.DR7&^dr7Fix1 != 0:
		return nil, unsupported("DR7 %#x: KVM refuses to launch a VMSA with DR7 bits other than bit 10 (sev_es_sync_vmsa)", r.DR7)
	case r.DR6>>32 != 0:
		return nil, unsupported("DR6 %#x has bits above 31 (KVM_SET_DEBUGREGS refuses it)", r.DR6)
	case r.XCR0&1 == 0 || (r.XCR0&4 != 0 && r.XCR0&2 == 0):
		return nil, unsupported("XCR0 %#x is not a valid XCR0 (x87 must be set, AVX needs SSE): KVM_SET_XCRS refuses it", r.XCR0)
	case r.MXCSR>>16 != 0:
		return nil, unsupported("MXCSR %#x has reserved bits set (KVM refuses the FPU state)", r.MXCSR)
	case r.RFLAGS&rflagVM != 0:
		return nil, unsupported("RFLAGS.VM is set: QEMU would load virtual-8086 segments, which this model does not cover")
	case uint32(r.CR4)&cr4ModelBits != 0:
		return nil, unsupported("CR4 %#x sets SMAP, PKE, PKS or LAM_SUP, which QEMU keeps only if the vCPU model has the feature", r.CR4)
	}
	for i := 0; i < 8; i++ {
		switch t := (r.PAT >> (8 * i)) & 0xff; t {
		case 0, 1, 4, 5, 6, 7:
		default:
			return nil, unsupported("PAT %#x: entry %d is memory type %d, which KVM refuses", r.PAT, i, t)
		}
	}
	cr0 := (r.CR0&0xffffffff | cr0ET) &^ (cr0CD | cr0NW)
	cr4 := r.CR4&0xffffffff | cr4MCE
	efer := r.EFER | eferSVM
	long := r.EFER&eferLME != 0 && cr0&cr0PG != 0
	if long {
		if cr4&cr4PAE == 0 {
			return nil, unsupported("long mode (EFER.LME and CR0.PG) without CR4.PAE: QEMU does not load CR0")
		}
		efer |= eferLMA
	} else if r.EFER&eferLMA != 0 || r.CS.Attrib&segL != 0 {
		return nil, unsupported("EFER.LMA or CS.L set outside long mode: KVM_SET_SREGS refuses it")
	}
	var pg Page
	put := func(off int, s Segment) {
		s.Attrib &= 0x0fff
		pg.putSegment(off, s)
	}
	put(OffES, r.ES)
	put(OffCS, r.CS)
	put(OffSS, r.SS)
	put(OffDS, r.DS)
	put(OffFS, r.FS)
	put(OffGS, r.GS)
	put(OffLDTR, r.LDTR)
	tr := r.TR
	tr.Base = r.LDTR.Base
	put(OffTR, tr)
	pg.putSegment(OffGDTR, Segment{Limit: r.GDTR.Limit & 0xffff, Base: r.GDTR.Base})
	pg.putSegment(OffIDTR, Segment{Limit: r.IDTR.Limit & 0xffff, Base: r.IDTR.Base})
	pg[OffCPL] = byte(r.SS.Attrib>>5) & 3
	pg.put64(OffEFER, efer)
	pg.put64(OffCR4, cr4)
	pg.put64(OffCR3, r.CR3)
	pg.put64(OffCR0, cr0)
	pg.put64(OffDR7, r.DR7)
	pg.put64(OffDR6, r.DR6)
	pg.put64(OffRFLAGS, r.RFLAGS|rflags1)
	pg.put64(OffRIP, r.RIP)
	pg.put64(OffRSP, r.RSP)
	pg.put64(OffRAX, r.RAX)
	pg.put64(OffGPAT, r.PAT)
	for _, g := range []struct {
		off int
		v   uint64
	}{{OffRCX, r.RCX}, {OffRDX, r.RDX}, {OffRBX, r.RBX}, {OffRBP, r.RBP}, {OffRSI, r.RSI}, {OffRDI, r.RDI},
		{OffR8, r.R8}, {OffR9, r.R9}, {OffR10, r.R10}, {OffR11, r.R11}, {OffR12, r.R12}, {OffR13, r.R13},
		{OffR14, r.R14}, {OffR15, r.R15}} {
		pg.put64(g.off, g.v)
	}
	pg.put64(OffSEVFeatures, sevFeatures)
	pg.put64(OffXCR0, r.XCR0)
	binary.LittleEndian.PutUint32(pg[OffMXCSR:], r.MXCSR)
	binary.LittleEndian.PutUint16(pg[OffX87FCW:], r.X87FCW)
	return &pg, nil
}

// QEMUResetRegisters returns the register state of a QEMU x86 vCPU after
// reset (target/i386/cpu.c, x86_cpu_reset_hold): real mode at
// 0xffff0000+0xfff0, RDX the vCPU signature. BuildKVM of it is Build's QEMU
// page for the reset vector.
func QEMUResetRegisters(signature uint64) Registers {
	data := Segment{Attrib: 0x93, Limit: 0xffff}
	return Registers{
		ES: data, CS: Segment{Selector: 0xf000, Attrib: 0x9b, Limit: 0xffff, Base: 0xffff0000},
		SS: data, DS: data, FS: data, GS: data,
		GDTR: Segment{Limit: 0xffff}, IDTR: Segment{Limit: 0xffff},
		LDTR: Segment{Attrib: 0x82, Limit: 0xffff}, TR: Segment{Attrib: 0x8b, Limit: 0xffff},
		CR0: 0x60000010, DR6: 0xffff0ff0, DR7: 0x400, RFLAGS: 0x2, RIP: 0xfff0, RDX: signature,
		PAT: 0x0007040600070406, XCR0: 1, X87FCW: 0x37f, MXCSR: 0x1f80,
	}
}
