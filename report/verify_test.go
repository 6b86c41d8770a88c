package report

import (
	"bytes"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-sev-guest/abi"
	"github.com/google/go-sev-guest/verify/trust"
	"github.com/google/uuid"
)

// goodExpectations matches baseReport(measurement) exactly.
func goodExpectations(t testing.TB, measurement []byte) Expectations {
	b := baseReport(measurement)
	policy, vmpl, tcb := b.Policy, b.Vmpl, testTCBVersion()
	return Expectations{
		Measurement: measurement, HostData: b.HostData, ReportData: b.ReportData,
		FamilyID: b.FamilyId, ImageID: b.ImageId, IDKeyDigest: b.IdKeyDigest, AuthorKeyDigest: b.AuthorKeyDigest,
		Policy: &policy, VMPL: &vmpl, MinTCB: &tcb,
	}
}

func TestVerifySigned(t *testing.T) {
	m := mustHex(t, vectorMeasurement)
	raw := signReport(t, baseReport(m))
	s := testSigner(t)
	realVCEKCert, err := ReadCertificate(realVCEK)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(b []byte) []byte {
		c := bytes.Clone(b)
		c[len(c)-1] ^= 0x80
		return c
	}
	u64 := func(v uint64) *uint64 { return &v }
	u32 := func(v uint32) *uint32 { return &v }

	tests := []struct {
		name   string
		raw    []byte
		expect func(e *Expectations)
		opts   func(o *Options)
		failed string // comma-separated names of the failed checks
	}{
		{name: "all match"},
		{name: "measurement", expect: func(e *Expectations) { e.Measurement = flip(e.Measurement) }, failed: "measurement,go-sev-guest validate"},
		{name: "host-data", expect: func(e *Expectations) { e.HostData = flip(e.HostData) }, failed: "host-data,go-sev-guest validate"},
		{name: "report-data", expect: func(e *Expectations) { e.ReportData = flip(e.ReportData) }, failed: "report-data,go-sev-guest validate"},
		{name: "policy", expect: func(e *Expectations) { e.Policy = u64(0xb0000) }, failed: "policy"},
		{name: "policy narrower", expect: func(e *Expectations) { e.Policy = u64(0x20000) }, failed: "policy,go-sev-guest validate"},
		{name: "vmpl", expect: func(e *Expectations) { e.VMPL = u32(1) }, failed: "vmpl,go-sev-guest validate"},
		{name: "family-id", expect: func(e *Expectations) { e.FamilyID = flip(e.FamilyID) }, failed: "family-id,go-sev-guest validate"},
		{name: "image-id", expect: func(e *Expectations) { e.ImageID = flip(e.ImageID) }, failed: "image-id,go-sev-guest validate"},
		{name: "id-key-digest", expect: func(e *Expectations) { e.IDKeyDigest = flip(e.IDKeyDigest) }, failed: "id-key-digest,go-sev-guest validate"},
		{name: "author-key-digest", expect: func(e *Expectations) { e.AuthorKeyDigest = flip(e.AuthorKeyDigest) }, failed: "author-key-digest,go-sev-guest validate"},
		{name: "min-tcb", expect: func(e *Expectations) { e.MinTCB = u64(testTCBVersion() + 1) }, failed: "min-tcb,go-sev-guest validate"},
		{name: "min-tcb lower", expect: func(e *Expectations) { e.MinTCB = u64(0x0100000000000001) }},
		{name: "tampered host data", raw: tamper(raw, OffHostData, 0x11^0x12), expect: func(e *Expectations) { e.HostData[0] = 0x12 }, failed: "signature"},
		{name: "tampered signature", raw: tamper(raw, OffSignature+5, 1), failed: "signature"},
		{name: "built-in AMD roots", opts: func(o *Options) { o.Roots = nil }, failed: "certificate chain"},
		{name: "roots of another product", opts: func(o *Options) { o.Product = "Genoa" }, failed: "certificate chain"},
		{name: "AMD ARK with test ASK", opts: func(o *Options) { o.Roots = &Roots{ASK: s.Ask, ARK: trust.DefaultRootCerts["Milan"].ProductCerts.Ark} }, failed: "certificate chain"},
		{name: "test ASK as the anchor", opts: func(o *Options) { o.Roots = &Roots{ASK: s.Ask, ARK: s.Ask} }},
		{name: "other VCEK", opts: func(o *Options) { o.Endorsement = realVCEKCert }, failed: "signature,certificate chain,go-sev-guest validate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := raw
			if tc.raw != nil {
				in = tc.raw
			}
			r, err := Parse(in)
			if err != nil {
				t.Fatal(err)
			}
			o := &Options{Expect: goodExpectations(t, m), Endorsement: s.Vcek, Roots: testRoots(t)}
			if tc.expect != nil {
				tc.expect(&o.Expect)
			}
			if tc.opts != nil {
				tc.opts(o)
			}
			res, err := r.Verify(o)
			if err != nil {
				t.Fatal(err)
			}
			if got := failedNames(res); got != tc.failed {
				t.Errorf("failed checks %q, want %q; checks: %+v", got, tc.failed, res.Checks)
			}
			if res.OK != (tc.failed == "") {
				t.Errorf("OK %v with failed checks %q", res.OK, tc.failed)
			}
			err = res.Err()
			var me *MismatchError
			if (err != nil) != (tc.failed != "") || (err != nil && !errors.As(err, &me)) {
				t.Errorf("Err() = %v", err)
			}
			if want := 10 + 3; len(res.Checks) != want {
				t.Errorf("%d checks, want %d", len(res.Checks), want)
			}
		})
	}
}

func tamper(raw []byte, off int, x byte) []byte {
	c := bytes.Clone(raw)
	c[off] ^= x
	return c
}

func TestVerifyExtendedReport(t *testing.T) {
	m := mustHex(t, vectorMeasurement)
	ext := extendedReport(t, signReport(t, baseReport(m)))
	r, err := Parse(ext)
	if err != nil {
		t.Fatal(err)
	}
	if r.Cert(CertVCEK) == nil || r.Cert(CertASK) == nil || r.Cert(CertARK) == nil {
		t.Fatalf("certificate table: %+v", r.Summary())
	}
	res, err := r.Verify(&Options{Expect: Expectations{Measurement: m}, Roots: testRoots(t)})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK {
		t.Fatalf("extended report: %+v", res.Checks)
	}
	if !strings.Contains(res.Checks[1].Expected, "certificate table") {
		t.Errorf("signature row %+v does not say the VCEK came from the table", res.Checks[1])
	}
	// The ARK and ASK in the table are never trusted: without given roots
	// the chain must go to AMD's real roots, and fails.
	res, _ = r.Verify(&Options{})
	if failedNames(res) != "certificate chain" {
		t.Errorf("table roots trusted? failed %q", failedNames(res))
	}
	// A table whose VCEK is garbage is a failed check, not a crash.
	bad := bytes.Clone(ext)
	vcek := r.Cert(CertVCEK)
	i := bytes.Index(bad[Size:], vcek)
	copy(bad[Size+i:], make([]byte, 16))
	r2, err := Parse(bad)
	if err != nil {
		t.Fatal(err)
	}
	res, _ = r2.Verify(&Options{Roots: testRoots(t)})
	if failedNames(res) != "signature" || !strings.Contains(res.Checks[0].Actual, "not an X.509 certificate") {
		t.Errorf("garbage VCEK: %+v", res.Checks)
	}
}

func TestVerifyWithoutVCEK(t *testing.T) {
	m := mustHex(t, vectorMeasurement)
	r, err := Parse(signReport(t, baseReport(m)))
	if err != nil {
		t.Fatal(err)
	}
	res, _ := r.Verify(&Options{})
	// Nothing was checked: that is not OK (regression: OK used to be true).
	if res.OK || len(res.Checks) != 0 || !errors.Is(res.Err(), ErrNothingChecked) {
		t.Errorf("nothing expected: %+v, Err %v", res, res.Err())
	}
	want := []string{"measurement: no expected measurement given",
		"signature and certificate chain: no VCEK certificate given and the report has no certificate table"}
	if strings.Join(res.NotChecked, "|") != strings.Join(want, "|") {
		t.Errorf("not checked %q, want %q", res.NotChecked, want)
	}
	res, _ = r.Verify(&Options{Expect: Expectations{Measurement: m[:47]}})
	if res.OK {
		t.Error("short expected measurement matched")
	}
}

func TestVerifyV3(t *testing.T) {
	m := mustHex(t, vectorMeasurement)
	b := baseReport(m)
	b.Version = 3
	b.Cpuid1EaxFms = abi.FmsToCpuid1Eax(0x19, 0x01, 1) // Milan B1
	r, err := Parse(signReport(t, b))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Summary(), "CPU family 0x19 model 0x1 stepping 1") {
		t.Errorf("summary %q", r.Summary())
	}
	res, _ := r.Verify(&Options{Expect: Expectations{Measurement: m}, Endorsement: testSigner(t).Vcek, Roots: testRoots(t)})
	if !res.OK {
		t.Errorf("v3 report: %+v", res.Checks)
	}
	res, _ = r.Verify(&Options{Endorsement: testSigner(t).Vcek, Roots: testRoots(t), Product: "Turin"})
	if failedNames(res) != "certificate chain" || !strings.Contains(res.Checks[1].Actual, "Milan CPU, not Turin") {
		t.Errorf("v3 report with --product Turin: %+v", res.Checks)
	}
}

func TestVerifyUnsigned(t *testing.T) {
	b := baseReport(mustHex(t, vectorMeasurement))
	b.SignerInfo = abi.ComposeSignerInfo(abi.SignerInfo{SigningKey: abi.NoneReportSigner})
	raw, err := abi.ReportToAbiBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := r.Verify(&Options{Endorsement: testSigner(t).Vcek, Roots: testRoots(t)})
	if failedNames(res) != "signature" {
		t.Errorf("unsigned report: %+v", res.Checks)
	}
	// Without a VCEK, nothing suggests that one would help.
	res, _ = r.Verify(&Options{})
	if res.OK || len(res.NotChecked) != 2 || res.NotChecked[1] != "signature and certificate chain: the report is not signed (SIGNING_KEY is None)" {
		t.Errorf("unsigned report without a VCEK: %+v", res)
	}
}

func TestClassify(t *testing.T) {
	s := testSigner(t)
	ch, err := Classify([]*x509.Certificate{s.Ark, s.Vcek, s.Ask})
	if err != nil {
		t.Fatal(err)
	}
	if ch.ARK != s.Ark || ch.ASK != s.Ask || ch.Endorsement != s.Vcek {
		t.Errorf("classified wrongly: %+v", ch)
	}
	if _, err := Classify([]*x509.Certificate{s.Ark, s.Ark}); err == nil || !strings.Contains(err.Error(), "second ARK") {
		t.Errorf("two ARKs: %v", err)
	}
	dir := t.TempDir()
	p := writePEM(t, dir, "chain.pem", s.Ask.Raw, s.Ark.Raw)
	certs, err := ReadCertificates(p)
	if err != nil || len(certs) != 2 {
		t.Fatalf("ReadCertificates: %d, %v", len(certs), err)
	}
	if _, err := ReadCertificate(p); err == nil || !strings.Contains(err.Error(), "2 certificates, want one") {
		t.Errorf("ReadCertificate on a bundle: %v", err)
	}
	if _, err := ParseCertificates([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")); err == nil {
		t.Error("a key parsed as a certificate")
	}
	if _, err := ParseCertificates([]byte("junk")); err == nil || !strings.Contains(err.Error(), "not a DER or PEM") {
		t.Errorf("junk: %v", err)
	}
}

// TestMismatchError checks the one-line messages.
func TestMismatchError(t *testing.T) {
	one := &MismatchError{Failed: []Check{{Name: "vmpl", Expected: "0", Actual: "1"}}}
	if one.Error() != "vmpl does not match: expected 0, report has 1" {
		t.Errorf("%q", one.Error())
	}
	sig := &MismatchError{Failed: []Check{{Name: CheckSignature, Expected: "signed by the VCEK", Actual: "invalid: x"}}}
	if sig.Error() != "signature failed: invalid: x" {
		t.Errorf("%q", sig.Error())
	}
	two := &MismatchError{Failed: []Check{{Name: "vmpl"}, {Name: "signature"}}}
	if two.Error() != "2 checks failed: vmpl, signature" {
		t.Errorf("%q", two.Error())
	}
}

// TestVerifyVLEK signs with the test VLEK: the endorsement comes from the
// certificate table's VLEK entry and chains through the ASVK.
func TestVerifyVLEK(t *testing.T) {
	m := mustHex(t, vectorMeasurement)
	b := baseReport(m)
	b.SignerInfo = abi.ComposeSignerInfo(abi.SignerInfo{SigningKey: abi.VlekReportSigner})
	b.CurrentTcb, b.ReportedTcb, b.CommittedTcb, b.LaunchTcb = 0, 0, 0, 0 // the test VLEK certifies TCB 0
	s := testSigner(t)
	r, err := Parse(extendedReport(t, signReport(t, b)))
	if err != nil {
		t.Fatal(err)
	}
	if r.SigningKey() != "VLEK" {
		t.Fatalf("signing key %s", r.SigningKey())
	}
	res, _ := r.Verify(&Options{Expect: Expectations{Measurement: m}, Roots: &Roots{ASK: s.Asvk, ARK: s.Ark}})
	if !res.OK {
		t.Fatalf("VLEK report: %+v", res.Checks)
	}
	if !strings.Contains(res.Checks[2].Expected, "VLEK ← ASVK ← ARK") {
		t.Errorf("chain row %+v", res.Checks[2])
	}
	// AMD's built-in VLEK roots do not certify the test VLEK.
	res, _ = r.Verify(&Options{})
	if failedNames(res) != "certificate chain" || !strings.Contains(res.Checks[1].Actual, "VLEK could not be verified by any trusted roots") {
		t.Errorf("built-in VLEK roots: %+v", res.Checks)
	}
}

// certTable builds an extended report's certificate table holding the given
// entries (GUID string, data), in order.
func certTable(entries ...any) []byte {
	n := len(entries) / 2
	hdr := make([]byte, (n+1)*certTableEntrySize)
	var data []byte
	for i := 0; i < n; i++ {
		g := uuid.MustParse(entries[2*i].(string))
		d := entries[2*i+1].([]byte)
		e := hdr[i*certTableEntrySize:]
		copy(e, g[:])
		binary.LittleEndian.PutUint32(e[16:], uint32(len(hdr)+len(data)))
		binary.LittleEndian.PutUint32(e[20:], uint32(len(d)))
		data = append(data, d...)
	}
	return append(hdr, data...)
}

// TestVerifyVLEKReportWithOnlyVCEK is a regression test: a report whose
// SIGNING_KEY is the VLEK, with a certificate table holding only a VCEK,
// used to verify as OK with zero checks (the VCEK in the table made the
// command line look like it checked the signature).
func TestVerifyVLEKReportWithOnlyVCEK(t *testing.T) {
	m := mustHex(t, vectorMeasurement)
	b := baseReport(m)
	b.SignerInfo = abi.ComposeSignerInfo(abi.SignerInfo{SigningKey: abi.VlekReportSigner})
	raw, err := abi.ReportToAbiBytes(b) // not even signed
	if err != nil {
		t.Fatal(err)
	}
	ext := append(raw, certTable(abi.VcekGUID, testSigner(t).Vcek.Raw)...)
	r, err := Parse(ext)
	if err != nil {
		t.Fatal(err)
	}
	if r.Cert(CertVCEK) == nil || r.Cert(CertVLEK) != nil {
		t.Fatalf("table: %s", r.Summary())
	}
	res, err := r.Verify(&Options{Roots: testRoots(t)})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK || len(res.Checks) != 0 {
		t.Errorf("VLEK-signed report with only a VCEK: OK %v, checks %+v", res.OK, res.Checks)
	}
	err = res.Err()
	if !errors.Is(err, ErrNothingChecked) || !strings.Contains(err.Error(), "no VLEK certificate given and none in the report's certificate table") {
		t.Errorf("Err() = %v", err)
	}
}
