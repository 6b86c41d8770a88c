package report

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/google/go-sev-guest/abi"
)

// FuzzParseReport feeds arbitrary bytes through format detection and
// parsing, in every format. Nothing may panic; a parsed report must have
// Size raw bytes and re-parse to the same report.
func FuzzParseReport(f *testing.F) {
	raw, err := readSeed("testdata/milan-attestation.bin")
	if err != nil {
		f.Fatal(err)
	}
	h := hex.EncodeToString(raw)
	b64 := base64.StdEncoding.EncodeToString(raw)
	f.Add(raw, uint8(FormatAuto))
	f.Add([]byte(h), uint8(FormatAuto))
	f.Add([]byte("0x"+strings.ToUpper(h)+"\n"), uint8(FormatHex))
	f.Add([]byte(b64), uint8(FormatAuto))
	f.Add([]byte(base64.RawURLEncoding.EncodeToString(raw)), uint8(FormatBase64))
	f.Add(raw[:100], uint8(FormatAuto))
	f.Add([]byte{}, uint8(FormatBinary))
	// An extended report whose certificate table points past its end.
	ext := append(bytes.Clone(raw), make([]byte, 48)...)
	copy(ext[Size:], bytes.Repeat([]byte{1}, 16))
	ext[Size+16], ext[Size+20] = 0xff, 0xff
	f.Add(ext, uint8(FormatAuto))
	f.Fuzz(func(t *testing.T, data []byte, format uint8) {
		fm := Format(format % 4)
		Detect(data)
		r, err := ParseEncoded(data, fm)
		if err != nil {
			if r != nil {
				t.Fatal("report and error")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if len(r.Raw) != Size || r.Proto == nil {
			t.Fatalf("parsed report has %d raw bytes", len(r.Raw))
		}
		for _, c := range r.Certs {
			_ = c.Data[:len(c.Data)]
		}
		r.Summary()
		r.CheckFields(&Expectations{Measurement: make([]byte, 48)})
		again, err := Parse(r.Raw)
		if err != nil || !bytes.Equal(again.Raw, r.Raw) {
			t.Fatalf("re-parse: %v", err)
		}
	})
}

func readSeed(path string) ([]byte, error) { return readLimited(path, MaxFileSize) }

// FuzzVerifyCertTable verifies a signed report followed by an arbitrary
// certificate table, with the report signed by the VCEK, the VLEK or
// nobody: nothing may panic, nothing may be fetched (the test transport
// panics), and a table's certificates never verify against AMD's built-in
// roots (they do not certify the test chain).
func FuzzVerifyCertTable(f *testing.F) {
	s := testSigner(f)
	table, err := s.CertTableBytes()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(table, uint8(0))
	f.Add(table, uint8(1))
	f.Add(certTable(abi.VcekGUID, s.Vcek.Raw), uint8(0))
	f.Add(certTable(abi.VcekGUID, s.Vcek.Raw), uint8(1))
	f.Add(certTable(abi.VlekGUID, s.Vcek.Raw, abi.VcekGUID, []byte{0x30, 0x03, 0x02, 0x01, 0x01}), uint8(1))
	f.Add(certTable(abi.VcekGUID, s.Ark.Raw, abi.AskGUID, s.Vcek.Raw), uint8(7))
	m := make([]byte, 48)
	signed := map[uint8][]byte{}
	for _, key := range []abi.ReportSigner{abi.VcekReportSigner, abi.VlekReportSigner, abi.NoneReportSigner} {
		b := baseReport(m)
		b.SignerInfo = abi.ComposeSignerInfo(abi.SignerInfo{SigningKey: key})
		if key == abi.NoneReportSigner { // the test signer has no key for it
			raw, err := abi.ReportToAbiBytes(b)
			if err != nil {
				f.Fatal(err)
			}
			signed[uint8(key)] = raw
			continue
		}
		signed[uint8(key)] = signReport(f, b)
	}
	f.Fuzz(func(t *testing.T, table []byte, key uint8) {
		raw := signed[[]uint8{0, 1, 7}[int(key)%3]]
		r, err := Parse(append(bytes.Clone(raw), table...))
		if err != nil {
			return
		}
		res, err := r.Verify(&Options{Expect: Expectations{Measurement: m}})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range res.Checks {
			if c.Name == CheckChain && c.OK {
				t.Fatalf("chain verified against AMD's roots with table %s: %+v", r.Summary(), res.Checks)
			}
		}
		res, err = r.Verify(&Options{Roots: testRoots(t)})
		if err != nil {
			t.Fatal(err)
		}
		if res.OK != (len(res.Checks) > 0 && len(res.Failed()) == 0) {
			t.Fatalf("OK %v with checks %+v", res.OK, res.Checks)
		}
		_ = res.Err()
	})
}

// FuzzParseCertificates feeds arbitrary DER or PEM to the certificate
// readers and Classify: errors, never panics.
func FuzzParseCertificates(f *testing.F) {
	s := testSigner(f)
	var pemData []byte
	for _, c := range [][]byte{s.Ask.Raw, s.Ark.Raw, s.Vcek.Raw} {
		pemData = append(pemData, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c})...)
	}
	f.Add(pemData)
	f.Add(s.Vcek.Raw)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := ParseCertificates(data)
		if err != nil {
			if certs != nil {
				t.Fatal("certificates and error")
			}
			return
		}
		if len(certs) == 0 {
			t.Fatal("no certificates and no error")
		}
		Classify(certs)
	})
}
