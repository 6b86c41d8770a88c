package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/snpmeasure/snpmeasure/idblock"
	"github.com/snpmeasure/snpmeasure/measure"
	"github.com/snpmeasure/snpmeasure/report"
)

func init() {
	register("verify", "check an attestation report: AMD signature and chain, measurement, fields (offline)", runVerify)
}

// verifyOptions are the flags of verify besides the measure flags.
type verifyOptions struct {
	report, reportFormat string
	measurement          string
	json                 bool

	hostData, reportData, familyID, imageID string
	idKeyDigest, authorKeyDigest            string
	reportID, reportIDMA, chipID            string
	policy, vmpl, minTCB, minLaunchTCB      string
	minBuild, minVersion, minGuestSVN       string
	platformInfo                            string

	allowDebug, allowMigrationAgent, noProvisional bool
	requireIDBlock                                 bool
	trustedIDKeys, trustedAuthorKeys               []string

	vcek, ask, ark, product, at string
	certChains, trustARKs, crls []string
}

func addVerifyFlags(fs *pflag.FlagSet) *verifyOptions {
	v := &verifyOptions{}
	fs.StringVar(&v.report, "report", "", "attestation report file (binary, hex or base64; - for standard input) (required)")
	fs.StringVar(&v.reportFormat, "report-format", "auto", "report encoding: auto (detect), bin, hex or base64")
	fs.StringVar(&v.vcek, "vcek", "", "the VCEK (or VLEK) AMD's KDS issued, DER or PEM; a PEM bundle with the ASK and ARK too")
	fs.StringArrayVar(&v.certChains, "cert-chain", nil, "more intermediate certificates (a KDS cert_chain: ASK/ASVK and ARK); repeatable")
	fs.StringVar(&v.ask, "ask", "", "an ASK or ASVK certificate (an intermediate: it must be signed by the trusted ARK)")
	fs.StringVar(&v.ark, "ark", "", "an ARK certificate: it must be the trusted ARK itself")
	fs.StringArrayVar(&v.trustARKs, "trust-ark", nil, "trust this ARK (PEM or DER; repeatable) instead of AMD's built-in ones")
	fs.StringVar(&v.product, "product", "", "Milan, Genoa or Turin: the product line, for VERSION 2 reports that do not name it")
	fs.StringArrayVar(&v.crls, "crl", nil, "a CRL saved from AMD's KDS (DER or PEM): fail if the ASK/ASVK or key is revoked; repeatable")
	fs.StringVar(&v.at, "at", "", "check certificate validity as of this RFC 3339 time instead of now")
	fs.StringVar(&v.measurement, "measurement", "", "expected MEASUREMENT (96 hex digits, or base64) instead of the measure flags")
	fs.StringVar(&v.hostData, "host-data", "", "check HOST_DATA (32 bytes, hex)")
	fs.StringVar(&v.reportData, "report-data", "", "check REPORT_DATA (64 bytes, hex)")
	fs.StringVar(&v.policy, "policy", "", "check the guest POLICY exactly (0x-hex or decimal); replaces the debug and migrate-ma defaults")
	fs.StringVar(&v.vmpl, "vmpl", "", "the VMPL the report must have been requested at, 0-3 (default 0)")
	fs.BoolVar(&v.allowDebug, "allow-debug", false, "accept a policy that allows debugging (default: DEBUG must be 0)")
	fs.BoolVar(&v.allowMigrationAgent, "allow-migration-agent", false, "accept a policy that allows a migration agent (default: MIGRATE_MA must be 0)")
	fs.BoolVar(&v.noProvisional, "no-provisional", false, "refuse provisional firmware: COMMITTED_TCB and version must equal the current ones")
	fs.StringVar(&v.familyID, "family-id", "", "check FAMILY_ID (16 bytes, hex)")
	fs.StringVar(&v.imageID, "image-id", "", "check IMAGE_ID (16 bytes, hex)")
	fs.StringVar(&v.idKeyDigest, "id-key-digest", "", "check ID_KEY_DIGEST (48 bytes, hex)")
	fs.StringVar(&v.authorKeyDigest, "author-key-digest", "", "check AUTHOR_KEY_DIGEST (48 bytes, hex)")
	fs.BoolVar(&v.requireIDBlock, "require-id-block", false, "require an ID block signed by a trusted ID key or author key")
	fs.StringArrayVar(&v.trustedIDKeys, "trusted-id-key", nil, "a trusted ID key: PEM public key (or certificate, or private key) file, or its 48-byte digest in hex; repeatable")
	fs.StringArrayVar(&v.trustedAuthorKeys, "trusted-author-key", nil, "a trusted author key, as --trusted-id-key; repeatable")
	fs.StringVar(&v.reportID, "report-id", "", "check REPORT_ID (32 bytes, hex)")
	fs.StringVar(&v.reportIDMA, "report-id-ma", "", "check REPORT_ID_MA (32 bytes, hex)")
	fs.StringVar(&v.chipID, "chip-id", "", "check CHIP_ID (64 bytes, hex; 8 bytes for a Turin hardware ID)")
	fs.StringVar(&v.minGuestSVN, "min-guest-svn", "", "lowest acceptable GUEST_SVN")
	fs.StringVar(&v.minTCB, "min-tcb", "", "lowest acceptable TCB (REPORTED, COMMITTED, CURRENT): 0x-hex TCB_VERSION or bl=N,tee=N,snp=N,ucode=N (Turin: fmc=N,bl=N,...)")
	fs.StringVar(&v.minLaunchTCB, "min-launch-tcb", "", "lowest acceptable LAUNCH_TCB, as --min-tcb")
	fs.StringVar(&v.minBuild, "min-build", "", "lowest acceptable firmware CURRENT_BUILD (0-255)")
	fs.StringVar(&v.minVersion, "min-version", "", "lowest acceptable firmware API version, MAJOR.MINOR (1.55)")
	fs.StringVar(&v.platformInfo, "platform-info", "", "required PLATFORM_INFO bits: smt=0,tsme=1,ecc=1,rapl-dis=1,ciphertext-hiding=1,alias-check-complete=1,tio=0, or VALUE/MASK")
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
	fmt.Fprintln(w, "Usage: snpmeasure verify --report FILE [--vcek FILE] [measure flags | --measurement HEX] [checks] [--json]")
	fmt.Fprintln(w, "\nChecks an SEV-SNP attestation report offline. Exit status 0 means: the report is")
	fmt.Fprintln(w, "signed by a VCEK or VLEK that chains to AMD's ARK for its product line (built in;")
	fmt.Fprintln(w, "--trust-ark replaces it), and every check passed: the expected measurement and fields,")
	fmt.Fprintln(w, "and the defaults DEBUG 0, MIGRATE_MA 0, VMPL 0 and reserved fields zero.")
	fmt.Fprintln(w, "Certificates given or in the report's table are intermediates only. Nothing is downloaded.")
	fmt.Fprintln(w, "\nFlags:")
	fmt.Fprint(w, fs.FlagUsages())
	fmt.Fprintln(w, "\nExample:")
	fmt.Fprintln(w, "  snpmeasure verify --report report.bin --vcek vcek.pem --policy 0x30000 \\")
	fmt.Fprintln(w, "    --ovmf OVMF.amdsev.fd --vcpus 4 --vcpu-type EPYC-Milan --kernel vmlinuz --append 'console=ttyS0'")
	fmt.Fprintln(w, "\nExit status: 0 signature and every check passed, 1 bad input, 2 bad usage, 3 a check failed or could not be made.")
}

// verifyPlan is the validated command line, before any file is read.
type verifyPlan struct {
	format      report.Format
	expect      report.Expectations
	measureCfg  *measure.Config // set when measuring from --ovmf
	measurement []byte          // set with --measurement
	product     report.Product
	at          time.Time
}

// verifyStringFlags are the flags whose empty value would drop a check.
var verifyStringFlags = []string{"report", "report-format", "measurement", "ovmf", "host-data", "report-data", "policy",
	"vmpl", "family-id", "image-id", "id-key-digest", "author-key-digest", "report-id", "report-id-ma", "chip-id",
	"min-guest-svn", "min-tcb", "min-launch-tcb", "min-build", "min-version", "platform-info", "vcek", "ask", "ark",
	"product", "at"}

func (v *verifyOptions) plan(o *measureOptions) (*verifyPlan, error) {
	p := &verifyPlan{}
	// A check flag given an empty value (an unset shell variable) would
	// silently drop its check: refuse it.
	for _, n := range verifyStringFlags {
		if f := o.fs.Lookup(n); f != nil && o.fs.Changed(n) && strings.TrimSpace(f.Value.String()) == "" {
			return nil, usagef("--%s: empty value", n)
		}
	}
	for _, a := range []struct {
		name string
		vals []string
	}{{"cert-chain", v.certChains}, {"trust-ark", v.trustARKs}, {"crl", v.crls}, {"trusted-id-key", v.trustedIDKeys}, {"trusted-author-key", v.trustedAuthorKeys}} {
		for _, s := range a.vals {
			if strings.TrimSpace(s) == "" {
				return nil, usagef("--%s: empty value", a.name)
			}
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
		if o.trace != "" {
			inputs := []file{{"--report", v.report}, {"--vcek", v.vcek}, {"--ask", v.ask}, {"--ark", v.ark}}
			for _, a := range []struct {
				flag  string
				paths []string
			}{{"--cert-chain", v.certChains}, {"--trust-ark", v.trustARKs}, {"--crl", v.crls}} {
				for _, p := range a.paths {
					inputs = append(inputs, file{a.flag, p})
				}
			}
			if err := checkOutputs([]file{{"--trace", o.trace}}, inputs...); err != nil {
				return nil, err
			}
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
	if err := v.planChecks(p); err != nil {
		return nil, err
	}
	if v.product != "" {
		if p.product, err = report.ParseProduct(v.product); err != nil {
			return nil, usagef("--product: %v", err)
		}
	}
	if v.at != "" {
		if p.at, err = time.Parse(time.RFC3339, strings.TrimSpace(v.at)); err != nil {
			return nil, usagef("--at %q: want an RFC 3339 time such as 2025-06-01T00:00:00Z", v.at)
		}
	}
	return p, nil
}

// planChecks parses the field checks into p.expect.
func (v *verifyOptions) planChecks(p *verifyPlan) error {
	e := &p.expect
	e.Measurement = p.measurement
	var err error
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
		{"report-id", v.reportID, &e.ReportID},
		{"report-id-ma", v.reportIDMA, &e.ReportIDMA},
	} {
		if f.val != "" {
			if *f.dst, err = verifyBytesFlag(f.name, f.val); err != nil {
				return err
			}
		}
	}
	if v.chipID != "" {
		// A Turin hardware ID has 8 bytes; CHIP_ID holds it zero-padded.
		if e.ChipID, err = hexFlag("chip-id", v.chipID, report.ChipIDSize, 8); err != nil {
			return err
		}
	}
	if v.policy != "" {
		n, err := parseUint("policy", v.policy)
		if err != nil {
			return err
		}
		e.Policy = &n
		for _, f := range []struct {
			set  bool
			name string
		}{{v.allowDebug, "allow-debug"}, {v.allowMigrationAgent, "allow-migration-agent"}} {
			if f.set {
				return usagef("--%s and --policy: the exact --policy already decides the policy bits", f.name)
			}
		}
	}
	e.AllowDebug, e.AllowMigrationAgent, e.NoProvisional = v.allowDebug, v.allowMigrationAgent, v.noProvisional
	if v.vmpl != "" {
		n, err := parseUint("vmpl", v.vmpl)
		if err != nil {
			return err
		}
		if n > 3 {
			return usagef("--vmpl %s: want 0, 1, 2 or 3", v.vmpl)
		}
		vm := uint32(n)
		e.VMPL = &vm
	}
	if v.minGuestSVN != "" {
		n, err := parseUint("min-guest-svn", v.minGuestSVN)
		if err != nil {
			return err
		}
		if n > 0xffffffff {
			return usagef("--min-guest-svn %s: GUEST_SVN has 32 bits", v.minGuestSVN)
		}
		s := uint32(n)
		e.MinGuestSVN = &s
	}
	for _, f := range []struct {
		name, val string
		dst       **report.TCBMinimum
	}{{"min-tcb", v.minTCB, &e.MinTCB}, {"min-launch-tcb", v.minLaunchTCB, &e.MinLaunchTCB}} {
		if f.val != "" {
			if *f.dst, err = report.ParseTCBMinimum(f.val); err != nil {
				return usagef("--%s: %v", f.name, err)
			}
		}
	}
	if v.minBuild != "" {
		n, err := parseUint("min-build", v.minBuild)
		if err != nil {
			return err
		}
		if n > 255 {
			return usagef("--min-build %s: the build number has 8 bits (0-255)", v.minBuild)
		}
		b := uint8(n)
		e.MinBuild = &b
	}
	if v.minVersion != "" {
		maj, min, ok := strings.Cut(strings.TrimSpace(v.minVersion), ".")
		a, err1 := strconv.ParseUint(maj, 10, 8)
		b, err2 := strconv.ParseUint(min, 10, 8)
		if !ok || err1 != nil || err2 != nil {
			return usagef("--min-version %q: want MAJOR.MINOR, each 0-255 (1.55)", v.minVersion)
		}
		e.MinVersion = &report.FirmwareVersion{Major: uint8(a), Minor: uint8(b)}
	}
	if v.platformInfo != "" {
		if e.PlatformInfo, err = report.ParsePlatformInfoRequirement(v.platformInfo); err != nil {
			return usagef("--platform-info: %v", err)
		}
	}
	if v.requireIDBlock && len(v.trustedIDKeys) == 0 && len(v.trustedAuthorKeys) == 0 {
		return usagef("--require-id-block needs --trusted-id-key or --trusted-author-key: anyone can sign an ID block with their own key")
	}
	e.RequireIDBlock = v.requireIDBlock
	return nil
}

// verifyBytesFlag parses a fixed-size byte field: hex (optionally
// 0x-prefixed) or base64. Text that is all hex digits is hex, whatever its
// length: a wrong length is an error, never a base64 reading.
func verifyBytesFlag(name, s string) ([]byte, error) {
	return hexFlag(name, s, report.FieldSize(name))
}

// hexFlag parses a byte field of one of the sizes (the first is the usual).
func hexFlag(name, s string, sizes ...int) ([]byte, error) {
	t := strings.Join(strings.Fields(s), "")
	h := strings.TrimPrefix(strings.TrimPrefix(t, "0x"), "0X")
	want := fmt.Sprintf("%d bytes (%d hex digits)", sizes[0], 2*sizes[0])
	if len(sizes) > 1 {
		want = fmt.Sprintf("%d or %d bytes (%d or %d hex digits)", sizes[0], sizes[1], 2*sizes[0], 2*sizes[1])
	}
	if isHexText(h) {
		b, err := hex.DecodeString(h)
		if err != nil {
			return nil, usagef("--%s: %d hex digits, want %s", name, len(h), want)
		}
		for _, n := range sizes {
			if len(b) == n {
				return b, nil
			}
		}
		return nil, usagef("--%s: %d bytes, want %s", name, len(b), want)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(t); err == nil {
			for _, n := range sizes {
				if len(b) == n {
					return b, nil
				}
			}
			return nil, usagef("--%s: base64 of %d bytes, want %s", name, len(b), want)
		}
	}
	return nil, usagef("--%s %q: want %s, or base64", name, s, want)
}

// isHexText reports whether s is all hex digits (after an optional 0x).
func isHexText(s string) bool {
	return s != "" && report.Detect([]byte(s)) == report.FormatHex && !strings.ContainsAny(s, " \t\r\n")
}

func (v *verifyOptions) run(o *measureOptions, stdout io.Writer) error {
	p, err := v.plan(o)
	if err != nil {
		return err
	}
	// Certificates and keys are small: read them before the report and the
	// firmware so that a bad path fails fast.
	opts := &report.Options{Trust: report.TrustOptions{Product: p.product, At: p.at}}
	if err := v.loadTrust(&opts.Trust); err != nil {
		return err
	}
	if p.expect.TrustedIDKeys, err = loadKeyDigests("trusted-id-key", v.trustedIDKeys); err != nil {
		return err
	}
	if p.expect.TrustedAuthorKeys, err = loadKeyDigests("trusted-author-key", v.trustedAuthorKeys); err != nil {
		return err
	}
	rep, err := readReportArg(v.report, p.format)
	if err != nil {
		return err
	}
	if p.measureCfg != nil {
		if p.expect.Measurement, err = o.expectedMeasurement(p.measureCfg, stdout); err != nil {
			return err
		}
	}
	opts.Expect = p.expect
	res := rep.Verify(opts)
	for i, n := range res.NotChecked {
		if strings.HasPrefix(n, "measurement:") {
			res.NotChecked[i] = n + " (give the measure flags --ovmf ..., or --measurement)"
		}
	}
	if v.json {
		if err := writeJSON(stdout, res); err != nil {
			return err
		}
	} else if err := printVerifyResult(stdout, v.report, rep, res); err != nil {
		return err // a failed write fails the command whatever the checks said
	}
	if !res.OK {
		return &checkFailedError{msg: fmt.Sprintf("%s: %v", v.report, res.Err())}
	}
	return nil
}

// loadTrust reads --vcek, --cert-chain, --ask, --ark, --trust-ark and --crl.
func (v *verifyOptions) loadTrust(t *report.TrustOptions) error {
	add := func(flag, path string, want func(report.Role) bool, what string) error {
		certs, err := report.ReadCertificates(path)
		if err != nil {
			return err
		}
		for _, c := range certs {
			if want != nil && !want(report.RoleOf(c)) {
				return fmt.Errorf("%s: %q is not %s", path, c.Subject.CommonName, what)
			}
		}
		t.Certificates = append(t.Certificates, report.CertSource{Name: flag + " " + path, Certs: certs})
		return nil
	}
	if v.vcek != "" {
		// A bundle may hold the ASK and ARK too; they are intermediates
		// like any other.
		if err := add("--vcek", v.vcek, nil, ""); err != nil {
			return err
		}
	}
	for _, c := range v.certChains {
		if err := add("--cert-chain", c, nil, ""); err != nil {
			return err
		}
	}
	if v.ask != "" {
		isICA := func(r report.Role) bool { return r == report.RoleASK || r == report.RoleASVK }
		if err := add("--ask", v.ask, isICA, "an ASK or ASVK (an intermediate, not self-signed and not a VCEK or VLEK)"); err != nil {
			return err
		}
	}
	if v.ark != "" {
		isARK := func(r report.Role) bool { return r == report.RoleARK }
		if err := add("--ark", v.ark, isARK, "an ARK (a self-signed AMD root certificate)"); err != nil {
			return err
		}
	}
	for _, path := range v.trustARKs {
		certs, err := report.ReadCertificates(path)
		if err != nil {
			return err
		}
		for _, c := range certs {
			if report.RoleOf(c) != report.RoleARK {
				return fmt.Errorf("%s: %q is not a root: --trust-ark takes self-signed ARK certificates only (give intermediates with --cert-chain)", path, c.Subject.CommonName)
			}
		}
		t.Roots = append(t.Roots, certs...)
	}
	if len(v.trustARKs) > 0 {
		t.RootsSource = "--trust-ark " + strings.Join(v.trustARKs, ", ")
	}
	for _, path := range v.crls {
		crl, err := report.ReadCRL(path)
		if err != nil {
			return err
		}
		t.CRLs = append(t.CRLs, report.CRLSource{Name: "--crl " + path, CRL: crl})
	}
	return nil
}

// loadKeyDigests reads trusted ID or author keys: each a 48-byte digest in
// hex, or a PEM file with a P-384 public key, certificate or private key.
func loadKeyDigests(flag string, vals []string) ([][]byte, error) {
	var out [][]byte
	for _, s := range vals {
		t := strings.TrimPrefix(strings.TrimSpace(s), "0x")
		if isHexText(t) && len(t) == 2*idblock.DigestSize {
			d, _ := hex.DecodeString(t)
			out = append(out, d)
			continue
		}
		if isHexText(t) && len(t) >= 64 {
			return nil, usagef("--%s: %d hex digits, want %d (a SHA-384 key digest) or a PEM key file", flag, len(t), 2*idblock.DigestSize)
		}
		pub, err := readPublicKey(s)
		if err != nil {
			return nil, err
		}
		d, err := idblock.KeyDigest(pub)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s, err)
		}
		out = append(out, d[:])
	}
	return out, nil
}

// readPublicKey reads an ECDSA public key from a PEM file: PUBLIC KEY,
// CERTIFICATE, EC PRIVATE KEY or PRIVATE KEY.
func readPublicKey(path string) (*ecdsa.PublicKey, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, pathErr(path, err)
	}
	defer fh.Close()
	// A PEM key is a few hundred bytes: do not read a device or a huge file whole.
	data, err := io.ReadAll(io.LimitReader(fh, 1<<20))
	if err != nil {
		return nil, pathErr(path, err)
	}
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		var key any
		switch b.Type {
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(b.Bytes)
		case "CERTIFICATE":
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(b.Bytes); err == nil {
				key = c.PublicKey
			}
		case "EC PRIVATE KEY":
			var k *ecdsa.PrivateKey
			if k, err = x509.ParseECPrivateKey(b.Bytes); err == nil {
				key = &k.PublicKey
			}
		case "PRIVATE KEY":
			var k any
			if k, err = x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
				if ek, ok := k.(*ecdsa.PrivateKey); ok {
					key = &ek.PublicKey
				}
			}
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, b.Type, err)
		}
		pub, ok := key.(*ecdsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%s: not an ECDSA P-384 key", path)
		}
		return pub, nil
	}
	return nil, fmt.Errorf("%s: no PEM public key, certificate or private key (or give the key's 96-hex-digit digest)", path)
}

// pathErr formats a file error as "PATH: problem".
func pathErr(path string, err error) error {
	if pe, ok := err.(*os.PathError); ok {
		err = pe.Err
	}
	return fmt.Errorf("%s: %w", path, err)
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
