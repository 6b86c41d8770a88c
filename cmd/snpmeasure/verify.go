package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/snpmeasure/snpmeasure/internal/cli"
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
}

func addVerifyFlags(fs *pflag.FlagSet) *verifyOptions {
	v := &verifyOptions{}
	c := &v.c
	fs.StringVar(&v.report, "report", "", "attestation report file (binary, hex or base64; - for standard input) (required)")
	fs.StringVar(&v.reportFormat, "report-format", "auto", "report encoding: auto (detect), bin, hex or base64")
	fs.StringVar(&c.VCEK, "vcek", "", "the VCEK (or VLEK) AMD's KDS issued, DER or PEM; a PEM bundle with the ASK and ARK too")
	fs.StringArrayVar(&c.CertChains, "cert-chain", nil, "more intermediate certificates (a KDS cert_chain: ASK/ASVK and ARK); repeatable")
	fs.StringVar(&c.ASK, "ask", "", "an ASK or ASVK certificate (an intermediate: it must be signed by the trusted ARK)")
	fs.StringVar(&c.ARK, "ark", "", "an ARK certificate: it must be the trusted ARK itself")
	fs.StringArrayVar(&c.TrustARKs, "trust-ark", nil, "trust this ARK (PEM or DER; repeatable) instead of AMD's built-in ones")
	fs.StringVar(&c.Product, "product", "", "Milan, Genoa or Turin: the product line, for VERSION 2 reports that do not name it")
	fs.StringArrayVar(&c.CRLs, "crl", nil, "a CRL saved from AMD's KDS (DER or PEM): fail if the ASK/ASVK or key is revoked; repeatable")
	fs.StringVar(&c.At, "at", "", "check certificate validity as of this RFC 3339 time instead of now")
	fs.StringVar(&c.Measurement, "measurement", "", "expected MEASUREMENT (96 hex digits, or base64) instead of the measure flags")
	fs.StringVar(&c.HostData, "host-data", "", "check HOST_DATA (32 bytes, hex)")
	fs.StringVar(&c.ReportData, "report-data", "", "check REPORT_DATA (64 bytes, hex)")
	fs.StringVar(&c.Policy, "policy", "", "check the guest POLICY exactly (0x-hex or decimal); replaces the debug and migrate-ma defaults")
	fs.StringVar(&c.VMPL, "vmpl", "", "the VMPL the report must have been requested at, 0-3 (default 0)")
	fs.BoolVar(&c.AllowDebug, "allow-debug", false, "accept a policy that allows debugging (default: DEBUG must be 0)")
	fs.BoolVar(&c.AllowMigrationAgent, "allow-migration-agent", false, "accept a policy that allows a migration agent (default: MIGRATE_MA must be 0)")
	fs.BoolVar(&c.NoProvisional, "no-provisional", false, "refuse provisional firmware: COMMITTED_TCB and version must equal the current ones")
	fs.StringVar(&c.FamilyID, "family-id", "", "check FAMILY_ID (16 bytes, hex)")
	fs.StringVar(&c.ImageID, "image-id", "", "check IMAGE_ID (16 bytes, hex)")
	fs.StringVar(&c.IDKeyDigest, "id-key-digest", "", "check ID_KEY_DIGEST (48 bytes, hex)")
	fs.StringVar(&c.AuthorKeyDigest, "author-key-digest", "", "check AUTHOR_KEY_DIGEST (48 bytes, hex)")
	fs.BoolVar(&c.RequireIDBlock, "require-id-block", false, "require an ID block signed by a trusted ID key or author key")
	fs.StringArrayVar(&c.TrustedIDKeys, "trusted-id-key", nil, "a trusted ID key: PEM public key (or certificate, or private key) file, or its 48-byte digest in hex; repeatable")
	fs.StringArrayVar(&c.TrustedAuthorKeys, "trusted-author-key", nil, "a trusted author key, as --trusted-id-key; repeatable")
	fs.StringVar(&c.ReportID, "report-id", "", "check REPORT_ID (32 bytes, hex)")
	fs.StringVar(&c.ReportIDMA, "report-id-ma", "", "check REPORT_ID_MA (32 bytes, hex)")
	fs.StringVar(&c.ChipID, "chip-id", "", "check CHIP_ID (64 bytes, hex; 8 bytes for a Turin hardware ID)")
	fs.StringVar(&c.MinGuestSVN, "min-guest-svn", "", "lowest acceptable GUEST_SVN")
	fs.StringVar(&c.MinTCB, "min-tcb", "", "lowest acceptable TCB (REPORTED, COMMITTED, CURRENT): 0x-hex TCB_VERSION or bl=N,tee=N,snp=N,ucode=N (Turin: fmc=N,bl=N,...)")
	fs.StringVar(&c.MinLaunchTCB, "min-launch-tcb", "", "lowest acceptable LAUNCH_TCB, as --min-tcb")
	fs.StringVar(&c.MinBuild, "min-build", "", "lowest acceptable firmware CURRENT_BUILD (0-255)")
	fs.StringVar(&c.MinVersion, "min-version", "", "lowest acceptable firmware API version, MAJOR.MINOR (1.55)")
	fs.StringVar(&c.PlatformInfo, "platform-info", "", "required PLATFORM_INFO bits: smt=0,tsme=1,ecc=1,rapl-dis=1,ciphertext-hiding=1,alias-check-complete=1,tio=0, or VALUE/MASK")
	fs.BoolVar(&v.json, "json", false, "print the result as JSON")
	return v
}

func runVerify(args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("verify")
	v := addVerifyFlags(fs)
	o := addMeasureFlags(fs)
	for _, n := range []string{"output-format", "verbose", "dump-vmsa"} {
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
	o.fs = fs
	return v.run(o, stdout)
}

// plan checks the command line before any file is read; it returns the
// measure configuration when the expected measurement is computed.
func (v *verifyOptions) plan(o *measureOptions) (*measure.Config, error) {
	// A check flag given an empty value (an unset shell variable) would
	// silently drop its check: refuse it. (--append '' is a command line.)
	var empty string
	o.fs.Visit(func(f *pflag.Flag) {
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
	case v.c.Measurement != "" && (o.ovmf != "" || o.igvm != ""):
		return nil, cli.Usagef("--measurement and --ovmf (or --igvm) both give the expected measurement: use one")
	case o.ovmf == "" && o.igvm == "":
		for _, n := range []string{"trace", "vcpus", "vcpu-type", "vcpu-sig", "vcpu-family", "kernel", "initrd", "append", "mode",
			"svsm", "snp-ovmf-hash", "ovmf-hash", "vmm-type", "guest-features", "vars-size", "vars-file", "kvm-init"} {
			if o.fs.Changed(n) {
				return nil, cli.Usagef("--%s needs --ovmf FILE: it is a measure flag, and the measurement is computed from the firmware", n)
			}
		}
		return nil, nil
	}
	if !o.fs.Changed("mode") {
		o.mode = string(measure.SNP)
	}
	if o.mode != string(measure.SNP) && o.mode != string(measure.SVSM) {
		return nil, cli.Usagef("--mode %s: verify checks SNP reports (--mode snp or snp:svsm)", o.mode)
	}
	c, err := o.config()
	if err != nil {
		return nil, err
	}
	inputs := append(o.inputs(), cli.File{Flag: "--report", Path: v.report}, cli.File{Flag: "--vcek", Path: v.c.VCEK}, cli.File{Flag: "--ask", Path: v.c.ASK}, cli.File{Flag: "--ark", Path: v.c.ARK})
	for _, a := range []struct {
		flag  string
		paths []string
	}{{"--cert-chain", v.c.CertChains}, {"--trust-ark", v.c.TrustARKs}, {"--crl", v.c.CRLs}} {
		for _, p := range a.paths {
			inputs = append(inputs, cli.File{Flag: a.flag, Path: p})
		}
	}
	return c, cli.CheckOutputs([]cli.File{{Flag: "--trace", Path: o.trace}}, inputs...)
}

func (v *verifyOptions) run(o *measureOptions, stdout io.Writer) error {
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
		if opts.Expect.Measurement, err = o.expectedMeasurement(mc, stdout); err != nil {
			return err
		}
	}
	res := rep.Verify(opts)
	for i, n := range res.NotChecked {
		if strings.HasPrefix(n, "measurement:") {
			res.NotChecked[i] = n + " (give the measure flags --ovmf ..., or --measurement)"
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

// verifyBytesFlag parses a byte field of a report (see report.ParseField).
func verifyBytesFlag(name, s string) ([]byte, error) {
	b, err := report.ParseField(name, s)
	if err != nil {
		return nil, cli.Usagef("%v", err)
	}
	return b, nil
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
