package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/snpmeasure/snpmeasure/launchdigest"
	"github.com/snpmeasure/snpmeasure/report"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

func init() {
	register("search", "find the vCPU count, vCPU type, VMM and guest features behind a measurement", runSearch)
}

// searchDefaults is the space searched unless flags narrow it.
var searchDefaults = spaceDefaults{
	vcpus:         "1-512",
	vcpuTypes:     "all",
	vmmTypes:      "all",
	guestFeatures: defaultGuestFeatures,
}

type searchOptions struct {
	report, reportFormat, measurement string
	json                              bool
}

func runSearch(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("search")
	so := &searchOptions{}
	fs.StringVar(&so.report, "report", "", "attestation report whose MEASUREMENT to explain (binary, hex or base64)")
	fs.StringVar(&so.reportFormat, "report-format", "auto", "report encoding: auto (detect), bin, hex or base64")
	fs.StringVar(&so.measurement, "measurement", "", "measurement to explain (hex or base64), instead of --report")
	o := addSpaceFlags(fs, searchDefaults)
	fs.BoolVar(&so.json, "json", false, "print the matches as a JSON array")
	if err := parseFlags(fs, args, stdout, searchUsage); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return so.run(o, stdout)
}

func searchUsage(w io.Writer, fs *pflag.FlagSet) {
	fmt.Fprintln(w, "Usage: snpmeasure search (--report FILE | --measurement HEX) --ovmf FILE [flags]")
	fmt.Fprintln(w, "\nFinds the launch configurations of the firmware (and kernel, initrd, command line)")
	fmt.Fprintln(w, "whose measurement is the given one. The vCPU count, vCPU type, VMM type and guest")
	fmt.Fprintln(w, "features take lists and ranges; by default every known value is tried.")
	fmt.Fprintln(w, "Several vCPU types can match: QEMU's VMSA records only the vCPU signature, ec2's")
	fmt.Fprintln(w, "nothing of the type, gce's only whether it is Genoa or later.")
	fmt.Fprintln(w, "\nFlags:")
	fmt.Fprint(w, fs.FlagUsages())
	fmt.Fprintln(w, "\nExample:")
	fmt.Fprintln(w, "  snpmeasure search --report report.bin --ovmf OVMF.amdsev.fd --kernel vmlinuz \\")
	fmt.Fprintln(w, "    --initrd initrd.img --append 'console=ttyS0'")
	fmt.Fprintln(w, "\nExit status: 0 found, 1 bad input, 2 bad usage, 3 no configuration matches.")
}

// searchMatch is one configuration that produces the measurement.
type searchMatch struct {
	VCPUs         int    `json:"vcpus"`
	VCPUType      string `json:"vcpu_type"`
	VCPUSig       string `json:"vcpu_sig"`
	VMMType       string `json:"vmm_type"`
	GuestFeatures string `json:"guest_features"`
	Measurement   string `json:"measurement"`
}

func (so *searchOptions) run(o *spaceOptions, stdout io.Writer) error {
	var target []byte
	var source string
	switch {
	case so.report != "" && so.measurement != "":
		return usagef("--report and --measurement both give the measurement: use one")
	case so.measurement != "":
		m, err := verifyBytesFlag("measurement", so.measurement)
		if err != nil {
			return err
		}
		target, source = m, "--measurement"
	case so.report == "":
		return usagef("missing --report FILE or --measurement HEX")
	}
	format, err := report.ParseFormat(so.reportFormat)
	if err != nil {
		return usagef("--report-format: %v", err)
	}
	s, err := o.parseSpace()
	if err != nil {
		return err
	}
	if target == nil {
		rep, err := readReportArg(so.report, format)
		if err != nil {
			return err
		}
		target, source = rep.Measurement[:], so.report
	}
	in, err := o.loadSpaceInputs()
	if err != nil {
		return err
	}
	defer in.fw.Close()

	var want launchdigest.Digest
	copy(want[:], target)
	var matches []spacePoint
	if err := s.enumerate(in, func(p spacePoint) bool {
		if p.Measurement == want {
			matches = append(matches, p)
		}
		return true
	}); err != nil {
		return err
	}

	if so.json {
		out := make([]searchMatch, len(matches))
		for i, p := range matches {
			out[i] = searchMatch{VCPUs: p.VCPUs, VCPUType: p.CPU.name, VCPUSig: fmt.Sprintf("%#x", p.CPU.sig),
				VMMType: p.VMM.String(), GuestFeatures: fmt.Sprintf("%#x", p.GuestFeatures), Measurement: p.Measurement.String()}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		printSearchMatches(stdout, o, want, source, s, matches)
	}
	if len(matches) == 0 {
		return &checkFailedError{msg: fmt.Sprintf("no configuration matches measurement %s of %s (searched %s)", want, source, s.describe())}
	}
	return nil
}

func printSearchMatches(w io.Writer, o *spaceOptions, want launchdigest.Digest, source string, s *space, matches []spacePoint) {
	if len(matches) == 0 {
		fmt.Fprintf(w, "no configuration matches measurement %s (%s)\n", want, source)
		fmt.Fprintf(w, "searched: %s\n", s.describe())
		fmt.Fprintln(w, "The firmware, kernel, initrd and command line are not searched: they must be those the guest")
		fmt.Fprintln(w, "was launched with. To see where a launch differs, compare --trace files with 'snpmeasure diff'.")
		return
	}
	plural, verb := "s", "match"
	if len(matches) == 1 {
		plural, verb = "", "matches"
	}
	fmt.Fprintf(w, "%d configuration%s %s measurement %s (%s):\n", len(matches), plural, verb, want, source)
	for _, p := range matches {
		fmt.Fprintf(w, "\nvcpus=%d vcpu-type=%s vcpu-sig=%#x vmm-type=%s guest-features=%#x\n",
			p.VCPUs, searchTypeLabel(p.CPU), p.CPU.sig, p.VMM, p.GuestFeatures)
		fmt.Fprintf(w, "  %s\n", searchCommandLine(o, p))
	}
	if ambiguousTypes(matches) {
		fmt.Fprintln(w, "\nSeveral vCPU types give the same VMSA: QEMU records only the vCPU signature, ec2 nothing of")
		fmt.Fprintln(w, "the vCPU type, gce only whether it is Genoa or later. The report cannot tell them apart.")
	}
}

func searchTypeLabel(c vcpuChoice) string {
	if c.name == "" {
		return "-"
	}
	return c.name
}

// ambiguousTypes reports whether matches differ only in the vCPU model.
func ambiguousTypes(ms []spacePoint) bool {
	for i := 1; i < len(ms); i++ {
		a, b := ms[0], ms[i]
		if a.VCPUs == b.VCPUs && a.VMM == b.VMM && a.GuestFeatures == b.GuestFeatures && a.CPU != b.CPU {
			return true
		}
	}
	return false
}

// searchCommandLine is the measure command that reproduces a match.
func searchCommandLine(o *spaceOptions, p spacePoint) string {
	args := []string{"snpmeasure", "measure", "--mode", "snp", "--ovmf", o.ovmf}
	if o.ovmfHash != "" {
		args = append(args, "--snp-ovmf-hash", o.ovmfHash)
	}
	if o.kernel != "" {
		args = append(args, "--kernel", o.kernel)
		if o.initrd != "" {
			args = append(args, "--initrd", o.initrd)
		}
		if o.fs.Changed("append") {
			args = append(args, "--append", o.appendArg)
		}
	}
	args = append(args, "--vcpus", fmt.Sprint(p.VCPUs))
	if p.CPU.name != "" {
		args = append(args, "--vcpu-type", p.CPU.name)
	} else {
		args = append(args, "--vcpu-sig", fmt.Sprintf("%#x", p.CPU.sig))
	}
	if p.VMM != vmsa.QEMU {
		args = append(args, "--vmm-type", p.VMM.String())
	}
	args = append(args, "--guest-features", fmt.Sprintf("%#x", p.GuestFeatures))
	for i, a := range args {
		args[i] = shellQuoteArg(a)
	}
	return strings.Join(args, " ")
}

// shellQuoteArg quotes a word for a POSIX shell when it needs it.
func shellQuoteArg(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,+@%", r))
	}) < 0 {
		return s
	}
	var b bytes.Buffer
	b.WriteByte('\'')
	b.WriteString(strings.ReplaceAll(s, "'", `'\''`))
	b.WriteByte('\'')
	return b.String()
}
