package cliflags

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/snpmeasure/snpmeasure/internal/cli"
	"github.com/snpmeasure/snpmeasure/internal/pyarg"
	"github.com/snpmeasure/snpmeasure/launchdigest"
	"github.com/snpmeasure/snpmeasure/measure"
	"github.com/snpmeasure/snpmeasure/vmsa"
	"github.com/spf13/pflag"
)

// Measure holds sev-snp-measure's flags (snpmeasure measure, verify,
// qemu-args, initramfs build --measure) as given on the command line.
type Measure struct {
	Mode, VCPUs, VCPUType, VCPUSig, VCPUFamily, VCPUModel, VCPUStepping, VMMType string
	OVMF, Kernel, Initrd, Append, GuestFeatures, OutputFormat, OVMFHash          string
	SVSM, VarsSize, VarsFile, Trace, KVMInit, IGVM, IGVMLoader                   string
	DumpVMSA, Verbose, JSON                                                      bool
	NativeZero, CheckKVM, IgnoreIDBlock, IgnoreUnhandled                         bool
	FS                                                                           *pflag.FlagSet
}

// AddMeasure defines the measure flags on fs.
func AddMeasure(fs *pflag.FlagSet) *Measure {
	o := &Measure{FS: fs}
	fs.StringVar(&o.Mode, "mode", "", "guest mode: sev, seves, snp, snp:ovmf-hash or snp:svsm (required)")
	fs.StringVar(&o.VCPUs, "vcpus", "", "number of vCPUs (required except for sev and snp:ovmf-hash)")
	fs.StringVar(&o.VCPUType, "vcpu-type", "", "QEMU vCPU model, e.g. EPYC-Milan (see 'snpmeasure cpus')")
	fs.StringVar(&o.VCPUSig, "vcpu-sig", "", "vCPU signature (CPUID Fn0000_0001_EAX), 0x-hex or decimal")
	fs.StringVar(&o.VCPUFamily, "vcpu-family", "", "vCPU family, decimal (with --vcpu-model and --vcpu-stepping)")
	fs.StringVar(&o.VCPUModel, "vcpu-model", "", "vCPU model, decimal")
	fs.StringVar(&o.VCPUStepping, "vcpu-stepping", "", "vCPU stepping, decimal")
	fs.StringVar(&o.VMMType, "vmm-type", "QEMU", "VMM that builds the VMSAs: QEMU, ec2 or gce")
	fs.StringVar(&o.KVMInit, "kvm-init", "init2", "host KVM: init2 (KVM_SEV_INIT2, Linux 6.10+) or legacy (older SNP hosts)")
	fs.StringVar(&o.OVMF, "ovmf", "", "OVMF firmware image (required)")
	fs.StringVar(&o.Kernel, "kernel", "", "kernel file whose hash is measured (kernel-hashes=on)")
	fs.StringVar(&o.Initrd, "initrd", "", "initrd file (needs --kernel)")
	fs.StringVar(&o.Append, "append", "", "kernel command line (needs --kernel)")
	fs.StringVar(&o.GuestFeatures, "guest-features", "0x1", "VMSA SEV_FEATURES of SNP guests, 0x-hex or decimal")
	fs.StringVar(&o.OutputFormat, "output-format", "hex", "output format: hex or base64")
	fs.StringVar(&o.OVMFHash, "snp-ovmf-hash", "", "precomputed snp:ovmf-hash of the firmware (96 hex digits)")
	fs.StringVar(&o.OVMFHash, "ovmf-hash", "", "alias of --snp-ovmf-hash")
	fs.MarkHidden("ovmf-hash")
	fs.BoolVar(&o.DumpVMSA, "dump-vmsa", false, "write each vCPU's VMSA page to vmsa<N>.bin in the current directory")
	fs.BoolVarP(&o.Verbose, "verbose", "v", false, "print 'Calculated <MODE> guest measurement: <value>'")
	fs.StringVar(&o.SVSM, "svsm", "", "COCONUT-SVSM image (snp:svsm)")
	fs.StringVar(&o.VarsSize, "vars-size", "", "size of the OVMF variable store in bytes (snp:svsm)")
	fs.StringVar(&o.VarsFile, "vars-file", "", "OVMF variable store whose size is used (snp:svsm)")
	fs.StringVar(&o.Trace, "trace", "", "write every launch update as JSON Lines to this file, - for standard output (SNP modes)")
	fs.StringVar(&o.IGVM, "igvm", "", "IGVM file to launch instead of --ovmf (modes snp, seves, sev)")
	fs.StringVar(&o.IGVMLoader, "igvm-loader", "igvmmeasure", "how the IGVM file is measured: igvmmeasure (COCONUT-SVSM's tool) or qemu (QEMU 10.2 + KVM, --vcpus)")
	fs.BoolVarP(&o.NativeZero, "native-zero", "n", false, "igvmmeasure: measure data-less pages as ZERO pages")
	fs.BoolVarP(&o.CheckKVM, "check-kvm", "c", false, "igvmmeasure: fail on VMSAs QEMU/KVM cannot reproduce")
	fs.BoolVarP(&o.IgnoreIDBlock, "ignore-idblock", "i", false, "do not fail when the IGVM file's ID block holds another launch digest")
	fs.BoolVar(&o.IgnoreUnhandled, "ignore-unhandled-parameters", false, "qemu loader: measure MADT, DEVICE_TREE, ... parameters as a QEMU that fills them (10.2 refuses them)")
	return o
}

// vcpuSignature resolves the vCPU signature with the reference's precedence:
// family/model/stepping, then --vcpu-sig, then --vcpu-type. ok is false when
// none was given.
func (o *Measure) vcpuSignature() (sig uint64, ok bool, err error) {
	switch {
	case o.FS.Changed("vcpu-family"):
		if !o.FS.Changed("vcpu-model") || !o.FS.Changed("vcpu-stepping") {
			return 0, false, cli.Usagef("--vcpu-family needs --vcpu-model and --vcpu-stepping")
		}
		var fms [3]int
		for i, f := range [][2]string{{"vcpu-family", o.VCPUFamily}, {"vcpu-model", o.VCPUModel}, {"vcpu-stepping", o.VCPUStepping}} {
			v, err := pyarg.Decimal(f[1])
			if err != nil || v < 0 || v > 0xffff {
				return 0, false, cli.Usagef("--%s %q: want a decimal number from 0 to 65535", f[0], f[1])
			}
			fms[i] = int(v)
		}
		return vmsa.Signature(fms[0], fms[1], fms[2]), true, nil
	case o.FS.Changed("vcpu-sig"):
		v, err := Uint("vcpu-sig", o.VCPUSig)
		return v, err == nil, err
	case o.VCPUType != "":
		c, err := vmsa.LookupCPUType(o.VCPUType)
		if err != nil {
			return 0, false, cli.Usagef("--vcpu-type: %v", err)
		}
		return c.Signature(), true, nil
	}
	return 0, false, nil
}

// config validates the flags in the reference's order and resolves them.
func (o *Measure) Config() (*measure.Config, error) {
	c := &measure.Config{Mode: measure.Mode(o.Mode), Firmware: o.OVMF, Kernel: o.Kernel, Initrd: o.Initrd, Cmdline: o.Append, SVSM: o.SVSM}
	switch c.Mode {
	case measure.SEV, measure.SEVES, measure.SNP, measure.OVMFHash, measure.SVSM:
	case "":
		return nil, cli.Usagef("missing --mode (sev, seves, snp, snp:ovmf-hash or snp:svsm)")
	default:
		return nil, cli.Usagef("--mode %q: want sev, seves, snp, snp:ovmf-hash or snp:svsm", o.Mode)
	}
	for _, f := range []string{"trace", "kvm-init", "igvm", "igvm-loader"} {
		if o.FS.Changed(f) && o.FS.Lookup(f).Value.String() == "" {
			return nil, cli.Usagef("--%s: empty value", f)
		}
	}
	if o.IGVM != "" {
		return o.igvmConfig(c)
	}
	if o.OVMF == "" {
		return nil, cli.Usagef("missing --ovmf FILE (or --igvm FILE)")
	}
	for _, f := range []string{"igvm-loader", "native-zero", "check-kvm", "ignore-idblock", "ignore-unhandled-parameters"} {
		if o.FS.Changed(f) {
			return nil, cli.Usagef("--%s applies to --igvm launches", f)
		}
	}
	// Like argparse choices and types, these are checked whatever the mode.
	if o.OutputFormat != "hex" && o.OutputFormat != "base64" {
		return nil, cli.Usagef("--output-format %q: want hex or base64", o.OutputFormat)
	}
	if o.VCPUType != "" {
		if _, err := vmsa.LookupCPUType(o.VCPUType); err != nil {
			return nil, cli.Usagef("--vcpu-type: %v", err)
		}
	}
	for _, f := range []struct {
		name, val string
		auto      bool
	}{
		{"vcpus", o.VCPUs, false}, {"vcpu-sig", o.VCPUSig, true}, {"vcpu-family", o.VCPUFamily, false},
		{"vcpu-model", o.VCPUModel, false}, {"vcpu-stepping", o.VCPUStepping, false},
		{"guest-features", o.GuestFeatures, true}, {"vars-size", o.VarsSize, false},
	} {
		if o.FS.Changed(f.name) && !pyarg.Syntax(f.val, f.auto) {
			err := pyarg.ErrDecimal
			if f.auto {
				err = pyarg.ErrSyntax
			}
			return nil, cli.Usagef("--%s %q: %v", f.name, f.val, err)
		}
	}
	if o.FS.Changed("vars-size") && o.FS.Changed("vars-file") {
		return nil, cli.Usagef("--vars-file is not allowed with --vars-size")
	}
	var err error
	if c.KVMInit, err = vmsa.ParseKVMInit(o.KVMInit); err != nil {
		return nil, cli.Usagef("--kvm-init: %v", err)
	}
	if c.Mode == measure.OVMFHash {
		return c, nil
	}
	if o.Initrd != "" && !o.FS.Changed("kernel") {
		return nil, cli.Usagef("--kernel required when using --initrd")
	}
	if o.Append != "" && !o.FS.Changed("kernel") {
		return nil, cli.Usagef("--kernel required when using --append")
	}
	if o.Kernel == "" {
		// The reference tests "kernel is None" but measures "kernel is
		// non-empty": --kernel '' measures no kernel, initrd or append.
		c.Initrd, c.Cmdline = "", ""
	}
	if c.Mode != measure.SEV {
		if !o.FS.Changed("vcpus") {
			return nil, cli.Usagef("missing --vcpus N in guest mode '%s'", o.Mode)
		}
		n, err := pyarg.Decimal(o.VCPUs)
		switch {
		case err == pyarg.ErrRange || n > measure.MaxVCPUs:
			return nil, cli.Usagef("--vcpus %s: at most %d (KVM's and QEMU's limit)", o.VCPUs, measure.MaxVCPUs)
		case err != nil:
			return nil, cli.Usagef("--vcpus %q: %v", o.VCPUs, err)
		case n < 1:
			return nil, cli.Usagef("--vcpus %d: need at least 1", n)
		}
		c.VCPUs = int(n)
	}
	if c.VMM, err = vmsa.ParseVMM(o.VMMType); err != nil {
		return nil, cli.Usagef("--vmm-type: %v", err)
	}
	if c.VMM != vmsa.QEMU && c.KVMInit != vmsa.KVMInit2 {
		return nil, cli.Usagef("--kvm-init %s: applies to QEMU VMSAs only (%s builds its own)", c.KVMInit, c.VMM)
	}
	if c.Mode != measure.SEV {
		sig, ok, err := o.vcpuSignature()
		if err != nil {
			return nil, err
		}
		if !ok && c.VMM == vmsa.QEMU {
			return nil, cli.Usagef("missing --vcpu-type or --vcpu-sig or --vcpu-family in guest mode '%s'", o.Mode)
		}
		c.Signature = sig
	}
	if c.GuestFeatures, err = Uint("guest-features", o.GuestFeatures); err != nil {
		return nil, err
	}
	if o.OVMFHash != "" {
		if c.Mode != measure.SNP {
			return nil, cli.Usagef("--snp-ovmf-hash only works with --mode snp")
		}
		b, err := pyarg.FromHex(o.OVMFHash)
		if err != nil || len(b) != launchdigest.DigestSize {
			return nil, cli.Usagef("--snp-ovmf-hash: want %d hex digits (the output of --mode snp:ovmf-hash)", 2*launchdigest.DigestSize)
		}
		c.OVMFHash = (*launchdigest.Digest)(b)
	}
	if c.Mode == measure.SVSM {
		if err := o.svsmConfig(c); err != nil {
			return nil, err
		}
	}
	if o.DumpVMSA && c.Mode == measure.SEV {
		return nil, cli.Usagef("--dump-vmsa is not available in --mode sev")
	}
	if o.Trace != "" && c.Mode != measure.SNP && c.Mode != measure.SVSM {
		return nil, cli.Usagef("--trace needs --mode snp or snp:svsm")
	}
	if err := cli.CheckOutputs(o.Outputs(), o.Inputs()...); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, cli.Usagef("%v", err)
	}
	return c, nil
}

// igvmConfig resolves the flags of an IGVM launch.
func (o *Measure) igvmConfig(c *measure.Config) (*measure.Config, error) {
	c.IGVM, c.NativeZero, c.CheckKVM, c.IgnoreIDBlock, c.IgnoreUnhandledParameters = o.IGVM, o.NativeZero, o.CheckKVM, o.IgnoreIDBlock, o.IgnoreUnhandled
	var err error
	if c.IGVMLoader, err = launchdigest.ParseIGVMLoader(o.IGVMLoader); err != nil {
		return nil, cli.Usagef("--igvm-loader: %v", err)
	}
	for _, f := range []string{"ovmf", "kernel", "initrd", "append", "snp-ovmf-hash", "ovmf-hash", "svsm", "vars-size", "vars-file", "vmm-type", "guest-features", "dump-vmsa"} {
		if o.FS.Changed(f) {
			return nil, cli.Usagef("--%s does not apply to an --igvm launch: the IGVM file holds what is measured", f)
		}
	}
	if o.FS.Changed("vcpus") {
		n, err := pyarg.Decimal(o.VCPUs)
		if err != nil || n < 1 || n > measure.MaxVCPUs {
			return nil, cli.Usagef("--vcpus %s: want 1 to %d", o.VCPUs, measure.MaxVCPUs)
		}
		c.VCPUs = int(n)
	} else if c.IGVMLoader == launchdigest.LoaderQEMU {
		return nil, cli.Usagef("--igvm-loader qemu needs --vcpus N: QEMU measures one VMSA per vCPU of -smp")
	}
	if sig, ok, err := o.vcpuSignature(); err != nil {
		return nil, err
	} else if ok {
		c.Signature = sig
	}
	if c.KVMInit, err = vmsa.ParseKVMInit(o.KVMInit); err != nil {
		return nil, cli.Usagef("--kvm-init: %v", err)
	}
	if o.Trace != "" && c.Mode != measure.SNP {
		return nil, cli.Usagef("--trace needs --mode snp")
	}
	if err := cli.CheckOutputs([]cli.File{{Flag: "--trace", Path: o.Trace}}, cli.File{Flag: "--igvm", Path: o.IGVM}); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, cli.Usagef("%v", err)
	}
	return c, nil
}

func (o *Measure) svsmConfig(c *measure.Config) error {
	switch {
	case c.VMM != vmsa.QEMU:
		return cli.Usagef("--mode snp:svsm is only implemented for --vmm-type QEMU")
	case o.SVSM == "":
		return cli.Usagef("--mode snp:svsm requires --svsm FILE")
	case o.VarsFile != "":
		st, err := os.Stat(o.VarsFile)
		if err != nil {
			return cli.FileError(o.VarsFile, err)
		}
		if !st.Mode().IsRegular() {
			// A pipe or device has no size to measure (sev-snp-measure takes 0).
			return cli.Usagef("--vars-file %s: not a regular file: its size is what is measured (or give --vars-size)", o.VarsFile)
		}
		c.VarsSize = uint64(st.Size())
	case o.VarsSize != "":
		n, err := Decimal("vars-size", o.VarsSize)
		if err != nil {
			return err
		}
		if n < 0 {
			return cli.Usagef("--vars-size %d: must not be negative", n)
		}
		if n == 0 { // the reference's "if args.vars_size" (an empty --vars-file is a size of 0)
			return cli.Usagef("--vars-size 0: the variable store needs a size (an empty --vars-file measures 0)")
		}
		c.VarsSize = uint64(n)
	default:
		return cli.Usagef("--mode snp:svsm requires --vars-size or --vars-file")
	}
	return nil
}

// inputs lists the files the measurement reads.
func (o *Measure) Inputs() []cli.File {
	return []cli.File{{Flag: "--ovmf", Path: o.OVMF}, {Flag: "--kernel", Path: o.Kernel}, {Flag: "--initrd", Path: o.Initrd}, {Flag: "--svsm", Path: o.SVSM}, {Flag: "--vars-file", Path: o.VarsFile}, {Flag: "--igvm", Path: o.IGVM}}
}

// outputs lists the files the measurement writes.
func (o *Measure) Outputs() []cli.File {
	out := []cli.File{{Flag: "--trace", Path: o.Trace}}
	if o.DumpVMSA {
		n, _ := pyarg.Decimal(o.VCPUs)
		for i := range min(int(n), measure.MaxVCPUs) {
			out = append(out, cli.File{Flag: "--dump-vmsa", Path: fmt.Sprintf("vmsa%d.bin", i)})
		}
	}
	return out
}

// negativeNumber is argparse's test for a value that looks like an option
// but is a negative number (Python's \d takes every Unicode digit).
var negativeNumber = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^-\p{Nd}+$|^-\p{Nd}*\.\p{Nd}+$`) })

// ArgparseCheck refuses what sev-snp-measure's argparse refuses and pflag
// would take: a value that looks like an option after a flag that takes
// one ("--vcpu-sig -0x1": argparse's "expected one argument"), a value
// given to a switch ("--dump-vmsa=false"), and "--". The flags named in
// lenient keep pflag's reading (snpmeasure measures "--append -foo").
func ArgparseCheck(fs *pflag.FlagSet, args []string, lenient ...string) error {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return cli.Usagef("unrecognized argument --")
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		var f *pflag.Flag
		if strings.HasPrefix(a, "--") {
			f = fs.Lookup(name)
		} else if len(name) == 1 {
			f = fs.ShorthandLookup(name)
		}
		if f == nil {
			continue // pflag reports unknown flags
		}
		if f.NoOptDefVal != "" { // a switch
			if hasValue {
				return cli.Usagef("argument --%s: ignored explicit argument %q", f.Name, value)
			}
			continue
		}
		if hasValue || i+1 >= len(args) {
			continue
		}
		next := args[i+1]
		i++
		if slices.Contains(lenient, f.Name) || !looksLikeOption(fs, next) {
			continue
		}
		return cli.Usagef("argument --%s: expected one argument (%q reads as an option; write --%s=%s)", f.Name, next, f.Name, next)
	}
	return nil
}

// looksLikeOption is argparse's reading of a word that starts with '-':
// an option unless it is "-", a negative number, or has a space in it.
func looksLikeOption(fs *pflag.FlagSet, s string) bool {
	switch {
	case !strings.HasPrefix(s, "-") || s == "-":
		return false
	case negativeNumber().MatchString(s):
		return false
	case strings.Contains(s, " "):
		name, _, _ := strings.Cut(strings.TrimLeft(s, "-"), "=")
		return fs.Lookup(name) != nil && strings.HasPrefix(s, "--")
	}
	return true
}
