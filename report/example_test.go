package report_test

import (
	"fmt"
	"time"

	"github.com/snpmeasure/snpmeasure/report"
)

// Example verifies a genuine Turin report (project Oak's) with the VCEK
// AMD's KDS issued for it, against AMD's built-in Turin roots.
func Example() {
	r, err := report.ReadFile("testdata/genuine/oak/turin_oc_evidence.report.bin", report.FormatAuto)
	if err != nil {
		fmt.Println(err)
		return
	}
	vcek, err := report.ReadCertificates("testdata/genuine/oak/turin_oc_endorsements.vcek.der")
	if err != nil {
		fmt.Println(err)
		return
	}
	policy := uint64(0x30000)
	res := r.Verify(&report.Options{
		Trust:  report.TrustOptions{Certificates: []report.CertSource{{Name: "vcek.der", Certs: vcek}}},
		Expect: report.Expectations{Policy: &policy},
	})
	for _, c := range res.Checks {
		fmt.Printf("%-20s %v\n", c.Name, c.OK)
	}
	fmt.Println(res.Product, "ok:", res.OK)
	// Output:
	// product              true
	// signature            true
	// certificate chain    true
	// certificate tcb      true
	// certificate hwid     true
	// policy               true
	// vmpl                 true
	// reported tcb         true
	// provisional firmware true
	// reserved             true
	// Turin ok: true
}

// ExampleReport_VerifySignature checks only the signature and chain of an
// AWS VLEK report, as of a time when its one-year VLEK was valid.
func ExampleReport_VerifySignature() {
	r, err := report.ReadFile("testdata/genuine/trustee-snp/test-vlek-report.bin", report.FormatAuto)
	if err != nil {
		fmt.Println(err)
		return
	}
	vlek, err := report.ReadCertificates("testdata/genuine/trustee-snp/test-vlek.der")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, at := range []time.Time{time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} {
		sig := r.VerifySignature(&report.TrustOptions{Certificates: []report.CertSource{{Name: "vlek.der", Certs: vlek}}, At: at})
		fmt.Println(at.Format("2006-01-02"), sig.Verified(), sig.Checks[2].Actual)
	}
	// Output:
	// 2025-06-01 true verified: SEV-VLEK ← SEV-VLEK-Milan ← ARK-Milan as of 2025-06-01T00:00:00Z
	// 2026-01-01 false "SEV-VLEK" expired on 2025-12-10T22:14:21Z (certificates are checked as of 2026-01-01T00:00:00Z; --at sets the time)
}

// ExampleReport_Validate applies the secure defaults to go-sev-guest's
// genuine report, whose policy allows debugging.
func ExampleReport_Validate() {
	r, err := report.ReadFile("testdata/genuine/go-sev-guest/attestation.bin", report.FormatAuto)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range r.Validate(&report.Expectations{}, report.Milan) {
		fmt.Printf("%-20s %-5v %s\n", c.Name, c.OK, c.Actual)
	}
	// Output:
	// debug                false 1
	// migrate-ma           true  0
	// vmpl                 true  0
	// reported tcb         true  reported = current: bl=2 tee=0 snp=5 ucode=68
	// provisional firmware true  committed = current: 1.49 build 3 bl=2 tee=0 snp=5 ucode=68
	// reserved             true  zero
}

// ExampleParseTCBMinimum reads a minimum TCB by component names, which
// depend on the product line.
func ExampleParseTCBMinimum() {
	m, _ := report.ParseTCBMinimum("bl=1,tee=0,snp=2,ucode=71")
	for _, p := range []report.Product{report.Milan, report.Turin} {
		parts, err := m.Resolve(p)
		fmt.Println(p, parts.Format(p), err)
	}
	_, err := report.ParseTCBMinimum("fmc=1,tee=2")
	fmt.Println(err)
	// Output:
	// Milan bl=1 tee=0 snp=2 ucode=71 <nil>
	// Turin fmc=0 bl=1 tee=0 snp=2 ucode=71 <nil>
	// <nil>
}

// ExampleParseEncoded shows format detection and the one-line errors.
func ExampleParseEncoded() {
	_, err := report.ParseEncoded([]byte("0a0b0c"), report.FormatAuto)
	fmt.Println(err)
	_, err = report.ParseEncoded([]byte("not a report!"), report.FormatAuto)
	fmt.Println(err)
	// Output:
	// hex: 3 bytes, want at least 1184
	// 13 bytes of text, neither hex nor base64: offset 12: byte '!' is not a base64 character
}
