package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/snpmeasure/snpmeasure/internal/cli"
	"github.com/snpmeasure/snpmeasure/internal/cliflags"
	"github.com/snpmeasure/snpmeasure/measure"
	"github.com/snpmeasure/snpmeasure/report"
	"github.com/spf13/pflag"
)

func init() {
	app.Register("verify", "check an attestation report: AMD signature and chain, measurement, fields (offline)", runVerify)
}

// verifyOptions are the flags of verify besides the measure flags.
type verifyOptions struct {
	report, reportFormat string
	json                 bool
	c                    report.Config
	inputs               []string // every file verify reads (plan)
}

func addVerifyFlags(fs *pflag.FlagSet) *verifyOptions {
	v := &verifyOptions{}
	fs.StringVar(&v.report, "report", "", "attestation report file (binary, hex or base64; - for standard input) (required)")
	fs.StringVar(&v.reportFormat, "report-format", "auto", "report encoding: auto (detect), bin, hex or base64")
	cliflags.AddReportChecks(fs, &v.c)
	fs.BoolVar(&v.json, "json", false, "print the result as JSON")
	return v
}

func runVerify(args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("verify")
	v := addVerifyFlags(fs)
	o := cliflags.AddMeasure(fs)
	app.AddQuietFlag(fs)
	hidden := []string{"output-format", "verbose", "dump-vmsa"}
	for _, n := range hidden {
		fs.MarkHidden(n)
	}
	fs.Lookup("mode").Usage = "guest mode of the expected launch: snp (default) or snp:svsm"
	fs.Lookup("ovmf").Usage = "OVMF firmware image: compute the expected measurement from the measure flags"
	fs.Lookup("vcpus").Usage = "number of vCPUs of the expected launch (with --ovmf)"
	if err := app.Parse(fs, args, stdout, app.Usage("verify")); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected argument %q", fs.Arg(0))
	}
	for _, n := range hidden {
		if fs.Changed(n) {
			return cli.Usagef("--%s is a measure flag that does not apply to verify", n)
		}
	}
	return v.run(o, stdout)
}

// plan checks the command line before any file is read; it returns the
// measure configuration when the expected measurement is computed.
func (v *verifyOptions) plan(o *cliflags.Measure) (*measure.Config, error) {
	// A check flag given an empty value (an unset shell variable) would
	// silently drop its check: refuse it. (--append '' is a command line.)
	var empty string
	o.FS.Visit(func(f *pflag.Flag) {
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			for _, s := range sv.GetSlice() {
				if strings.TrimSpace(s) == "" && empty == "" {
					empty = f.Name
				}
			}
		} else if f.Value.Type() == "string" && f.Name != "append" && strings.TrimSpace(f.Value.String()) == "" && empty == "" {
			empty = f.Name
		}
	})
	switch {
	case empty != "":
		return nil, cli.Usagef("--%s: empty value", empty)
	case v.report == "":
		return nil, cli.Usagef("missing --report FILE")
	case v.c.Measurement != "" && (o.OVMF != "" || o.IGVM != ""):
		return nil, cli.Usagef("--measurement and --ovmf (or --igvm) both give the expected measurement: use one")
	case o.OVMF == "" && o.IGVM == "":
		for _, n := range []string{"trace", "vcpus", "vcpu-type", "vcpu-sig", "vcpu-family", "kernel", "initrd", "append", "mode",
			"svsm", "snp-ovmf-hash", "ovmf-hash", "vmm-type", "guest-features", "vars-size", "vars-file", "kvm-init"} {
			if o.FS.Changed(n) {
				return nil, cli.Usagef("--%s needs --ovmf FILE: it is a measure flag, and the measurement is computed from the firmware", n)
			}
		}
		return nil, nil
	}
	if !o.FS.Changed("mode") {
		o.Mode = string(measure.SNP)
	}
	if o.Mode != string(measure.SNP) && o.Mode != string(measure.SVSM) {
		return nil, cli.Usagef("--mode %s: verify checks SNP reports (--mode snp or snp:svsm)", o.Mode)
	}
	c, err := o.Config()
	if err != nil {
		return nil, err
	}
	inputs := append(o.Inputs(), cli.File{Flag: "--report", Path: v.report}, cli.File{Flag: "--vcek", Path: v.c.VCEK}, cli.File{Flag: "--ask", Path: v.c.ASK}, cli.File{Flag: "--ark", Path: v.c.ARK})
	for _, a := range []struct {
		flag  string
		paths []string
	}{{"--cert-chain", v.c.CertChains}, {"--trust-ark", v.c.TrustARKs}, {"--crl", v.c.CRLs},
		{"--trusted-id-key", v.c.TrustedIDKeys}, {"--trusted-author-key", v.c.TrustedAuthorKeys}} {
		for _, p := range a.paths {
			inputs = append(inputs, cli.File{Flag: a.flag, Path: p})
		}
	}
	v.inputs = cli.Paths(inputs)
	return c, cli.CheckOutputs([]cli.File{{Flag: "--trace", Path: o.Trace}}, inputs...)
}

func (v *verifyOptions) run(o *cliflags.Measure, stdout io.Writer) error {
	format, err := report.ParseFormat(v.reportFormat)
	if err != nil {
		return cli.Usagef("--report-format: %v", err)
	}
	mc, err := v.plan(o)
	if err != nil {
		return err
	}
	// Certificates and keys are small: read them before the report and the
	// firmware so that a bad path fails fast.
	opts, err := v.c.Options()
	var ce *report.ConfigError
	if errors.As(err, &ce) {
		return cli.Usagef("%v", err)
	} else if err != nil {
		return err
	}
	rep, err := readReportArg(v.report, format)
	if err != nil {
		return err
	}
	if mc != nil {
		if opts.Expect.Measurement, err = expectedMeasurement(o, mc, stdout, v.inputs); err != nil {
			return err
		}
	}
	res := rep.Verify(opts)
	for i, n := range res.NotChecked {
		switch {
		case strings.HasPrefix(n, "measurement:"):
			res.NotChecked[i] = n + " (give the measure flags --ovmf ..., or --measurement)"
		case strings.HasPrefix(n, "revocation:"):
			res.NotChecked[i] = n + " (give --crl FILE, saved from AMD's KDS)"
		}
	}
	if v.json {
		err = cli.WriteJSON(stdout, res)
	} else {
		err = printVerifyResult(stdout, v.report, rep, res)
	}
	if err != nil {
		return err // a failed write fails the command whatever the checks said
	}
	if !res.OK {
		return cli.Failed("%s: %v", v.report, res.Err())
	}
	return nil
}

// printVerifyResult prints the report summary, one row per check, and what
// was not checked.
func printVerifyResult(out io.Writer, path string, rep *report.Report, res *report.Result) error {
	var w bytes.Buffer
	fmt.Fprintf(&w, "report %s (%s): %s\n\n", path, rep.Format, rep.Summary())
	tw := tabwriter.NewWriter(&w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tEXPECTED\tIN THE REPORT\tRESULT")
	for _, c := range res.Checks {
		r := "ok"
		if !c.OK {
			r = "FAILED"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Name, c.Expected, c.Actual, r)
	}
	tw.Flush()
	fmt.Fprintln(&w)
	for _, n := range res.NotChecked {
		fmt.Fprintf(&w, "NOT CHECKED: %s\n", n)
	}
	failed := res.Failed()
	if len(failed) == 0 && res.OK {
		fmt.Fprintf(&w, "OK: %d of %d checks passed\n", len(res.Checks), len(res.Checks))
	} else {
		names := make([]string, len(failed))
		for i, c := range failed {
			names[i] = c.Name
		}
		fmt.Fprintf(&w, "FAILED: %d of %d checks failed: %s\n", len(failed), len(res.Checks), strings.Join(names, ", "))
	}
	_, err := out.Write(w.Bytes())
	return err
}
