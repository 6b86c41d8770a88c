package main

import (
	"context"
	"fmt"
	"io"

	"github.com/snpmeasure/snpmeasure/internal/cli"
	"github.com/snpmeasure/snpmeasure/internal/cliflags"
	"github.com/snpmeasure/snpmeasure/launchdigest"
	"github.com/snpmeasure/snpmeasure/measure"
	"github.com/snpmeasure/snpmeasure/report"
)

func init() {
	app.Register("search", "find the vCPU count, vCPU type, VMM and guest features behind a measurement", runSearch)
}

// searchDefaults is the space searched unless flags narrow it.
var searchDefaults = cliflags.SpaceDefaults{VCPUs: "1-512", VCPUTypes: "all", VMMTypes: "all",
	GuestFeatures: "0x1,0x21,0x201,0x221", KVMInits: "init2,legacy"}

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
	o := cliflags.AddSpace(fs, searchDefaults)
	app.AddQuietFlag(fs)
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

func (so *searchOptions) run(o *cliflags.Space, stdout, stderr io.Writer) error {
	var target []byte
	var source string
	switch {
	case so.report != "" && so.measurement != "":
		return cli.Usagef("--report and --measurement both give the measurement: use one")
	case so.measurement != "":
		m, err := cliflags.ReportField("measurement", so.measurement)
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
	s, c, err := o.Parse()
	if err != nil {
		return err
	}
	cli.PrintNotes(stderr, o.Notes)
	if target == nil {
		rep, err := readReportArg(so.report, format)
		if err != nil {
			return err
		}
		target, source = rep.Measurement[:], so.report
	}
	in, err := openSpace(c, false)
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

func printSearchMatches(w io.Writer, o *cliflags.Space, want launchdigest.Digest, source string, s *measure.Space, matches []measure.Point) {
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
		fmt.Fprintf(w, "  %s\n", o.CommandLine(p))
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

// openSpace reads and hashes the inputs of a space once.
func openSpace(c *measure.Config, fileDigests bool) (*measure.Inputs, error) {
	return measure.Open(context.Background(), c, &measure.Options{Progress: app.Progress(), FileDigests: fileDigests})
}
