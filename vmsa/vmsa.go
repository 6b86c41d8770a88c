package vmsa

import (
	"encoding/binary"
	"fmt"
)

// PageSize is the size of a VMSA page.
const PageSize = 4096

// Byte offsets of the VMSA (SEV-ES save area) fields that are not zero at reset.
// They follow the AMD64 APM vol. 2 table B-4 and the SEV-SNP ABI VMSA layout.
const (
	OffES          = 0x000
	OffCS          = 0x010
	OffSS          = 0x020
	OffDS          = 0x030
	OffFS          = 0x040
	OffGS          = 0x050
	OffGDTR        = 0x060
	OffLDTR        = 0x070
	OffIDTR        = 0x080
	OffTR          = 0x090
	OffEFER        = 0x0D0
	OffCR4         = 0x148
	OffCR0         = 0x158
	OffDR7         = 0x160
	OffDR6         = 0x168
	OffRFLAGS      = 0x170
	OffRIP         = 0x178
	OffGPAT        = 0x268
	OffRDX         = 0x310
	OffSEVFeatures = 0x3B0
	OffXCR0        = 0x3E8
	OffMXCSR       = 0x408
	OffX87FCW      = 0x410
)

// ResetEIP is the BSP's architectural reset vector.
const ResetEIP = 0xfffffff0

// VMM is the hypervisor that builds the initial register state. Each one sets
// a few fields differently.
type VMM int

// The VMM types, numbered as sev-snp-measure numbers them.
const (
	QEMU VMM = 1
	EC2  VMM = 2
	GCE  VMM = 3
)

// VMMs lists every VMM type in a stable order.
var VMMs = []VMM{QEMU, EC2, GCE}

// String returns the name used on the command line.
func (v VMM) String() string {
	switch v {
	case QEMU:
		return "QEMU"
	case EC2:
		return "ec2"
	case GCE:
		return "gce"
	}
	return fmt.Sprintf("VMM(%d)", int(v))
}

// ParseVMM parses a command-line VMM name (exactly QEMU, ec2 or gce).
func ParseVMM(s string) (VMM, error) {
	for _, v := range VMMs {
		if v.String() == s {
			return v, nil
		}
	}
	return 0, fmt.Errorf("unknown VMM type %q (want QEMU, ec2 or gce)", s)
}

// KVMInit is how the host's KVM initialises SEV guests. It decides the x87
// and SSE state of the VMSAs that KVM builds for QEMU (measurement.md §14).
type KVMInit int

const (
	// KVMInit2 is KVM_SEV_INIT2 (upstream SNP hosts, Linux 6.10+, with QEMU
	// 9.1+): x87 FCW 0x37f and MXCSR 0x1f80, as after a reset.
	KVMInit2 KVMInit = iota
	// KVMLegacy is KVM before KVM_SEV_INIT2 (AMD's pre-upstream SNP host
	// kernels and the QEMU builds that went with them): FCW and MXCSR 0.
	KVMLegacy
)

// KVMInits lists both, the default first.
var KVMInits = []KVMInit{KVMInit2, KVMLegacy}

// String returns the name used on the command line: init2 or legacy.
func (k KVMInit) String() string {
	switch k {
	case KVMInit2:
		return "init2"
	case KVMLegacy:
		return "legacy"
	}
	return fmt.Sprintf("KVMInit(%d)", int(k))
}

// ParseKVMInit parses init2 or legacy.
func ParseKVMInit(s string) (KVMInit, error) {
	for _, k := range KVMInits {
		if k.String() == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("unknown KVM initialisation %q (want init2 or legacy)", s)
}

// Page is one 4 KiB VMSA page.
type Page [PageSize]byte

// Segment is a VMCB segment register: selector, attributes, limit, base.
type Segment struct {
	Selector uint16
	Attrib   uint16
	Limit    uint32
	Base     uint64
}

func (p *Page) putSegment(off int, s Segment) {
	binary.LittleEndian.PutUint16(p[off:], s.Selector)
	binary.LittleEndian.PutUint16(p[off+2:], s.Attrib)
	binary.LittleEndian.PutUint32(p[off+4:], s.Limit)
	binary.LittleEndian.PutUint64(p[off+8:], s.Base)
}

func (p *Page) put64(off int, v uint64) { binary.LittleEndian.PutUint64(p[off:], v) }

// Segment returns the segment register stored at off.
func (p *Page) Segment(off int) Segment {
	return Segment{
		Selector: binary.LittleEndian.Uint16(p[off:]),
		Attrib:   binary.LittleEndian.Uint16(p[off+2:]),
		Limit:    binary.LittleEndian.Uint32(p[off+4:]),
		Base:     binary.LittleEndian.Uint64(p[off+8:]),
	}
}

// Uint64 returns the 64-bit field at off.
func (p *Page) Uint64(off int) uint64 { return binary.LittleEndian.Uint64(p[off:]) }

// Params selects the initial register state of one vCPU.
type Params struct {
	VMM VMM
	// EIP is the reset vector: ResetEIP for the boot vCPU, the firmware's
	// SEV-ES reset block value for application processors.
	EIP uint32
	// SEVFeatures is VMSA.SEV_FEATURES: the guest features for SNP, 0 for SEV-ES.
	SEVFeatures uint64
	// Signature is the vCPU signature (CPUID Fn0000_0001_EAX); QEMU puts it in RDX.
	Signature uint64
	// KVMInit selects the x87/SSE state of QEMU VMSAs; ec2 and gce build
	// their own and ignore it.
	KVMInit KVMInit
}

// Build returns the VMSA page of a vCPU that starts in real mode at p.EIP.
func Build(p Params) *Page {
	var pg Page
	dataAttr, csAttr, ssAttr, trAttr := uint16(0x93), uint16(0x9b), uint16(0x93), uint16(0x8b)
	gpat := uint64(0x0007040600070406)
	rdx := p.Signature
	var mxcsr, fcw uint64 = 0x1f80, 0x037f
	if p.KVMInit == KVMLegacy {
		mxcsr, fcw = 0, 0
	}
	switch p.VMM {
	case EC2:
		if p.EIP == ResetEIP {
			csAttr = 0x9a
		}
		ssAttr, trAttr = 0x92, 0x83
		rdx, mxcsr, fcw = 0x600, 0, 0
	case GCE:
		gpat = 0x0000000000070106
		rdx, mxcsr, fcw = 0x600, 0, 0
	}
	data := Segment{Attrib: dataAttr, Limit: 0xffff}
	pg.putSegment(OffES, data)
	pg.putSegment(OffCS, Segment{Selector: 0xf000, Attrib: csAttr, Limit: 0xffff, Base: uint64(p.EIP & 0xffff0000)})
	pg.putSegment(OffSS, Segment{Attrib: ssAttr, Limit: 0xffff})
	pg.putSegment(OffDS, data)
	pg.putSegment(OffFS, data)
	pg.putSegment(OffGS, data)
	pg.putSegment(OffGDTR, Segment{Limit: 0xffff})
	pg.putSegment(OffLDTR, Segment{Attrib: 0x82, Limit: 0xffff})
	pg.putSegment(OffIDTR, Segment{Limit: 0xffff})
	pg.putSegment(OffTR, Segment{Attrib: trAttr, Limit: 0xffff})
	pg.put64(OffEFER, 0x1000)
	pg.put64(OffCR4, 0x40)
	pg.put64(OffCR0, 0x10)
	pg.put64(OffDR7, 0x400)
	pg.put64(OffDR6, 0xffff0ff0)
	pg.put64(OffRFLAGS, 0x2)
	pg.put64(OffRIP, uint64(p.EIP&0xffff))
	pg.put64(OffGPAT, gpat)
	pg.put64(OffRDX, rdx)
	pg.put64(OffSEVFeatures, p.SEVFeatures)
	pg.put64(OffXCR0, 0x1)
	binary.LittleEndian.PutUint32(pg[OffMXCSR:], uint32(mxcsr))
	binary.LittleEndian.PutUint16(pg[OffX87FCW:], uint16(fcw))
	return &pg
}

// BuildSVSM returns the VMSA page with which QEMU starts every vCPU of a
// COCONUT-SVSM guest: 32-bit protected mode at the SVSM entry point.
// SEV_FEATURES is always 1 (SNP active) and x87 FCW stays 0; MXCSR is
// 0x1f80, or 0 on hosts before KVM_SEV_INIT2, where the reference's SVSM
// digests were read from real launches.
func BuildSVSM(eip uint64, signature uint64, init KVMInit) *Page {
	var pg Page
	flat := Segment{Selector: 0x10, Attrib: 0xc93, Limit: 0xffffffff}
	pg.putSegment(OffES, flat)
	pg.putSegment(OffCS, Segment{Selector: 0x8, Attrib: 0xc9b, Limit: 0xffffffff})
	pg.putSegment(OffSS, flat)
	pg.putSegment(OffDS, flat)
	pg.putSegment(OffFS, flat)
	pg.putSegment(OffGS, Segment{Attrib: 0x93, Limit: 0xffff})
	pg.putSegment(OffGDTR, Segment{Limit: 0xffff})
	pg.putSegment(OffLDTR, Segment{Attrib: 0x82, Limit: 0xffff})
	pg.putSegment(OffIDTR, Segment{Limit: 0xffff})
	pg.putSegment(OffTR, Segment{Attrib: 0x8b, Limit: 0xffff})
	pg.put64(OffEFER, 0x1000)
	pg.put64(OffCR4, 0x40)
	pg.put64(OffCR0, 0x11)
	pg.put64(OffDR7, 0x400)
	pg.put64(OffDR6, 0xffff0ff0)
	pg.put64(OffRFLAGS, 0x2)
	pg.put64(OffRIP, eip)
	pg.put64(OffGPAT, 0x0007040600070406)
	pg.put64(OffRDX, signature)
	pg.put64(OffSEVFeatures, 1)
	pg.put64(OffXCR0, 0x1)
	if init != KVMLegacy {
		binary.LittleEndian.PutUint32(pg[OffMXCSR:], 0x1f80)
	}
	return &pg
}

// GPAs at which SNP_LAUNCH_UPDATE measures VMSA pages: the top page of the
// guest physical address space the product supports.
const (
	GPA48 = 0x0000_FFFF_FFFF_F000
	GPA52 = 0x000F_FFFF_FFFF_F000
)

// LaunchGPA returns the GPA the VMM reports for VMSA pages. QEMU, ec2 and
// Milan-class gce use the 48-bit top page; Google's gce-tcb-verifier uses the
// 52-bit one for Genoa and later products.
func LaunchGPA(vmm VMM, p Product) uint64 {
	if vmm == GCE && p >= Genoa {
		return GPA52
	}
	return GPA48
}
