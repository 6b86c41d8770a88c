package report

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-sev-guest/abi"
)

const (
	realReport = "testdata/genuine/go-sev-guest/attestation.bin"
	// realMeasurement is the MEASUREMENT of realReport.
	realMeasurement = "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01"
)

func TestParseRealReport(t *testing.T) {
	r, err := ReadFile(realReport, FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	if r.Format != FormatBinary || r.Container != "" {
		t.Errorf("format %v container %q", r.Format, r.Container)
	}
	if got := hex.EncodeToString(r.Measurement[:]); got != realMeasurement {
		t.Errorf("measurement %s, want %s", got, realMeasurement)
	}
	if r.Version != 2 || r.VMPL != 0 || r.CPUID != nil || r.LaunchMitVector != nil {
		t.Errorf("version %d VMPL %d CPUID %v mit %v", r.Version, r.VMPL, r.CPUID, r.LaunchMitVector)
	}
	if got := hex.EncodeToString(r.ReportData[:5]); got != "0102030405" {
		t.Errorf("report data starts %s", got)
	}
	if r.SignerInfo.SigningKey() != SigningKeyVCEK || len(r.Certs) != 0 {
		t.Errorf("signing key %s, %d certs", r.SignerInfo.SigningKey(), len(r.Certs))
	}
	if !r.Policy.Debug() || r.Policy.MigrateMA() || !r.Policy.Has(16) {
		t.Errorf("policy %#x decoded wrongly", uint64(r.Policy))
	}
	if s := r.Summary(); s != "version 2, VMPL 0, policy 0xb0000, SIGNING_KEY VCEK" {
		t.Errorf("summary %q", s)
	}
}

// TestParseVersions checks what each version adds: CPUID from 3, the
// mitigation vectors from 5, at their offsets; the reserved ranges follow.
func TestParseVersions(t *testing.T) {
	raw := make([]byte, Size)
	for i := range raw {
		raw[i] = byte(i)
	}
	for _, tc := range []struct {
		version  uint32
		cpuid    bool
		mit      bool
		reserved string
	}{
		{2, false, false, "0x4c-0x50 0x188-0x1a0 0x1eb-0x1ec 0x1ef-0x1f0 0x1f8-0x2a0 0x330-0x4a0"},
		{3, true, false, "0x4c-0x50 0x18b-0x1a0 0x1eb-0x1ec 0x1ef-0x1f0 0x1f8-0x2a0 0x330-0x4a0"},
		{4, true, false, "0x4c-0x50 0x18b-0x1a0 0x1eb-0x1ec 0x1ef-0x1f0 0x1f8-0x2a0 0x330-0x4a0"},
		{5, true, true, "0x4c-0x50 0x18b-0x1a0 0x1eb-0x1ec 0x1ef-0x1f0 0x208-0x2a0 0x330-0x4a0"},
	} {
		b := bytes.Clone(raw)
		binary.LittleEndian.PutUint32(b, tc.version)
		r, err := Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		if (r.CPUID != nil) != tc.cpuid || (r.LaunchMitVector != nil) != tc.mit {
			t.Errorf("VERSION %d: CPUID %v, mitigation vectors %v", tc.version, r.CPUID, r.LaunchMitVector)
		}
		if tc.cpuid && (*r.CPUID != CPUID{Family: 0x88, Model: 0x89, Stepping: 0x8a}) {
			t.Errorf("VERSION %d: CPUID %+v", tc.version, *r.CPUID)
		}
		if tc.mit && (*r.LaunchMitVector != binary.LittleEndian.Uint64(raw[0x1f8:]) || *r.CurrentMitVector != binary.LittleEndian.Uint64(raw[0x200:])) {
			t.Errorf("VERSION %d: mitigation vectors %#x %#x", tc.version, *r.LaunchMitVector, *r.CurrentMitVector)
		}
		var got []string
		for _, rg := range r.NonZeroReserved() {
			got = append(got, fmt.Sprintf("%#x-%#x", rg.Lo, rg.Hi))
		}
		if strings.Join(got, " ") != tc.reserved {
			t.Errorf("VERSION %d: reserved ranges %v, want %s", tc.version, got, tc.reserved)
		}
		// Fields at their ABI offsets.
		le := binary.LittleEndian
		if r.GuestSVN != le.Uint32(raw[0x4:]) || uint64(r.Policy) != le.Uint64(raw[0x8:]) || r.VMPL != le.Uint32(raw[0x30:]) ||
			uint64(r.CurrentTCB) != le.Uint64(raw[0x38:]) || uint64(r.ReportedTCB) != le.Uint64(raw[0x180:]) ||
			uint64(r.CommittedTCB) != le.Uint64(raw[0x1e0:]) || uint64(r.LaunchTCB) != le.Uint64(raw[0x1f0:]) ||
			r.CurrentVersion != (FirmwareVersion{Major: 0xea, Minor: 0xe9, Build: 0xe8}) ||
			r.CommittedVersion != (FirmwareVersion{Major: 0xee, Minor: 0xed, Build: 0xec}) ||
			r.ChipID[0] != 0xa0 || r.Measurement[0] != 0x90 || r.HostData[0] != 0xc0 || r.SignatureS[0] != 0xe8 {
			t.Errorf("VERSION %d: a field is not at its offset: %+v", tc.version, r)
		}
	}
}

// TestParseMatchesGoSevGuestSynthetic compares with go-sev-guest on a
// report where every byte differs (VERSION 3, reserved bytes cleared).
func TestParseMatchesGoSevGuestSynthetic(t *testing.T) {
	raw := make([]byte, Size)
	for i := range raw {
		raw[i] = byte(i*7 + 3)
	}
	binary.LittleEndian.PutUint32(raw, 3)
	binary.LittleEndian.PutUint64(raw[OffPolicy:], 0x30000|0x1234)
	binary.LittleEndian.PutUint32(raw[OffSignatureAlgo:], 1)
	binary.LittleEndian.PutUint32(raw[OffSignerInfo:], 1<<2|1)
	raw[OffCPUIDStepping] = 2 // CPUID steppings have 4 bits, as go-sev-guest keeps them
	for _, rg := range reservedRanges(3) {
		clear(raw[rg.Lo:rg.Hi])
	}
	clear(raw[OffSignatureR+48 : OffSignatureS])
	clear(raw[OffSignatureS+48 : OffSignatureReserved])
	r, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	p, err := abi.ReportToProto(raw)
	if err != nil {
		t.Fatal(err)
	}
	compareProto(t, r, p)
}

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
	rsp := append(make([]byte, 0x20), raw...) // MSG_REPORT_RSP: STATUS 0, REPORT_SIZE
	binary.LittleEndian.PutUint32(rsp[4:], Size)
	rsp = append(rsp, make([]byte, 4000-len(rsp))...)
	hcl := append(append([]byte("HCLA"), make([]byte, 28)...), raw...) // Azure HCL report
	hcl = append(hcl, []byte(`{"keys":[]}`)...)
	tests := []struct {
		name      string
		in        string
		f         Format
		want      Format
		container string
	}{
		{"binary", string(raw), FormatAuto, FormatBinary, ""},
		{"hex", h, FormatAuto, FormatHex, ""},
		{"hex upper 0x newline", "0x" + strings.ToUpper(h) + "\n", FormatAuto, FormatHex, ""},
		{"hex xxd -p", wrap(h, 60), FormatAuto, FormatHex, ""},
		{"base64", b64, FormatAuto, FormatBase64, ""},
		{"base64 wrapped", wrap(b64, 76), FormatAuto, FormatBase64, ""},
		{"base64 raw url", base64.RawURLEncoding.EncodeToString(raw), FormatAuto, FormatBase64, ""},
		{"forced hex", h, FormatHex, FormatHex, ""},
		{"forced base64", b64, FormatBase64, FormatBase64, ""},
		{"forced bin", string(raw), FormatBinary, FormatBinary, ""},
		{"MSG_REPORT_RSP", string(rsp), FormatAuto, FormatBinary, "MSG_REPORT_RSP"},
		{"MSG_REPORT_RSP base64", base64.StdEncoding.EncodeToString(rsp), FormatAuto, FormatBase64, "MSG_REPORT_RSP"},
		{"Azure HCL report", string(hcl), FormatAuto, FormatBinary, "Azure HCL report"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseEncoded([]byte(tc.in), tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if r.Format != tc.want || r.Container != tc.container {
				t.Errorf("format %v container %q, want %v %q", r.Format, r.Container, tc.want, tc.container)
			}
			if hex.EncodeToString(r.Measurement[:]) != realMeasurement || !bytes.Equal(r.Raw, raw) {
				t.Errorf("wrong report")
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	raw := readTestFile(t, realReport)
	h := hex.EncodeToString(raw)
	version := func(v uint32) []byte {
		b := bytes.Clone(raw)
		binary.LittleEndian.PutUint32(b[OffVersion:], v)
		return b
	}
	table := func(entries ...[]byte) []byte {
		out := bytes.Clone(raw)
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
	vcek := GUID{0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd}
	vcekEntry := func(off, n uint32) []byte {
		e := entry(0, off, n)
		copy(e, vcek[:])
		return e
	}
	data := bytes.Repeat([]byte{0x30}, 100)
	tests := []struct {
		name   string
		in     []byte
		f      Format
		want   string
		offset int // of the *ParseError, or -2 for no ParseError
	}{
		{"short binary", raw[:1000], FormatAuto, "1000 bytes, want at least 1184", -1},
		{"empty", nil, FormatBinary, "0 bytes, want at least 1184", -1},
		{"short hex", []byte(h[:1000]), FormatAuto, "hex: 500 bytes, want at least 1184", -1},
		{"odd hex", []byte(h[:2367]), FormatAuto, "hex: odd number of hex digits (2367)", -2},
		{"text", []byte("hello, world"), FormatAuto, "12 bytes of text, neither hex nor base64: offset 5: byte ',' is not a base64 character", -2},
		{"forced hex on binary", raw, FormatHex, "hex: offset 0: byte '\\x02' is not a hex digit", -2},
		{"forced base64 garbage", []byte("AAAA!"), FormatBase64, "base64: offset 4: byte '!' is not a base64 character", -2},
		// Regression: a VERSION whose layout is unknown is not read.
		{"version 0", version(0), FormatAuto, "offset 0x0: not a supported SEV-SNP attestation report: VERSION 0, want 2 to 5", 0},
		{"version 1", version(1), FormatAuto, "VERSION 1, want 2 to 5", 0},
		{"version 6", version(6), FormatAuto, "VERSION 6, want 2 to 5", 0},
		{"version 0x30303030", version(0x30303030), FormatBinary, "VERSION 808464432", 0},
		{"HCL report cut short", append([]byte("HCLA"), make([]byte, 100)...), FormatAuto, "Azure HCL report of 104 bytes", -1},
		{"cut table", table([]byte{1, 2, 3}), FormatAuto, "offset 0x4a0: certificate table: entry 0 is cut short (3 bytes, want 24)", 0x4a0},
		{"entry cut short after the first", table(vcekEntry(48, 1), []byte{1}), FormatAuto, "offset 0x4b8: certificate table: entry 1 is cut short", 0x4b8},
		{"table ends without a zero entry", table(vcekEntry(24, 1)), FormatAuto, "no all-zero entry ends the 1 entries", 0x4b8},
		{"table outside", table(entry(1, 48, 100), make([]byte, 24)), FormatAuto, "offset 0x4b0: certificate table: entry 0 (GUID 01000000-", 0x4b0},
		{"table overflow", table(entry(1, 0xffffffff, 0xffffffff), make([]byte, 24)), FormatAuto, "points at bytes 0xffffffff-0x1fffffffe", 0x4b0},
		{"table into the headers", table(entry(1, 0, 8), make([]byte, 24)), FormatAuto, "points at bytes 0x0-0x8", 0x4b0},
		{"entry data inside the terminator", table(vcekEntry(24, 8), make([]byte, 24)), FormatAuto, "outside the certificate data (bytes 0x30-0x30", 0x4b0},
		{"zero-length entry", table(vcekEntry(48, 0), make([]byte, 24)), FormatAuto, "offset 0x4b4: certificate table: entry 0 (VCEK) has length 0", 0x4b4},
		{"duplicate VCEK", table(vcekEntry(72, 50), vcekEntry(122, 50), make([]byte, 24), data), FormatAuto,
			"offset 0x4b8: certificate table: entry 1 repeats the VCEK of entry 0", 0x4b8},
		{"duplicate VCEK, one in EFI byte order", table(vcekEntry(72, 50), func() []byte {
			e := vcekEntry(122, 50)
			g := vcek.swapped()
			copy(e, g[:])
			return e
		}(), make([]byte, 24), data), FormatAuto, "repeats the VCEK of entry 0", 0x4b8},
		// Hex with a stray character decodes as base64 too: name the character.
		{"hex with a typo", []byte(h[:100] + "z" + h[101:]), FormatAuto, "2368 bytes of text, not hex (offset 100: byte 'z' is not a hex digit), and as base64: ", -2},
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
			var pe *ParseError
			switch {
			case tc.offset == -2:
			case !errors.As(err, &pe):
				t.Errorf("%v is not a *ParseError", err)
			case pe.Offset != tc.offset:
				t.Errorf("offset %#x, want %#x", pe.Offset, tc.offset)
			}
		})
	}
	var tooShort *TooShortError
	if _, err := Parse(raw[:10]); !errors.As(err, &tooShort) || tooShort.Len != 10 {
		t.Errorf("short input: %v, want a *TooShortError", err)
	}
}

// TestCertTableGUIDOrder: GUIDs in RFC 4122 order (what hosts, Linux and
// go-sev-guest write) and in EFI mixed-endian order are both recognised.
func TestCertTableGUIDOrder(t *testing.T) {
	raw := readTestFile(t, realReport)
	vcek := GUID{0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd}
	if vcek.String() != "63da758d-e664-4564-adc5-f4b93be8accd" {
		t.Fatalf("GUID %s", vcek)
	}
	for _, tc := range []struct {
		g     GUID
		mixed bool
	}{{vcek, false}, {vcek.swapped(), true}} {
		e := make([]byte, 48)
		copy(e, tc.g[:])
		binary.LittleEndian.PutUint32(e[16:], 48)
		binary.LittleEndian.PutUint32(e[20:], 3)
		r, err := Parse(append(append(bytes.Clone(raw), e...), 1, 2, 3))
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Certs) != 1 || r.Certs[0].Kind != CertVCEK || r.Certs[0].MixedEndian != tc.mixed || !bytes.Equal(r.Certs[0].Data, []byte{1, 2, 3}) {
			t.Errorf("%s: %+v", tc.g, r.Certs)
		}
		if r.Entry(CertVCEK) == nil || r.Entry(CertARK) != nil {
			t.Error("Entry")
		}
	}
}

func TestParseTrailingZeros(t *testing.T) {
	raw := readTestFile(t, realReport)
	for _, end := range []string{"\n", "\r\n", " \n"} {
		if r, err := Parse(append(bytes.Clone(raw), end...)); err != nil || len(r.Certs) != 0 {
			t.Errorf("report + %q: %v", end, err)
		}
	}
	if _, err := Parse(append(bytes.Clone(raw), "\nx"...)); err == nil {
		t.Error("report + a line end and text: parsed")
	}
	for _, n := range []int{1, 23, 24, 4096} {
		r, err := Parse(append(bytes.Clone(raw), make([]byte, n)...))
		if err != nil {
			t.Errorf("%d zero bytes after the report: %v", n, err)
		} else if len(r.Certs) != 0 {
			t.Errorf("%d zero bytes: %d certs", n, len(r.Certs))
		}
	}
}

func TestReadErrors(t *testing.T) {
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
	if _, err := Read(bytes.NewReader(make([]byte, MaxFileSize+1)), "standard input", FormatAuto); err == nil ||
		!strings.Contains(err.Error(), "standard input: larger than") {
		t.Errorf("Read of a huge input: %v", err)
	}
	r, err := Read(bytes.NewReader(readTestFile(t, realReport)), "standard input", FormatAuto)
	if err != nil || r.Version != 2 {
		t.Errorf("Read: %v", err)
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
