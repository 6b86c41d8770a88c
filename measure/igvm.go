package measure

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/snpmeasure/snpmeasure/igvm"
	"github.com/snpmeasure/snpmeasure/launchdigest"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

// MaxIGVMSize is the largest IGVM file: the format's offsets and its
// total_file_size are 32-bit.
const MaxIGVMSize = 1 << 32

// igvmFile is an opened IGVM file.
type igvmFile struct {
	path string
	fh   *os.File
	f    *igvm.File
}

func openIGVM(path string) (*igvmFile, error) {
	fh, r, size, err := openAt(path, MaxIGVMSize, "an IGVM file's size is 32-bit", func(b []byte) error {
		if len(b) < 4 || binary.LittleEndian.Uint32(b) != igvm.Magic {
			return igvm.ErrMagic
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	f, err := igvm.Open(r, size)
	if err != nil {
		fh.Close()
		return nil, fileErr(path, err)
	}
	return &igvmFile{path: path, fh: fh, f: f}, nil
}

func (g *igvmFile) Close() error { return g.fh.Close() }

// validateIGVM checks the fields of a Config that launches an IGVM file.
func (c *Config) validateIGVM() error {
	switch {
	case c.Firmware != "":
		return configErr("an IGVM file and a firmware image: give one (the IGVM file holds the firmware)")
	case c.Kernel != "" || c.Initrd != "" || c.Cmdline != "" || c.OVMFHash != nil || c.SVSM != "":
		return configErr("a kernel, initrd, command line, precomputed firmware digest or SVSM image does not apply to an IGVM launch: the IGVM file holds what is measured")
	case c.Mode != SNP && c.Mode != SEVES && c.Mode != SEV:
		return configErr("mode %s: an IGVM file launches snp, seves or sev guests", c.Mode)
	case c.vmm() != vmsa.QEMU:
		return configErr("an IGVM file is launched by QEMU: --vmm-type %s does not apply", c.vmm())
	case c.KVMInit != vmsa.KVMInit2:
		return configErr("QEMU loads IGVM files (10.1 and later) on hosts with KVM_SEV_INIT2 only: KVM initialisation %s does not apply", c.KVMInit)
	}
	switch c.IGVMLoader {
	case launchdigest.LoaderQEMU:
		if c.Mode != SNP {
			return configErr("the qemu loader measures SEV-SNP launches only (mode snp)")
		}
		if c.VCPUs < 1 || c.VCPUs > MaxVCPUs {
			return configErr("%d vCPUs: the qemu loader measures one VMSA per vCPU, want 1 to %d", c.VCPUs, MaxVCPUs)
		}
		if c.NativeZero || c.CheckKVM {
			return configErr("native-zero and check-kvm are igvmmeasure's options: the qemu loader measures what QEMU does")
		}
	case launchdigest.LoaderIGVMMeasure:
		if c.VCPUs != 0 {
			return configErr("%d vCPUs: the igvmmeasure loader measures the VMSAs the file holds; the vCPU count is the qemu loader's (--igvm-loader qemu)", c.VCPUs)
		}
		if c.IgnoreUnhandledParameters {
			return configErr("ignore-unhandled-parameters is the qemu loader's option")
		}
	default:
		return configErr("unknown IGVM loader %v", c.IGVMLoader)
	}
	return nil
}

// platform is the igvmmeasure platform of the mode.
func (c *Config) platform() igvm.PlatformType {
	switch c.Mode {
	case SEV:
		return igvm.PlatformSEV
	case SEVES:
		return igvm.PlatformSEVES
	}
	return igvm.PlatformSEVSNP
}

// igvmLaunch builds the SNP launch of the file with the Config's loader.
func (c *Config) igvmLaunch(g *igvmFile, vcpus int, sig uint64) (*launchdigest.IGVMLaunch, error) {
	var l *launchdigest.IGVMLaunch
	var err error
	if c.IGVMLoader == launchdigest.LoaderQEMU {
		l, err = launchdigest.IGVMQEMU(g.f, launchdigest.QEMUOptions{VCPUs: vcpus, Signature: sig,
			IgnoreUnhandledParameters: c.IgnoreUnhandledParameters})
	} else {
		l, err = launchdigest.IGVMMeasure(g.f, launchdigest.IGVMMeasureOptions{NativeZero: c.NativeZero, CheckKVM: c.CheckKVM})
	}
	if err != nil {
		return nil, fileErr(g.path, err)
	}
	return l, nil
}

// checkSignature refuses a qemu-loader launch without a vCPU signature in
// which a vCPU has no VP context: QEMU gives that vCPU its reset VMSA, whose
// RDX is the signature of the -cpu model, and no model has signature 0.
func (c *Config) checkSignature(l *launchdigest.IGVMLaunch) error {
	if c.IGVMLoader != launchdigest.LoaderQEMU || c.Signature != 0 || l.VCPUs == nil {
		return nil
	}
	if i, ok := l.VCPUs.ResetVCPU(c.VCPUs); ok {
		return configErr("%s: vCPU %d has no VP context in the IGVM file, so QEMU gives it its reset VMSA, which holds the vCPU signature: give --vcpu-type or --vcpu-sig", c.IGVM, i)
	}
	return nil
}

// CheckIGVMSignature returns the *ConfigError Measure returns for c when
// the qemu loader needs the vCPU signature c lacks, without measuring: it
// reads the file's directives only.
func CheckIGVMSignature(c *Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if c.IGVM == "" || c.Mode != SNP || c.IGVMLoader != launchdigest.LoaderQEMU || c.Signature != 0 {
		return nil
	}
	g, err := openIGVM(c.IGVM)
	if err != nil {
		return err
	}
	defer g.Close()
	l, err := c.igvmLaunch(g, c.VCPUs, 0)
	if err != nil {
		return err
	}
	return c.checkSignature(l)
}

// measureIGVM measures an IGVM launch. An ID block whose launch digest is
// not the computed one is an error wrapping *launchdigest.IDBlockMismatchError
// returned with the Result (unless IgnoreIDBlock).
func measureIGVM(ctx context.Context, c *Config, o *Options) (*Result, error) {
	g, err := openIGVM(c.IGVM)
	if err != nil {
		return nil, err
	}
	res := &Result{Files: []File{{Role: "igvm", Path: c.IGVM, Size: g.f.Size()}}, closer: g}
	ok := false
	defer func() {
		if !ok {
			g.Close()
		}
	}()
	if o != nil && o.FileDigests {
		t := newSHATee(io.NewSectionReader(g.f.ReaderAt(), 0, g.f.Size()))
		if _, err := io.Copy(io.Discard, ctxReader{ctx, t}); err != nil {
			return nil, fileErr(c.IGVM, err)
		}
		res.Files[0].SHA256 = t.sum()
	}
	if c.Mode != SNP {
		d, err := launchdigest.IGVMMeasureSEV(ctx, g.f, launchdigest.IGVMMeasureOptions{Platform: c.platform(), NativeZero: c.NativeZero, CheckKVM: c.CheckKVM})
		if err != nil {
			return nil, fileErr(c.IGVM, err)
		}
		res.Digest, ok = d[:], true
		return res, nil
	}
	l, err := c.igvmLaunch(g, c.VCPUs, c.Signature)
	if err != nil {
		return nil, err
	}
	if err := c.checkSignature(l); err != nil {
		return nil, err
	}
	d, err := l.Measure(ctx, progress(o.progress(), c.IGVM, g.f.Size()))
	if err != nil {
		return nil, fileErr(c.IGVM, err)
	}
	res.Digest, res.Launch, res.IGVM, ok = d[:], l.Launch, l, true
	if c.IgnoreIDBlock {
		return res, nil
	}
	if err := l.CheckIDBlock(d); err != nil {
		return res, fileErr(c.IGVM, err)
	}
	return res, nil
}

// IsIDBlockMismatch reports whether err says an IGVM file's ID block holds
// another launch digest; Measure then returns the Result with it.
func IsIDBlockMismatch(err error) bool {
	var m *launchdigest.IDBlockMismatchError
	return errors.As(err, &m)
}

// openIGVMInputs reads an IGVM file for Enumerate: the part of the launch
// before the VMSAs is measured once.
func openIGVMInputs(ctx context.Context, c *Config, o *Options) (*Inputs, error) {
	g, err := openIGVM(c.IGVM)
	if err != nil {
		return nil, err
	}
	in := &Inputs{Files: []File{{Role: "igvm", Path: c.IGVM, Size: g.f.Size()}}, igvm: g, config: *c}
	if o != nil && o.FileDigests {
		t := newSHATee(io.NewSectionReader(g.f.ReaderAt(), 0, g.f.Size()))
		if _, err := io.Copy(io.Discard, ctxReader{ctx, t}); err != nil {
			g.Close()
			return nil, fileErr(c.IGVM, err)
		}
		in.Files[0].SHA256 = t.sum()
	}
	// The part before the VMSAs does not depend on the vCPUs (qemu loader).
	l, err := c.igvmLaunch(g, MaxVCPUs, 0)
	if err == nil && c.IGVMLoader == launchdigest.LoaderQEMU {
		prefix, _ := l.SplitVMSAs()
		if in.igvmPrefix, err = prefix.Measure(ctx, progress(o.progress(), c.IGVM, g.f.Size())); err != nil {
			err = fileErr(c.IGVM, err)
		}
	}
	if err != nil {
		g.Close()
		return nil, err
	}
	in.IGVM = l
	return in, nil
}

// guestFeatures returns the SEV_FEATURES of the launch's VMSAs: those of
// the first VMSA VP context of the measured platform (VP 0's for the qemu
// loader), or SNP active alone without one (QEMU's reset state).
func (in *Inputs) guestFeatures() (uint64, error) {
	qemu := in.config.IGVMLoader == launchdigest.LoaderQEMU
	for h, err := range in.igvm.f.Directives() {
		if err != nil {
			return 0, fileErr(in.config.IGVM, err)
		}
		v, ok := h.Body.(igvm.VPContext)
		if !ok || v.Kind != igvm.VPContextVMSA || (qemu && (v.VPIndex != 0 || v.CompatibilityMask&in.IGVM.Mask == 0)) {
			continue
		}
		b, err := in.igvm.f.VPContextData(v)
		if err != nil {
			return 0, fileErr(in.config.IGVM, err)
		}
		return (*vmsa.Page)(b).Uint64(vmsa.OffSEVFeatures), nil
	}
	return 1, nil
}

// enumerateIGVM yields the points of s for an IGVM file: with the qemu
// loader every vCPU count and type (the VMSAs of vCPUs without a VP context
// carry the type's signature); with igvmmeasure the one launch the file
// describes. VMMs, guest features and KVM initialisations do not apply.
func (in *Inputs) enumerateIGVM(ctx context.Context, s *Space, yield func(Point) bool, strict bool) error {
	gf, err := in.guestFeatures()
	if err != nil {
		return err
	}
	// A launch whose digest the file's ID block does not hold fails at
	// SNP_LAUNCH_FINISH (unless IgnoreIDBlock): strict refuses to list it,
	// Search leaves it out.
	launches := func(p Point) (bool, error) {
		if in.config.IgnoreIDBlock || in.IGVM.IDBlock == nil {
			return true, nil
		}
		err := in.IGVM.CheckIDBlock(p.Measurement)
		if err != nil && strict {
			return false, fileErr(in.config.IGVM, fmt.Errorf("%d vCPUs: %w (QEMU fails this launch at SNP_LAUNCH_FINISH)", p.VCPUs, err))
		}
		return err == nil, nil
	}
	emit := func(p Point) (bool, error) {
		ok, err := launches(p)
		if err != nil || !ok {
			return err == nil, err
		}
		return yield(p), nil
	}
	if in.config.IGVMLoader != launchdigest.LoaderQEMU {
		l, err := in.config.igvmLaunch(in.igvm, 0, 0)
		if err != nil {
			return err
		}
		d, err := l.Measure(ctx, nil)
		if err != nil {
			return fileErr(in.config.IGVM, err)
		}
		_, err = emit(Point{VCPUs: l.VMSAs, VMM: vmsa.QEMU, GuestFeatures: gf, Measurement: d})
		return err
	}
	// Every count must launch (it needs a vCPU for every VP context): with
	// strict, a smaller one is refused, not silently left out of the series.
	if _, err := in.config.igvmLaunch(in.igvm, s.VCPUs[0], s.CPUs[0].Signature); err != nil && strict {
		return err
	}
	maxVCPUs := s.VCPUs[len(s.VCPUs)-1]
	want := make([]bool, maxVCPUs+1)
	for _, n := range s.VCPUs {
		want[n] = true
	}
	for _, cpu := range s.CPUs {
		if err := ctx.Err(); err != nil {
			return err
		}
		l, err := in.config.igvmLaunch(in.igvm, maxVCPUs, cpu.Signature)
		if err != nil {
			return err
		}
		for n, d := range l.VCPUs.Series(in.igvmPrefix, maxVCPUs) {
			if !want[n] {
				continue
			}
			if more, err := emit(Point{VCPUs: n, CPU: cpu, VMM: vmsa.QEMU, GuestFeatures: gf, Measurement: d}); err != nil || !more {
				return err
			}
		}
	}
	return nil
}
