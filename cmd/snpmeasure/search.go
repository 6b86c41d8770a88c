package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/snpmeasure/snpmeasure/internal/cli"
	"github.com/snpmeasure/snpmeasure/launchdigest"
	"github.com/snpmeasure/snpmeasure/measure"
	"github.com/snpmeasure/snpmeasure/report"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

func init() {
	app.Register("search", "find the vCPU count, vCPU type, VMM and guest features behind a measurement", runSearch)
}

// searchDefaults is the space searched unless flags narrow it.
var searchDefaults = spaceDefaults{vcpus: "1-512", vcpuTypes: "all", vmmTypes: "all",
	guestFeatures: "0x1,0x21,0x201,0x221", kvmInits: "init2,legacy"}

type searchOptions struct {
	report, reportFormat, measurement string
	json                              bool
}

func runSearch(args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("search")
	so := &searchOptions{}
	fs.StringVar(&so.report, "report", "", "attestation report whose MEASUREMENT to explain (binary, hex or base64)")
	fs.StringVar(&so.reportFormat, "report-format", "auto", "report encoding: auto (detect), bin, hex or base64")
	fs.StringVar(&so.measurement, "measurement", "", "measurement to explain (hex or base64), instead of --report")
	o := addSpaceFlags(fs, searchDefaults)
	fs.BoolVar(&so.json, "json", false, "print the matches as a JSON array")
	if err := app.Parse(fs, args, stdout, app.Usage("search")); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected argument %q", fs.Arg(0))
	}
	return so.run(o, stdout, stderr)
}

// searchMatch is one configuration that produces the measurement.
type searchMatch struct {
	VCPUs         int    `json:"vcpus"`
	VCPUType      string `json:"vcpu_type"`
	VCPUSig       string `json:"vcpu_sig"`
	VMMType       string `json:"vmm_type"`
	GuestFeatures string `json:"guest_features"`
	KVMInit       string `json:"kvm_init"`
	Measurement   string `json:"measurement"`
}

func (so *searchOptions) run(o *spaceOptions, stdout, stderr io.Writer) error {
	var target []byte
	var source string
	switch {
	case so.report != "" && so.measurement != "":
		return cli.Usagef("--report and --measurement both give the measurement: use one")
	case so.measurement != "":
		m, err := verifyBytesFlag("measurement", so.measurement)
		if err != nil {
			return err
		}
		target, source = m, "--measurement"
	case so.report == "":
		return cli.Usagef("missing --report FILE or --measurement HEX")
	}
	format, err := report.ParseFormat(so.reportFormat)
	if err != nil {
		return cli.Usagef("--report-format: %v", err)
	}
	s, c, err := o.parseSpace()
	if err != nil {
		return err
	}
	printNotes(stderr, o.notes)
	if target == nil {
		rep, err := readReportArg(so.report, format)
		if err != nil {
			return err
		}
		target, source = rep.Measurement[:], so.report
	}
	in, err := o.open(c, false)
	if err != nil {
		return err
	}
	defer in.Close()
	want := launchdigest.Digest(target)
	matches, err := in.Search(context.Background(), s, want)
	if err != nil {
		return err
	}
	if so.json {
		out := make([]searchMatch, len(matches))
		for i, p := range matches {
			out[i] = searchMatch{VCPUs: p.VCPUs, VCPUType: p.CPU.Name, VCPUSig: fmt.Sprintf("%#x", p.CPU.Signature), VMMType: p.VMM.String(),
				GuestFeatures: fmt.Sprintf("%#x", p.GuestFeatures), KVMInit: p.KVMInit.String(), Measurement: p.Measurement.String()}
		}
		if err := cli.WriteJSON(stdout, out); err != nil {
			return err
		}
	} else {
		printSearchMatches(stdout, o, want, source, s, matches)
	}
	if len(matches) == 0 {
		return cli.Failed("no configuration matches measurement %s of %s (searched %s)", want, source, s)
	}
	return nil
}

func printSearchMatches(w io.Writer, o *spaceOptions, want launchdigest.Digest, source string, s *measure.Space, matches []measure.Point) {
	if len(matches) == 0 {
		fmt.Fprintf(w, "no configuration matches measurement %s (%s)\n", want, source)
		fmt.Fprintf(w, "searched: %s\n", s)
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
		name := p.CPU.Name
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(w, "\nvcpus=%d vcpu-type=%s vcpu-sig=%#x vmm-type=%s guest-features=%#x kvm-init=%s\n",
			p.VCPUs, name, p.CPU.Signature, p.VMM, p.GuestFeatures, p.KVMInit)
		fmt.Fprintf(w, "  %s\n", searchCommandLine(o, p))
	}
	if ambiguousTypes(matches) {
		fmt.Fprintln(w, "\nSeveral vCPU types give the same VMSA: QEMU records only the vCPU signature, ec2 nothing of")
		fmt.Fprintln(w, "the vCPU type, gce only whether it is Genoa or later. The report cannot tell them apart.")
	}
}

// ambiguousTypes reports whether matches differ only in the vCPU model.
func ambiguousTypes(ms []measure.Point) bool {
	for i := 1; i < len(ms); i++ {
		a, b := ms[0], ms[i]
		if a.VCPUs == b.VCPUs && a.VMM == b.VMM && a.GuestFeatures == b.GuestFeatures && a.KVMInit == b.KVMInit && a.CPU != b.CPU {
			return true
		}
	}
	return false
}

// searchCommandLine is the measure command that reproduces a match.
func searchCommandLine(o *spaceOptions, p measure.Point) string {
	if o.igvm != "" {
		args := []string{"snpmeasure", "measure", "--mode", "snp", "--igvm", o.igvm}
		if o.igvmLoader == "qemu" {
			args = append(args, "--igvm-loader", "qemu", "--vcpus", fmt.Sprint(p.VCPUs), "--vcpu-sig", fmt.Sprintf("%#x", p.CPU.Signature))
			if p.CPU.Name != "" {
				args[len(args)-2], args[len(args)-1] = "--vcpu-type", p.CPU.Name
			}
		}
		for _, f := range []struct {
			on   bool
			flag string
		}{{o.nativeZero, "-n"}, {o.checkKVM, "-c"}, {o.ignoreUnhandled, "--ignore-unhandled-parameters"}} {
			if f.on {
				args = append(args, f.flag)
			}
		}
		return strings.Join(quoteAll(args), " ")
	}
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
		args[i] = shellQuote(a)
	}
	return args
}

// shellQuote quotes a word for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// printNotes prints notes about the command line on stderr.
func printNotes(stderr io.Writer, notes []string) {
	for _, n := range notes {
		fmt.Fprintf(stderr, "snpmeasure: note: %s\n", n)
	}
}
