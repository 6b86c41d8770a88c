package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/snpmeasure/snpmeasure/internal/cli"
	"github.com/snpmeasure/snpmeasure/internal/pyarg"
	"github.com/snpmeasure/snpmeasure/launchdigest"
	"github.com/snpmeasure/snpmeasure/measure"
	"github.com/snpmeasure/snpmeasure/trace"
	"github.com/snpmeasure/snpmeasure/vmsa"
	"github.com/spf13/pflag"
)

func init() {
	app.Register("measure", "compute a launch measurement (the default; sev-snp-measure's flags)", runMeasure)
}

// measureOptions holds the sev-snp-measure compatible flags.
type measureOptions struct {
	mode, vcpus, vcpuType, vcpuSig, vcpuFamily, vcpuModel, vcpuStepping, vmmType string
	ovmf, kernel, initrd, appendArg, guestFeatures, outputFormat, ovmfHash       string
	svsm, varsSize, varsFile, trace, kvmInit, igvm, igvmLoader                   string
	dumpVMSA, verbose, json                                                      bool
	nativeZero, checkKVM, ignoreIDBlock, ignoreUnhandled                         bool
	fs                                                                           *pflag.FlagSet
}

// addMeasureFlags defines the measure flags on fs.
func addMeasureFlags(fs *pflag.FlagSet) *measureOptions {
	o := &measureOptions{fs: fs}
	fs.StringVar(&o.mode, "mode", "", "guest mode: sev, seves, snp, snp:ovmf-hash or snp:svsm (required)")
	fs.StringVar(&o.vcpus, "vcpus", "", "number of vCPUs (required except for sev and snp:ovmf-hash)")
	fs.StringVar(&o.vcpuType, "vcpu-type", "", "QEMU vCPU model, e.g. EPYC-Milan (see 'snpmeasure cpus')")
	fs.StringVar(&o.vcpuSig, "vcpu-sig", "", "vCPU signature (CPUID Fn0000_0001_EAX), 0x-hex or decimal")
	fs.StringVar(&o.vcpuFamily, "vcpu-family", "", "vCPU family, decimal (with --vcpu-model and --vcpu-stepping)")
	fs.StringVar(&o.vcpuModel, "vcpu-model", "", "vCPU model, decimal")
	fs.StringVar(&o.vcpuStepping, "vcpu-stepping", "", "vCPU stepping, decimal")
	fs.StringVar(&o.vmmType, "vmm-type", "QEMU", "VMM that builds the VMSAs: QEMU, ec2 or gce")
	fs.StringVar(&o.kvmInit, "kvm-init", "init2", "host KVM: init2 (KVM_SEV_INIT2, Linux 6.10+) or legacy (older SNP hosts)")
	fs.StringVar(&o.ovmf, "ovmf", "", "OVMF firmware image (required)")
	fs.StringVar(&o.kernel, "kernel", "", "kernel file whose hash is measured (kernel-hashes=on)")
	fs.StringVar(&o.initrd, "initrd", "", "initrd file (needs --kernel)")
	fs.StringVar(&o.appendArg, "append", "", "kernel command line (needs --kernel)")
	fs.StringVar(&o.guestFeatures, "guest-features", "0x1", "VMSA SEV_FEATURES of SNP guests, 0x-hex or decimal")
	fs.StringVar(&o.outputFormat, "output-format", "hex", "output format: hex or base64")
	fs.StringVar(&o.ovmfHash, "snp-ovmf-hash", "", "precomputed snp:ovmf-hash of the firmware (96 hex digits)")
	fs.StringVar(&o.ovmfHash, "ovmf-hash", "", "alias of --snp-ovmf-hash")
	fs.MarkHidden("ovmf-hash")
	fs.BoolVar(&o.dumpVMSA, "dump-vmsa", false, "write each vCPU's VMSA page to vmsa<N>.bin in the current directory")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "print 'Calculated <MODE> guest measurement: <value>'")
	fs.StringVar(&o.svsm, "svsm", "", "COCONUT-SVSM image (snp:svsm)")
	fs.StringVar(&o.varsSize, "vars-size", "", "size of the OVMF variable store in bytes (snp:svsm)")
	fs.StringVar(&o.varsFile, "vars-file", "", "OVMF variable store whose size is used (snp:svsm)")
	fs.StringVar(&o.trace, "trace", "", "write every launch update as JSON Lines to this file, - for standard output (SNP modes)")
	fs.StringVar(&o.igvm, "igvm", "", "IGVM file to launch instead of --ovmf (modes snp, seves, sev)")
	fs.StringVar(&o.igvmLoader, "igvm-loader", "igvmmeasure", "how the IGVM file is measured: igvmmeasure (COCONUT-SVSM's tool) or qemu (QEMU 10.2 + KVM, --vcpus)")
	fs.BoolVarP(&o.nativeZero, "native-zero", "n", false, "igvmmeasure: measure data-less pages as ZERO pages")
	fs.BoolVarP(&o.checkKVM, "check-kvm", "c", false, "igvmmeasure: fail on VMSAs QEMU/KVM cannot reproduce")
	fs.BoolVarP(&o.ignoreIDBlock, "ignore-idblock", "i", false, "do not fail when the IGVM file's ID block holds another launch digest")
	fs.BoolVar(&o.ignoreUnhandled, "ignore-unhandled-parameters", false, "qemu loader: measure MADT, DEVICE_TREE, ... parameters as a QEMU that fills them (10.2 refuses them)")
	app.AddQuietFlag(fs)
	return o
}

func runMeasure(args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("measure")
	o := addMeasureFlags(fs)
	fs.BoolVar(&o.json, "json", false, "print the measurement, the configuration and every input's SHA-256 as JSON")
	if err := app.Parse(fs, args, stdout, app.Usage("measure")); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected argument %q", fs.Arg(0))
	}
	return o.run(stdout)
}

// decimal parses a base-10 flag value as Python's int() does.
func decimal(flag, s string) (int64, error) {
	v, err := pyarg.Decimal(s)
	if err != nil {
		return 0, cli.Usagef("--%s %q: %v", flag, s, err)
	}
	return v, nil
}

// parseUint parses a flag value as Python's int(x, 0): decimal or 0x-hex.
func parseUint(flag, s string) (uint64, error) {
	v, err := pyarg.Uint(s)
	if err != nil {
		return 0, cli.Usagef("--%s %s: %v", flag, s, err)
	}
	return v, nil
}

// vcpuSignature resolves the vCPU signature with the reference's precedence:
// family/model/stepping, then --vcpu-sig, then --vcpu-type. ok is false when
// none was given.
func (o *measureOptions) vcpuSignature() (sig uint64, ok bool, err error) {
	switch {
	case o.fs.Changed("vcpu-family"):
		if !o.fs.Changed("vcpu-model") || !o.fs.Changed("vcpu-stepping") {
			return 0, false, cli.Usagef("--vcpu-family needs --vcpu-model and --vcpu-stepping")
		}
		var fms [3]int
		for i, f := range [][2]string{{"vcpu-family", o.vcpuFamily}, {"vcpu-model", o.vcpuModel}, {"vcpu-stepping", o.vcpuStepping}} {
			v, err := pyarg.Decimal(f[1])
			if err != nil || v < 0 || v > 0xffff {
				return 0, false, cli.Usagef("--%s %q: want a decimal number from 0 to 65535", f[0], f[1])
			}
			fms[i] = int(v)
		}
		return vmsa.Signature(fms[0], fms[1], fms[2]), true, nil
	case o.fs.Changed("vcpu-sig"):
		v, err := parseUint("vcpu-sig", o.vcpuSig)
		return v, err == nil, err
	case o.vcpuType != "":
		c, err := vmsa.LookupCPUType(o.vcpuType)
		if err != nil {
			return 0, false, cli.Usagef("--vcpu-type: %v", err)
		}
		return c.Signature(), true, nil
	}
	return 0, false, nil
}

// config validates the flags in the reference's order and resolves them.
func (o *measureOptions) config() (*measure.Config, error) {
	c := &measure.Config{Mode: measure.Mode(o.mode), Firmware: o.ovmf, Kernel: o.kernel, Initrd: o.initrd, Cmdline: o.appendArg, SVSM: o.svsm}
	switch c.Mode {
	case measure.SEV, measure.SEVES, measure.SNP, measure.OVMFHash, measure.SVSM:
	case "":
		return nil, cli.Usagef("missing --mode (sev, seves, snp, snp:ovmf-hash or snp:svsm)")
	default:
		return nil, cli.Usagef("--mode %q: want sev, seves, snp, snp:ovmf-hash or snp:svsm", o.mode)
	}
	if o.igvm != "" {
		return o.igvmConfig(c)
	}
	if o.ovmf == "" {
		return nil, cli.Usagef("missing --ovmf FILE (or --igvm FILE)")
	}
	for _, f := range []string{"igvm-loader", "native-zero", "check-kvm", "ignore-idblock", "ignore-unhandled-parameters"} {
		if o.fs.Changed(f) {
			return nil, cli.Usagef("--%s applies to --igvm launches", f)
		}
	}
	// Like argparse choices and types, these are checked whatever the mode.
	if o.outputFormat != "hex" && o.outputFormat != "base64" {
		return nil, cli.Usagef("--output-format %q: want hex or base64", o.outputFormat)
	}
	if o.vcpuType != "" {
		if _, err := vmsa.LookupCPUType(o.vcpuType); err != nil {
			return nil, cli.Usagef("--vcpu-type: %v", err)
		}
	}
	for _, f := range []struct {
		name, val string
		auto      bool
	}{
		{"vcpus", o.vcpus, false}, {"vcpu-sig", o.vcpuSig, true}, {"vcpu-family", o.vcpuFamily, false},
		{"vcpu-model", o.vcpuModel, false}, {"vcpu-stepping", o.vcpuStepping, false},
		{"guest-features", o.guestFeatures, true}, {"vars-size", o.varsSize, false},
	} {
		if o.fs.Changed(f.name) && !pyarg.Syntax(f.val, f.auto) {
			err := pyarg.ErrDecimal
			if f.auto {
				err = pyarg.ErrSyntax
			}
			return nil, cli.Usagef("--%s %q: %v", f.name, f.val, err)
		}
	}
	if o.fs.Changed("vars-size") && o.fs.Changed("vars-file") {
		return nil, cli.Usagef("--vars-file is not allowed with --vars-size")
	}
	for _, f := range []string{"trace", "kvm-init"} {
		if o.fs.Changed(f) && o.fs.Lookup(f).Value.String() == "" {
			return nil, cli.Usagef("--%s: empty value", f)
		}
	}
	var err error
	if c.KVMInit, err = vmsa.ParseKVMInit(o.kvmInit); err != nil {
		return nil, cli.Usagef("--kvm-init: %v", err)
	}
	if c.Mode == measure.OVMFHash {
		return c, nil
	}
	if o.initrd != "" && !o.fs.Changed("kernel") {
		return nil, cli.Usagef("--kernel required when using --initrd")
	}
	if o.appendArg != "" && !o.fs.Changed("kernel") {
		return nil, cli.Usagef("--kernel required when using --append")
	}
	if o.kernel == "" {
		// The reference tests "kernel is None" but measures "kernel is
		// non-empty": --kernel '' measures no kernel, initrd or append.
		c.Initrd, c.Cmdline = "", ""
	}
	if c.Mode != measure.SEV {
		if !o.fs.Changed("vcpus") {
			return nil, cli.Usagef("missing --vcpus N in guest mode '%s'", o.mode)
		}
		n, err := pyarg.Decimal(o.vcpus)
		switch {
		case err == pyarg.ErrRange || n > measure.MaxVCPUs:
			return nil, cli.Usagef("--vcpus %s: at most %d (KVM's and QEMU's limit)", o.vcpus, measure.MaxVCPUs)
		case err != nil:
			return nil, cli.Usagef("--vcpus %q: %v", o.vcpus, err)
		case n < 1:
			return nil, cli.Usagef("--vcpus %d: need at least 1", n)
		}
		c.VCPUs = int(n)
	}
	if c.VMM, err = vmsa.ParseVMM(o.vmmType); err != nil {
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
			return nil, cli.Usagef("missing --vcpu-type or --vcpu-sig or --vcpu-family in guest mode '%s'", o.mode)
		}
		c.Signature = sig
	}
	if c.GuestFeatures, err = parseUint("guest-features", o.guestFeatures); err != nil {
		return nil, err
	}
	if o.ovmfHash != "" {
		if c.Mode != measure.SNP {
			return nil, cli.Usagef("--snp-ovmf-hash only works with --mode snp")
		}
		b, err := pyarg.FromHex(o.ovmfHash)
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
	if o.dumpVMSA && c.Mode == measure.SEV {
		return nil, cli.Usagef("--dump-vmsa is not available in --mode sev")
	}
	if o.trace != "" && c.Mode != measure.SNP && c.Mode != measure.SVSM {
		return nil, cli.Usagef("--trace needs --mode snp or snp:svsm")
	}
	if err := cli.CheckOutputs(o.outputs(), o.inputs()...); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, cli.Usagef("%v", err)
	}
	return c, nil
}

// igvmConfig resolves the flags of an IGVM launch.
func (o *measureOptions) igvmConfig(c *measure.Config) (*measure.Config, error) {
	c.IGVM, c.NativeZero, c.CheckKVM, c.IgnoreIDBlock, c.IgnoreUnhandledParameters = o.igvm, o.nativeZero, o.checkKVM, o.ignoreIDBlock, o.ignoreUnhandled
	var err error
	if c.IGVMLoader, err = launchdigest.ParseIGVMLoader(o.igvmLoader); err != nil {
		return nil, cli.Usagef("--igvm-loader: %v", err)
	}
	for _, f := range []string{"ovmf", "kernel", "initrd", "append", "snp-ovmf-hash", "ovmf-hash", "svsm", "vars-size", "vars-file", "vmm-type", "guest-features", "dump-vmsa"} {
		if o.fs.Changed(f) {
			return nil, cli.Usagef("--%s does not apply to an --igvm launch: the IGVM file holds what is measured", f)
		}
	}
	if o.fs.Changed("vcpus") {
		n, err := pyarg.Decimal(o.vcpus)
		if err != nil || n < 1 || n > measure.MaxVCPUs {
			return nil, cli.Usagef("--vcpus %s: want 1 to %d", o.vcpus, measure.MaxVCPUs)
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
	if c.KVMInit, err = vmsa.ParseKVMInit(o.kvmInit); err != nil {
		return nil, cli.Usagef("--kvm-init: %v", err)
	}
	if o.trace != "" && c.Mode != measure.SNP {
		return nil, cli.Usagef("--trace needs --mode snp")
	}
	if err := cli.CheckOutputs([]cli.File{{Flag: "--trace", Path: o.trace}}, cli.File{Flag: "--igvm", Path: o.igvm}); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, cli.Usagef("%v", err)
	}
	return c, nil
}

func (o *measureOptions) svsmConfig(c *measure.Config) error {
	switch {
	case c.VMM != vmsa.QEMU:
		return cli.Usagef("--mode snp:svsm is only implemented for --vmm-type QEMU")
	case o.svsm == "":
		return cli.Usagef("--mode snp:svsm requires --svsm FILE")
	case o.varsFile != "":
		st, err := os.Stat(o.varsFile)
		if err != nil {
			return cli.FileError(o.varsFile, err)
		}
		c.VarsSize = uint64(st.Size())
	case o.varsSize != "":
		n, err := decimal("vars-size", o.varsSize)
		if err != nil {
			return err
		}
		if n < 0 {
			return cli.Usagef("--vars-size %d: must not be negative", n)
		}
		c.VarsSize = uint64(n)
	}
	if c.VarsSize == 0 {
		return cli.Usagef("--mode snp:svsm requires --vars-size or --vars-file")
	}
	return nil
}

// inputs lists the files the measurement reads.
func (o *measureOptions) inputs() []cli.File {
	return []cli.File{{Flag: "--ovmf", Path: o.ovmf}, {Flag: "--kernel", Path: o.kernel}, {Flag: "--initrd", Path: o.initrd}, {Flag: "--svsm", Path: o.svsm}, {Flag: "--vars-file", Path: o.varsFile}, {Flag: "--igvm", Path: o.igvm}}
}

// outputs lists the files the measurement writes.
func (o *measureOptions) outputs() []cli.File {
	out := []cli.File{{Flag: "--trace", Path: o.trace}}
	if o.dumpVMSA {
		n, _ := pyarg.Decimal(o.vcpus)
		for i := range min(int(n), measure.MaxVCPUs) {
			out = append(out, cli.File{Flag: "--dump-vmsa", Path: fmt.Sprintf("vmsa%d.bin", i)})
		}
	}
	return out
}

// measureOptionsFor returns the library options: progress, and what the
// flags ask to be kept.
func (o *measureOptions) measureOptionsFor() *measure.Options {
	return &measure.Options{Progress: app.Progress(), VMSAs: o.dumpVMSA, FileDigests: o.json}
}

// run validates, computes and prints like sev-snp-measure.
func (o *measureOptions) run(stdout io.Writer) error {
	c, err := o.config()
	if err != nil {
		return err
	}
	res, err := measure.Measure(context.Background(), c, o.measureOptionsFor())
	defer res.Close()
	if measure.IsIDBlockMismatch(err) {
		// As igvmmeasure: the digest, then the failed ID block check.
		if werr := o.write(c, res, stdout); werr != nil {
			return werr
		}
		return cli.Failed("%s", err.Error()+" (--ignore-idblock to measure anyway)")
	}
	if err != nil {
		return err
	}
	return o.write(c, res, stdout)
}

// expectedMeasurement measures c for verify and writes --trace.
func (o *measureOptions) expectedMeasurement(c *measure.Config, stdout io.Writer) ([]byte, error) {
	res, err := measure.Measure(context.Background(), c, o.measureOptionsFor())
	defer res.Close()
	if measure.IsIDBlockMismatch(err) {
		return nil, cli.Failed("%s", err.Error()+": QEMU would fail the launch (--ignore-idblock to measure anyway)")
	}
	if err != nil {
		return nil, err
	}
	if o.trace != "" && res.Launch != nil {
		if err := app.WriteOutput(o.trace, stdout, cli.Paths(o.inputs()), func(w io.Writer) error { return trace.Write(w, res.Launch) }); err != nil {
			return nil, err
		}
	}
	return res.Digest, nil
}

// write writes the trace, the VMSA pages and the measurement.
func (o *measureOptions) write(c *measure.Config, res *measure.Result, stdout io.Writer) error {
	if c.Mode == measure.OVMFHash && !o.json {
		_, err := fmt.Fprintln(stdout, hex.EncodeToString(res.Digest))
		return err
	}
	if o.trace != "" && res.Launch != nil {
		if err := app.WriteOutput(o.trace, stdout, cli.Paths(o.inputs()), func(w io.Writer) error { return trace.Write(w, res.Launch) }); err != nil {
			return err
		}
	}
	for i, p := range res.VMSAs {
		if err := app.WriteOutput(fmt.Sprintf("vmsa%d.bin", i), stdout, cli.Paths(o.inputs()), func(w io.Writer) error {
			_, err := w.Write(p[:])
			return err
		}); err != nil {
			return err
		}
	}
	if o.json {
		r := measureJSON(c, res)
		if r.VCPUSig != "" && !o.fs.Changed("vcpu-sig") && !o.fs.Changed("vcpu-family") {
			r.VCPUType = o.vcpuType
		}
		return cli.WriteJSON(stdout, r)
	}
	s := hex.EncodeToString(res.Digest)
	if o.outputFormat == "base64" {
		s = base64.StdEncoding.EncodeToString(res.Digest)
	}
	if o.verbose {
		name := map[measure.Mode]string{measure.SEV: "SEV", measure.SEVES: "SEV_ES", measure.SVSM: "SEV_SNP_SVSM"}[c.Mode]
		if name == "" {
			name = "SEV_SNP"
		}
		s = fmt.Sprintf("Calculated %s guest measurement: %s", name, s)
	}
	_, err := fmt.Fprintln(stdout, s)
	return err
}

// measureRecord is the output of measure --json.
type measureRecord struct {
	Mode          string         `json:"mode"`
	Measurement   string         `json:"measurement"`
	VCPUs         int            `json:"vcpus,omitempty"`
	VCPUType      string         `json:"vcpu_type,omitempty"`
	VCPUSig       string         `json:"vcpu_sig,omitempty"`
	VMMType       string         `json:"vmm_type,omitempty"`
	GuestFeatures string         `json:"guest_features,omitempty"`
	KVMInit       string         `json:"kvm_init,omitempty"`
	SNPOVMFHash   string         `json:"snp_ovmf_hash,omitempty"`
	VarsSize      uint64         `json:"vars_size,omitempty"`
	Cmdline       *string        `json:"cmdline,omitempty"`
	Inputs        []measure.File `json:"inputs"`
}

func measureJSON(c *measure.Config, res *measure.Result) *measureRecord {
	r := &measureRecord{Mode: string(c.Mode), Measurement: hex.EncodeToString(res.Digest), Inputs: res.Files, VarsSize: c.VarsSize}
	if c.Mode != measure.OVMFHash && c.Mode != measure.SEV {
		r.VCPUs, r.VCPUSig, r.VMMType, r.KVMInit = c.VCPUs, fmt.Sprintf("%#x", c.Signature), c.VMM.String(), c.KVMInit.String()
	}
	if c.Mode == measure.SNP {
		r.GuestFeatures = fmt.Sprintf("%#x", c.GuestFeatures)
	}
	if c.OVMFHash != nil {
		r.SNPOVMFHash = c.OVMFHash.String()
	}
	if c.Kernel != "" && c.Mode != measure.SVSM {
		r.Cmdline = &c.Cmdline
	}
	return r
}
