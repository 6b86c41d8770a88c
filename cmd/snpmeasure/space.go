package main

import (
	"context"
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

// spaceDefaults are a command's defaults for the ranged flags.
type spaceDefaults struct {
	vcpus, vcpuTypes, vmmTypes, guestFeatures, kvmInits string
}

// spaceOptions are the measure flags of search and refvalues, where the
// vCPU count, vCPU type, VMM type, guest features and KVM take lists.
type spaceOptions struct {
	ovmf, kernel, initrd, appendArg, ovmfHash, mode               string
	vcpus, vcpuTypes, vcpuSigs, vmmTypes, guestFeatures, kvmInits string
	igvm, igvmLoader                                              string
	nativeZero, checkKVM, ignoreUnhandled                         bool
	fs                                                            *pflag.FlagSet
	notes                                                         []string // lists deduplicated
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
	fs.StringVar(&o.kvmInits, "kvm-init", d.kvmInits, "host KVM: init2, legacy, or both as init2,legacy")
	fs.StringVar(&o.igvm, "igvm", "", "IGVM file instead of --ovmf (the qemu loader varies --vcpus and --vcpu-type)")
	fs.StringVar(&o.igvmLoader, "igvm-loader", "igvmmeasure", "IGVM loader: igvmmeasure (one launch) or qemu (QEMU 10.2 + KVM)")
	fs.BoolVarP(&o.nativeZero, "native-zero", "n", false, "igvmmeasure: data-less pages as ZERO pages")
	fs.BoolVarP(&o.checkKVM, "check-kvm", "c", false, "igvmmeasure: fail on VMSAs QEMU/KVM cannot reproduce")
	fs.BoolVar(&o.ignoreUnhandled, "ignore-unhandled-parameters", false, "qemu loader: measure MADT, DEVICE_TREE, ... as a QEMU that fills them")
	app.AddQuietFlag(fs)
	return o
}

// igvmSpace resolves the flags of a space of IGVM launches: the qemu
// loader varies the vCPU count and type; VMM types, guest features (the
// file's) and KVM initialisations do not apply.
func (o *spaceOptions) igvmSpace() (*measure.Space, *measure.Config, error) {
	for _, f := range []string{"ovmf", "kernel", "initrd", "append", "snp-ovmf-hash", "vmm-type", "guest-features", "kvm-init"} {
		if o.fs.Changed(f) {
			return nil, nil, cli.Usagef("--%s does not apply to --igvm: the IGVM file holds what is measured", f)
		}
	}
	c := &measure.Config{Mode: measure.SNP, IGVM: o.igvm, NativeZero: o.nativeZero, CheckKVM: o.checkKVM, IgnoreUnhandledParameters: o.ignoreUnhandled}
	var err error
	if c.IGVMLoader, err = launchdigest.ParseIGVMLoader(o.igvmLoader); err != nil {
		return nil, nil, cli.Usagef("--igvm-loader: %v", err)
	}
	s := &measure.Space{VCPUs: []int{1}, CPUs: []measure.CPU{{}}, VMMs: []vmsa.VMM{vmsa.QEMU}, GuestFeatures: []uint64{0}}
	if c.IGVMLoader == launchdigest.LoaderIGVMMeasure {
		for _, f := range []string{"vcpus", "vcpu-type", "vcpu-sig"} {
			if o.fs.Changed(f) {
				return nil, nil, cli.Usagef("--%s: the igvmmeasure loader measures the VMSAs the file holds (--igvm-loader qemu varies them)", f)
			}
		}
		return s, c, nil
	}
	if s.VCPUs, err = measure.ParseCounts(o.vcpus); err != nil {
		return nil, nil, cli.Usagef("--vcpus: %v", err)
	}
	if s.CPUs, err = o.cpus(); err != nil {
		return nil, nil, err
	}
	return s, c, nil
}

// config returns the files of the space's launches.
func (o *spaceOptions) config() *measure.Config {
	return &measure.Config{Mode: measure.SNP, Firmware: o.ovmf, Kernel: o.kernel, Initrd: o.initrd, Cmdline: o.appendArg}
}

// list splits a comma list; empty items are usage errors and duplicates
// are dropped with a note.
func (o *spaceOptions) list(flag, s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		switch {
		case f == "":
			return nil, cli.Usagef("--%s %q: empty item in the list", flag, s)
		case slices.Contains(out, f):
			o.notes = append(o.notes, fmt.Sprintf("--%s: %s is listed twice; measured once", flag, f))
		default:
			out = append(out, f)
		}
	}
	return out, nil
}

// parseSpace resolves the ranged flags.
func (o *spaceOptions) parseSpace() (*measure.Space, *measure.Config, error) {
	if o.mode != "snp" {
		return nil, nil, cli.Usagef("--mode %q: only snp is supported here", o.mode)
	}
	if o.igvm != "" {
		return o.igvmSpace()
	}
	if o.ovmf == "" {
		return nil, nil, cli.Usagef("missing --ovmf FILE (or --igvm FILE)")
	}
	for _, f := range []string{"igvm-loader", "native-zero", "check-kvm", "ignore-unhandled-parameters"} {
		if o.fs.Changed(f) {
			return nil, nil, cli.Usagef("--%s applies to --igvm", f)
		}
	}
	if o.initrd != "" && o.kernel == "" {
		return nil, nil, cli.Usagef("--kernel required when using --initrd")
	}
	if o.appendArg != "" && o.kernel == "" {
		return nil, nil, cli.Usagef("--kernel required when using --append")
	}
	c := o.config()
	if o.ovmfHash != "" {
		b, err := pyarg.FromHex(o.ovmfHash)
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
	if s.VCPUs, err = measure.ParseCounts(o.vcpus); err != nil {
		return nil, nil, cli.Usagef("--vcpus: %v", err)
	}
	if s.CPUs, err = o.cpus(); err != nil {
		return nil, nil, err
	}
	if o.vmmTypes == "all" {
		s.VMMs = slices.Clone(vmsa.VMMs)
	} else if err := parseList(o, "vmm-type", o.vmmTypes, vmsa.ParseVMM, &s.VMMs); err != nil {
		return nil, nil, err
	}
	if err := parseList(o, "guest-features", o.guestFeatures, func(f string) (uint64, error) { return pyarg.Uint(f) }, &s.GuestFeatures); err != nil {
		return nil, nil, err
	}
	if err := parseList(o, "kvm-init", o.kvmInits, vmsa.ParseKVMInit, &s.KVMInits); err != nil {
		return nil, nil, err
	}
	return s, c, nil
}

// cpus resolves --vcpu-type or --vcpu-sig.
func (o *spaceOptions) cpus() ([]measure.CPU, error) {
	if o.vcpuSigs != "" && o.fs.Changed("vcpu-type") {
		return nil, cli.Usagef("--vcpu-type and --vcpu-sig both give the vCPU models: use one")
	}
	var out []measure.CPU
	switch {
	case o.vcpuSigs != "":
		sigs, err := o.list("vcpu-sig", o.vcpuSigs)
		if err != nil {
			return nil, err
		}
		for _, f := range sigs {
			v, err := parseUint("vcpu-sig", f)
			if err != nil {
				return nil, err
			}
			out = append(out, measure.CPU{Signature: v})
		}
	case o.vcpuTypes == "all":
		out = measure.CPUTypes()
	default:
		names, err := o.list("vcpu-type", o.vcpuTypes)
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
func parseList[T comparable](o *spaceOptions, flag, s string, parse func(string) (T, error), dst *[]T) error {
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
			o.notes = append(o.notes, fmt.Sprintf("--%s: %s is listed twice; measured once", flag, it))
			continue
		}
		*dst = append(*dst, v)
	}
	return nil
}

// open reads and hashes the inputs of the space once.
func (o *spaceOptions) open(c *measure.Config, fileDigests bool) (*measure.Inputs, error) {
	return measure.Open(context.Background(), c, &measure.Options{Progress: app.Progress(), FileDigests: fileDigests})
}
