package launchdigest

import (
	"fmt"
	"io"
	"iter"
	"maps"
	"math"
	"slices"

	"github.com/snpmeasure/snpmeasure/igvm"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

// QEMUOptions describe the QEMU 10.2 guest an IGVM file is launched in.
type QEMUOptions struct {
	// VCPUs is -smp: one VMSA per vCPU. Required.
	VCPUs int
	// Signature is the vCPU signature (CPUID Fn0000_0001_EAX) of -cpu: the
	// RDX of the vCPUs that have no VP context in the file.
	Signature uint64
	// IgnoreUnhandledParameters treats the parameter usages QEMU 10.2 has no
	// handler for (SRAT, MADT, MMIO_RANGES, COMMAND_LINE, SLIT, PPTT,
	// DEVICE_TREE) as doing nothing, as a QEMU that fills them would
	// measure: parameters are written into parameter areas, which are
	// inserted unmeasured. QEMU 10.2 itself refuses such files.
	IgnoreUnhandledParameters bool
}

// IGVMVCPUs describes the VMSAs the qemu loader measures, so that a launch
// can be extended for other vCPU counts: the VMSA of vCPU i is Contexts[i]
// when the file has a VP context for it, else Reset.
type IGVMVCPUs struct {
	Contexts []*Digest
	Reset    Digest
	GPA      uint64
	// Min is the smallest vCPU count QEMU accepts: one more than the highest
	// VP index of a VP context.
	Min int
}

// Page returns the VMSA page digest of vCPU i.
func (v *IGVMVCPUs) Page(i int) Digest {
	if i < len(v.Contexts) && v.Contexts[i] != nil {
		return *v.Contexts[i]
	}
	return v.Reset
}

// ResetVCPU returns the first of vCPUs 0 to n-1 that has no VP context in
// the file: QEMU gives it its reset state, whose RDX is the vCPU signature
// (QEMUOptions.Signature), so its VMSA depends on the -cpu model.
func (v *IGVMVCPUs) ResetVCPU(n int) (int, bool) {
	for i := range n {
		if i >= len(v.Contexts) || v.Contexts[i] == nil {
			return i, true
		}
	}
	return 0, false
}

// Series extends prefix (the digest before the VMSAs) one vCPU at a time and
// yields the launch digest for each vCPU count from Min to max.
func (v *IGVMVCPUs) Series(prefix Digest, max int) iter.Seq2[int, Digest] {
	return func(yield func(int, Digest) bool) {
		ld := prefix
		for n := 1; n <= max; n++ {
			d := v.Page(n - 1)
			ld = Extend(ld, PageVMSA, v.GPA, &d)
			if n >= v.Min && !yield(n, ld) {
				return
			}
		}
	}
}

// qemuRegion is QEMU's pending run of PAGE_DATA directives
// (backends/igvm.c, qigvm_process_mem_page): submitted when a page that does
// not continue it arrives, or at the end.
type qemuRegion struct {
	pages     int
	last      igvm.PageData
	lastIndex int
	steps     stepBuilder
}

func (r *qemuRegion) continues(h *igvm.Header, d igvm.PageData) bool {
	p := r.last
	return r.pages > 0 && h.Index == r.lastIndex+1 && p.HasData() == d.HasData() && p.Flags == d.Flags &&
		p.DataType == d.DataType && p.CompatibilityMask == d.CompatibilityMask && p.GPA+p.PageSize() == d.GPA
}

func (r *qemuRegion) flush(b *stepBuilder) {
	for _, s := range r.steps.steps {
		b.add(s)
	}
	*r = qemuRegion{}
}

// IGVMQEMU builds the SEV-SNP launch QEMU 10.2 with KVM measures for an
// IGVM file. No hardware launch confirms it yet; it rests on these sources
// (QEMU 10.2 backends/igvm.c and target/i386/sev.c, Linux
// arch/x86/kvm/svm/sev.c and svm.c):
//
//   - Platform: the SEV-SNP SUPPORTED_PLATFORM header (QEMU takes the
//     strongest one the guest object supports,
//     qigvm_supported_platform_compat_mask); a file without one is refused.
//   - Directives in file order; a type without a handler (SRAT, MADT,
//     MMIO_RANGES, COMMAND_LINE, SLIT, PPTT, VBS_MEASUREMENT, DEVICE_TREE,
//     ERROR_RANGE) fails the launch whatever its mask (qigvm_handler), and
//     so do the initialization headers RELOCATABLE_REGION and
//     PAGE_TABLE_RELOCATION_REGION.
//   - PAGE_DATA of the platform's mask gathers into a region while each
//     directive follows the previous one (next index, next GPA, same flags,
//     type and mask, data on both or neither); the region is submitted when
//     a page breaks it or at the end; other directives do not submit it
//     (qigvm_process_mem_page). A region is UNMEASURED when unmeasured,
//     NORMAL (zeros when no page has data: QEMU's ZERO type is submitted
//     as NORMAL by cgs_set_guest_state), SECRETS or CPUID (QEMU writes
//     KVM's CPUID table; the contents are not measured); a 2 MiB page is
//     512 pages, its data (4 KiB) followed by zeros. The shared flag is
//     ignored. SNP_LAUNCH_UPDATE measures 4 KiB pages in ascending GPA.
//   - PARAMETER_AREA allocates a zeroed buffer of its size (the file's
//     initial data is ignored); PARAMETER_INSERT of the mask submits the
//     whole area as UNMEASURED pages at once, ahead of a pending region
//     (qigvm_directive_parameter_insert). VP_COUNT, ENVIRONMENT_INFO and
//     MEMORY_MAP write into the area; REQUIRED_MEMORY only makes memory
//     private: nothing measured.
//   - VP_CONTEXT of the mask: its GPA must be 0xFFFFFFFFF000 and only the
//     registers QEMU loads may be non-zero (check_vmsa_supported,
//     vmsa.CheckQEMU); it sets vCPU vp_index's registers (last one wins,
//     sev_set_cpu_context) and is not measured there.
//   - After the directives, KVM measures one VMSA per vCPU in vCPU order at
//     0xFFFFFFFFF000 (snp_launch_update_vmsa): rebuilt from the register
//     state (vmsa.BuildKVM), or QEMU's reset state for vCPUs without a VP
//     context (vmsa.Build, RDX the vCPU signature). SEV_FEATURES of every
//     VMSA are VP 0's context's (QEMU passes them to KVM_SEV_INIT2 as
//     vmsa_features, sev_common_kvm_init), or SNP_ACTIVE alone without one.
//   - GUEST_POLICY of the mask (the last one) is the launch policy; an
//     SNP_ID_BLOCK of the mask goes to SNP_LAUNCH_FINISH with it (a second
//     one is refused); neither is measured.
func IGVMQEMU(f *igvm.File, opts QEMUOptions) (*IGVMLaunch, error) {
	if opts.VCPUs < 1 {
		return nil, fmt.Errorf("vCPU count %d: need at least 1", opts.VCPUs)
	}
	mask, err := igvmPlatformMask(f, igvm.PlatformSEVSNP)
	if err != nil {
		return nil, err
	}
	out := &IGVMLaunch{Loader: LoaderQEMU, Mask: mask}
	for _, h := range f.Initializations {
		switch p := h.Body.(type) {
		case igvm.GuestPolicy:
			if p.CompatibilityMask&mask != 0 {
				out.Policy, out.HasPolicy = p.Policy, true
			}
		default:
			return nil, directiveErr(&h, ErrQEMURefuses, "QEMU 10.2 has no handler for %s headers", h.Type)
		}
	}
	var b stepBuilder
	var region qemuRegion
	areas := map[uint32]uint64{}
	regs := map[int]vmsa.Registers{}
	r := f.ReaderAt()
	directives := 0
	for h, err := range f.Directives() {
		if err != nil {
			return nil, err
		}
		directives++
		switch d := h.Body.(type) {
		case igvm.PageData:
			if d.CompatibilityMask&mask == 0 {
				continue
			}
			if !region.continues(&h, d) {
				region.flush(&b)
			}
			region.pages++
			region.last, region.lastIndex = d, h.Index
			addQEMUPage(&region.steps, &h, d, r)
		case igvm.ParameterArea:
			areas[d.Index] = d.NumberOfBytes
		case igvm.ParameterInsert:
			if d.CompatibilityMask&mask == 0 {
				continue
			}
			size := areas[d.Index]
			if size == 0 || size > math.MaxUint32 {
				return nil, directiveErr(&h, ErrQEMURefuses, "parameter area %d of %#x bytes: QEMU 10.2 keeps the size in 32 bits and KVM refuses an empty update", d.Index, size)
			}
			n := size / PageSize
			b.add(Step{Source: "PARAMETER_INSERT", Type: PageUnmeasured, GPA: d.GPA, Pages: n, Stride: PageSize,
				Directives: StepDirectives{First: uint64(h.Index), Per: n}})
		case igvm.VPContext:
			if d.CompatibilityMask&mask == 0 {
				continue
			}
			rg, err := qemuVPContext(f, &h, d, opts.VCPUs)
			if err != nil {
				return nil, err
			}
			regs[int(d.VPIndex)] = rg
		case igvm.SNPIDBlock:
			if d.CompatibilityMask&mask == 0 {
				continue
			}
			if out.IDBlock != nil {
				return nil, directiveErr(&h, ErrQEMURefuses, "a second ID block (QEMU: multiple ID blocks encountered)")
			}
			blk := d
			out.IDBlock, out.IDBlockDirective = &blk, h.Name()
		case igvm.RequiredMemory:
		case igvm.Parameter:
			switch d.Usage {
			case igvm.TypeVPCount, igvm.TypeEnvironmentInfo, igvm.TypeMemoryMap:
			default:
				if !opts.IgnoreUnhandledParameters {
					return nil, directiveErr(&h, ErrQEMURefuses, "QEMU 10.2 has no handler for %s directives", h.Type)
				}
			}
		default:
			return nil, directiveErr(&h, ErrQEMURefuses, "QEMU 10.2 has no handler for %s directives", h.Type)
		}
		if b.total+region.steps.total > MaxIGVMUpdates {
			return nil, directiveErr(&h, ErrIGVMTooManyUpdates, "%v", ErrIGVMTooManyUpdates)
		}
	}
	if directives == 0 {
		return nil, fmt.Errorf("%w: the file has no directives", ErrQEMURefuses)
	}
	region.flush(&b)

	features := uint64(1)
	if r0, ok := regs[0]; ok {
		features = r0.SEVFeatures
	}
	v := &IGVMVCPUs{GPA: KVMVMSAGPA}
	reset := vmsa.Build(vmsa.Params{VMM: vmsa.QEMU, EIP: vmsa.ResetEIP, SEVFeatures: features, Signature: opts.Signature})
	v.Reset = PageDigest(reset[:])
	for _, i := range slices.Sorted(maps.Keys(regs)) {
		page, err := vmsa.BuildKVM(regs[i], features)
		if err != nil {
			return nil, fmt.Errorf("VP context of vCPU %d: %w", i, err)
		}
		d := PageDigest(page[:])
		for len(v.Contexts) <= i {
			v.Contexts = append(v.Contexts, nil)
		}
		v.Contexts[i] = &d
		v.Min = max(v.Min, i+1)
	}
	v.Min = max(v.Min, 1)
	for i := 0; i < opts.VCPUs; i++ {
		d := v.Page(i)
		if n := len(b.steps); n > 0 && b.steps[n-1].Source == "vmsa" && b.steps[n-1].Contents[0] == d {
			b.steps[n-1].Pages++
			continue
		}
		b.steps = append(b.steps, Step{Source: "vmsa", Type: PageVMSA, GPA: KVMVMSAGPA, Pages: 1, Contents: []Digest{d}, FirstIndex: uint64(i)})
	}
	out.VMSAs = opts.VCPUs
	out.VCPUs = v
	out.Launch = &Launch{Steps: b.steps}
	return out, nil
}

// addQEMUPage adds the pages of one PAGE_DATA directive of a region.
func addQEMUPage(b *stepBuilder, h *igvm.Header, d igvm.PageData, r io.ReaderAt) {
	n := d.PageSize() / PageSize
	dir := StepDirectives{First: uint64(h.Index), Per: n}
	st := Step{Source: "PAGE_DATA", GPA: d.GPA, Pages: n, Stride: PageSize, Directives: dir}
	switch {
	case d.DataType == igvm.DataSecrets:
		st.Type = PageSecrets
	case d.DataType != igvm.DataNormal:
		st.Type = PageCPUID
	case d.Flags.Unmeasured():
		st.Type = PageUnmeasured
	case !d.HasData():
		st.Type, st.Contents = PageNormal, []Digest{ZeroPageDigest()}
	default:
		st.Type, st.Pages = PageNormal, 1
		st.Data = &PageData{R: r, Offset: int64(d.FileOffset), Stride: PageSize}
		b.add(st)
		if n > 1 { // a 2 MiB page: the 4 KiB of data, then zeros
			dir.Page = 1
			b.add(Step{Source: "PAGE_DATA", Type: PageNormal, GPA: d.GPA + PageSize, Pages: n - 1, Stride: PageSize,
				Contents: []Digest{ZeroPageDigest()}, Directives: dir})
		}
		return
	}
	b.add(st)
}

// qemuVPContext checks a VP context as QEMU 10.2 does and returns the
// registers it loads.
func qemuVPContext(f *igvm.File, h *igvm.Header, d igvm.VPContext, vcpus int) (vmsa.Registers, error) {
	if d.Kind != igvm.VPContextVMSA {
		return vmsa.Registers{}, directiveErr(h, ErrQEMURefuses, "%s VP context for the SEV-SNP platform", d.Kind)
	}
	if d.GPA != KVMVMSAGPA {
		return vmsa.Registers{}, directiveErr(h, ErrQEMURefuses, "VMSA GPA %#x: QEMU requires %#x, where KVM measures VMSAs", d.GPA, uint64(KVMVMSAGPA))
	}
	if int(d.VPIndex) >= vcpus {
		return vmsa.Registers{}, directiveErr(h, ErrQEMURefuses, "VP context for vCPU %d, but the guest has %d vCPUs", d.VPIndex, vcpus)
	}
	data, err := f.VPContextData(d)
	if err != nil {
		return vmsa.Registers{}, directiveErr(h, err, "%v", err)
	}
	var page vmsa.Page
	copy(page[:], data)
	if err := page.CheckQEMU(); err != nil {
		return vmsa.Registers{}, directiveErr(h, err, "%v", err)
	}
	rg := page.Registers()
	if rg.SEVFeatures&1 == 0 {
		return vmsa.Registers{}, directiveErr(h, ErrQEMURefuses, "SEV_FEATURES %#x lacks SNP_ACTIVE (QEMU check_sev_features)", rg.SEVFeatures)
	}
	if _, err := vmsa.BuildKVM(rg, rg.SEVFeatures); err != nil {
		return vmsa.Registers{}, directiveErr(h, err, "%v", err)
	}
	return rg, nil
}
