package report

import (
	"path/filepath"
	"testing"
)

// BenchmarkParse parses a genuine VERSION 5 report.
func BenchmarkParse(b *testing.B) {
	raw := readTestFile(b, filepath.Join(genuineDir, "oak/turin_oc_evidence.report.bin"))
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := Parse(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify verifies a genuine Turin report with its VCEK against
// the built-in roots: one ECDSA P-384 and a few RSA-4096 PSS verifications.
func BenchmarkVerify(b *testing.B) {
	r, err := ReadFile(filepath.Join(genuineDir, "oak/turin_oc_evidence.report.bin"), FormatAuto)
	if err != nil {
		b.Fatal(err)
	}
	certs, err := ReadCertificates(filepath.Join(genuineDir, "oak/turin_oc_endorsements.vcek.der"))
	if err != nil {
		b.Fatal(err)
	}
	policy := uint64(0x30000)
	o := &Options{Trust: TrustOptions{Certificates: []CertSource{{Name: "vcek", Certs: certs}}}, Expect: Expectations{Policy: &policy}}
	for b.Loop() {
		if res := r.Verify(o); !res.OK {
			b.Fatal(res.Failed())
		}
	}
}

// BenchmarkBuiltinRoots is the one-time cost of the pinned roots, paid on
// first use rather than at start-up.
func BenchmarkBuiltinRoots(b *testing.B) {
	for b.Loop() {
		if _, err := parseBuiltinRoots(); err != nil {
			b.Fatal(err)
		}
	}
}
