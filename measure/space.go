package measure

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/snpmeasure/snpmeasure/launchdigest"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

// CPU is one vCPU model of a Space: a QEMU -cpu type, or a bare signature
// (Name "").
type CPU struct {
	Name      string
	Signature uint64
}

// String returns the type name, or the signature in hex.
func (c CPU) String() string {
	if c.Name != "" {
		return c.Name
	}
	return fmt.Sprintf("%#x", c.Signature)
}

// CPUTypes returns every vCPU type of vmsa.CPUTypes as a CPU, in QEMU's order.
func CPUTypes() []CPU {
	out := make([]CPU, len(vmsa.CPUTypes))
	for i, c := range vmsa.CPUTypes {
		out[i] = CPU{Name: c.Name, Signature: c.Signature()}
	}
	return out
}

// DefaultGuestFeatureSet are the SEV_FEATURES values real hosts use: SNP
// alone (Linux 6.8+ KVM), with DebugSwap (6.6/6.7 KVM), and either with
// Secure TSC.
var DefaultGuestFeatureSet = []uint64{0x1, 0x21, 0x201, 0x221}

// Space is a set of launch configurations of the same inputs: every
// combination of its lists. Lists must not be empty; KVMInits may be
// (meaning KVM_SEV_INIT2 only).
type Space struct {
	VCPUs         []int // sorted, distinct, 1..MaxVCPUs
	CPUs          []CPU
	VMMs          []vmsa.VMM
	GuestFeatures []uint64
	KVMInits      []vmsa.KVMInit
}

// kvmInits returns the KVM initialisations of the space, init2 when none.
func (s *Space) kvmInits() []vmsa.KVMInit {
	if len(s.KVMInits) == 0 {
		return []vmsa.KVMInit{vmsa.KVMInit2}
	}
	return s.KVMInits
}

// Size returns the number of configurations. A legacy KVM initialisation
// only combines with QEMU.
func (s *Space) Size() int {
	n := 0
	for _, vm := range s.VMMs {
		for _, k := range s.kvmInits() {
			if vm == vmsa.QEMU || k == vmsa.KVMInit2 {
				n++
			}
		}
	}
	return n * len(s.VCPUs) * len(s.CPUs) * len(s.GuestFeatures)
}

// String summarises the space for humans.
func (s *Space) String() string {
	var cpus, vmms, feats, inits []string
	for _, c := range s.CPUs {
		cpus = append(cpus, c.String())
	}
	for _, v := range s.VMMs {
		vmms = append(vmms, v.String())
	}
	for _, f := range s.GuestFeatures {
		feats = append(feats, fmt.Sprintf("%#x", f))
	}
	for _, k := range s.kvmInits() {
		inits = append(inits, k.String())
	}
	return fmt.Sprintf("vCPUs %s; vCPU types %s; VMM types %s; guest features %s; KVM init %s (%d configurations)",
		FormatCounts(s.VCPUs), strings.Join(cpus, ","), strings.Join(vmms, ","), strings.Join(feats, ","),
		strings.Join(inits, ","), s.Size())
}

func (s *Space) validate() error {
	switch {
	case s == nil:
		return configErr("no space")
	case len(s.VCPUs) == 0:
		return configErr("the space has no vCPU count")
	case !slices.IsSorted(s.VCPUs) || s.VCPUs[0] < 1 || s.VCPUs[len(s.VCPUs)-1] > MaxVCPUs:
		return configErr("vCPU counts must be sorted and within 1-%d", MaxVCPUs)
	case len(s.CPUs) == 0:
		return configErr("the space has no vCPU type")
	case len(s.VMMs) == 0:
		return configErr("the space has no VMM type")
	case len(s.GuestFeatures) == 0:
		return configErr("the space has no guest features")
	}
	// Each value once, and known: a duplicate would give duplicate points,
	// an unknown VMM or KVM would be measured as another.
	if dup := firstDuplicate(s.VCPUs); dup >= 0 {
		return configErr("vCPU count %d is listed twice", s.VCPUs[dup])
	}
	if dup := firstDuplicate(s.CPUs); dup >= 0 {
		return configErr("vCPU type %s is listed twice", s.CPUs[dup])
	}
	if dup := firstDuplicate(s.GuestFeatures); dup >= 0 {
		return configErr("guest features %#x are listed twice", s.GuestFeatures[dup])
	}
	if dup := firstDuplicate(s.VMMs); dup >= 0 {
		return configErr("VMM %s is listed twice", s.VMMs[dup])
	}
	if dup := firstDuplicate(s.KVMInits); dup >= 0 {
		return configErr("KVM initialisation %s is listed twice", s.KVMInits[dup])
	}
	for _, v := range s.VMMs {
		if !slices.Contains(vmsa.VMMs, v) {
			return configErr("unknown VMM %d", int(v))
		}
	}
	for _, k := range s.KVMInits {
		if !slices.Contains(vmsa.KVMInits, k) {
			return configErr("unknown KVM initialisation %d", int(k))
		}
	}
	return nil
}

// firstDuplicate returns the index of the first value seen before, or -1.
func firstDuplicate[T comparable](vs []T) int {
	seen := make(map[T]bool, len(vs))
	for i, v := range vs {
		if seen[v] {
			return i
		}
		seen[v] = true
	}
	return -1
}

// Point is one configuration of a Space and its launch measurement.
type Point struct {
	VCPUs         int
	CPU           CPU
	VMM           vmsa.VMM
	GuestFeatures uint64
	KVMInit       vmsa.KVMInit
	Measurement   launchdigest.Digest
}

// Config returns the measure configuration of the point with the files of base.
func (p *Point) Config(base *Config) *Config {
	c := *base
	c.Mode, c.VCPUs, c.Signature, c.VMM, c.GuestFeatures, c.KVMInit = SNP, p.VCPUs, p.CPU.Signature, p.VMM, p.GuestFeatures, p.KVMInit
	return &c
}

// Enumerate measures every configuration of s, calling yield for each until
// it returns false. It measures the shared part of the launch (firmware,
// metadata, kernel hashes) once per VMM type and extends it one VMSA at a
// time. Points come in the order VMM, KVM initialisation, vCPU model, guest
// features, vCPU count. For an IGVM file launched by the qemu loader, a
// vCPU count below the file's VP contexts is an error (Search leaves such
// counts out: no launch has them).
func (in *Inputs) Enumerate(ctx context.Context, s *Space, yield func(Point) bool) error {
	return in.enumerate(ctx, s, yield, true)
}

func (in *Inputs) enumerate(ctx context.Context, s *Space, yield func(Point) bool, strict bool) error {
	if err := s.validate(); err != nil {
		return err
	}
	if in.igvm != nil {
		return in.enumerateIGVM(ctx, s, yield, strict)
	}
	maxVCPUs := s.VCPUs[len(s.VCPUs)-1]
	want := make([]bool, maxVCPUs+1)
	for _, n := range s.VCPUs {
		want[n] = true
	}
	for _, vmm := range s.VMMs {
		l, err := in.Launch(launchdigest.VCPUs{Count: 1, VMM: vmm})
		if err != nil {
			return in.err(err)
		}
		if maxVCPUs > 1 && in.Firmware.ResetEIP == 0 {
			return in.err(launchdigest.ErrZeroAPEIP)
		}
		prefix, _ := l.SplitVMSAs()
		pd := prefix.Digest()
		for _, kinit := range s.kvmInits() {
			if vmm != vmsa.QEMU && kinit != vmsa.KVMInit2 {
				continue
			}
			for _, cpu := range s.CPUs {
				if err := ctx.Err(); err != nil {
					return err
				}
				for _, gf := range s.GuestFeatures {
					v := launchdigest.VCPUs{Count: maxVCPUs, VMM: vmm, Signature: cpu.Signature, GuestFeatures: gf, KVMInit: kinit}
					bsp, ap := launchdigest.VMSAPages(in.Firmware.ResetEIP, v)
					var apd launchdigest.Digest
					if ap != nil {
						apd = launchdigest.PageDigest(ap[:])
					}
					for n, d := range launchdigest.VMSASeries(pd, launchdigest.PageDigest(bsp[:]), apd, v.VMSAGPA(), maxVCPUs) {
						if want[n] && !yield(Point{VCPUs: n, CPU: cpu, VMM: vmm, GuestFeatures: gf, KVMInit: kinit, Measurement: d}) {
							return nil
						}
					}
				}
			}
		}
	}
	return nil
}

// err names the firmware in an error about the launch.
func (in *Inputs) err(err error) error {
	if len(in.Files) > 0 {
		return fileErr(in.Files[0].Path, err)
	}
	return err
}

// Search returns every configuration of s whose measurement is target.
func (in *Inputs) Search(ctx context.Context, s *Space, target launchdigest.Digest) ([]Point, error) {
	var out []Point
	err := in.enumerate(ctx, s, func(p Point) bool {
		if p.Measurement == target {
			out = append(out, p)
		}
		return true
	}, false)
	return out, err
}

// ParseCounts parses vCPU counts as ranges and lists, "1-64,96,128", into a
// sorted list of distinct counts from 1 to MaxVCPUs. Empty items are errors.
func ParseCounts(s string) ([]int, error) {
	set := map[int]bool{}
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			return nil, fmt.Errorf("%q: empty item in the list", s)
		}
		lo, hi, isRange := strings.Cut(p, "-")
		if !isRange {
			hi = lo
		}
		a, aerr := parseCount(lo)
		b, berr := parseCount(hi)
		if aerr != nil || berr != nil {
			return nil, fmt.Errorf("%q is not a count or a range like 1-64", p)
		}
		if a < 1 || b < a || b > MaxVCPUs {
			return nil, fmt.Errorf("%q: counts must satisfy 1 <= low <= high <= %d", p, MaxVCPUs)
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

// parseCount parses a decimal count; a count too large for an int is
// taken as above the limit, not as a syntax error.
func parseCount(s string) (int, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.Atoi(s)
	if errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(s, "-") {
		return MaxVCPUs + 1, nil
	}
	return n, err
}

// FormatCounts prints sorted counts compactly: "1-64,96".
func FormatCounts(ns []int) string {
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
