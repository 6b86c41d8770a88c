package cliflags

import (
	"fmt"
	"slices"
	"strings"

	"github.com/snpmeasure/snpmeasure/internal/cli"
	"github.com/snpmeasure/snpmeasure/internal/pyarg"
	"github.com/snpmeasure/snpmeasure/launchdigest"
	"github.com/snpmeasure/snpmeasure/measure"
	"github.com/snpmeasure/snpmeasure/vmsa"
	"github.com/spf13/pflag"
)

// SpaceDefaults are a command's defaults for the ranged flags.
type SpaceDefaults struct {
	VCPUs, VCPUTypes, VMMTypes, GuestFeatures, KVMInits string
}

// Space holds the measure flags of search and refvalues, where the vCPU
// count, vCPU type, VMM type, guest features and KVM take lists.
type Space struct {
	OVMF, Kernel, Initrd, Append, OVMFHash, Mode                  string
	VCPUs, VCPUTypes, VCPUSigs, VMMTypes, GuestFeatures, KVMInits string
	IGVM, IGVMLoader                                              string
	NativeZero, CheckKVM, IgnoreUnhandled, IgnoreIDBlock          bool
	FS                                                            *pflag.FlagSet
	Notes                                                         []string // what Parse deduplicated
}

// AddSpace defines the space flags on fs with a command's defaults.
func AddSpace(fs *pflag.FlagSet, d SpaceDefaults) *Space {
	o := &Space{FS: fs}
	fs.StringVar(&o.Mode, "mode", "snp", "guest mode: only snp")
	fs.StringVar(&o.OVMF, "ovmf", "", "OVMF firmware image (required)")
	fs.StringVar(&o.Kernel, "kernel", "", "kernel file (kernel-hashes=on)")
	fs.StringVar(&o.Initrd, "initrd", "", "initrd file (needs --kernel)")
	fs.StringVar(&o.Append, "append", "", "kernel command line (needs --kernel)")
	fs.StringVar(&o.OVMFHash, "snp-ovmf-hash", "", "precomputed snp:ovmf-hash of the firmware")
	fs.StringVar(&o.VCPUs, "vcpus", d.VCPUs, "vCPU counts: ranges and lists, e.g. 1-64,96,128")
	fs.StringVar(&o.VCPUTypes, "vcpu-type", d.VCPUTypes, "vCPU types: comma list or 'all'")
	fs.StringVar(&o.VCPUSigs, "vcpu-sig", "", "vCPU signatures instead of types: comma list of 0x-hex or decimal")
	fs.StringVar(&o.VMMTypes, "vmm-type", d.VMMTypes, "VMM types: comma list of QEMU, ec2, gce or 'all'")
	fs.StringVar(&o.GuestFeatures, "guest-features", d.GuestFeatures, "guest features: comma list of 0x-hex or decimal")
	fs.StringVar(&o.KVMInits, "kvm-init", d.KVMInits, "host KVM: init2, legacy, or both as init2,legacy")
	fs.StringVar(&o.IGVM, "igvm", "", "IGVM file instead of --ovmf (the qemu loader varies --vcpus and --vcpu-type)")
	fs.StringVar(&o.IGVMLoader, "igvm-loader", "igvmmeasure", "IGVM loader: igvmmeasure (one launch) or qemu (QEMU 10.2 + KVM)")
	fs.BoolVarP(&o.NativeZero, "native-zero", "n", false, "igvmmeasure: data-less pages as ZERO pages")
	fs.BoolVarP(&o.CheckKVM, "check-kvm", "c", false, "igvmmeasure: fail on VMSAs QEMU/KVM cannot reproduce")
	fs.BoolVar(&o.IgnoreUnhandled, "ignore-unhandled-parameters", false, "qemu loader: measure MADT, DEVICE_TREE, ... as a QEMU that fills them")
	fs.BoolVarP(&o.IgnoreIDBlock, "ignore-idblock", "i", false, "also list launches whose digest the IGVM file's ID block does not hold (QEMU fails them)")
	return o
}

// igvmSpace resolves the flags of a space of IGVM launches: the qemu
// loader varies the vCPU count and type; VMM types, guest features (the
// file's) and KVM initialisations do not apply.
func (o *Space) igvmSpace() (*measure.Space, *measure.Config, error) {
	for _, f := range []string{"ovmf", "kernel", "initrd", "append", "snp-ovmf-hash", "vmm-type", "guest-features", "kvm-init"} {
		if o.FS.Changed(f) {
			return nil, nil, cli.Usagef("--%s does not apply to --igvm: the IGVM file holds what is measured", f)
		}
	}
	c := &measure.Config{Mode: measure.SNP, IGVM: o.IGVM, NativeZero: o.NativeZero, CheckKVM: o.CheckKVM, IgnoreUnhandledParameters: o.IgnoreUnhandled, IgnoreIDBlock: o.IgnoreIDBlock}
	var err error
	if c.IGVMLoader, err = launchdigest.ParseIGVMLoader(o.IGVMLoader); err != nil {
		return nil, nil, cli.Usagef("--igvm-loader: %v", err)
	}
	s := &measure.Space{VCPUs: []int{1}, CPUs: []measure.CPU{{}}, VMMs: []vmsa.VMM{vmsa.QEMU}, GuestFeatures: []uint64{0}}
	if c.IGVMLoader == launchdigest.LoaderIGVMMeasure {
		for _, f := range []string{"vcpus", "vcpu-type", "vcpu-sig"} {
			if o.FS.Changed(f) {
				return nil, nil, cli.Usagef("--%s: the igvmmeasure loader measures the VMSAs the file holds (--igvm-loader qemu varies them)", f)
			}
		}
		return s, c, nil
	}
	if s.VCPUs, err = measure.ParseCounts(o.VCPUs); err != nil {
		return nil, nil, cli.Usagef("--vcpus: %v", err)
	}
	if s.CPUs, err = o.cpus(); err != nil {
		return nil, nil, err
	}
	return s, c, nil
}

// config returns the files of the space's launches.
func (o *Space) Config() *measure.Config {
	return &measure.Config{Mode: measure.SNP, Firmware: o.OVMF, Kernel: o.Kernel, Initrd: o.Initrd, Cmdline: o.Append}
}

// list splits a comma list; empty items are usage errors and duplicates
// are dropped with a note.
func (o *Space) list(flag, s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		switch {
		case f == "":
			return nil, cli.Usagef("--%s %q: empty item in the list", flag, s)
		case slices.Contains(out, f):
			o.Notes = append(o.Notes, fmt.Sprintf("--%s: %s is listed twice; measured once", flag, f))
		default:
			out = append(out, f)
		}
	}
	return out, nil
}

// parseSpace resolves the ranged flags.
func (o *Space) Parse() (*measure.Space, *measure.Config, error) {
	if o.Mode != "snp" {
		return nil, nil, cli.Usagef("--mode %q: only snp is supported here", o.Mode)
	}
	if o.IGVM != "" {
		return o.igvmSpace()
	}
	if o.OVMF == "" {
		return nil, nil, cli.Usagef("missing --ovmf FILE (or --igvm FILE)")
	}
	for _, f := range []string{"igvm-loader", "native-zero", "check-kvm", "ignore-unhandled-parameters", "ignore-idblock"} {
		if o.FS.Changed(f) {
			return nil, nil, cli.Usagef("--%s applies to --igvm", f)
		}
	}
	if o.Initrd != "" && o.Kernel == "" {
		return nil, nil, cli.Usagef("--kernel required when using --initrd")
	}
	if o.Append != "" && o.Kernel == "" {
		return nil, nil, cli.Usagef("--kernel required when using --append")
	}
	c := o.Config()
	if o.OVMFHash != "" {
		b, err := pyarg.FromHex(o.OVMFHash)
		if err != nil || len(b) != launchdigest.DigestSize {
			return nil, nil, cli.Usagef("--snp-ovmf-hash: want %d hex digits (the output of --mode snp:ovmf-hash)", 2*launchdigest.DigestSize)
		}
		c.OVMFHash = (*launchdigest.Digest)(b)
	}
	check := *c
	check.VCPUs = 1 // the space gives the counts
	if err := check.Validate(); err != nil {
		return nil, nil, cli.Usagef("%v", err)
	}
	s := &measure.Space{}
	var err error
	if s.VCPUs, err = measure.ParseCounts(o.VCPUs); err != nil {
		return nil, nil, cli.Usagef("--vcpus: %v", err)
	}
	if s.CPUs, err = o.cpus(); err != nil {
		return nil, nil, err
	}
	if o.VMMTypes == "all" {
		s.VMMs = slices.Clone(vmsa.VMMs)
	} else if err := parseList(o, "vmm-type", o.VMMTypes, vmsa.ParseVMM, &s.VMMs); err != nil {
		return nil, nil, err
	}
	if err := parseList(o, "guest-features", o.GuestFeatures, func(f string) (uint64, error) { return pyarg.Uint(f) }, &s.GuestFeatures); err != nil {
		return nil, nil, err
	}
	if err := parseList(o, "kvm-init", o.KVMInits, vmsa.ParseKVMInit, &s.KVMInits); err != nil {
		return nil, nil, err
	}
	return s, c, nil
}

// cpus resolves --vcpu-type or --vcpu-sig.
func (o *Space) cpus() ([]measure.CPU, error) {
	if o.VCPUSigs != "" && o.FS.Changed("vcpu-type") {
		return nil, cli.Usagef("--vcpu-type and --vcpu-sig both give the vCPU models: use one")
	}
	var out []measure.CPU
	switch {
	case o.VCPUSigs != "":
		var sigs []uint64 // deduplicated by value: 0xa00f11 and 10489617 are one
		if err := parseList(o, "vcpu-sig", o.VCPUSigs, func(f string) (uint64, error) { return pyarg.Uint(f) }, &sigs); err != nil {
			return nil, err
		}
		for _, v := range sigs {
			out = append(out, measure.CPU{Signature: v})
		}
	case o.VCPUTypes == "all":
		out = measure.CPUTypes()
	default:
		names, err := o.list("vcpu-type", o.VCPUTypes)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			c, err := vmsa.LookupCPUType(n)
			if err != nil {
				return nil, cli.Usagef("--vcpu-type: %v", err)
			}
			out = append(out, measure.CPU{Name: c.Name, Signature: c.Signature()})
		}
	}
	return out, nil
}

// parseList parses each item of a comma list into dst.
func parseList[T comparable](o *Space, flag, s string, parse func(string) (T, error), dst *[]T) error {
	items, err := o.list(flag, s)
	if err != nil {
		return err
	}
	for _, it := range items {
		v, err := parse(it)
		if err != nil {
			return cli.Usagef("--%s %s: %v", flag, it, err)
		}
		if slices.Contains(*dst, v) {
			o.Notes = append(o.Notes, fmt.Sprintf("--%s: %s is listed twice; measured once", flag, it))
			continue
		}
		*dst = append(*dst, v)
	}
	return nil
}

// CommandLine is the snpmeasure measure command that reproduces one point
// of the space.
func (o *Space) CommandLine(p measure.Point) string {
	if o.IGVM != "" {
		args := []string{"snpmeasure", "measure", "--mode", "snp", "--igvm", o.IGVM}
		if o.IGVMLoader == "qemu" {
			args = append(args, "--igvm-loader", "qemu", "--vcpus", fmt.Sprint(p.VCPUs), "--vcpu-sig", fmt.Sprintf("%#x", p.CPU.Signature))
			if p.CPU.Name != "" {
				args[len(args)-2], args[len(args)-1] = "--vcpu-type", p.CPU.Name
			}
		}
		for _, f := range []struct {
			on   bool
			flag string
		}{{o.NativeZero, "-n"}, {o.CheckKVM, "-c"}, {o.IgnoreUnhandled, "--ignore-unhandled-parameters"}, {o.IgnoreIDBlock, "-i"}} {
			if f.on {
				args = append(args, f.flag)
			}
		}
		return strings.Join(quoteAll(args), " ")
	}
	args := []string{"snpmeasure", "measure", "--mode", "snp", "--ovmf", o.OVMF}
	if o.OVMFHash != "" {
		args = append(args, "--snp-ovmf-hash", o.OVMFHash)
	}
	if o.Kernel != "" {
		args = append(args, "--kernel", o.Kernel)
		if o.Initrd != "" {
			args = append(args, "--initrd", o.Initrd)
		}
		if o.FS.Changed("append") {
			args = append(args, "--append", o.Append)
		}
	}
	args = append(args, "--vcpus", fmt.Sprint(p.VCPUs))
	if p.CPU.Name != "" {
		args = append(args, "--vcpu-type", p.CPU.Name)
	} else {
		args = append(args, "--vcpu-sig", fmt.Sprintf("%#x", p.CPU.Signature))
	}
	if p.VMM != vmsa.QEMU {
		args = append(args, "--vmm-type", p.VMM.String())
	}
	args = append(args, "--guest-features", fmt.Sprintf("%#x", p.GuestFeatures))
	if p.KVMInit != vmsa.KVMInit2 {
		args = append(args, "--kvm-init", p.KVMInit.String())
	}
	return strings.Join(quoteAll(args), " ")
}

// quoteAll quotes words for a POSIX shell.
func quoteAll(args []string) []string {
	for i, a := range args {
		args[i] = ShellQuote(a)
	}
	return args
}

// ShellQuote quotes a word for a POSIX shell when it needs it.
func ShellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
