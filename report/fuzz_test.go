package report_test

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/snpmeasure/snpmeasure/report"
	"github.com/snpmeasure/snpmeasure/report/reporttest"
)

// FuzzParseReport feeds arbitrary bytes through format detection and
// parsing, in every format. Nothing may panic; a parsed report must have
// Size raw bytes, re-parse to the same report, and survive display and
// verification (which must fail: nothing here is signed by AMD).
func FuzzParseReport(f *testing.F) {
	for _, name := range []string{"testdata/genuine/go-sev-guest/attestation.bin", "testdata/genuine/oak/turin_oc_evidence.report.bin"} {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw, uint8(report.FormatAuto))
		f.Add([]byte(hex.EncodeToString(raw)), uint8(report.FormatAuto))
		f.Add([]byte(base64.StdEncoding.EncodeToString(raw)), uint8(report.FormatAuto))
	}
	aux, err := os.ReadFile("testdata/genuine/veraison-tsm-genoa/auxblob.bin")
	if err != nil {
		f.Fatal(err)
	}
	rep, _ := os.ReadFile("testdata/genuine/veraison-tsm-genoa/report.bin")
	f.Add(append(bytes.Clone(rep), aux...), uint8(report.FormatBinary))
	f.Add([]byte{}, uint8(report.FormatBinary))
	f.Add(append([]byte("HCLA"), make([]byte, 1300)...), uint8(report.FormatAuto))
	f.Fuzz(func(t *testing.T, data []byte, format uint8) {
		r, err := report.ParseEncoded(data, report.Format(format%4))
		if err != nil {
			if r != nil {
				t.Fatal("report and error")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if len(r.Raw) != report.Size {
			t.Fatalf("parsed report has %d raw bytes", len(r.Raw))
		}
		for _, p := range append([]report.Product{report.ProductUnknown}, report.Products()...) {
			r.Fields(p)
		}
		r.Summary()
		if res := r.Verify(nil); res.OK && len(r.Certs) == 0 {
			t.Fatalf("verified without any certificate: %+v", res.Checks)
		}
		again, err := report.Parse(r.Raw)
		if err != nil || !bytes.Equal(again.Raw, r.Raw) {
			t.Fatalf("re-parse: %v", err)
		}
	})
}

// FuzzVerifyCertTable verifies a signed test report followed by an
// arbitrary certificate table, with the report's SIGNING_KEY VCEK, VLEK or
// None: nothing may panic, nothing is fetched (the test transport panics),
// and nothing verifies against AMD's built-in roots (they do not certify the
// test keys).
func FuzzVerifyCertTable(f *testing.F) {
	p := reporttest.NewPKI(f, reporttest.Options{})
	f.Add(p.StandardTable(), uint8(0))
	f.Add(p.StandardTable(), uint8(1))
	f.Add(reporttest.Table(reporttest.Entry{GUID: reporttest.GUIDVLEK, Data: p.VLEK.Raw}, reporttest.Entry{GUID: reporttest.GUIDASK, Data: p.ASVK.Raw}), uint8(1))
	f.Add(reporttest.Table(reporttest.Entry{GUID: reporttest.GUIDVCEK, Data: reporttest.PEM(p.VCEK)}), uint8(0))
	f.Add(reporttest.Table(reporttest.Entry{GUID: reporttest.GUIDVCEK, Data: p.ARK.Raw}, reporttest.Entry{GUID: reporttest.GUIDASK, Data: p.VCEK.Raw}), uint8(2))
	signed := map[uint8][]byte{}
	for i, key := range []report.SigningKey{report.SigningKeyVCEK, report.SigningKeyVLEK, report.SigningKeyNone} {
		b := reporttest.NewReport(reporttest.Fields{SigningKey: key})
		switch key {
		case report.SigningKeyVCEK:
			b = reporttest.Sign(f, b, p.VCEKKey)
		case report.SigningKeyVLEK:
			b = reporttest.Sign(f, b, p.VLEKKey)
		}
		signed[uint8(i)] = b
	}
	roots := []*x509.Certificate{p.ARK}
	f.Fuzz(func(t *testing.T, table []byte, key uint8) {
		r, err := report.Parse(append(bytes.Clone(signed[key%3]), table...))
		if err != nil {
			return
		}
		if res := r.Verify(nil); res.OK {
			t.Fatalf("verified against AMD's roots with table %s: %+v", r.Summary(), res.Checks)
		}
		res := r.Verify(&report.Options{Trust: report.TrustOptions{Roots: roots}})
		if res.OK && key%3 == 2 {
			t.Fatalf("an unsigned report verified: %+v", res.Checks)
		}
		_ = res.Err()
	})
}

// FuzzParseCertificates feeds arbitrary DER, PEM or JSON to the
// certificate reader and the KDS extension parser: errors, never panics.
func FuzzParseCertificates(f *testing.F) {
	p := reporttest.NewPKI(f, reporttest.Options{Product: report.Turin})
	f.Add(reporttest.PEM(p.VCEK, p.ASK, p.ARK))
	f.Add(p.VCEK.Raw)
	f.Add(append(bytes.Clone(p.VLEK.Raw), p.ASVK.Raw...))
	f.Add([]byte(`{"vcekCert":"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"}`))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := report.ParseCertificates(data)
		if err != nil {
			if certs != nil {
				t.Fatal("certificates and error")
			}
			return
		}
		if len(certs) == 0 {
			t.Fatal("no certificates and no error")
		}
		for _, c := range certs {
			report.RoleOf(c)
			if ext, err := report.ParseKDSExtensions(c); err == nil {
				for _, p := range report.Products() {
					ext.TCBParts(p)
				}
			}
		}
	})
}

// FuzzParseCRL: arbitrary bytes are a CRL or an error.
func FuzzParseCRL(f *testing.F) {
	f.Add([]byte("-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n"))
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		if crl, err := report.ParseCRL(data); (crl == nil) == (err == nil) {
			t.Fatalf("CRL %v and error %v", crl, err)
		}
	})
}

// FuzzParseTCBMinimum: the --min-tcb parser accepts or refuses, and what it
// accepts resolves for every product or says why not.
func FuzzParseTCBMinimum(f *testing.F) {
	for _, s := range []string{"0x7308000000000003", "bl=3,tee=0,snp=8,ucode=115", "fmc=1", "bl=256", "smt=0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := report.ParseTCBMinimum(s)
		if err != nil {
			return
		}
		for _, p := range report.Products() {
			if parts, err := m.Resolve(p); err == nil {
				parts.Format(p)
			}
		}
		report.ParsePlatformInfoRequirement(s)
	})
}
