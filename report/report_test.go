package report

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	realReport = "testdata/milan-attestation.bin"
	realVCEK   = "testdata/milan-vcek.der"
	// realMeasurement is the MEASUREMENT of realReport.
	realMeasurement = "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01"
	// vectorMeasurement is snpmeasure's digest for conformance vector
	// S-snp-amdsev-kernel-EPYC-Milan (sid-OVMF.amdsev.fd, 4 vCPUs, kernel,
	// initrd and command line).
	vectorMeasurement = "b8cafa5bddc1d238c3e312427508fc1a6b5bc301f9d7839282f99b20a206db8f9ad44c8d461b56bcf256f05a325e1ab2"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readTestFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseRealReport(t *testing.T) {
	r, err := ReadFile(realReport, FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	if r.Format != FormatBinary {
		t.Errorf("format %v, want bin", r.Format)
	}
	if got := hex.EncodeToString(r.Measurement()); got != realMeasurement {
		t.Errorf("measurement %s, want %s", got, realMeasurement)
	}
	if v := r.Proto.GetVersion(); v != 2 {
		t.Errorf("version %d, want 2", v)
	}
	if v := r.Proto.GetVmpl(); v != 0 {
		t.Errorf("VMPL %d, want 0", v)
	}
	if got := r.Proto.GetReportData()[:5]; hex.EncodeToString(got) != "0102030405" {
		t.Errorf("report data starts %x", got)
	}
	if r.SigningKey() != "VCEK" || len(r.Certs) != 0 {
		t.Errorf("signing key %s, %d certs", r.SigningKey(), len(r.Certs))
	}
	if s := r.Summary(); !strings.Contains(s, "version 2, VMPL 0, policy 0xb0000") {
		t.Errorf("summary %q", s)
	}
}

// TestRealReportSignature verifies the real Milan report offline against
// AMD's built-in Milan roots.
func TestRealReportSignature(t *testing.T) {
	r, err := ReadFile(realReport, FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	vcek, err := ReadCertificate(realVCEK)
	if err != nil {
		t.Fatal(err)
	}
	var rd [64]byte
	copy(rd[:], []byte{1, 2, 3, 4, 5})
	vmpl := uint32(0)
	res, err := r.Verify(&Options{
		Expect:      Expectations{Measurement: mustHex(t, realMeasurement), ReportData: rd[:], VMPL: &vmpl},
		Endorsement: vcek, EndorsementSource: "milan-vcek.der",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK {
		t.Fatalf("real report did not verify: %+v", res.Checks)
	}
	names := checkNames(res.Checks)
	if want := "measurement,report-data,vmpl,signature,certificate chain,go-sev-guest validate"; names != want {
		t.Errorf("checks %s, want %s", names, want)
	}
	for _, c := range res.Checks {
		if c.Name == CheckChain && !strings.Contains(c.Expected, "built-in Milan roots") {
			t.Errorf("chain row %q does not name the built-in Milan roots", c.Expected)
		}
	}
	if len(res.NotChecked) != 0 {
		t.Errorf("not checked: %q", res.NotChecked)
	}

	// --product Milan is accepted, Genoa is not.
	res, _ = r.Verify(&Options{Endorsement: vcek, Product: "milan"})
	if !res.OK {
		t.Errorf("with product milan: %+v", res.Checks)
	}
	res, _ = r.Verify(&Options{Endorsement: vcek, Product: "Genoa"})
	if res.OK {
		t.Errorf("with product Genoa: verified, want a chain failure")
	}
	// A flipped bit in the signed part breaks the signature.
	bad := append([]byte(nil), r.Raw...)
	bad[OffMeasurement] ^= 1
	r2, err := Parse(bad)
	if err != nil {
		t.Fatal(err)
	}
	res, _ = r2.Verify(&Options{Endorsement: vcek})
	if res.OK || failedNames(res) != "signature" {
		t.Errorf("tampered real report: failed %q, want only the signature (the chain is intact)", failedNames(res))
	}
}

func checkNames(cs []Check) string {
	n := make([]string, len(cs))
	for i, c := range cs {
		n[i] = c.Name
	}
	return strings.Join(n, ",")
}

func failedNames(r *Result) string { return checkNames(r.Failed()) }

func TestFormats(t *testing.T) {
	raw := readTestFile(t, realReport)
	h := hex.EncodeToString(raw)
	b64 := base64.StdEncoding.EncodeToString(raw)
	wrap := func(s string, n int) string {
		var b strings.Builder
		for i := 0; i < len(s); i += n {
			b.WriteString(s[i:min(i+n, len(s))])
			b.WriteByte('\n')
		}
		return b.String()
	}
	tests := []struct {
		name string
		in   string
		f    Format
		want Format
	}{
		{"binary", string(raw), FormatAuto, FormatBinary},
		{"hex", h, FormatAuto, FormatHex},
		{"hex upper 0x newline", "0x" + strings.ToUpper(h) + "\n", FormatAuto, FormatHex},
		{"hex xxd -p", wrap(h, 60), FormatAuto, FormatHex},
		{"base64", b64, FormatAuto, FormatBase64},
		{"base64 wrapped", wrap(b64, 76), FormatAuto, FormatBase64},
		{"base64 raw url", base64.RawURLEncoding.EncodeToString(raw), FormatAuto, FormatBase64},
		{"forced hex", h, FormatHex, FormatHex},
		{"forced base64", b64, FormatBase64, FormatBase64},
		{"forced bin", string(raw), FormatBinary, FormatBinary},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseEncoded([]byte(tc.in), tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if r.Format != tc.want {
				t.Errorf("format %v, want %v", r.Format, tc.want)
			}
			if hex.EncodeToString(r.Measurement()) != realMeasurement {
				t.Errorf("wrong measurement")
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	raw := readTestFile(t, realReport)
	h := hex.EncodeToString(raw)
	badPolicy := append([]byte(nil), raw...)
	binary.LittleEndian.PutUint64(badPolicy[OffPolicy:], 0) // reserved bit 17 must be 1
	badMBZ := append([]byte(nil), raw...)
	badMBZ[0x4c] = 1
	version := func(v uint32) []byte {
		b := append([]byte(nil), raw...)
		binary.LittleEndian.PutUint32(b[OffVersion:], v)
		return b
	}
	table := func(entries ...[]byte) []byte {
		out := append([]byte(nil), raw...)
		for _, e := range entries {
			out = append(out, e...)
		}
		return out
	}
	entry := func(guid byte, off, n uint32) []byte {
		e := make([]byte, 24)
		e[0] = guid
		binary.LittleEndian.PutUint32(e[16:], off)
		binary.LittleEndian.PutUint32(e[20:], n)
		return e
	}
	tests := []struct {
		name string
		in   []byte
		f    Format
		want string
	}{
		{"short binary", raw[:1000], FormatAuto, "1000 bytes, want at least 1184"},
		{"short hex", []byte(h[:1000]), FormatAuto, "hex: 500 bytes, want at least 1184"},
		{"odd hex", []byte(h[:2367]), FormatAuto, "hex: odd number of hex digits (2367)"},
		{"text", []byte("hello, world"), FormatAuto, "12 bytes of text, neither hex nor base64: offset 5: byte ',' is not a base64 character"},
		{"forced hex on binary", raw, FormatHex, "hex: offset 0: byte '\\x02' is not a hex digit"},
		{"forced base64 garbage", []byte("AAAA!"), FormatBase64, "base64: offset 4: byte '!' is not a base64 character"},
		{"policy", badPolicy, FormatAuto, "offset 0x8: not a valid SEV-SNP attestation report: malformed guest policy"},
		{"mbz", badMBZ, FormatAuto, "mbz range [0x4c:0x50] not all zero"},
		// Regression: go-sev-guest's parser reads any VERSION with the
		// version 2+ layout; fields of unknown layouts must not be compared.
		{"version 0", version(0), FormatAuto, "offset 0x0: not a supported SEV-SNP attestation report: VERSION 0, want 2 to 5"},
		{"version 1", version(1), FormatAuto, "VERSION 1, want 2 to 5"},
		{"version 6", version(6), FormatAuto, "VERSION 6, want 2 to 5"},
		{"version 0x30303030", version(0x30303030), FormatBinary, "VERSION 808464432"},
		{"cut table", table([]byte{1, 2, 3}), FormatAuto, "offset 0x4a0: certificate table: entry 0 is cut short (3 bytes, want 24)"},
		{"table outside", table(entry(1, 48, 100), make([]byte, 24)), FormatAuto, "offset 0x4a0: certificate table: entry 0 (GUID"},
		{"table overflow", table(entry(1, 0xffffffff, 0xffffffff), make([]byte, 24)), FormatAuto, "outside the 48-byte table data"},
		{"table into header", table(entry(1, 0, 8), make([]byte, 24)), FormatAuto, "points at bytes 0x0-0x8"},
		// Hex with a stray character decodes as base64 too: name the character.
		{"hex with a typo", []byte(h[:100] + "z" + h[101:]), FormatAuto, "2368 bytes of text, not hex (offset 100: byte 'z' is not a hex digit), and as base64: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseEncoded(tc.in, tc.f)
			if err == nil {
				t.Fatalf("parsed; want error %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error has several lines: %q", err)
			}
		})
	}
	var tooShort *TooShortError
	if _, err := Parse(raw[:10]); !errors.As(err, &tooShort) || tooShort.Len != 10 {
		t.Errorf("short input: %v, want a *TooShortError", err)
	}
}

func TestParseTrailingZeros(t *testing.T) {
	raw := readTestFile(t, realReport)
	for _, n := range []int{1, 23, 24, 4096} {
		r, err := Parse(append(append([]byte(nil), raw...), make([]byte, n)...))
		if err != nil {
			t.Errorf("%d zero bytes after the report: %v", n, err)
		} else if len(r.Certs) != 0 {
			t.Errorf("%d zero bytes: %d certs", n, len(r.Certs))
		}
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.bin")
	os.WriteFile(empty, nil, 0o644)
	big := filepath.Join(dir, "big.bin")
	os.WriteFile(big, make([]byte, MaxFileSize+1), 0o644)
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.bin"), "missing.bin: no such file or directory"},
		{empty, "empty.bin: empty file"},
		{big, "big.bin: larger than 1048576 bytes"},
		{dir, ": is a directory"},
	} {
		_, err := ReadFile(tc.path, FormatAuto)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadFile(%s) = %v, want %q", tc.path, err, tc.want)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"bin": FormatBinary, "BINARY": FormatBinary, "hex": FormatHex, "base64": FormatBase64, "": FormatAuto} {
		if f, err := ParseFormat(in); err != nil || f != want {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v", in, f, err, want)
		}
		if f, _ := ParseFormat(want.String()); f != want {
			t.Errorf("%v does not round-trip", want)
		}
	}
	if _, err := ParseFormat("pem"); err == nil {
		t.Error("ParseFormat(pem) succeeded")
	}
}

func TestParseTCB(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		err  bool
	}{
		{"0x4405000000000002", 0x4405000000000002, false},
		{"4", 4, false},
		{"bl=2,tee=0,snp=5,ucode=68", 0x4405000000000002, false},
		{"ucode=0x44, snp=5, bl=2", 0x4405000000000002, false},
		{"bl=2,bl=3", 0, true},
		{"fmc=1", 0, true},
		{"bl=256", 0, true},
		{"zz", 0, true},
		{"", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseTCB(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseTCB(%q) = %#x, %v; want %#x, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
	if s := FormatTCB(0x4405000000000002); s != "0x4405000000000002 (bl=2,tee=0,snp=5,ucode=68)" {
		t.Errorf("FormatTCB = %q", s)
	}
}

func TestNormalizeProduct(t *testing.T) {
	if p, err := NormalizeProduct("genoa"); err != nil || p != "Genoa" {
		t.Errorf("NormalizeProduct(genoa) = %q, %v", p, err)
	}
	if _, err := NormalizeProduct("Naples"); err == nil {
		t.Error("Naples accepted")
	}
}
