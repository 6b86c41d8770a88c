package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/snpmeasure/snpmeasure/refvalues"
)

func init() {
	register("refvalues", "reference values for every configuration: json, rvps, intoto or corim", runRefvalues)
}

// refvaluesDefaults are the ranged flag defaults of refvalues; --vcpus has
// none and must be given.
var refvaluesDefaults = spaceDefaults{vcpus: "", vcpuTypes: "all", vmmTypes: "QEMU", guestFeatures: "0x1"}

func runRefvalues(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("refvalues")
	o := addSpaceFlags(fs, refvaluesDefaults)
	format := fs.String("format", refvalues.FormatJSON, "output format: "+strings.Join(refvalues.Formats, ", "))
	output := fs.StringP("output", "o", "", "write to this file (atomically) instead of standard output")
	policy := fs.String("policy", "", "guest policy of the launch, e.g. 0x30000: adds policy reference values (json, rvps, corim)")
	corimProfile := fs.String("corim-profile", refvalues.CoRIMProfileNames[0], "CoRIM profile: 2024 (what Veraison ingests) or 2025 (the current AMD profile draft)")
	if err := parseFlags(fs, args, stdout, refvaluesUsage); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if !fs.Changed("vcpus") {
		return usagef("missing --vcpus (counts and ranges, e.g. 1-64,96)")
	}
	if !slices.Contains(refvalues.Formats, *format) {
		return usagef("--format %q: want %s", *format, strings.Join(refvalues.Formats, ", "))
	}
	profile, err := refvalues.CoRIMProfileURI(*corimProfile)
	if err != nil {
		return usagef("--corim-profile: %v", err)
	}
	if fs.Changed("corim-profile") && *format != refvalues.FormatCoRIM {
		return usagef("--corim-profile applies to --format corim only")
	}
	var pol *refvalues.Hex
	if fs.Changed("policy") {
		v, err := parseGuestPolicyFlag("policy", *policy)
		if err != nil {
			return err
		}
		h := refvalues.Hex(v)
		pol = &h
	}
	s, err := o.parseSpace()
	if err != nil {
		return err
	}
	if err := checkNotInput(namedPath{"-o", *output}, namedPath{"--ovmf", o.ovmf}, namedPath{"--kernel", o.kernel},
		namedPath{"--initrd", o.initrd}); err != nil {
		return err
	}
	doc, err := buildRefvalues(o, s)
	if err != nil {
		return err
	}
	doc.Policy = pol
	encode := func(w io.Writer) error {
		if *format == refvalues.FormatCoRIM {
			return doc.EncodeCoRIMFor(w, profile)
		}
		return doc.Encode(w, *format)
	}
	if *output == "" {
		// Every check is done: only a write error can interrupt the output.
		return encode(stdout)
	}
	return writeAtomic(*output, encode)
}

// buildRefvalues measures every configuration of s and describes the inputs.
func buildRefvalues(o *spaceOptions, s *space) (*refvalues.Document, error) {
	// The firmware's SHA-256 streams alongside the page hashes.
	type sum struct {
		v   [32]byte
		err error
	}
	fwSumc := make(chan sum, 1)
	go func() {
		v, err := hashFile(o.ovmf)
		fwSumc <- sum{v, err}
	}()
	in, err := o.loadSpaceInputs()
	fwSum := <-fwSumc
	if err != nil {
		return nil, err
	}
	defer in.fw.Close()
	if fwSum.err != nil {
		return nil, fwSum.err
	}
	doc := refvalues.New(versionString())
	doc.Inputs.Firmware = refvalues.NewFirmware(filepath.Base(o.ovmf), fwSum.v, in.fw.image)
	if in.ovmfHash != nil {
		h := refvalues.Measurement384(*in.ovmfHash)
		doc.Inputs.SNPOVMFHash = &h
	}
	if o.kernel != "" {
		k, err := refvaluesInputFile(o.kernel, in.kernel.Kernel)
		if err != nil {
			return nil, err
		}
		doc.Inputs.Kernel = k
		if o.initrd != "" {
			if doc.Inputs.Initrd, err = refvaluesInputFile(o.initrd, in.kernel.Initrd); err != nil {
				return nil, err
			}
		}
		cmdline := o.appendArg
		doc.Inputs.Cmdline = &cmdline
	}
	doc.Measurements = make([]refvalues.Measurement, 0, s.size())
	err = s.enumerate(in, func(p spacePoint) bool {
		doc.Measurements = append(doc.Measurements, refvalues.Measurement{
			VCPUs:         p.VCPUs,
			VCPUType:      p.CPU.name,
			VCPUSig:       refvalues.Hex(p.CPU.sig),
			VMMType:       p.VMM.String(),
			GuestFeatures: refvalues.Hex(p.GuestFeatures),
			Measurement:   refvalues.Measurement384(p.Measurement),
		})
		return true
	})
	if err != nil {
		return nil, err
	}
	return doc, nil
}

// refvaluesInputFile names a hashed input file by base name, size and SHA-256.
func refvaluesInputFile(path string, sum [32]byte) (*refvalues.File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fileErr(path, err)
	}
	return &refvalues.File{Name: filepath.Base(path), Size: st.Size(), SHA256: sum}, nil
}

// parseGuestPolicyFlag parses an SEV-SNP guest policy; bit 17 is reserved and must be 1.
func parseGuestPolicyFlag(flag, s string) (uint64, error) {
	v, err := parseUint(flag, s)
	if err != nil {
		return 0, err
	}
	if v&refvalues.PolicyReserved1 == 0 {
		return 0, usagef("--%s %s: bit 17 is reserved and must be 1 (e.g. 0x30000)", flag, s)
	}
	return v, nil
}

func refvaluesUsage(w io.Writer, fs *pflag.FlagSet) {
	fmt.Fprintln(w, "Usage: snpmeasure refvalues --ovmf FILE --vcpus RANGES [flags] [--format FORMAT] [-o FILE]")
	fmt.Fprintln(w, "\nComputes the SEV-SNP launch measurement of every configuration in the ranges and")
	fmt.Fprintln(w, "writes them as reference values: the snpmeasure JSON document (json), a Trustee")
	fmt.Fprintln(w, "RVPS message (rvps), an in-toto statement (intoto) or an unsigned CoRIM (corim).")
	fmt.Fprintln(w, "The firmware, kernel and initrd are read once; each configuration costs a few hashes.")
	fmt.Fprintln(w, "Defaults: every vCPU type, --vmm-type QEMU, --guest-features 0x1; --vcpus is required.")
	fmt.Fprintln(w, "Output is deterministic: the same inputs give the same bytes.")
	fmt.Fprintln(w, "\nFlags:")
	fmt.Fprint(w, fs.FlagUsages())
	fmt.Fprintln(w, "\nExample:")
	fmt.Fprintln(w, "  snpmeasure refvalues --ovmf OVMF.amdsev.fd --kernel vmlinuz --initrd initrd.img \\")
	fmt.Fprintln(w, "    --append 'console=ttyS0' --vcpus 1-256 --vmm-type all --format rvps -o rv.json")
	fmt.Fprintln(w, "\nExit status: 0 ok, 1 bad input, 2 bad usage.")
}
