package launchdigest

import (
	"errors"
	"fmt"

	"github.com/snpmeasure/snpmeasure/ovmf"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

// FirmwareEnd is where OVMF ends in guest physical memory: 4 GiB.
const FirmwareEnd = 1 << 32

// Errors for firmware that cannot do what a launch asks of it.
var (
	ErrNoMetadata     = errors.New("firmware has no SEV metadata: it cannot launch an SNP guest")
	ErrNoResetBlock   = errors.New("firmware has no SEV-ES reset block (AP reset vector): it cannot launch an SEV-ES or SNP guest")
	ErrNoKernelHashes = errors.New("a kernel was given but the firmware's SEV metadata has no SNP_KERNEL_HASHES section (use an AmdSevX64 OVMF build)")
	ErrNoHashTable    = errors.New("a kernel was given but the firmware has no SEV hash table (use an AmdSevX64 OVMF build)")
	ErrNotPageAligned = errors.New("firmware size is not a multiple of 4096 bytes")
	ErrZeroAPEIP      = errors.New("firmware's AP reset EIP is 0: it cannot start more than one vCPU")
)

// SectionError is a metadata section that cannot be measured.
type SectionError struct {
	Index   int
	Section ovmf.Section
	Msg     string
}

func (e *SectionError) Error() string {
	return fmt.Sprintf("offset %#x: SEV metadata section %d (%s, GPA %#x, size %#x): %s",
		e.Section.Offset, e.Index, e.Section.Type, e.Section.GPA, e.Section.Size, e.Msg)
}

// VCPUs describes the vCPUs of a launch.
type VCPUs struct {
	// Count is the number of vCPUs (one VMSA each).
	Count int
	VMM   vmsa.VMM
	// Signature is the vCPU signature (CPUID Fn0000_0001_EAX). It is the
	// RDX of QEMU VMSAs and selects the VMSA GPA for gce.
	Signature uint64
	// GuestFeatures is VMSA.SEV_FEATURES for SNP guests.
	GuestFeatures uint64
	// KVMInit is how the host's KVM initialises the guest (QEMU VMSAs only).
	KVMInit vmsa.KVMInit
}

// SNPConfig is everything an SNP launch of an OVMF image depends on besides the image.
type SNPConfig struct {
	VCPUs
	// Kernel holds the kernel, initrd and command line hashes; nil when
	// no kernel is given (the kernel-hashes section is then zero pages).
	Kernel *KernelHashes
	// OVMFHash, when set, replaces the firmware pages: the launch starts from
	// this digest (the output of snp:ovmf-hash for the same image).
	OVMFHash *Digest
}

// SNP builds the SNP launch of the OVMF image fw. pages holds the SHA-384 of
// each of its 4 KiB pages (HashPages); it is not used when cfg.OVMFHash is set.
func SNP(fw *ovmf.Image, pages []Digest, cfg SNPConfig) (*Launch, error) {
	if !fw.HasMetadata {
		return nil, ErrNoMetadata
	}
	if fw.Size%PageSize != 0 && cfg.OVMFHash == nil {
		// With a precomputed digest the pages are not measured, and
		// sev-snp-measure does not check their size either.
		return nil, ErrNotPageAligned
	}
	if !fw.HasResetBlock {
		return nil, ErrNoResetBlock
	}
	l := &Launch{}
	if cfg.OVMFHash != nil {
		l.Start = *cfg.OVMFHash
	} else {
		st, err := firmwareStep("ovmf", fw, fw.GPA(FirmwareEnd), pages)
		if err != nil {
			return nil, err
		}
		l.Steps = append(l.Steps, st)
	}
	if cfg.Kernel != nil {
		if _, ok := fw.KernelHashesSection(); !ok {
			return nil, ErrNoKernelHashes
		}
	}
	meta, err := metadataSteps(fw, cfg.VMM, cfg.Kernel, []gpaRange{{"firmware", fw.GPA(FirmwareEnd), FirmwareEnd}})
	if err != nil {
		return nil, err
	}
	l.Steps = append(l.Steps, meta...)
	v, err := vmsaSteps(fw.ResetEIP, cfg.VCPUs)
	if err != nil {
		return nil, err
	}
	l.Steps = append(l.Steps, v...)
	return l, nil
}

// OVMFHash returns the digest after the firmware pages alone, the value
// printed by --mode snp:ovmf-hash and accepted by --snp-ovmf-hash.
func OVMFHash(fw *ovmf.Image, pages []Digest) (Digest, error) {
	if fw.Size%PageSize != 0 {
		return Digest{}, ErrNotPageAligned
	}
	st, err := firmwareStep("ovmf", fw, fw.GPA(FirmwareEnd), pages)
	if err != nil {
		return Digest{}, err
	}
	return extendSteps(Digest{}, []Step{st}), nil
}

func firmwareStep(name string, im *ovmf.Image, gpa uint64, pages []Digest) (Step, error) {
	if int64(len(pages))*PageSize != im.Size {
		return Step{}, fmt.Errorf("%s: %d page digests for a %d-byte image", name, len(pages), im.Size)
	}
	return Step{Source: name, Type: PageNormal, GPA: gpa, Pages: uint64(len(pages)), Stride: PageSize, Contents: pages}, nil
}

// maxMetadataPages bounds the page updates of all metadata sections together:
// each page below 4 GiB at most once. More means sections that overlap each
// other, which no launch can load, and would let a small hostile image cost
// hours of hashing (4096 sections of 4 GiB each fit in 48 KiB).
const maxMetadataPages = FirmwareEnd / PageSize

// gpaRange is a guest physical range [start, end) that holds a loaded image.
type gpaRange struct {
	name       string
	start, end uint64
}

// metadataSteps measures the firmware's SEV metadata sections in table
// order, as QEMU (and the ec2/gce VMMs) load them. A section that overlaps
// one of the loaded images is refused: no VMM can load both.
func metadataSteps(fw *ovmf.Image, vmm vmsa.VMM, kernel *KernelHashes, loaded []gpaRange) ([]Step, error) {
	var steps, deferred []Step
	var total uint64
	for i, s := range fw.Sections {
		name := fmt.Sprintf("metadata[%d] %s", i, s.Type)
		serr := func(format string, args ...any) error {
			return &SectionError{Index: i, Section: s, Msg: fmt.Sprintf(format, args...)}
		}
		if !s.Type.Known() {
			return nil, serr("unknown section type")
		}
		if s.End() > FirmwareEnd {
			return nil, serr("section extends beyond 4 GiB")
		}
		for _, r := range loaded {
			if s.Size > 0 && uint64(s.GPA) < r.end && s.End() > r.start {
				return nil, serr("section overlaps the %s image at %#x-%#x", r.name, r.start, r.end)
			}
		}
		pagesOf := func(t PageType) (Step, error) {
			if s.Size%PageSize != 0 {
				return Step{}, serr("size is not a multiple of 4096 bytes")
			}
			return Step{Source: name, Type: t, GPA: uint64(s.GPA), Pages: uint64(s.Size / PageSize), Stride: PageSize}, nil
		}
		var st Step
		var err error
		switch s.Type {
		case ovmf.SectionSNPSecMem:
			t := PageZero
			if vmm == vmsa.GCE {
				t = PageUnmeasured
			}
			st, err = pagesOf(t)
		case ovmf.SectionSNPSecrets:
			st = Step{Source: name, Type: PageSecrets, GPA: uint64(s.GPA), Pages: 1}
		case ovmf.SectionCPUID:
			st = Step{Source: name, Type: PageCPUID, GPA: uint64(s.GPA), Pages: 1}
			if vmm == vmsa.EC2 {
				total++
				deferred = append(deferred, st)
				continue
			}
		case ovmf.SectionSNPKernelHashes:
			if kernel == nil {
				st, err = pagesOf(PageZero)
				break
			}
			if !fw.HasHashTable {
				return nil, ErrNoHashTable
			}
			if s.Size != PageSize {
				return nil, serr("kernel hashes section must be exactly one 4096-byte page")
			}
			page, perr := kernel.Page(fw.HashTableGPA)
			if perr != nil {
				return nil, serr("%v", perr)
			}
			st = Step{Source: "kernel-hashes", Type: PageNormal, GPA: uint64(s.GPA), Pages: 1,
				Contents: []Digest{PageDigest(page[:])}}
		case ovmf.SectionSVSMCAA:
			st, err = pagesOf(PageZero)
		}
		if err != nil {
			return nil, err
		}
		if total += st.Pages; total > maxMetadataPages {
			return nil, serr("the sections add up to more than %d pages, the 4 GiB below the firmware", uint64(maxMetadataPages))
		}
		steps = append(steps, st)
	}
	return append(steps, deferred...), nil
}

// VMSAPages returns the boot vCPU's and the application processors' VMSA pages.
// ap is nil when the firmware's AP reset EIP is 0.
func VMSAPages(apEIP uint32, v VCPUs) (bsp, ap *vmsa.Page) {
	p := vmsa.Params{VMM: v.VMM, EIP: vmsa.ResetEIP, SEVFeatures: v.GuestFeatures, Signature: v.Signature, KVMInit: v.KVMInit}
	bsp = vmsa.Build(p)
	if apEIP != 0 {
		p.EIP = apEIP
		ap = vmsa.Build(p)
	}
	return bsp, ap
}

// VMSAGPA returns the GPA at which the VMM reports VMSA pages.
func (v VCPUs) VMSAGPA() uint64 {
	return vmsa.LaunchGPA(v.VMM, vmsa.ProductOf(v.Signature))
}

func vmsaSteps(apEIP uint32, v VCPUs) ([]Step, error) {
	if v.Count < 1 {
		return nil, fmt.Errorf("vCPU count %d: need at least 1", v.Count)
	}
	if v.Count > 1 && apEIP == 0 {
		return nil, ErrZeroAPEIP
	}
	bsp, ap := VMSAPages(apEIP, v)
	gpa := v.VMSAGPA()
	steps := []Step{{Source: "vmsa", Type: PageVMSA, GPA: gpa, Pages: 1, Contents: []Digest{PageDigest(bsp[:])}}}
	if v.Count > 1 {
		steps = append(steps, Step{Source: "vmsa", Type: PageVMSA, GPA: gpa, Pages: uint64(v.Count - 1),
			Contents: []Digest{PageDigest(ap[:])}, FirstIndex: 1})
	}
	return steps, nil
}

// SVSMConfig describes a COCONUT-SVSM launch (QEMU only).
type SVSMConfig struct {
	// VarsSize is the size of the OVMF variable store mapped below the firmware.
	VarsSize uint64
	VCPUs    int
	// Signature is the vCPU signature, the RDX of the SVSM VMSA.
	Signature uint64
	// KVMInit is how the host's KVM initialises the guest.
	KVMInit vmsa.KVMInit
}

// SVSMEntryEIP returns where the SVSM VMSAs start: the SVSM info entry's
// offset from the SVSM's load address, just below the firmware and its
// variable store.
func SVSMEntryEIP(fw, svsm *ovmf.Image, varsSize uint64) uint64 {
	return uint64(svsm.SVSMEntry) + fw.GPA(FirmwareEnd) - varsSize - uint64(svsm.Size)
}

// SVSM builds the launch of an SVSM image svsm loaded below the OVMF image
// fw and its variable store. Only the SVSM's metadata sections are measured.
func SVSM(fw *ovmf.Image, fwPages []Digest, svsm *ovmf.Image, svsmPages []Digest, cfg SVSMConfig) (*Launch, error) {
	if fw.Size%PageSize != 0 {
		return nil, ErrNotPageAligned
	}
	if svsm.Size%PageSize != 0 {
		return nil, fmt.Errorf("SVSM image size is not a multiple of 4096 bytes")
	}
	if !svsm.HasSVSMInfo {
		return nil, errors.New("SVSM image has no SVSM info entry in its footer table")
	}
	fwGPA := fw.GPA(FirmwareEnd)
	if cfg.VarsSize+uint64(svsm.Size) > fwGPA {
		return nil, fmt.Errorf("SVSM image and %d-byte variable store do not fit below the firmware", cfg.VarsSize)
	}
	svsmGPA := fwGPA - cfg.VarsSize - uint64(svsm.Size)
	l := &Launch{}
	st, err := firmwareStep("ovmf", fw, fwGPA, fwPages)
	if err != nil {
		return nil, err
	}
	sv, err := firmwareStep("svsm", svsm, svsmGPA, svsmPages)
	if err != nil {
		return nil, err
	}
	l.Steps = append(l.Steps, st, sv)
	// The SVSM's sections are checked against the SVSM's own placement.
	meta, err := metadataSteps(svsm, vmsa.QEMU, nil, []gpaRange{
		{"firmware", fwGPA, FirmwareEnd}, {"SVSM", svsmGPA, svsmGPA + uint64(svsm.Size)}})
	if err != nil {
		return nil, err
	}
	l.Steps = append(l.Steps, meta...)
	if cfg.VCPUs < 1 {
		return nil, fmt.Errorf("vCPU count %d: need at least 1", cfg.VCPUs)
	}
	page := vmsa.BuildSVSM(SVSMEntryEIP(fw, svsm, cfg.VarsSize), cfg.Signature, cfg.KVMInit)
	l.Steps = append(l.Steps, Step{Source: "vmsa", Type: PageVMSA, GPA: vmsa.GPA48, Pages: uint64(cfg.VCPUs),
		Contents: []Digest{PageDigest(page[:])}})
	return l, nil
}
