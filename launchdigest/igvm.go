package launchdigest

// The loaders of IGVM files, side by side with the OVMF (snp.go) and SVSM
// launches: each turns a parsed IGVM file into the SNP_LAUNCH_UPDATEs a
// given host performs. IGVMMeasure replays COCONUT-SVSM's igvmmeasure
// (igvm_measure.rs); IGVMQEMU replays QEMU 10.2 with KVM (igvm_qemu.go).

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/snpmeasure/snpmeasure/igvm"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

// IGVMLoader names who turns an IGVM file into page updates.
type IGVMLoader int

// The loaders.
const (
	// LoaderIGVMMeasure is COCONUT-SVSM's igvmmeasure: the file in file order.
	LoaderIGVMMeasure IGVMLoader = iota
	// LoaderQEMU is QEMU 10.2 with KVM.
	LoaderQEMU
)

// String returns the loader's command-line name.
func (l IGVMLoader) String() string {
	if l == LoaderQEMU {
		return "qemu"
	}
	return "igvmmeasure"
}

// ParseIGVMLoader parses "igvmmeasure" or "qemu".
func ParseIGVMLoader(s string) (IGVMLoader, error) {
	switch s {
	case "igvmmeasure":
		return LoaderIGVMMeasure, nil
	case "qemu":
		return LoaderQEMU, nil
	}
	return 0, fmt.Errorf("unknown IGVM loader %q (want igvmmeasure or qemu)", s)
}

// KVMVMSAGPA is the GPA at which KVM places and measures every VMSA.
const KVMVMSAGPA = vmsa.GPA48

// Errors of the IGVM loaders.
var (
	// ErrIGVMPlatform: the file has no SUPPORTED_PLATFORM header of the platform.
	ErrIGVMPlatform = errors.New("IGVM file is not compatible with the specified platform")
	// ErrIGVMLargePageData: a 2 MiB PAGE_DATA with file data, which
	// igvmmeasure cannot measure (it panics).
	ErrIGVMLargePageData = errors.New("2 MiB page with file data: igvmmeasure cannot measure it (it panics); QEMU measures the data followed by zeros (--igvm-loader qemu)")
	// ErrQEMURefuses: QEMU 10.2 or KVM would refuse to launch the file.
	ErrQEMURefuses = errors.New("QEMU 10.2 refuses this IGVM file")
)

// DirectiveError is a directive a loader cannot measure or refuses.
type DirectiveError struct {
	Directive string // "directive[12] PAGE_DATA"
	Offset    int64  // file offset of the directive header
	Msg       string
	Err       error
}

func (e *DirectiveError) Error() string {
	return fmt.Sprintf("offset %#x: %s: %s", e.Offset, e.Directive, e.Msg)
}

func (e *DirectiveError) Unwrap() error { return e.Err }

func directiveErr(h *igvm.Header, kind error, format string, args ...any) error {
	return &DirectiveError{Directive: h.Name(), Offset: h.Offset, Msg: fmt.Sprintf(format, args...), Err: kind}
}

// KVMCheck is a check of igvmmeasure --check-kvm.
type KVMCheck int

// The --check-kvm checks, named after igvmmeasure's KvmCheckError.
const (
	KVMCheckVMSACount KVMCheck = iota + 1
	KVMCheckVMSAGPA
	KVMCheckVMSACR0
	KVMCheckVMSAOrder
)

// KVMCheckError is a failed --check-kvm check.
type KVMCheckError struct {
	Check     KVMCheck
	Directive string
	Offset    int64
	Value     uint64 // the GPA or CR0 at fault
}

func (e *KVMCheckError) Error() string {
	var msg string
	switch e.Check {
	case KVMCheckVMSACount:
		msg = "more than one VMSA in the IGVM file: QEMU/KVM only supports setting the VMSA of the first vCPU"
	case KVMCheckVMSAGPA:
		msg = fmt.Sprintf("VMSA GPA %#x is not the address KVM measures VMSAs at, %#x", e.Value, uint64(KVMVMSAGPA))
	case KVMCheckVMSACR0:
		msg = fmt.Sprintf("VMSA CR0 is %#x, not 0x31 (protected mode) or 0x30 (real mode): KVM overrides CR0 when it measures the VMSA", e.Value)
	default:
		msg = "a PARAMETER_INSERT follows the VMSA: QEMU/KVM measures the VMSA last, so it must be the last page directive"
	}
	return fmt.Sprintf("offset %#x: %s: KVM check failed: %s", e.Offset, e.Directive, msg)
}

// IDBlockMismatchError is an SNP_ID_BLOCK whose launch digest is not the
// computed one: igvmmeasure fails after printing the digest, and the SEV
// firmware refuses SNP_LAUNCH_FINISH.
type IDBlockMismatchError struct {
	Directive string
	Expected  Digest // the ID block's ld
	Computed  Digest
}

func (e *IDBlockMismatchError) Error() string {
	return fmt.Sprintf("%s: the ID block's launch digest %s is not the computed digest %s", e.Directive, e.Expected, e.Computed)
}

// IGVMLaunch is the SNP launch an IGVM loader computed for a file.
type IGVMLaunch struct {
	*Launch
	// Loader is the loader that built the launch.
	Loader IGVMLoader
	// Mask is the compatibility mask of the platform measured.
	Mask uint32
	// IDBlock is the SNP_ID_BLOCK the loader uses (igvmmeasure: the last one
	// of the platform; QEMU: the only one), nil when there is none;
	// IDBlockDirective names it.
	IDBlock          *igvm.SNPIDBlock
	IDBlockDirective string
	// Policy is the guest policy of the platform's GUEST_POLICY (igvmmeasure
	// and igvmmeasure sign: the first; QEMU: the last); HasPolicy false when none.
	Policy    uint64
	HasPolicy bool
	// VMSAs is the number of VMSA pages measured.
	VMSAs int
	// VCPUs describes the VMSAs of the qemu loader, for other vCPU counts
	// (nil for igvmmeasure).
	VCPUs *IGVMVCPUs
}

// CheckIDBlock compares the ID block's launch digest with d, the launch
// digest: nil when there is no ID block or it matches, else an
// *IDBlockMismatchError.
func (l *IGVMLaunch) CheckIDBlock(d Digest) error {
	if l.IDBlock == nil {
		return nil
	}
	if Digest(l.IDBlock.LD) != d {
		return &IDBlockMismatchError{Directive: l.IDBlockDirective, Expected: Digest(l.IDBlock.LD), Computed: d}
	}
	return nil
}

// IGVMMeasureOptions are igvmmeasure's options.
type IGVMMeasureOptions struct {
	// Platform is -p: PlatformSEVSNP (the zero value PlatformNative also
	// selects SEV-SNP, igvmmeasure's default), PlatformSEVES or PlatformSEV.
	Platform igvm.PlatformType
	// NativeZero is -n: data-less pages are measured as ZERO pages.
	NativeZero bool
	// CheckKVM is -c: fail on VMSAs QEMU/KVM cannot reproduce.
	CheckKVM bool
}

func (o IGVMMeasureOptions) platform() igvm.PlatformType {
	if o.Platform == igvm.PlatformNative {
		return igvm.PlatformSEVSNP
	}
	return o.Platform
}

var zeroPageDigest = sync.OnceValue(func() Digest { return PageDigest(make([]byte, PageSize)) })

// ZeroPageDigest returns the SHA-384 of a 4 KiB page of zeros.
func ZeroPageDigest() Digest { return zeroPageDigest() }

// MaxIGVMUpdates bounds the page updates of an IGVM launch: 2^20 pages,
// 4 GiB of measured guest memory, far more than a real file measures (a
// firmware image or an SVSM kernel is a few MiB) and about a second of
// hashing. Without a bound a small hostile file costs minutes or hours: a
// 24-byte PAGE_DATA asks for a 2 MiB page (512 updates), and a 16-byte
// PARAMETER_INSERT for a 4 GiB area (a million updates, with the qemu loader).
const MaxIGVMUpdates = 1 << 20

// ErrIGVMTooManyUpdates is returned for launches beyond MaxIGVMUpdates.
var ErrIGVMTooManyUpdates = fmt.Errorf("the IGVM file asks for more than %d page updates (4 GiB of measured guest memory)", MaxIGVMUpdates)

// stepBuilder appends steps, merging a step into the previous one when it
// continues it (same type and source, next GPA, next directive page, and
// contents that continue), so that a launch costs memory per run of pages,
// not per page.
type stepBuilder struct {
	steps []Step
	total uint64
}

func (b *stepBuilder) add(s Step) {
	if s.Pages == 0 {
		return
	}
	b.total += s.Pages
	if n := len(b.steps); n > 0 && continues(&b.steps[n-1], &s) {
		last := &b.steps[n-1]
		if last.Data != nil && last.Pages == 1 {
			last.Data.Stride = s.Data.Offset - last.Data.Offset
		}
		last.Pages += s.Pages
		return
	}
	b.steps = append(b.steps, s)
}

func continues(a, s *Step) bool {
	if a.Type != s.Type || a.Source != s.Source || a.Stride != PageSize || s.Stride != PageSize ||
		a.GPA+a.Pages*PageSize != s.GPA || a.Type == PageVMSA {
		return false
	}
	da, ds := a.Directives, s.Directives
	if da.Per == 0 || da.Per != ds.Per || da.First*da.Per+da.Page+a.Pages != ds.First*ds.Per+ds.Page {
		return false
	}
	switch {
	case a.Data == nil && s.Data == nil:
		if len(a.Contents) == 0 && len(s.Contents) == 0 {
			return true
		}
		return len(a.Contents) == 1 && len(s.Contents) == 1 && a.Contents[0] == s.Contents[0]
	case a.Data != nil && s.Data != nil && len(a.Contents) == 0 && len(s.Contents) == 0:
		if a.Data.R != s.Data.R || s.Pages != 1 {
			return false
		}
		next := s.Data.Offset - a.Data.Offset
		if a.Pages == 1 {
			return next == PageSize || next == 0
		}
		return next == int64(a.Pages)*a.Data.Stride
	}
	return false
}

// igvmPlatformMask returns the compatibility mask igvmmeasure measures: that
// of the first SUPPORTED_PLATFORM header of the platform.
func igvmPlatformMask(f *igvm.File, p igvm.PlatformType) (uint32, error) {
	m, ok := f.Platform(p)
	if !ok {
		return 0, fmt.Errorf("%w (no %s SUPPORTED_PLATFORM header)", ErrIGVMPlatform, p)
	}
	return m, nil
}

// firstPolicy returns the policy of the first GUEST_POLICY of the mask.
func firstPolicy(f *igvm.File, mask uint32) (uint64, bool) {
	for _, h := range f.Initializations {
		if p, ok := h.Body.(igvm.GuestPolicy); ok && p.CompatibilityMask&mask != 0 {
			return p.Policy, true
		}
	}
	return 0, false
}

// kvmChecker is igvmmeasure's --check-kvm.
type kvmChecker struct {
	f     *igvm.File
	on    bool
	vmsas int
}

func (c *kvmChecker) insert(h *igvm.Header) error {
	if c.on && c.vmsas > 0 {
		return &KVMCheckError{Check: KVMCheckVMSAOrder, Directive: h.Name(), Offset: h.Offset}
	}
	return nil
}

func (c *kvmChecker) vmsa(h *igvm.Header, v igvm.VPContext) error {
	defer func() { c.vmsas++ }()
	if !c.on {
		return nil
	}
	if c.vmsas > 0 {
		return &KVMCheckError{Check: KVMCheckVMSACount, Directive: h.Name(), Offset: h.Offset}
	}
	if v.GPA != KVMVMSAGPA {
		return &KVMCheckError{Check: KVMCheckVMSAGPA, Directive: h.Name(), Offset: h.Offset, Value: v.GPA}
	}
	page, err := c.f.VPContextData(v)
	if err != nil {
		return directiveErr(h, err, "%v", err)
	}
	if cr0 := le64(page[vmsa.OffCR0:]); cr0 != 0x31 && cr0 != 0x30 {
		return &KVMCheckError{Check: KVMCheckVMSACR0, Directive: h.Name(), Offset: h.Offset, Value: cr0}
	}
	return nil
}

func le64(b []byte) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// IGVMMeasure builds the SEV-SNP launch that COCONUT-SVSM's igvmmeasure
// measures (tools/igvmmeasure/src/igvm_measure.rs, commit f4bc4bcd), bit for
// bit: the directives in file order, those whose compatibility mask
// overlaps the platform's (the first SUPPORTED_PLATFORM of the platform):
//
//   - PAGE_DATA unmeasured: UNMEASURED; normal without data: NORMAL zeros,
//     or ZERO with NativeZero; normal with data: NORMAL; SECRETS: SECRETS;
//     CPUID_DATA and CPUID_XF: CPUID (data ignored); the shared flag is
//     ignored; a 2 MiB page is 512 4 KiB updates (with data: an error,
//     ErrIGVMLargePageData, where igvmmeasure panics);
//   - PARAMETER_INSERT: one UNMEASURED page at its GPA;
//   - VP_CONTEXT decoded as a VMSA (mask not checked): a VMSA page, the
//     file's 4 KiB, at the directive's GPA;
//   - SNP_ID_BLOCK: the last one is the ID block (CheckIDBlock);
//   - everything else: nothing.
//
// Page data stays in the file (Step.Data). For SEV and SEV-ES use IGVMMeasureSEV.
func IGVMMeasure(f *igvm.File, opts IGVMMeasureOptions) (*IGVMLaunch, error) {
	if p := opts.platform(); p != igvm.PlatformSEVSNP {
		return nil, fmt.Errorf("IGVMMeasure measures SEV-SNP launches; use IGVMMeasureSEV for %s", p)
	}
	mask, err := igvmPlatformMask(f, igvm.PlatformSEVSNP)
	if err != nil {
		return nil, err
	}
	out := &IGVMLaunch{Loader: LoaderIGVMMeasure, Mask: mask}
	out.Policy, out.HasPolicy = firstPolicy(f, mask)
	var b stepBuilder
	kvm := kvmChecker{f: f, on: opts.CheckKVM}
	r := f.ReaderAt()
	for h, err := range f.Directives() {
		if err != nil {
			return nil, err
		}
		dir := StepDirectives{First: uint64(h.Index), Per: 1}
		switch d := h.Body.(type) {
		case igvm.PageData:
			if d.CompatibilityMask&mask == 0 {
				continue
			}
			n := d.PageSize() / PageSize
			if d.Flags.Large() && d.HasData() {
				return nil, directiveErr(&h, ErrIGVMLargePageData, "%v", ErrIGVMLargePageData)
			}
			dir.Per = n
			st := Step{Source: "PAGE_DATA", GPA: d.GPA, Pages: n, Stride: PageSize, Directives: dir}
			switch d.DataType {
			case igvm.DataNormal:
				switch {
				case d.Flags.Unmeasured():
					st.Type = PageUnmeasured
				case !d.HasData() && opts.NativeZero:
					st.Type = PageZero
				case !d.HasData():
					st.Type, st.Contents = PageNormal, []Digest{ZeroPageDigest()}
				default:
					st.Type, st.Data = PageNormal, &PageData{R: r, Offset: int64(d.FileOffset), Stride: PageSize}
				}
			case igvm.DataSecrets:
				st.Type = PageSecrets
			default:
				st.Type = PageCPUID
			}
			b.add(st)
		case igvm.ParameterInsert:
			if d.CompatibilityMask&mask == 0 {
				continue
			}
			if err := kvm.insert(&h); err != nil {
				return nil, err
			}
			b.add(Step{Source: "PARAMETER_INSERT", Type: PageUnmeasured, GPA: d.GPA, Pages: 1, Stride: PageSize, Directives: dir})
		case igvm.VPContext:
			if d.Kind != igvm.VPContextVMSA {
				continue
			}
			if err := kvm.vmsa(&h, d); err != nil {
				return nil, err
			}
			b.add(Step{Source: "VP_CONTEXT", Type: PageVMSA, GPA: d.GPA, Pages: 1,
				Data: &PageData{R: r, Offset: int64(d.FileOffset), Stride: PageSize}, Directives: dir})
			out.VMSAs++
		case igvm.SNPIDBlock:
			if d.CompatibilityMask&mask != 0 {
				blk := d
				out.IDBlock, out.IDBlockDirective = &blk, h.Name()
			}
		}
		if b.total > MaxIGVMUpdates {
			return nil, directiveErr(&h, ErrIGVMTooManyUpdates, "%v", ErrIGVMTooManyUpdates)
		}
	}
	out.Launch = &Launch{Steps: b.steps}
	return out, nil
}

// IGVMMeasureSEV returns the SEV or SEV-ES launch digest igvmmeasure prints
// for -p sev or -p sev-es: the SHA-256 of the file data of the platform's
// PAGE_DATA directives (whatever their type or flags; data-less pages and
// parameter inserts add nothing, so NativeZero has no effect) and of every
// VMSA VP context's 4 KiB (mask not checked), in file order. The data is
// streamed from the file.
func IGVMMeasureSEV(ctx context.Context, f *igvm.File, opts IGVMMeasureOptions) ([SEVDigestSize]byte, error) {
	var out [SEVDigestSize]byte
	p := opts.platform()
	if p != igvm.PlatformSEV && p != igvm.PlatformSEVES {
		return out, fmt.Errorf("IGVMMeasureSEV measures SEV and SEV-ES launches, not %s", p)
	}
	mask, err := igvmPlatformMask(f, p)
	if err != nil {
		return out, err
	}
	type run struct{ off, n int64 }
	var runs []run
	addRun := func(off, n int64) {
		if k := len(runs); k > 0 && runs[k-1].off+runs[k-1].n == off {
			runs[k-1].n += n
			return
		}
		runs = append(runs, run{off, n})
	}
	kvm := kvmChecker{f: f, on: opts.CheckKVM}
	for h, err := range f.Directives() {
		if err != nil {
			return out, err
		}
		switch d := h.Body.(type) {
		case igvm.PageData:
			if d.CompatibilityMask&mask == 0 {
				continue
			}
			if d.Flags.Large() && d.HasData() {
				return out, directiveErr(&h, ErrIGVMLargePageData, "%v", ErrIGVMLargePageData)
			}
			if d.HasData() {
				addRun(int64(d.FileOffset), PageSize)
			}
		case igvm.ParameterInsert:
			if d.CompatibilityMask&mask != 0 {
				if err := kvm.insert(&h); err != nil {
					return out, err
				}
			}
		case igvm.VPContext:
			if d.Kind != igvm.VPContextVMSA {
				continue
			}
			if err := kvm.vmsa(&h, d); err != nil {
				return out, err
			}
			addRun(int64(d.FileOffset), PageSize)
		}
	}
	hs := sha256.New()
	for _, r := range runs {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		if _, err := HashStream(hs, io.NewSectionReader(f.ReaderAt(), r.off, r.n), nil); err != nil {
			return out, fmt.Errorf("reading %#x bytes at %#x: %w", r.n, r.off, err)
		}
	}
	hs.Sum(out[:0])
	return out, nil
}
