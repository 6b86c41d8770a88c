package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/snpmeasure/snpmeasure/launchdigest"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

// maxSpaceVCPUs bounds --vcpus ranges of search and refvalues.
const maxSpaceVCPUs = 4096

// defaultGuestFeatures are the SEV_FEATURES values real hosts use: SNP alone
// (Linux 6.8+ KVM), with DebugSwap (6.6/6.7 KVM), and either with Secure TSC.
const defaultGuestFeatures = "0x1,0x21,0x201,0x221"

// spaceDefaults are a command's defaults for the ranged flags.
type spaceDefaults struct {
	vcpus, vcpuTypes, vmmTypes, guestFeatures string
}

// spaceOptions are the measure flags of search and refvalues, where the
// vCPU count, vCPU type, VMM type and guest features take lists.
type spaceOptions struct {
	ovmf, kernel, initrd, appendArg, ovmfHash, mode     string
	vcpus, vcpuTypes, vcpuSigs, vmmTypes, guestFeatures string
	fs                                                  *pflag.FlagSet
	ovmfDigest                                          *launchdigest.Digest // parsed --snp-ovmf-hash
}

func addSpaceFlags(fs *pflag.FlagSet, d spaceDefaults) *spaceOptions {
	o := &spaceOptions{fs: fs}
	fs.StringVar(&o.mode, "mode", "snp", "guest mode: only snp")
	fs.StringVar(&o.ovmf, "ovmf", "", "OVMF firmware image (required)")
	fs.StringVar(&o.kernel, "kernel", "", "kernel file (kernel-hashes=on)")
	fs.StringVar(&o.initrd, "initrd", "", "initrd file (needs --kernel)")
	fs.StringVar(&o.appendArg, "append", "", "kernel command line (needs --kernel)")
	fs.StringVar(&o.ovmfHash, "snp-ovmf-hash", "", "precomputed snp:ovmf-hash of the firmware")
	fs.StringVar(&o.vcpus, "vcpus", d.vcpus, "vCPU counts: ranges and lists, e.g. 1-64,96,128")
	fs.StringVar(&o.vcpuTypes, "vcpu-type", d.vcpuTypes, "vCPU types: comma list or 'all'")
	fs.StringVar(&o.vcpuSigs, "vcpu-sig", "", "vCPU signatures instead of types: comma list of 0x-hex or decimal")
	fs.StringVar(&o.vmmTypes, "vmm-type", d.vmmTypes, "VMM types: comma list of QEMU, ec2, gce or 'all'")
	fs.StringVar(&o.guestFeatures, "guest-features", d.guestFeatures, "guest features: comma list of 0x-hex or decimal")
	addQuietFlag(fs)
	return o
}

// vcpuChoice is one vCPU model of a space: a named type or a bare signature.
type vcpuChoice struct {
	name string // "" for --vcpu-sig values
	sig  uint64
}

// space is a set of launch configurations sharing firmware, kernel, initrd
// and command line.
type space struct {
	vcpus    []int
	cpus     []vcpuChoice
	vmms     []vmsa.VMM
	features []uint64
}

// size returns the number of configurations.
func (s *space) size() int { return len(s.vcpus) * len(s.cpus) * len(s.vmms) * len(s.features) }

// describe summarises the space for humans.
func (s *space) describe() string {
	names := make([]string, len(s.cpus))
	for i, c := range s.cpus {
		names[i] = c.label()
	}
	vmms := make([]string, len(s.vmms))
	for i, v := range s.vmms {
		vmms[i] = v.String()
	}
	feats := make([]string, len(s.features))
	for i, f := range s.features {
		feats[i] = fmt.Sprintf("%#x", f)
	}
	return fmt.Sprintf("vCPUs %s; vCPU types %s; VMM types %s; guest features %s (%d configurations)",
		formatRanges(s.vcpus), strings.Join(names, ","), strings.Join(vmms, ","), strings.Join(feats, ","), s.size())
}

func (c vcpuChoice) label() string {
	if c.name != "" {
		return c.name
	}
	return fmt.Sprintf("%#x", c.sig)
}

// parseSpace resolves the ranged flags.
func (o *spaceOptions) parseSpace() (*space, error) {
	if o.mode != "snp" {
		return nil, usagef("--mode %q: only snp is supported here", o.mode)
	}
	if o.ovmf == "" {
		return nil, usagef("missing --ovmf FILE")
	}
	if o.initrd != "" && o.kernel == "" {
		return nil, usagef("--kernel required when using --initrd")
	}
	if o.appendArg != "" && o.kernel == "" {
		return nil, usagef("--kernel required when using --append")
	}
	if o.vcpuSigs != "" && o.fs.Changed("vcpu-type") {
		return nil, usagef("--vcpu-type and --vcpu-sig both give the vCPU models: use one")
	}
	if o.ovmfHash != "" {
		d, err := parseFromHex(o.ovmfHash)
		if err != nil {
			return nil, usagef("--snp-ovmf-hash: %v", err)
		}
		o.ovmfDigest = &d
	}
	s := &space{}
	var err error
	if s.vcpus, err = parseRanges(o.vcpus); err != nil {
		return nil, usagef("--vcpus: %v", err)
	}
	if o.vcpuSigs != "" {
		for _, f := range splitList(o.vcpuSigs) {
			v, err := parseUint("vcpu-sig", f)
			if err != nil {
				return nil, err
			}
			s.cpus = append(s.cpus, vcpuChoice{sig: v})
		}
	} else if o.vcpuTypes == "all" {
		for _, c := range vmsa.CPUTypes {
			s.cpus = append(s.cpus, vcpuChoice{name: c.Name, sig: c.Signature()})
		}
	} else {
		for _, n := range splitList(o.vcpuTypes) {
			c, err := vmsa.LookupCPUType(n)
			if err != nil {
				return nil, usagef("--vcpu-type: %v", err)
			}
			s.cpus = append(s.cpus, vcpuChoice{name: c.Name, sig: c.Signature()})
		}
	}
	if len(s.cpus) == 0 {
		return nil, usagef("--vcpu-type: no vCPU type given")
	}
	if o.vmmTypes == "all" {
		s.vmms = slices.Clone(vmsa.VMMs)
	} else {
		for _, n := range splitList(o.vmmTypes) {
			v, err := vmsa.ParseVMM(n)
			if err != nil {
				return nil, usagef("--vmm-type: %v", err)
			}
			if !slices.Contains(s.vmms, v) {
				s.vmms = append(s.vmms, v)
			}
		}
	}
	if len(s.vmms) == 0 {
		return nil, usagef("--vmm-type: no VMM type given")
	}
	for _, f := range splitList(o.guestFeatures) {
		v, err := parseUint("guest-features", f)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(s.features, v) {
			s.features = append(s.features, v)
		}
	}
	if len(s.features) == 0 {
		return nil, usagef("--guest-features: no value given")
	}
	return s, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// parseRanges parses "1-64,96,128" into a sorted list of distinct counts.
func parseRanges(s string) ([]int, error) {
	set := map[int]bool{}
	parts := splitList(s)
	if len(parts) == 0 {
		return nil, fmt.Errorf("no vCPU count given")
	}
	for _, p := range parts {
		lo, hi, isRange := strings.Cut(p, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil {
			return nil, fmt.Errorf("%q is not a count or a range like 1-64", p)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil {
				return nil, fmt.Errorf("%q is not a range like 1-64", p)
			}
		}
		if a < 1 || b < a || b > maxSpaceVCPUs {
			return nil, fmt.Errorf("%q: counts must satisfy 1 <= low <= high <= %d", p, maxSpaceVCPUs)
		}
		for n := a; n <= b; n++ {
			set[n] = true
		}
	}
	out := make([]int, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

// formatRanges prints a sorted list compactly: 1-64,96.
func formatRanges(ns []int) string {
	var b strings.Builder
	for i := 0; i < len(ns); {
		j := i
		for j+1 < len(ns) && ns[j+1] == ns[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if j > i {
			fmt.Fprintf(&b, "%d-%d", ns[i], ns[j])
		} else {
			fmt.Fprintf(&b, "%d", ns[i])
		}
		i = j + 1
	}
	return b.String()
}

// spacePoint is one configuration of a space and its launch digest.
type spacePoint struct {
	VCPUs         int
	CPU           vcpuChoice
	VMM           vmsa.VMM
	GuestFeatures uint64
	Measurement   launchdigest.Digest
}

// spaceInputs are the measured inputs shared by every configuration.
type spaceInputs struct {
	fw       *firmwareFile
	pages    []launchdigest.Digest
	kernel   *launchdigest.KernelHashes
	ovmfHash *launchdigest.Digest
}

// loadSpaceInputs opens and hashes the firmware, kernel and initrd once;
// parseSpace must have run. The caller closes in.fw.
func (o *spaceOptions) loadSpaceInputs() (*spaceInputs, error) {
	fw, err := openFirmware(o.ovmf)
	if err != nil {
		return nil, err
	}
	c := &measureConfig{opts: &measureOptions{kernel: o.kernel, initrd: o.initrd, appendArg: o.appendArg},
		hasKernel: o.kernel != "", ovmfHash: o.ovmfDigest}
	pages, k, err := c.snpInputs(fw)
	if err != nil {
		fw.Close()
		return nil, err
	}
	return &spaceInputs{fw: fw, pages: pages, kernel: k, ovmfHash: o.ovmfDigest}, nil
}

// enumerate computes every configuration of s, measuring the shared part
// (firmware, metadata, kernel hashes) once per VMM type and extending it one
// VMSA at a time. Points come in the order VMM, vCPU model, guest features,
// vCPU count.
func (s *space) enumerate(in *spaceInputs, yield func(spacePoint) bool) error {
	maxVCPUs := s.vcpus[len(s.vcpus)-1]
	want := make([]bool, maxVCPUs+1)
	for _, n := range s.vcpus {
		want[n] = true
	}
	for _, vmm := range s.vmms {
		l, err := launchdigest.SNP(in.fw.image, in.pages, launchdigest.SNPConfig{
			VCPUs: launchdigest.VCPUs{Count: 1, VMM: vmm}, Kernel: in.kernel, OVMFHash: in.ovmfHash})
		if err != nil {
			return fmt.Errorf("%s: %w", in.fw.path, err)
		}
		if maxVCPUs > 1 && in.fw.image.ResetEIP == 0 {
			return fmt.Errorf("%s: %w", in.fw.path, launchdigest.ErrZeroAPEIP)
		}
		prefix, _ := l.SplitVMSAs()
		pd := prefix.Digest()
		for _, cpu := range s.cpus {
			for _, gf := range s.features {
				v := launchdigest.VCPUs{Count: maxVCPUs, VMM: vmm, Signature: cpu.sig, GuestFeatures: gf}
				bsp, ap := launchdigest.VMSAPages(in.fw.image.ResetEIP, v)
				apd := launchdigest.Digest{}
				if ap != nil {
					apd = launchdigest.PageDigest(ap[:])
				}
				for n, d := range launchdigest.VMSASeries(pd, launchdigest.PageDigest(bsp[:]), apd, v.VMSAGPA(), maxVCPUs) {
					if !want[n] {
						continue
					}
					if !yield(spacePoint{VCPUs: n, CPU: cpu, VMM: vmm, GuestFeatures: gf, Measurement: d}) {
						return nil
					}
				}
			}
		}
	}
	return nil
}
