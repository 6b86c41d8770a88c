package report

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-sev-guest/abi"
	"github.com/google/go-sev-guest/kds"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
	"github.com/google/go-sev-guest/validate"
	"github.com/google/go-sev-guest/verify"
	"github.com/google/go-sev-guest/verify/trust"
)

// Product lines with built-in AMD roots.
var ProductLines = []string{"Milan", "Genoa", "Turin"}

// NormalizeProduct returns the product line spelled as AMD's KDS spells it
// ("milan" → "Milan"), or an error.
func NormalizeProduct(s string) (string, error) {
	for _, p := range ProductLines {
		if strings.EqualFold(strings.TrimSpace(s), p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("unknown product %q (want %s)", s, strings.Join(ProductLines, ", "))
}

// Roots are the AMD certificates trusted to certify the endorsement key
// (VCEK or VLEK) instead of the AMD roots built into go-sev-guest.
type Roots struct {
	// ASK is the AMD SEV signing key certificate (the ASVK for VLEK-signed reports).
	ASK *x509.Certificate
	// ARK is the AMD root key certificate.
	ARK *x509.Certificate
	// Source names where they came from, for messages.
	Source string
}

// Options say what Verify checks.
type Options struct {
	// Expect holds the report fields to compare.
	Expect Expectations
	// Endorsement is the VCEK (or VLEK) certificate that signed the report.
	// When nil, the one in the report's certificate table is used; with
	// neither, the signature is not checked.
	Endorsement *x509.Certificate
	// EndorsementSource names where Endorsement came from, for messages.
	EndorsementSource string
	// Roots replaces AMD's built-in roots when set.
	Roots *Roots
	// Product is the product line (Milan, Genoa, Turin) for reports that do
	// not name it; "" takes it from the report or the VCEK.
	Product string
	// Now is the time certificates must be valid at; zero means now.
	Now time.Time
}

// Result is the outcome of Verify.
type Result struct {
	// OK is true when at least one check was made and every check passed:
	// a result that checked nothing is not OK.
	OK     bool    `json:"ok"`
	Checks []Check `json:"checks"`
	// NotChecked says what could not be checked and why.
	NotChecked []string `json:"not_checked"`
}

// Failed returns the checks that did not pass.
func (r *Result) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// ErrNothingChecked is returned by Result.Err when no check was made.
var ErrNothingChecked = errors.New("nothing was checked")

// Err returns a *MismatchError listing the failed checks, an error wrapping
// ErrNothingChecked when there were no checks, or nil.
func (r *Result) Err() error {
	if f := r.Failed(); len(f) > 0 {
		return &MismatchError{Failed: f}
	}
	if len(r.Checks) == 0 {
		if len(r.NotChecked) > 0 {
			return fmt.Errorf("%w: %s", ErrNothingChecked, strings.Join(r.NotChecked, "; "))
		}
		return ErrNothingChecked
	}
	return nil
}

// Check names of the signature checks.
const (
	CheckSignature = "signature"
	CheckChain     = "certificate chain"
	CheckValidate  = "go-sev-guest validate"
)

// offlineGetter refuses every download: verification never uses the network.
type offlineGetter struct{}

func (offlineGetter) Get(url string) ([]byte, error) {
	return nil, fmt.Errorf("not fetching %s: offline verification", url)
}

// Verify compares the report with o.Expect and checks its signature and
// certificate chain offline. The error is only for unusable options; failed
// checks are in the Result (see Result.Err).
func (r *Report) Verify(o *Options) (*Result, error) {
	oc := Options{}
	if o != nil {
		oc = *o
	}
	o = &oc // normalised below; the caller's Options are left alone
	if o.Product != "" {
		p, err := NormalizeProduct(o.Product)
		if err != nil {
			return nil, err
		}
		o.Product = p
	}
	res := &Result{Checks: r.CheckFields(&o.Expect), NotChecked: []string{}}
	if o.Expect.Measurement == nil {
		res.NotChecked = append(res.NotChecked, "measurement: no expected measurement given")
	}
	res.Checks = append(res.Checks, r.verifySignature(o, res)...)
	res.OK = len(res.Checks) > 0 && len(res.Failed()) == 0
	return res, nil
}

// endorsement returns the certificate that should have signed the report.
func (r *Report) endorsement(o *Options, key abi.ReportSigner) (cert *x509.Certificate, source string, err error) {
	if o.Endorsement != nil {
		src := o.EndorsementSource
		if src == "" {
			src = "given certificate"
		}
		return o.Endorsement, src, nil
	}
	kind := CertVCEK
	if key == abi.VlekReportSigner {
		kind = CertVLEK
	}
	der := r.Cert(kind)
	if der == nil {
		return nil, "", nil
	}
	src := "the report's certificate table"
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, src, fmt.Errorf("%s in %s is not an X.509 certificate: %w", kind, src, err)
	}
	return c, src, nil
}

func (r *Report) verifySignature(o *Options, res *Result) []Check {
	info, err := abi.ParseSignerInfo(r.Proto.GetSignerInfo())
	if err != nil { // Parse already rejected this
		return []Check{{Name: CheckSignature, Expected: "signed report", Actual: err.Error()}}
	}
	key := info.SigningKey
	keyName := key.String()
	if key == abi.NoneReportSigner {
		keyName = "VCEK"
	}
	cert, source, err := r.endorsement(o, key)
	if err != nil {
		return []Check{{Name: CheckSignature, Expected: "signed by the " + keyName, Actual: err.Error()}}
	}
	if cert == nil && key == abi.NoneReportSigner {
		res.NotChecked = append(res.NotChecked, "signature and certificate chain: the report is not signed (SIGNING_KEY is None)")
		return nil
	}
	if cert == nil {
		why := "no " + keyName + " certificate given and the report has no certificate table"
		if len(r.Certs) > 0 {
			why = "no " + keyName + " certificate given and none in the report's certificate table"
		}
		res.NotChecked = append(res.NotChecked, "signature and certificate chain: "+why)
		return nil
	}
	if key == abi.NoneReportSigner {
		return []Check{{Name: CheckSignature, Expected: "signed by the VCEK (" + source + ")",
			Actual: "unsigned report (SIGNING_KEY is None)"}}
	}
	var checks []Check
	sig := Check{Name: CheckSignature, Expected: "signed by the " + keyName + " (" + source + ")", Actual: "valid", OK: true}
	sigErr := verify.SnpReportSignature(r.Raw, cert)
	if sigErr != nil {
		sig.Actual, sig.OK = "invalid: "+oneLine(sigErr), false
	}
	checks = append(checks, sig)

	line := r.productLine(cert, key)
	rootsName := o.rootsName(line)
	chain := Check{Name: CheckChain, Expected: keyName + " ← " + askName(key) + " ← ARK (" + rootsName + ")", Actual: "verified", OK: true}
	if err := r.verifyChain(o, cert, key, line, sigErr); err != nil {
		chain.Actual, chain.OK = oneLine(err), false
	}
	checks = append(checks, chain)

	val := Check{Name: CheckValidate, Expected: "pass", Actual: "pass", OK: true}
	if err := validate.SnpAttestation(r.attestation(cert, key), o.validateOptions(r)); err != nil {
		val.Actual, val.OK = oneLine(err), false
	}
	return append(checks, val)
}

func askName(key abi.ReportSigner) string {
	if key == abi.VlekReportSigner {
		return "ASVK"
	}
	return "ASK"
}

func (r *Report) attestation(cert *x509.Certificate, key abi.ReportSigner) *spb.Attestation {
	chain := &spb.CertificateChain{Extras: map[string][]byte{}}
	if key == abi.VlekReportSigner {
		chain.VlekCert = cert.Raw
	} else {
		chain.VcekCert = cert.Raw
	}
	return &spb.Attestation{Report: r.Proto, CertificateChain: chain}
}

// productLine finds the product line the report names: the CPUID of v3+
// reports, else the endorsement certificate's product name.
func (r *Report) productLine(cert *x509.Certificate, key abi.ReportSigner) string {
	if fms := r.Proto.GetCpuid1EaxFms(); fms != 0 {
		if l := kds.ProductLineFromFms(fms); l != "Unknown" {
			return l
		}
	}
	exts, err := kds.CertificateExtensions(cert, key)
	if err != nil {
		return ""
	}
	p, err := kds.ParseProductName(exts.ProductName, key)
	if err != nil {
		return ""
	}
	return kds.ProductLine(p)
}

func (o *Options) rootsName(line string) string {
	if o.Roots != nil {
		if o.Roots.Source != "" {
			return o.Roots.Source
		}
		return "given roots"
	}
	if o.Product != "" {
		line = o.Product
	}
	if line == "" {
		return "AMD's built-in roots"
	}
	return "AMD's built-in " + line + " roots"
}

// verifyChain runs go-sev-guest's verify.SnpAttestation, offline. That also
// checks the signature; if its error is exactly the signature error the
// chain itself verified.
func (r *Report) verifyChain(o *Options, cert *x509.Certificate, key abi.ReportSigner, line string, sigErr error) error {
	if o.Product != "" && line != "" && line != o.Product && r.Proto.GetCpuid1EaxFms() != 0 {
		return fmt.Errorf("the report comes from a %s CPU, not %s", line, o.Product)
	}
	vo := &verify.Options{
		DisableCertFetching: true,
		CheckRevocations:    false,
		Getter:              offlineGetter{},
		Now:                 o.Now,
	}
	if o.Product != "" {
		p, err := kds.ParseProductLine(o.Product)
		if err != nil {
			return err
		}
		vo.Product = p
	}
	roots, err := o.trustedRoots(key)
	if err != nil {
		return err
	}
	vo.TrustedRoots = roots
	err = verify.SnpAttestation(r.attestation(cert, key), vo)
	if err != nil && sigErr != nil && err.Error() == sigErr.Error() {
		return nil
	}
	return err
}

// trustedRoots returns the roots for verify.Options: nil for AMD's built-in
// VCEK roots, else one entry per product line that could apply.
func (o *Options) trustedRoots(key abi.ReportSigner) (map[string][]*trust.AMDRootCerts, error) {
	lines := ProductLines
	if o.Product != "" {
		lines = []string{o.Product}
	}
	out := map[string][]*trust.AMDRootCerts{}
	for _, line := range lines {
		pc := &trust.ProductCerts{}
		switch {
		case o.Roots != nil:
			pc.Ark = o.Roots.ARK
			if key == abi.VlekReportSigner {
				pc.Asvk = o.Roots.ASK
			} else {
				pc.Ask = o.Roots.ASK
			}
		case key == abi.VlekReportSigner:
			// Parsed leniently: go-sev-guest's own parser rejects the
			// trailing new lines of its embedded Turin bundle.
			certs, err := ParseCertificates(builtinVLEKRoots[line])
			if err != nil {
				return nil, fmt.Errorf("built-in %s VLEK roots: %w", line, err)
			}
			ch, err := Classify(certs)
			if err != nil || ch.ASK == nil || ch.ARK == nil {
				return nil, fmt.Errorf("built-in %s VLEK roots: want an ASVK and an ARK", line)
			}
			pc.Asvk, pc.Ark = ch.ASK, ch.ARK
		default:
			if o.Product == "" {
				return nil, nil // go-sev-guest picks the built-in roots itself
			}
			root, err := trust.GetDefaultRootCerts(line)
			if err != nil {
				return nil, err
			}
			out[line] = []*trust.AMDRootCerts{root}
			continue
		}
		out[line] = []*trust.AMDRootCerts{{ProductLine: line, Product: line, ProductCerts: pc}}
	}
	return out, nil
}

var builtinVLEKRoots = map[string][]byte{
	"Milan": trust.AskArkMilanVlekBytes,
	"Genoa": trust.AskArkGenoaVlekBytes,
	"Turin": trust.AskArkTurinVlekBytes,
}

// validateOptions maps the expectations to go-sev-guest validate.Options.
// Checks not asked for are set to accept what the report holds.
func (o *Options) validateOptions(r *Report) *validate.Options {
	e := &o.Expect
	vo := &validate.Options{
		Measurement:               e.Measurement,
		HostData:                  e.HostData,
		ReportData:                e.ReportData,
		FamilyID:                  e.FamilyID,
		ImageID:                   e.ImageID,
		PermitProvisionalFirmware: true,
	}
	policy := r.Proto.GetPolicy()
	if e.Policy != nil {
		if _, err := abi.ParseSnpPolicy(*e.Policy); err == nil {
			policy = *e.Policy
		}
	}
	vo.GuestPolicy, _ = abi.ParseSnpPolicy(policy)
	if e.VMPL != nil {
		v := int(*e.VMPL)
		vo.VMPL = &v
	}
	if e.MinTCB != nil {
		vo.MinimumTCB = kds.DecomposeTCBVersion(kds.TCBVersion(*e.MinTCB))
	}
	// An all-zero digest expects no ID block (or no author key): there is
	// nothing for validate to require then; CheckFields compares the bytes.
	if e.IDKeyDigest != nil && !allZero(e.IDKeyDigest) {
		vo.RequireIDBlock = true
		vo.TrustedIDKeyHashes = [][]byte{e.IDKeyDigest}
	}
	if e.AuthorKeyDigest != nil && !allZero(e.AuthorKeyDigest) {
		vo.RequireAuthorKey = true
		vo.TrustedAuthorKeyHashes = [][]byte{e.AuthorKeyDigest}
	}
	return vo
}

// oneLine flattens multi-line errors (go-sev-guest combines several).
func oneLine(err error) string {
	s := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
	return s
}
