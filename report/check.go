package report

import (
	"fmt"
	"strings"
)

// Check is one checked item: a report field, a default, the signature or
// the chain.
type Check struct {
	Name     string `json:"name"`
	Expected string `json:"expected"`
	Actual   string `json:"actual"`
	OK       bool   `json:"ok"`
}

// Options say what Verify checks.
type Options struct {
	// Trust says which certificates, roots and time the signature is
	// checked with.
	Trust TrustOptions
	// Expect holds the expected fields and the relaxed defaults.
	Expect Expectations
}

// Result is the outcome of Verify.
type Result struct {
	// OK is true only when the signature verified under a VCEK or VLEK
	// chaining to a trusted ARK and every check passed.
	OK bool `json:"ok"`
	// Product is the product line the report comes from ("" if unknown).
	Product string  `json:"product"`
	Checks  []Check `json:"checks"`
	// NotChecked says what was not asked for or could not be checked: the
	// measurement without an expected one, revocation without CRLs, the
	// VCEK's hwID when CHIP_ID is masked.
	NotChecked []string `json:"not_checked"`
}

// Verify runs VerifySignature and Validate: the signature, chain and
// consistency rows first, then the fields.
func (r *Report) Verify(o *Options) *Result {
	if o == nil {
		o = &Options{}
	}
	if r == nil || len(r.Raw) < Size {
		// Not a report Parse made: nothing can be checked, so nothing passes.
		return &Result{Checks: []Check{{Name: CheckSignature, Expected: "a parsed attestation report", Actual: "no report bytes (use Parse or Read)"}}, NotChecked: []string{}}
	}
	sig := r.VerifySignature(&o.Trust)
	res := &Result{Checks: sig.Checks, NotChecked: append([]string{}, sig.NotChecked...)}
	if sig.Product != ProductUnknown && sig.Checks[0].Name == CheckProduct && sig.Checks[0].OK {
		res.Product = sig.Product.String()
	}
	res.Checks = append(res.Checks, r.Validate(&o.Expect, sig.Product)...)
	if o.Expect.Measurement == nil {
		res.NotChecked = append(res.NotChecked, "measurement: no expected measurement given")
	}
	res.OK = sig.Verified() && len(res.Failed()) == 0
	return res
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

// Err returns a *MismatchError listing the failed checks, or nil when OK.
func (r *Result) Err() error {
	if r.OK {
		return nil
	}
	return &MismatchError{Failed: r.Failed()}
}

// MismatchError lists the checks that failed.
type MismatchError struct {
	Failed []Check
}

// verdictChecks are rows whose Actual says what is wrong, rather than a
// value to compare with Expected.
var verdictChecks = map[string]bool{
	CheckProduct: true, CheckSignature: true, CheckChain: true, CheckCertTable: true, CheckCertTCB: true,
	CheckCertHWID: true, CheckRevocation: true, CheckReserved: true, CheckProvisional: true,
	CheckReportedTCB: true, CheckIDBlock: true,
}

func (e *MismatchError) Error() string {
	switch len(e.Failed) {
	case 0:
		return "the signature was not verified"
	case 1:
		c := e.Failed[0]
		if verdictChecks[c.Name] {
			return fmt.Sprintf("%s failed: %s", c.Name, c.Actual)
		}
		return fmt.Sprintf("%s does not match: expected %s, report has %s", c.Name, c.Expected, c.Actual)
	}
	names := make([]string, len(e.Failed))
	for i, c := range e.Failed {
		names[i] = c.Name
	}
	return fmt.Sprintf("%d checks failed: %s", len(e.Failed), strings.Join(names, ", "))
}
