package main

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf13/pflag"

	"github.com/snpmeasure/snpmeasure/launchdigest"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

func init() {
	register("measure", "compute a launch measurement (the default; sev-snp-measure's flags)", runMeasure)
}

// Guest modes of --mode.
const (
	modeSEV      = "sev"
	modeSEVES    = "seves"
	modeSNP      = "snp"
	modeOVMFHash = "snp:ovmf-hash"
	modeSVSM     = "snp:svsm"
)

// measureOptions holds the sev-snp-measure compatible flags.
type measureOptions struct {
	mode          string
	vcpus         int // parsed from vcpusArg by config
	vcpusArg      string
	vcpuType      string
	vcpuSig       string
	vcpuFamily    string
	vcpuModel     string
	vcpuStepping  string
	vmmType       string
	ovmf          string
	kernel        string
	initrd        string
	appendArg     string
	guestFeatures string
	outputFormat  string
	ovmfHash      string
	dumpVMSA      bool
	verbose       bool
	svsm          string
	varsSize      int64 // parsed from varsSizeArg by config
	varsSizeArg   string
	varsFile      string
	trace         string

	fs *pflag.FlagSet
}

// addMeasureFlags defines the measure flags on fs.
func addMeasureFlags(fs *pflag.FlagSet) *measureOptions {
	o := &measureOptions{fs: fs}
	fs.StringVar(&o.mode, "mode", "", "guest mode: sev, seves, snp, snp:ovmf-hash or snp:svsm (required)")
	fs.StringVar(&o.vcpusArg, "vcpus", "", "number of vCPUs (required except for sev and snp:ovmf-hash)")
	fs.StringVar(&o.vcpuType, "vcpu-type", "", "QEMU vCPU model, e.g. EPYC-Milan (see 'snpmeasure cpus')")
	fs.StringVar(&o.vcpuSig, "vcpu-sig", "", "vCPU signature (CPUID Fn0000_0001_EAX), 0x-hex or decimal")
	fs.StringVar(&o.vcpuFamily, "vcpu-family", "", "vCPU family, decimal (with --vcpu-model and --vcpu-stepping)")
	fs.StringVar(&o.vcpuModel, "vcpu-model", "", "vCPU model, decimal")
	fs.StringVar(&o.vcpuStepping, "vcpu-stepping", "", "vCPU stepping, decimal")
	fs.StringVar(&o.vmmType, "vmm-type", "QEMU", "VMM that builds the VMSAs: QEMU, ec2 or gce")
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
	fs.StringVar(&o.varsSizeArg, "vars-size", "", "size of the OVMF variable store in bytes (snp:svsm)")
	fs.StringVar(&o.varsFile, "vars-file", "", "OVMF variable store whose size is used (snp:svsm)")
	fs.StringVar(&o.trace, "trace", "", "write every launch update as JSON Lines to this file (SNP modes)")
	addQuietFlag(fs)
	return o
}

func runMeasure(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("measure")
	o := addMeasureFlags(fs)
	if err := parseFlags(fs, args, stdout, measureUsage); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return o.run(fs, stdout)
}

func measureUsage(w io.Writer, fs *pflag.FlagSet) {
	fmt.Fprintln(w, "Usage: snpmeasure [measure] --mode MODE --ovmf FILE [flags]")
	fmt.Fprintln(w, "\nComputes the launch measurement an AMD SEV, SEV-ES or SEV-SNP guest will report.")
	fmt.Fprintln(w, "Flags are those of sev-snp-measure.")
	fmt.Fprintln(w, "\nFlags:")
	fmt.Fprint(w, fs.FlagUsages())
	fmt.Fprintln(w, "\nExample:")
	fmt.Fprintln(w, "  snpmeasure --mode snp --vcpus 4 --vcpu-type EPYC-Milan --ovmf OVMF.amdsev.fd \\")
	fmt.Fprintln(w, "    --kernel vmlinuz --initrd initrd.img --append 'console=ttyS0'")
	fmt.Fprintln(w, "\nExit status: 0 ok, 1 bad input, 2 bad usage.")
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	return fs
}

// parseFlags parses args; --help prints usage to stdout and returns errHelp.
func parseFlags(fs *pflag.FlagSet, args []string, stdout io.Writer, usage func(io.Writer, *pflag.FlagSet)) error {
	help := fs.BoolP("help", "h", false, "show this help")
	version := false
	if fs.Lookup("version") == nil {
		fs.BoolVar(&version, "version", false, "print the version")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			usage(stdout, fs)
			return errHelp
		}
		var ive *pflag.InvalidValueError
		if errors.As(err, &ive) {
			return invalidValueError(ive)
		}
		return usagef("%v", err)
	}
	if *help {
		usage(stdout, fs)
		return errHelp
	}
	if version {
		fmt.Fprintf(stdout, "snpmeasure %s\n", versionString())
		return errHelp
	}
	return nil
}

func versionString() string { return version }

// invalidValueError rewords pflag's "invalid argument ... strconv.ParseUint:
// parsing ...: invalid syntax" for the typed (numeric and boolean) flags.
func invalidValueError(e *pflag.InvalidValueError) error {
	f := e.GetFlag()
	v := e.GetValue()
	switch typ := f.Value.Type(); {
	case typ == "bool":
		return usagef("--%s=%s: want true or false", f.Name, v)
	case errors.Is(e, strconv.ErrRange):
		return usagef("--%s %s: out of range for a %s", f.Name, v, typ)
	case strings.HasPrefix(typ, "uint"):
		return usagef("--%s %s: want a non-negative whole number", f.Name, v)
	default:
		return usagef("--%s %s: not a valid %s", f.Name, v, typ)
	}
}

// parseUint parses a Python int(x, 0) style unsigned value: decimal or with a
// 0x, 0o or 0b prefix.
func parseUint(flag, s string) (uint64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, usagef("--%s: empty value", flag)
	}
	if !pyIntSyntax(s, true) {
		return 0, usagef("--%s %s: not a number (decimal or 0x-hex)", flag, s)
	}
	if strings.HasPrefix(t, "-") {
		return 0, usagef("--%s %s: must not be negative", flag, s)
	}
	t = strings.TrimPrefix(t, "+")
	base := 10
	if len(t) > 2 && t[0] == '0' {
		switch t[1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base != 10 {
			t = t[2:]
		} else if strings.Trim(t, "0_") != "" {
			// Python's int(x, 0) rejects decimal numbers with leading zeros.
			return 0, usagef("--%s %s: leading zeros are ambiguous; use 0x, 0o or plain decimal", flag, s)
		}
	}
	t = strings.ReplaceAll(t, "_", "")
	v, err := strconv.ParseUint(t, base, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, usagef("--%s %s: does not fit in 64 bits", flag, s)
		}
		return 0, usagef("--%s %s: not a number (decimal or 0x-hex)", flag, s)
	}
	return v, nil
}

// pyIntSyntax reports whether Python's int(s, 10) (auto false) or int(s, 0)
// (auto true) accepts s: surrounding white space, one sign, and single
// underscores between digits; with auto, a 0x/0o/0b prefix (an underscore may
// follow it) or plain decimal without leading zeros (except for zero itself).
func pyIntSyntax(s string, auto bool) bool {
	t := strings.TrimSpace(s)
	if t != "" && (t[0] == '+' || t[0] == '-') {
		t = t[1:]
	}
	digits := "0123456789"
	if auto && len(t) >= 2 && t[0] == '0' {
		switch t[1] {
		case 'x', 'X':
			digits, t = "0123456789abcdefABCDEF", strings.TrimPrefix(t[2:], "_")
		case 'o', 'O':
			digits, t = "01234567", strings.TrimPrefix(t[2:], "_")
		case 'b', 'B':
			digits, t = "01", strings.TrimPrefix(t[2:], "_")
		default:
			digits = "0" // int(x, 0) rejects leading zeros: only zero may start with 0
		}
	}
	if t == "" || t[0] == '_' || t[len(t)-1] == '_' || strings.Contains(t, "__") {
		return false
	}
	for _, c := range t {
		if c != '_' && !strings.ContainsRune(digits, c) {
			return false
		}
	}
	return true
}

// checkArgparseTypes rejects what argparse rejects before anything else,
// whatever the mode: typed flags whose value does not convert, and
// --vars-size with --vars-file.
func (o *measureOptions) checkArgparseTypes() error {
	for _, f := range []struct {
		name, val string
		auto      bool
	}{
		{"vcpus", o.vcpusArg, false}, {"vcpu-sig", o.vcpuSig, true},
		{"vcpu-family", o.vcpuFamily, false}, {"vcpu-model", o.vcpuModel, false},
		{"vcpu-stepping", o.vcpuStepping, false}, {"guest-features", o.guestFeatures, true},
		{"vars-size", o.varsSizeArg, false},
	} {
		if o.fs.Changed(f.name) && !pyIntSyntax(f.val, f.auto) {
			want := "a decimal number"
			if f.auto {
				want = "a number (decimal or 0x-hex)"
			}
			return usagef("--%s %q: want %s", f.name, f.val, want)
		}
	}
	if o.fs.Changed("vars-size") && o.fs.Changed("vars-file") {
		return usagef("--vars-file is not allowed with --vars-size")
	}
	return nil
}

// parseFromHex decodes hex as Python's bytes.fromhex does: ASCII white
// space may separate (not split) the two-digit bytes; upper case is fine.
func parseFromHex(s string) (launchdigest.Digest, error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		switch s[i] {
		case ' ', '\t', '\n', '\r', '\v', '\f':
			i++
			continue
		}
		if i+1 >= len(s) {
			return launchdigest.Digest{}, fmt.Errorf("odd number of hex digits")
		}
		b.WriteString(s[i : i+2])
		i += 2
	}
	return launchdigest.ParseDigest(strings.ToLower(b.String()))
}

// parseDecimal parses a base-10 integer as Python's int() does: surrounding
// white space, a sign, and underscores between digits are allowed.
func parseDecimal(flag, s string) (int64, error) {
	t := strings.TrimSpace(s)
	bad := usagef("--%s %q: want a decimal number", flag, s)
	digits := strings.TrimLeft(t, "+-")
	if len(t)-len(digits) > 1 || digits == "" || digits[0] == '_' || digits[len(digits)-1] == '_' ||
		strings.Contains(digits, "__") {
		return 0, bad
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(t, "_", ""), 10, 64)
	if err != nil {
		return 0, bad
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
			return 0, false, usagef("--vcpu-family needs --vcpu-model and --vcpu-stepping")
		}
		var fms [3]int
		for i, f := range []struct{ name, val string }{
			{"vcpu-family", o.vcpuFamily}, {"vcpu-model", o.vcpuModel}, {"vcpu-stepping", o.vcpuStepping}} {
			v, err := parseDecimal(f.name, f.val)
			if err != nil || v < 0 || v > 0xffff {
				return 0, false, usagef("--%s %q: want a decimal number from 0 to 65535", f.name, f.val)
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
			return 0, false, usagef("--vcpu-type: %v", err)
		}
		return c.Signature(), true, nil
	}
	return 0, false, nil
}

// config validates the flags in the reference's order and resolves them.
func (o *measureOptions) config() (*measureConfig, error) {
	c := &measureConfig{opts: o}
	switch o.mode {
	case modeSEV, modeSEVES, modeSNP, modeOVMFHash, modeSVSM:
	case "":
		return nil, usagef("missing --mode (sev, seves, snp, snp:ovmf-hash or snp:svsm)")
	default:
		return nil, usagef("--mode %q: want sev, seves, snp, snp:ovmf-hash or snp:svsm", o.mode)
	}
	if o.ovmf == "" {
		return nil, usagef("missing --ovmf FILE")
	}
	// Like argparse choices, these are checked whatever the mode.
	if o.outputFormat != "hex" && o.outputFormat != "base64" {
		return nil, usagef("--output-format %q: want hex or base64", o.outputFormat)
	}
	if o.vcpuType != "" {
		if _, err := vmsa.LookupCPUType(o.vcpuType); err != nil {
			return nil, usagef("--vcpu-type: %v", err)
		}
	}
	if err := o.checkArgparseTypes(); err != nil {
		return nil, err
	}
	if o.mode == modeOVMFHash {
		return c, nil
	}
	if o.initrd != "" && !o.fs.Changed("kernel") {
		return nil, usagef("--kernel required when using --initrd")
	}
	if o.appendArg != "" && !o.fs.Changed("kernel") {
		return nil, usagef("--kernel required when using --append")
	}
	needVCPUs := o.mode != modeSEV
	if needVCPUs {
		if !o.fs.Changed("vcpus") {
			return nil, usagef("missing --vcpus N in guest mode '%s'", o.mode)
		}
		n, err := parseDecimal("vcpus", o.vcpusArg)
		if err != nil {
			return nil, err
		}
		o.vcpus = int(n)
		if o.vcpus < 1 {
			return nil, usagef("--vcpus %d: need at least 1", o.vcpus)
		}
		if n > maxSpaceVCPUs {
			// KVM_MAX_VCPUS and QEMU's q35 limit; beyond it a launch cannot
			// exist, and --trace or --dump-vmsa would write without end.
			return nil, usagef("--vcpus %d: at most %d (KVM's and QEMU's limit)", n, maxSpaceVCPUs)
		}
		c.vcpus.Count = o.vcpus
	}
	vmm, err := vmsa.ParseVMM(o.vmmType)
	if err != nil {
		return nil, usagef("--vmm-type: %v", err)
	}
	c.vcpus.VMM = vmm
	if o.mode != modeSEV {
		sig, ok, err := o.vcpuSignature()
		if err != nil {
			return nil, err
		}
		if !ok && vmm == vmsa.QEMU {
			return nil, usagef("missing --vcpu-type or --vcpu-sig or --vcpu-family in guest mode '%s'", o.mode)
		}
		c.vcpus.Signature = sig
	}
	gf, err := parseUint("guest-features", o.guestFeatures)
	if err != nil {
		return nil, err
	}
	if o.mode == modeSNP {
		c.vcpus.GuestFeatures = gf
	}
	if o.ovmfHash != "" {
		if o.mode != modeSNP {
			return nil, usagef("--snp-ovmf-hash only works with --mode snp")
		}
		d, err := parseFromHex(o.ovmfHash)
		if err != nil {
			return nil, usagef("--snp-ovmf-hash: %v", err)
		}
		c.ovmfHash = &d
	}
	if o.mode == modeSVSM {
		if vmm != vmsa.QEMU {
			return nil, usagef("--mode snp:svsm is only implemented for --vmm-type QEMU")
		}
		if o.svsm == "" {
			return nil, usagef("--mode snp:svsm requires --svsm FILE")
		}
		if o.fs.Changed("vars-size") && o.fs.Changed("vars-file") {
			return nil, usagef("--vars-file is not allowed with --vars-size")
		}
		if o.varsSizeArg != "" {
			n, err := parseDecimal("vars-size", o.varsSizeArg)
			if err != nil {
				return nil, err
			}
			o.varsSize = n
		}
		switch {
		case o.varsFile != "":
			st, err := os.Stat(o.varsFile)
			if err != nil {
				return nil, fileErr(o.varsFile, err)
			}
			c.varsSize = uint64(st.Size())
		case o.varsSize > 0:
			c.varsSize = uint64(o.varsSize)
		case o.varsSize < 0:
			return nil, usagef("--vars-size %d: must not be negative", o.varsSize)
		default:
			return nil, usagef("--mode snp:svsm requires --vars-size or --vars-file")
		}
	}
	if o.dumpVMSA && o.mode == modeSEV {
		return nil, usagef("--dump-vmsa is not available in --mode sev")
	}
	if o.trace != "" && o.mode != modeSNP && o.mode != modeSVSM {
		return nil, usagef("--trace needs --mode snp or snp:svsm")
	}
	if o.trace != "" {
		if err := checkNotInput(namedPath{"--trace", o.trace}, o.inputs()...); err != nil {
			return nil, err
		}
	}
	c.hasKernel = o.kernel != ""
	if c.hasKernel && o.mode != modeSVSM && !utf8.ValidString(o.appendArg) {
		// The reference encodes the command line as UTF-8 and fails.
		return nil, usagef("--append %q: not valid UTF-8", o.appendArg)
	}
	return c, nil
}

// inputs lists the files the measurement reads.
func (o *measureOptions) inputs() []namedPath {
	return []namedPath{{"--ovmf", o.ovmf}, {"--kernel", o.kernel}, {"--initrd", o.initrd},
		{"--svsm", o.svsm}, {"--vars-file", o.varsFile}}
}

// measureConfig is the validated form of measureOptions.
type measureConfig struct {
	opts      *measureOptions
	vcpus     launchdigest.VCPUs
	ovmfHash  *launchdigest.Digest
	varsSize  uint64
	hasKernel bool
}

// run validates, computes and prints like sev-snp-measure.
func (o *measureOptions) run(fs *pflag.FlagSet, stdout io.Writer) error {
	o.fs = fs
	c, err := o.config()
	if err != nil {
		return err
	}
	res, err := c.compute()
	if err != nil {
		return err
	}
	if o.mode == modeOVMFHash {
		fmt.Fprintln(stdout, hex.EncodeToString(res.digest))
		return nil
	}
	if o.trace != "" && res.launch != nil {
		if err := writeTraceFile(o.trace, res.launch); err != nil {
			return err
		}
	}
	if o.dumpVMSA {
		if err := dumpVMSAs(res.vmsaPages); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, o.formatDigest(res.digest))
	return nil
}

// modeName is the name sev-snp-measure prints with -v.
func (o *measureOptions) modeName() string {
	switch o.mode {
	case modeSEV:
		return "SEV"
	case modeSEVES:
		return "SEV_ES"
	case modeSVSM:
		return "SEV_SNP_SVSM"
	}
	return "SEV_SNP"
}

func (o *measureOptions) formatDigest(d []byte) string {
	var s string
	if o.outputFormat == "base64" {
		s = base64.StdEncoding.EncodeToString(d)
	} else {
		s = hex.EncodeToString(d)
	}
	if o.verbose {
		return fmt.Sprintf("Calculated %s guest measurement: %s", o.modeName(), s)
	}
	return s
}

// dumpVMSAs writes vmsa0.bin ... into the current directory.
func dumpVMSAs(pages []*vmsa.Page) error {
	for i, p := range pages {
		name := fmt.Sprintf("vmsa%d.bin", i)
		if err := writeFileAtomic(name, p[:]); err != nil {
			return err
		}
	}
	return nil
}

// writeFileAtomic writes data to a temporary file next to name, then renames it.
func writeFileAtomic(name string, data []byte) error {
	return writeAtomic(name, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeAtomic streams into a temporary file next to name and renames it into
// place only when fill succeeded, so no half-written file is ever left.
func writeAtomic(name string, fill func(io.Writer) error) error {
	if st, err := os.Stat(name); err == nil && st.IsDir() {
		return fmt.Errorf("%s: is a directory, not a file", name)
	}
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return fmt.Errorf("%s: %w", name, unwrapPathErr(err))
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := fill(f); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("%s: %w", name, unwrapPathErr(err))
	}
	ok = true
	return nil
}

// fileErr formats a file error as "PATH: problem" without repeating the path.
func fileErr(path string, err error) error {
	return fmt.Errorf("%s: %w", path, unwrapPathErr(err))
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
