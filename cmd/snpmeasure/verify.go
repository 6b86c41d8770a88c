package main

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/snpmeasure/snpmeasure/measure"
	"github.com/snpmeasure/snpmeasure/report"
)

func init() {
	register("verify", "check an attestation report: measurement, fields, signature and chain (offline)", runVerify)
}

// verifyOptions are the flags of verify besides the measure flags.
type verifyOptions struct {
	report, reportFormat string
	measurement          string
	json                 bool

	hostData, reportData, familyID, imageID string
	idKeyDigest, authorKeyDigest            string
	policy, vmpl, minTCB                    string

	vcek, ask, ark, certChain, product string
}

func addVerifyFlags(fs *pflag.FlagSet) *verifyOptions {
	v := &verifyOptions{}
	fs.StringVar(&v.report, "report", "", "attestation report file: binary, hex or base64 (required)")
	fs.StringVar(&v.reportFormat, "report-format", "auto", "report encoding: auto (detect), bin, hex or base64")
	fs.StringVar(&v.measurement, "measurement", "", "expected measurement (hex or base64) instead of the measure flags")
	fs.StringVar(&v.hostData, "host-data", "", "check HOST_DATA (32 bytes, hex)")
	fs.StringVar(&v.reportData, "report-data", "", "check REPORT_DATA (64 bytes, hex)")
	fs.StringVar(&v.policy, "policy", "", "check the guest POLICY exactly (0x-hex or decimal)")
	fs.StringVar(&v.vmpl, "vmpl", "", "check the VMPL the report was requested at (0-3)")
	fs.StringVar(&v.familyID, "family-id", "", "check FAMILY_ID (16 bytes, hex)")
	fs.StringVar(&v.imageID, "image-id", "", "check IMAGE_ID (16 bytes, hex)")
	fs.StringVar(&v.idKeyDigest, "id-key-digest", "", "check ID_KEY_DIGEST (48 bytes, hex)")
	fs.StringVar(&v.authorKeyDigest, "author-key-digest", "", "check AUTHOR_KEY_DIGEST (48 bytes, hex)")
	fs.StringVar(&v.minTCB, "min-tcb", "", "lowest acceptable REPORTED_TCB: 0x-hex or bl=N,tee=N,snp=N,ucode=N")
	fs.StringVar(&v.vcek, "vcek", "", "VCEK (or VLEK) certificate, DER or PEM: check the signature")
	fs.StringVar(&v.ask, "ask", "", "ASK certificate to trust instead of AMD's built-in one (with --ark)")
	fs.StringVar(&v.ark, "ark", "", "ARK certificate to trust instead of AMD's built-in one (with --ask)")
	fs.StringVar(&v.certChain, "cert-chain", "", "PEM bundle with the ASK and ARK (and optionally the VCEK)")
	fs.StringVar(&v.product, "product", "", "Milan, Genoa or Turin, for reports that do not name it")
	fs.BoolVar(&v.json, "json", false, "print the result as JSON")
	return v
}

func runVerify(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("verify")
	v := addVerifyFlags(fs)
	o := addMeasureFlags(fs)
	for _, n := range []string{"output-format", "verbose", "dump-vmsa"} {
		fs.MarkHidden(n)
	}
	fs.Lookup("mode").Usage = "guest mode of the expected launch: snp (default) or snp:svsm"
	fs.Lookup("ovmf").Usage = "OVMF firmware image: compute the expected measurement from the measure flags"
	fs.Lookup("vcpus").Usage = "number of vCPUs of the expected launch (with --ovmf)"
	if err := parseFlags(fs, args, stdout, verifyUsage); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	o.fs = fs
	return v.run(o, stdout)
}

func verifyUsage(w io.Writer, fs *pflag.FlagSet) {
	fmt.Fprintln(w, "Usage: snpmeasure verify --report FILE [measure flags | --measurement HEX] [checks] [--vcek FILE] [--json]")
	fmt.Fprintln(w, "\nChecks an SEV-SNP attestation report offline: the measurement (computed from the")
	fmt.Fprintln(w, "measure flags, or given), the fields asked for, and the signature and certificate")
	fmt.Fprintln(w, "chain when a VCEK is given or the report carries a certificate table. Without")
	fmt.Fprintln(w, "--ark, AMD's roots built into go-sev-guest are trusted. Nothing is downloaded.")
	fmt.Fprintln(w, "\nFlags:")
	fmt.Fprint(w, fs.FlagUsages())
	fmt.Fprintln(w, "\nExample:")
	fmt.Fprintln(w, "  snpmeasure verify --report report.bin --vcek vcek.der \\")
	fmt.Fprintln(w, "    --ovmf OVMF.amdsev.fd --vcpus 4 --vcpu-type EPYC-Milan --kernel vmlinuz --append 'console=ttyS0'")
	fmt.Fprintln(w, "\nExit status: 0 every check matched, 1 bad input, 2 bad usage, 3 a check failed.")
}

// verifyPlan is the validated command line, before any file is read.
type verifyPlan struct {
	format      report.Format
	expect      report.Expectations
	measureCfg  *measure.Config // set when measuring from --ovmf
	measurement []byte          // set with --measurement
}

func (v *verifyOptions) plan(o *measureOptions) (*verifyPlan, error) {
	p := &verifyPlan{}
	// A check flag given an empty value (an unset shell variable) would
	// silently drop its check: refuse it.
	for _, n := range []string{"report", "report-format", "measurement", "ovmf", "host-data", "report-data", "policy",
		"vmpl", "family-id", "image-id", "id-key-digest", "author-key-digest", "min-tcb", "vcek", "ask", "ark",
		"cert-chain", "product"} {
		if f := o.fs.Lookup(n); f != nil && o.fs.Changed(n) && strings.TrimSpace(f.Value.String()) == "" {
			return nil, usagef("--%s: empty value", n)
		}
	}
	if v.report == "" {
		return nil, usagef("missing --report FILE")
	}
	var err error
	if p.format, err = report.ParseFormat(v.reportFormat); err != nil {
		return nil, usagef("--report-format: %v", err)
	}
	switch {
	case v.measurement != "" && o.ovmf != "":
		return nil, usagef("--measurement and --ovmf both give the expected measurement: use one")
	case o.ovmf != "":
		if !o.fs.Changed("mode") {
			o.mode = string(measure.SNP)
		}
		if o.mode != string(measure.SNP) && o.mode != string(measure.SVSM) {
			return nil, usagef("--mode %s: verify checks SNP reports (--mode snp or snp:svsm)", o.mode)
		}
		if p.measureCfg, err = o.config(); err != nil {
			return nil, err
		}
		if err := checkOutputs([]file{{"--trace", o.trace}}, file{"--report", v.report}, file{"--vcek", v.vcek},
			file{"--ask", v.ask}, file{"--ark", v.ark}, file{"--cert-chain", v.certChain}); err != nil {
			return nil, err
		}
	default:
		for _, n := range []string{"trace", "vcpus", "vcpu-type", "vcpu-sig", "vcpu-family", "kernel", "initrd",
			"append", "mode", "svsm", "snp-ovmf-hash", "ovmf-hash", "vmm-type", "guest-features", "vars-size", "vars-file"} {
			if o.fs.Changed(n) {
				return nil, usagef("--%s needs --ovmf FILE: it is a measure flag, and the measurement is computed from the firmware", n)
			}
		}
		if v.measurement != "" {
			if p.measurement, err = verifyBytesFlag("measurement", v.measurement); err != nil {
				return nil, err
			}
		}
	}
	e := &p.expect
	e.Measurement = p.measurement
	for _, f := range []struct {
		name, val string
		dst       *[]byte
	}{
		{"host-data", v.hostData, &e.HostData},
		{"report-data", v.reportData, &e.ReportData},
		{"family-id", v.familyID, &e.FamilyID},
		{"image-id", v.imageID, &e.ImageID},
		{"id-key-digest", v.idKeyDigest, &e.IDKeyDigest},
		{"author-key-digest", v.authorKeyDigest, &e.AuthorKeyDigest},
	} {
		if f.val != "" {
			if *f.dst, err = verifyBytesFlag(f.name, f.val); err != nil {
				return nil, err
			}
		}
	}
	if v.policy != "" {
		n, err := parseUint("policy", v.policy)
		if err != nil {
			return nil, err
		}
		e.Policy = &n
	}
	if v.vmpl != "" {
		n, err := parseUint("vmpl", v.vmpl)
		if err != nil {
			return nil, err
		}
		if n > 3 {
			return nil, usagef("--vmpl %s: want 0, 1, 2 or 3", v.vmpl)
		}
		vm := uint32(n)
		e.VMPL = &vm
	}
	if v.minTCB != "" {
		n, err := report.ParseTCB(v.minTCB)
		if err != nil {
			return nil, usagef("--min-tcb: %v", err)
		}
		e.MinTCB = &n
	}
	if (v.ask == "") != (v.ark == "") {
		return nil, usagef("--ask and --ark go together: give both, or neither to trust AMD's built-in roots")
	}
	if v.certChain != "" && v.ark != "" {
		return nil, usagef("--cert-chain and --ask/--ark both give the roots: use one")
	}
	if v.product != "" {
		if v.product, err = report.NormalizeProduct(v.product); err != nil {
			return nil, usagef("--product: %v", err)
		}
	}
	return p, nil
}

// verifyBytesFlag parses a fixed-size byte field given as hex (optionally
// 0x-prefixed) or base64; the size tells them apart.
func verifyBytesFlag(name, s string) ([]byte, error) {
	size := report.FieldSize(name)
	t := strings.TrimSpace(s)
	h := strings.TrimPrefix(strings.TrimPrefix(t, "0x"), "0X")
	hb, herr := hex.DecodeString(h)
	if herr == nil && len(hb) == size {
		return hb, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(t); err == nil && len(b) == size {
			return b, nil
		}
	}
	if herr == nil {
		return nil, usagef("--%s: %d bytes, want %d (%d hex digits)", name, len(hb), size, 2*size)
	}
	return nil, usagef("--%s %q: want %d bytes as %d hex digits or base64", name, s, size, 2*size)
}

func (v *verifyOptions) run(o *measureOptions, stdout io.Writer) error {
	p, err := v.plan(o)
	if err != nil {
		return err
	}
	// Certificates are small: read them before the report and the firmware
	// so that a bad path fails fast.
	opts := &report.Options{Product: v.product}
	if err := v.loadCerts(opts); err != nil {
		return err
	}
	rep, err := report.ReadFile(v.report, p.format)
	if err != nil {
		return err
	}
	// Only the report's own VCEK (VLEK for VLEK-signed reports) can check
	// its signature: a VCEK in the table of a VLEK-signed report checks nothing.
	tableKey := report.CertVCEK
	if rep.SigningKey() == report.CertVLEK {
		tableKey = report.CertVLEK
	}
	if p.measureCfg == nil && p.expect.Empty() && opts.Endorsement == nil && rep.Cert(tableKey) == nil {
		return usagef("nothing to check: give the measure flags (--ovmf ...) or --measurement, a field check, or --vcek")
	}
	if p.measureCfg != nil {
		if p.expect.Measurement, err = o.expectedMeasurement(p.measureCfg, stdout); err != nil {
			return err
		}
	}
	opts.Expect = p.expect
	res, err := rep.Verify(opts)
	if err != nil {
		return usagef("%v", err)
	}
	if len(res.Checks) == 0 { // never OK: the guard above should have caught it
		return usagef("nothing to check: %s", strings.Join(res.NotChecked, "; "))
	}
	for i, n := range res.NotChecked {
		switch {
		case strings.HasPrefix(n, "measurement:"):
			res.NotChecked[i] = n + " (give the measure flags --ovmf ..., or --measurement)"
		case strings.HasPrefix(n, "signature") && !strings.Contains(n, "not signed"):
			res.NotChecked[i] = n + " (give --vcek FILE)"
		}
	}
	if v.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		printVerifyResult(stdout, v.report, rep, res)
	}
	if !res.OK {
		return &checkFailedError{msg: fmt.Sprintf("%s: %v", v.report, res.Err())}
	}
	return nil
}

// loadCerts reads --vcek, --ask/--ark and --cert-chain.
func (v *verifyOptions) loadCerts(opts *report.Options) error {
	if v.vcek != "" {
		c, err := report.ReadCertificate(v.vcek)
		if err != nil {
			return err
		}
		opts.Endorsement, opts.EndorsementSource = c, v.vcek
	}
	if v.ark != "" {
		ask, err := report.ReadCertificate(v.ask)
		if err != nil {
			return err
		}
		ark, err := report.ReadCertificate(v.ark)
		if err != nil {
			return err
		}
		// Trusting a VCEK or an ASK as the root would make any chain
		// "verify": each file must hold the certificate its flag names.
		if ch, err := report.Classify([]*x509.Certificate{ark}); err != nil || ch.ARK != ark {
			return fmt.Errorf("%s: %q is not an ARK (a self-signed AMD root certificate)", v.ark, ark.Subject.CommonName)
		}
		if ch, err := report.Classify([]*x509.Certificate{ask}); err != nil || ch.ASK != ask {
			return fmt.Errorf("%s: %q is not an ASK or ASVK (an intermediate certificate, not self-signed and not a VCEK or VLEK)", v.ask, ask.Subject.CommonName)
		}
		opts.Roots = &report.Roots{ASK: ask, ARK: ark, Source: v.ask + ", " + v.ark}
	}
	if v.certChain != "" {
		certs, err := report.ReadCertificates(v.certChain)
		if err != nil {
			return err
		}
		ch, err := report.Classify(certs)
		if err != nil {
			return fmt.Errorf("%s: %w", v.certChain, err)
		}
		switch {
		case ch.ASK != nil && ch.ARK != nil:
			opts.Roots = &report.Roots{ASK: ch.ASK, ARK: ch.ARK, Source: v.certChain}
		case ch.ASK != nil:
			return fmt.Errorf("%s: has an ASK but no ARK: the chain needs both", v.certChain)
		case ch.ARK != nil:
			return fmt.Errorf("%s: has an ARK but no ASK: the chain needs both", v.certChain)
		}
		if ch.Endorsement != nil && opts.Endorsement == nil {
			opts.Endorsement, opts.EndorsementSource = ch.Endorsement, v.certChain
		}
	}
	return nil
}

// printVerifyResult prints the report summary, one row per check, and what
// was not checked.
func printVerifyResult(w io.Writer, path string, rep *report.Report, res *report.Result) {
	fmt.Fprintf(w, "report %s (%s): %s\n\n", path, rep.Format, rep.Summary())
	if len(res.Checks) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "CHECK\tEXPECTED\tIN THE REPORT\tRESULT")
		for _, c := range res.Checks {
			r := "ok"
			if !c.OK {
				r = "MISMATCH"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Name, c.Expected, c.Actual, r)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	for _, n := range res.NotChecked {
		fmt.Fprintf(w, "NOT CHECKED: %s\n", n)
	}
	failed := res.Failed()
	switch {
	case len(failed) == 0:
		fmt.Fprintf(w, "OK: %d of %d checks match\n", len(res.Checks), len(res.Checks))
	default:
		names := make([]string, len(failed))
		for i, c := range failed {
			names[i] = c.Name
		}
		fmt.Fprintf(w, "FAILED: %d of %d checks did not match: %s\n", len(failed), len(res.Checks), strings.Join(names, ", "))
	}
}
