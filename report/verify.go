package report

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha512"
	"crypto/x509"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// CertSource is the certificates of one input (a file, a flag).
type CertSource struct {
	// Name says where they came from in messages: "--vcek vcek.pem".
	Name  string
	Certs []*x509.Certificate
}

// CRLSource is a certificate revocation list from one input.
type CRLSource struct {
	Name string
	CRL  *x509.RevocationList
}

// TrustOptions say what VerifySignature trusts and when.
type TrustOptions struct {
	// Certificates are the caller's certificates: the VCEK or VLEK, and any
	// ASK, ASVK or ARK (a KDS cert_chain, Azure's THIM bundle, ...). None
	// is trusted for being given: an ASK or ASVK must be signed by a
	// trusted ARK, an ARK must be a trusted one. A VCEK or VLEK given here
	// is used instead of the one in the report's certificate table.
	Certificates []CertSource
	// Roots, when not empty, are the ARKs to trust instead of AMD's
	// built-in ones (and no built-in ASK or ASVK is used then).
	Roots []*x509.Certificate
	// RootsSource names Roots in messages ("--trust-ark test-ark.pem").
	RootsSource string
	// Product is the product line the caller says the report comes from,
	// or ProductUnknown. It must agree with the report's CPUID and the
	// endorsement key when they name one.
	Product Product
	// At is the time the certificates must be valid at; zero means now.
	At time.Time
	// CRLs are revocation lists from AMD's KDS. Each must be signed by a
	// trusted ARK; one from the chain's ARK must be among them.
	CRLs []CRLSource
}

// Check names of VerifySignature.
const (
	CheckProduct    = "product"
	CheckSignature  = "signature"
	CheckChain      = "certificate chain"
	CheckCertTable  = "certificate table"
	CheckCertTCB    = "certificate tcb"
	CheckCertHWID   = "certificate hwid"
	CheckRevocation = "revocation"
)

// Signature is the outcome of VerifySignature.
type Signature struct {
	// Checks are the rows: product, signature and certificate chain
	// always, then certificate table (extended reports), certificate tcb
	// and certificate hwid (when there is a VCEK or VLEK) and revocation
	// (with CRLs).
	Checks []Check
	// Product is the product line the report comes from, or
	// ProductUnknown when it could not be told (the product row failed).
	Product Product
	// Key is the VCEK or VLEK the signature was checked with, or nil;
	// KeySource says where it came from.
	Key       *x509.Certificate
	KeySource string
	// NotChecked says what could not be or was not checked.
	NotChecked []string
}

// Verified reports whether the signature verified under a key that chains
// to a trusted ARK.
func (s *Signature) Verified() bool {
	sig, chain := false, false
	for _, c := range s.Checks {
		switch c.Name {
		case CheckSignature:
			sig = c.OK
		case CheckChain:
			chain = c.OK
		}
	}
	return sig && chain
}

// candidate is one certificate from the inputs.
type candidate struct {
	cert   *x509.Certificate
	source string
	role   Role
}

type verifier struct {
	r     *Report
	o     *TrustOptions
	at    time.Time
	key   SigningKey
	want  Role // the role SIGNING_KEY names
	user  []candidate
	table []candidate
	// tableProblems are entries whose contents disagree with their GUID.
	tableProblems []string
	leaf          *candidate
	leafProblem   string
	ext           *KDSExtensions
	extErr        error
	product       Product
}

// VerifySignature checks, offline, that the report was signed by a VCEK or
// VLEK that chains to a trusted ARK: the report's SIGNING_KEY must name the
// key type of the certificate used, the signature (ECDSA P-384 with SHA-384
// over bytes 0x000-0x29F) must verify, the certificate must be signed by an
// ASK (VCEK) or ASVK (VLEK) that a trusted ARK signed, all valid at o.At,
// and the key's TCB and hardware ID must be the report's. It only does
// cryptography and consistency; Validate judges the fields.
func (r *Report) VerifySignature(o *TrustOptions) *Signature {
	if o == nil {
		o = &TrustOptions{}
	}
	v := &verifier{r: r, o: o, at: o.At, key: r.SignerInfo.SigningKey()}
	if v.at.IsZero() {
		v.at = time.Now()
	}
	v.want = endorsementRole(v.key)
	v.gather()
	v.chooseLeaf()
	out := &Signature{}
	product := v.productCheck()
	out.Product = v.product
	sig := v.signatureCheck()
	chain, ica, ark := v.chainCheck()
	out.Checks = append(out.Checks, product, sig, chain)
	if len(r.Certs) > 0 {
		out.Checks = append(out.Checks, v.tableCheck())
	}
	if v.leaf != nil {
		out.Key, out.KeySource = v.leaf.cert, v.leaf.source
		out.Checks = append(out.Checks, v.tcbCheck())
		switch {
		case v.leaf.role == RoleVCEK && allZero(r.ChipID[:]) && v.extErr == nil && len(v.ext.HWID) > 0:
			out.NotChecked = append(out.NotChecked, "certificate hwid: CHIP_ID is zero (MASK_CHIP_ID), so the VCEK's hwID cannot be compared; the VCEK's signature still ties the report to one chip")
		case v.leaf.role == RoleVCEK:
			out.Checks = append(out.Checks, v.hwidCheck())
		}
	}
	if len(o.CRLs) > 0 {
		out.Checks = append(out.Checks, v.revocationCheck(ica, ark))
	} else {
		out.NotChecked = append(out.NotChecked, "revocation: no CRL given, so a revoked "+v.key.intermediate()+" or "+v.want.String()+" would pass")
	}
	return out
}

// gather collects the caller's certificates and the report's table.
func (v *verifier) gather() {
	for _, s := range v.o.Certificates {
		for _, c := range s.Certs {
			v.user = append(v.user, candidate{cert: c, source: s.Name, role: RoleOf(c)})
		}
	}
	for i := range v.r.Certs {
		e := &v.r.Certs[i]
		if e.Kind == "" {
			continue // not a certificate this check knows
		}
		src := fmt.Sprintf("the report's certificate table (%s entry)", e.Kind)
		certs, err := ParseCertificates(e.Data)
		if err != nil {
			v.tableProblems = append(v.tableProblems, fmt.Sprintf("the %s entry is not a certificate (%v)", e.Kind, err))
			continue
		}
		if len(certs) != 1 {
			v.tableProblems = append(v.tableProblems, fmt.Sprintf("the %s entry holds %d certificates, want one", e.Kind, len(certs)))
			continue
		}
		c := candidate{cert: certs[0], source: src, role: RoleOf(certs[0])}
		okRole := map[string][]Role{
			CertVCEK: {RoleVCEK}, CertVLEK: {RoleVLEK},
			// Hosts put the ASVK of VLEK-signed reports in the ASK slot.
			CertASK: {RoleASK, RoleASVK}, CertARK: {RoleARK},
		}[e.Kind]
		if !hasRole(okRole, c.role) {
			v.tableProblems = append(v.tableProblems, fmt.Sprintf("the %s entry holds %s (%q)", e.Kind, article(c.role), c.cert.Subject.CommonName))
			continue
		}
		v.table = append(v.table, c)
	}
}

func hasRole(rs []Role, r Role) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

func article(r Role) string {
	if r == RoleOther {
		return "a certificate that is not AMD's"
	}
	if r == RoleASK || r == RoleASVK || r == RoleARK {
		return "an " + r.String()
	}
	return "a " + r.String()
}

// chooseLeaf picks the VCEK or VLEK: the caller's when there is one, else
// the table's. The report's SIGNING_KEY must name its type.
func (v *verifier) chooseLeaf() {
	var leaves []candidate
	for _, c := range v.user {
		if c.role == RoleVCEK || c.role == RoleVLEK {
			leaves = append(leaves, c)
		}
	}
	if len(leaves) == 0 {
		for _, c := range v.table {
			if c.role == v.want {
				leaves = append(leaves, c)
			}
		}
	}
	if len(leaves) == 0 {
		return
	}
	var match []candidate
	for _, c := range leaves {
		if c.role != v.want {
			continue
		}
		dup := false
		for _, m := range match {
			dup = dup || bytes.Equal(m.cert.Raw, c.cert.Raw)
		}
		if !dup {
			match = append(match, c)
		}
	}
	switch {
	case len(match) == 0:
		v.leafProblem = fmt.Sprintf("the report's SIGNING_KEY says the %s signed it, but %s holds a %s", v.want, leaves[0].source, leaves[0].role)
		return
	case len(match) > 1:
		v.leafProblem = fmt.Sprintf("two different %s certificates given (%s, %s): give one", v.want, match[0].source, match[1].source)
		return
	}
	v.leaf = &match[0]
	v.ext, v.extErr = ParseKDSExtensions(v.leaf.cert)
}

// productCheck determines the product line from the report's CPUID, the
// caller and the endorsement key, which must agree.
func (v *verifier) productCheck() Check {
	c := Check{Name: CheckProduct, Expected: "one product line (the report's CPUID, --product, the VCEK/VLEK)"}
	type claim struct {
		p    Product
		from string
	}
	var claims []claim
	var problems []string
	if id := v.r.CPUID; id != nil && (id.Family != 0 || id.Model != 0) {
		p, err := ProductFromCPUID(*id)
		if err != nil {
			problems = append(problems, err.Error())
		} else {
			claims = append(claims, claim{p, "CPUID " + id.String()})
		}
	}
	if v.o.Product != ProductUnknown {
		claims = append(claims, claim{v.o.Product, "--product"})
	}
	if v.leaf != nil {
		if p, from := productOf(v.leaf.cert, v.ext); p != ProductUnknown {
			claims = append(claims, claim{p, fmt.Sprintf("%s %s", v.leaf.role, from)})
		}
	}
	var from []string
	agree := true
	for _, cl := range claims {
		from = append(from, cl.p.String()+" from "+cl.from)
		agree = agree && cl.p == claims[0].p
	}
	if !agree {
		problems = append(problems, "they disagree")
	}
	if len(claims) > 0 {
		// The CPUID, when there is one, is what the signed report says.
		v.product = claims[0].p
	}
	switch {
	case len(claims) == 0 && len(problems) == 0:
		c.Actual = fmt.Sprintf("unknown: a VERSION %d report names no CPU; give --product or the VCEK", v.r.Version)
	case len(problems) > 0:
		c.Actual = strings.Join(append(from, dedupe(problems)...), "; ")
	default:
		var srcs []string
		for _, cl := range claims {
			srcs = append(srcs, cl.from)
		}
		c.Actual, c.OK = claims[0].p.String()+" ("+strings.Join(srcs, "; ")+")", true
	}
	return c
}

func dedupe(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// signatureCheck verifies the report's signature with the chosen key.
func (v *verifier) signatureCheck() Check {
	r := v.r
	c := Check{Name: CheckSignature, Expected: fmt.Sprintf("ECDSA P-384 signature by the %s", v.want)}
	if v.leaf != nil {
		c.Expected += " (" + v.leaf.source + ")"
	}
	switch {
	case v.key == SigningKeyNone:
		c.Actual = "the report is not signed (SIGNING_KEY is None)"
	case v.key != SigningKeyVCEK && v.key != SigningKeyVLEK:
		c.Actual = fmt.Sprintf("SIGNING_KEY is %s", v.key)
	case r.SignerInfo.MaskChipKey():
		c.Actual = "MASK_CHIP_KEY is set: the firmware wrote zeros instead of a signature"
	case r.SignatureAlgo != SignatureAlgoECDSAP384SHA384:
		c.Actual = fmt.Sprintf("SIGNATURE_ALGO is %d, want 1 (ECDSA P-384 with SHA-384)", r.SignatureAlgo)
	case v.leafProblem != "":
		c.Actual = v.leafProblem
	case v.leaf == nil:
		c.Actual = fmt.Sprintf("no %s certificate: give --vcek FILE (the %s AMD's KDS issued for this chip and TCB), or the report with its certificate table", v.want, v.want)
	default:
		pub, ok := v.leaf.cert.PublicKey.(*ecdsa.PublicKey)
		if !ok || pub.Curve != elliptic.P384() {
			c.Actual = fmt.Sprintf("the %s from %s does not hold an ECDSA P-384 key", v.want, v.leaf.source)
			break
		}
		if !r.verifyECDSA(pub) {
			c.Actual = fmt.Sprintf("invalid: the signature does not verify with the %s from %s", v.want, v.leaf.source)
			break
		}
		c.Actual, c.OK = "valid", true
	}
	return c
}

// verifyECDSA checks SIGNATURE over the signed bytes.
func (r *Report) verifyECDSA(pub *ecdsa.PublicKey) bool {
	h := sha512.Sum384(r.SignedBytes())
	R := new(big.Int).SetBytes(reversed(r.SignatureR[:]))
	S := new(big.Int).SetBytes(reversed(r.SignatureS[:]))
	return ecdsa.Verify(pub, h[:], R, S)
}

func reversed(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[len(b)-1-i] = c
	}
	return out
}

// anchors returns the trusted ARKs, the built-in intermediates that go
// with them, and their name for messages.
func (v *verifier) anchors() (arks, builtin []*x509.Certificate, name string, err error) {
	if len(v.o.Roots) > 0 {
		name = v.o.RootsSource
		if name == "" {
			name = "the given roots"
		}
		return v.o.Roots, nil, name, nil
	}
	products := Products()
	name = "AMD's built-in roots"
	if v.product != ProductUnknown {
		products = []Product{v.product}
		name = "AMD's built-in " + v.product.String() + " roots"
	}
	for _, p := range products {
		rs, err := BuiltinRoots(p)
		if err != nil {
			return nil, nil, "", err
		}
		arks = append(arks, rs.ARK)
		builtin = append(builtin, rs.ASK, rs.ASVK)
	}
	return arks, builtin, name, nil
}

// validAt says why a certificate is not valid at t, or "".
func validAt(c *x509.Certificate, t time.Time) string {
	switch {
	case t.Before(c.NotBefore):
		return fmt.Sprintf("%q is not valid before %s", c.Subject.CommonName, c.NotBefore.UTC().Format(time.RFC3339))
	case t.After(c.NotAfter):
		return fmt.Sprintf("%q expired on %s", c.Subject.CommonName, c.NotAfter.UTC().Format(time.RFC3339))
	}
	return ""
}

// signedBy returns the first of parents that issued and signed c.
func signedBy(c *x509.Certificate, parents []*x509.Certificate) *x509.Certificate {
	for _, p := range parents {
		if bytes.Equal(c.RawIssuer, p.RawSubject) && c.CheckSignatureFrom(p) == nil {
			return p
		}
	}
	return nil
}

// chainCheck verifies leaf ← ASK/ASVK ← ARK and that every certificate the
// inputs hold either is a trusted ARK or chains to one.
func (v *verifier) chainCheck() (c Check, ica, ark *x509.Certificate) {
	arks, builtin, rootsName, err := v.anchors()
	c = Check{Name: CheckChain, Expected: fmt.Sprintf("%s ← %s ← ARK (%s)", v.want, v.key.intermediate(), rootsName)}
	if err != nil {
		c.Actual = err.Error()
		return c, nil, nil
	}
	var problems, ignored []string
	inters := append([]*x509.Certificate(nil), builtin...)
	for _, cand := range append(append([]candidate(nil), v.user...), v.table...) {
		cert := cand.cert
		cn := cert.Subject.CommonName
		if p := v.otherProductRoot(cert); p != ProductUnknown {
			// AMD's own certificates of another product line (a bundle of
			// every KDS chain): they cannot certify this report's key.
			ignored = append(ignored, fmt.Sprintf("%s's %s from %s", p, cand.role, cand.source))
			continue
		}
		switch cand.role {
		case RoleVCEK, RoleVLEK:
			// Checked below if it is the one used.
		case RoleARK:
			trusted := false
			for _, a := range arks {
				trusted = trusted || bytes.Equal(a.Raw, cert.Raw)
			}
			if !trusted {
				problems = append(problems, fmt.Sprintf("the ARK %q from %s is not a trusted one (SHA-256 %s)", cn, cand.source, Fingerprint(cert)))
			}
		case RoleASK, RoleASVK:
			a := signedBy(cert, arks)
			switch {
			case a == nil:
				problems = append(problems, fmt.Sprintf("the %s %q from %s is not signed by a trusted ARK", cand.role, cn, cand.source))
			case validAt(cert, v.at) != "":
				problems = append(problems, fmt.Sprintf("the %s from %s: %s", cand.role, cand.source, validAt(cert, v.at)))
			default:
				inters = append(inters, cert)
			}
		default:
			problems = append(problems, fmt.Sprintf("%q from %s is not an AMD SEV certificate (VCEK, VLEK, ASK, ASVK or ARK)", cn, cand.source))
		}
	}
	if v.leaf == nil {
		problems = append([]string{"no " + v.want.String() + " to verify"}, problems...)
		c.Actual = strings.Join(problems, "; ")
		return c, nil, nil
	}
	leaf := v.leaf.cert
	// A VCEK must be issued by an ASK, a VLEK by an ASVK.
	issuerRole := RoleASK
	if v.leaf.role == RoleVLEK {
		issuerRole = RoleASVK
	}
	var issuers []*x509.Certificate
	for _, i := range inters {
		if RoleOf(i) == issuerRole {
			issuers = append(issuers, i)
		}
	}
	ica = signedBy(leaf, issuers)
	if ica != nil {
		ark = signedBy(ica, arks)
	}
	switch {
	case ica == nil:
		problems = append([]string{fmt.Sprintf("the %s from %s (issuer %q) is not signed by an %s that a trusted ARK signed",
			v.leaf.role, v.leaf.source, leaf.Issuer.CommonName, v.key.intermediate())}, problems...)
	case ark == nil: // the built-in intermediates are signed by their ARK
		problems = append(problems, fmt.Sprintf("%q is not signed by a trusted ARK", ica.Subject.CommonName))
	default:
		for _, cert := range []*x509.Certificate{leaf, ica, ark} {
			if why := validAt(cert, v.at); why != "" {
				problems = append(problems, why+" (certificates are checked as of "+v.at.UTC().Format(time.RFC3339)+"; --at sets the time)")
			}
		}
	}
	if len(problems) > 0 {
		c.Actual = strings.Join(problems, "; ")
		return c, ica, ark
	}
	c.Actual, c.OK = fmt.Sprintf("verified: %s ← %s ← %s", leaf.Subject.CommonName, ica.Subject.CommonName, ark.Subject.CommonName), true
	if !v.o.At.IsZero() {
		c.Actual += " as of " + v.at.UTC().Format(time.RFC3339)
	}
	if len(ignored) > 0 {
		c.Actual += " (ignored AMD certificates of another product line: " + strings.Join(ignored, ", ") + ")"
	}
	return c, ica, ark
}

// otherProductRoot returns the product line whose built-in AMD ARK is cert
// or signed cert, when that is not the report's product line and the
// built-in roots are the trust anchors; ProductUnknown otherwise.
func (v *verifier) otherProductRoot(cert *x509.Certificate) Product {
	if len(v.o.Roots) > 0 || v.product == ProductUnknown {
		return ProductUnknown
	}
	for _, p := range Products() {
		if p == v.product {
			continue
		}
		rs, err := BuiltinRoots(p)
		if err != nil {
			continue
		}
		if bytes.Equal(rs.ARK.Raw, cert.Raw) || (RoleOf(cert) != RoleVCEK && RoleOf(cert) != RoleVLEK && cert.CheckSignatureFrom(rs.ARK) == nil) {
			return p
		}
	}
	return ProductUnknown
}

// tableCheck checks that the certificate table's entries hold what their
// GUIDs say and include the key SIGNING_KEY names when they hold any key.
func (v *verifier) tableCheck() Check {
	c := Check{Name: CheckCertTable, Expected: "entries hold what their GUIDs name; a key entry matches SIGNING_KEY " + v.key.String()}
	problems := append([]string(nil), v.tableProblems...)
	var kinds []string
	hasKey, hasWanted := false, false
	for _, e := range v.r.Certs {
		kinds = append(kinds, e.Name())
		if e.Kind == CertVCEK || e.Kind == CertVLEK {
			hasKey = true
			hasWanted = hasWanted || e.Kind == v.want.String()
		}
	}
	if hasKey && !hasWanted {
		problems = append(problems, fmt.Sprintf("the table holds no %s, but SIGNING_KEY says the %s signed the report", v.want, v.want))
	}
	if len(problems) > 0 {
		c.Actual = strings.Join(problems, "; ")
		return c
	}
	c.Actual, c.OK = strings.Join(kinds, ", "), true
	return c
}

// tcbCheck compares the key's TCB extensions with REPORTED_TCB.
func (v *verifier) tcbCheck() Check {
	role := v.leaf.role
	c := Check{Name: CheckCertTCB, Expected: fmt.Sprintf("the %s's TCB is REPORTED_TCB", role)}
	if v.extErr != nil {
		c.Actual = v.extErr.Error()
		return c
	}
	p := v.product
	if p == ProductUnknown {
		c.Actual = "the product line is not known, so REPORTED_TCB cannot be read"
		return c
	}
	certTCB, missing := v.ext.TCBParts(p)
	reported := v.r.ReportedTCB.Parts(p)
	c.Expected = fmt.Sprintf("%s (the %s's)", certTCB.Format(p), role)
	c.Actual = reported.Format(p) + " (REPORTED_TCB)"
	switch {
	case len(missing) > 0:
		c.Actual = fmt.Sprintf("the %s has no %s SPL extension", role, strings.Join(missing, ", "))
	case certTCB != reported:
		c.Actual += ": the key was derived for another TCB"
	default:
		c.OK = true
	}
	return c
}

// hwidCheck compares the VCEK's hardware ID with CHIP_ID.
func (v *verifier) hwidCheck() Check {
	c := Check{Name: CheckCertHWID, Expected: "the VCEK's hwID is CHIP_ID"}
	if v.extErr != nil {
		c.Actual = v.extErr.Error()
		return c
	}
	hw, chip := v.ext.HWID, v.r.ChipID[:]
	c.Expected = abbrevHex(hw) + " (the VCEK's hwID)"
	switch {
	case len(hw) == 0:
		c.Actual = "the VCEK has no hwID extension"
	case allZero(chip):
		c.Actual, c.OK = "CHIP_ID is zero (MASK_CHIP_ID): nothing to compare", true
	case v.product == Turin && len(hw) != 8, (v.product == Milan || v.product == Genoa) && len(hw) != ChipIDSize:
		c.Actual = fmt.Sprintf("the VCEK's hwID has %d bytes; a %s hwID has %d", len(hw), v.product, map[bool]int{true: 8, false: ChipIDSize}[v.product == Turin])
	case len(hw) > ChipIDSize || !bytes.Equal(chip[:len(hw)], hw) || !allZero(chip[len(hw):]):
		c.Actual = abbrevHex(chip) + " (CHIP_ID): another chip's VCEK"
	default:
		c.Actual, c.OK = abbrevHex(chip)+" (CHIP_ID)", true
	}
	return c
}

// abbrevHex prints long byte strings as their first and last 8 bytes; a
// zero tail (the padding of a Turin CHIP_ID) is counted instead.
func abbrevHex(b []byte) string {
	n := len(b)
	for n > 0 && b[n-1] == 0 {
		n--
	}
	tail := ""
	if n < len(b) && n > 0 {
		tail = fmt.Sprintf(" + %d zero bytes", len(b)-n)
		b = b[:n]
	}
	if len(b) > 16 {
		return fmt.Sprintf("%x…%x", b[:8], b[len(b)-8:]) + tail
	}
	return fmt.Sprintf("%x", b) + tail
}

// revocationCheck looks up the chain's ASK/ASVK in the CRLs its ARK signed
// (AMD's KDS serves one per product line), and the VCEK/VLEK in any CRL its
// ASK/ASVK signed.
func (v *verifier) revocationCheck(ica, ark *x509.Certificate) Check {
	c := Check{Name: CheckRevocation, Expected: "neither the " + v.key.intermediate() + " nor the " + v.want.String() + " is revoked (CRLs signed by a trusted ARK)"}
	signers, _, _, err := v.allAnchors()
	if err != nil {
		c.Actual = err.Error()
		return c
	}
	if ica != nil {
		signers = append(signers, ica)
	}
	var problems, fromARK []string
	for _, s := range v.o.CRLs {
		crl := s.CRL
		var signer *x509.Certificate
		for _, a := range signers {
			if bytes.Equal(crl.RawIssuer, a.RawSubject) && crl.CheckSignatureFrom(a) == nil {
				signer = a
			}
		}
		switch {
		case signer == nil:
			problems = append(problems, fmt.Sprintf("the CRL from %s is not signed by a trusted ARK", s.Name))
			continue
		case v.at.Before(crl.ThisUpdate) && v.o.At.IsZero():
			// Issued in the future: the clock is wrong. (With --at in the
			// past a later CRL is the auditor's best knowledge: it lists
			// every revocation up to its issue, and any entry fails.)
			problems = append(problems, fmt.Sprintf("the CRL from %s was issued on %s, after %s",
				s.Name, crl.ThisUpdate.UTC().Format(time.RFC3339), v.at.UTC().Format(time.RFC3339)))
			continue
		case !crl.NextUpdate.IsZero() && v.at.After(crl.NextUpdate):
			problems = append(problems, fmt.Sprintf("the CRL from %s is out of date: its next update was due on %s (fetch a new one from AMD's KDS)",
				s.Name, crl.NextUpdate.UTC().Format(time.RFC3339)))
			continue
		}
		// An entry revokes the certificate of that serial number that the
		// CRL's issuer issued.
		var covered *x509.Certificate
		switch {
		case ark != nil && bytes.Equal(signer.Raw, ark.Raw):
			covered = ica
			fromARK = append(fromARK, s.Name)
		case ica != nil && bytes.Equal(signer.Raw, ica.Raw):
			covered = v.leaf.cert
		}
		if covered == nil {
			continue // another product line's CRL
		}
		for _, e := range crl.RevokedCertificateEntries {
			if e.SerialNumber != nil && e.SerialNumber.Cmp(covered.SerialNumber) == 0 {
				problems = append(problems, fmt.Sprintf("%q (serial %#x) is revoked since %s by the CRL from %s",
					covered.Subject.CommonName, covered.SerialNumber, e.RevocationTime.UTC().Format(time.RFC3339), s.Name))
			}
		}
	}
	switch {
	case ica == nil || ark == nil:
		problems = append(problems, "no verified certificate chain to look up")
	case len(fromARK) == 0 && len(problems) == 0:
		problems = append(problems, fmt.Sprintf("no CRL from %q among the CRLs given", ark.Subject.CommonName))
	}
	if len(problems) > 0 {
		c.Actual = strings.Join(problems, "; ")
		return c
	}
	c.Actual, c.OK = "not revoked ("+strings.Join(fromARK, ", ")+")", true
	return c
}

// allAnchors is anchors for every product: CRLs of other product lines are
// still AMD's.
func (v *verifier) allAnchors() ([]*x509.Certificate, []*x509.Certificate, string, error) {
	saved := v.product
	v.product = ProductUnknown
	defer func() { v.product = saved }()
	return v.anchors()
}
