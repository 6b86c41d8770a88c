package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-sev-guest/abi"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
	sevtest "github.com/google/go-sev-guest/testing"
	"github.com/google/uuid"
)

var updateReports = flag.Bool("update-reports", false, "rewrite testdata/reports with freshly signed test reports")

// reportsDir holds the signed example reports of the README's "Checking a report".
const reportsDir = "testdata/reports"

var (
	reportSignerOnce sync.Once
	reportSigner     *sevtest.AmdSigner
	reportSignerErr  error
	reportSignMu     sync.Mutex // the test signer shares one math/rand source
)

// testReportSigner is go-sev-guest's test-only ARK → ASK → VCEK chain of a
// Milan-B1 chip (TCB 0, CHIP_ID masked to zero).
func testReportSigner(t testing.TB) *sevtest.AmdSigner {
	t.Helper()
	reportSignerOnce.Do(func() {
		reportSigner, reportSignerErr = sevtest.DefaultTestOnlyCertChain("Milan-B1", time.Now().Add(-time.Hour))
	})
	if reportSignerErr != nil {
		t.Fatalf("test signer: %v", reportSignerErr)
	}
	return reportSigner
}

// testReportFields are the fields of the reports the tests sign.
func testReportFields(measurement []byte) *spb.Report {
	fill := func(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }
	return &spb.Report{
		Version: 2, Policy: 0x30000, Vmpl: 0, SignatureAlgo: abi.SignEcdsaP384Sha384, PlatformInfo: 1,
		FamilyId: fill(16, 0x0f), ImageId: fill(16, 0x1d),
		ReportData: fill(64, 0xaa), Measurement: measurement, HostData: fill(32, 0x11),
		IdKeyDigest: fill(48, 0), AuthorKeyDigest: fill(48, 0),
		ReportId: fill(32, 0x22), ReportIdMa: fill(32, 0xff), ChipId: fill(64, 0),
		CurrentBuild: 21, CurrentMinor: 55, CurrentMajor: 1, CommittedBuild: 21, CommittedMinor: 55, CommittedMajor: 1,
		Signature: fill(512, 0),
	}
}

// signTestReport serialises and signs a report with the test VCEK.
func signTestReport(t testing.TB, r *spb.Report) []byte {
	t.Helper()
	raw, err := abi.ReportToAbiBytes(r)
	if err != nil {
		t.Fatal(err)
	}
	s := testReportSigner(t)
	reportSignMu.Lock()
	R, S, err := s.Sign(abi.SignedComponent(raw))
	reportSignMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if err := abi.SetSignature(R, S, raw); err != nil {
		t.Fatal(err)
	}
	return raw
}

func writeTestFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func pemCerts(ders ...[]byte) []byte {
	var b bytes.Buffer
	for _, d := range ders {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: d})
	}
	return b.Bytes()
}

// testInput returns the absolute path of a conformance input.
func testInput(t testing.TB, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(inputsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("conformance input: %v", err)
	}
	return p
}

// exampleMeasureFlags are the launch of the example report: conformance
// vector S-snp-amdsev-kernel-EPYC-Milan.
func exampleMeasureFlags(t testing.TB) []string {
	return []string{"--ovmf", testInput(t, "sid-OVMF.amdsev.fd"), "--vcpus", "4", "--vcpu-type", "EPYC-Milan",
		"--kernel", testInput(t, "synth-kernel-12345.bin"), "--initrd", testInput(t, "synth-initrd-5M.img"),
		"--append", "console=ttyS0 root=/dev/vda"}
}

// measureHex runs measure in process and returns the digest.
func measureHex(t testing.TB, args ...string) string {
	t.Helper()
	r := runInProcess(append([]string{"--mode", "snp"}, args...)...)
	if r.code != 0 {
		t.Fatalf("measure %q: exit %d: %s", args, r.code, r.stderr)
	}
	return strings.TrimSpace(r.stdout)
}

// verifyFixture is a signed report with its certificates on disk.
type verifyFixture struct {
	dir, report, vcek, ask, ark, chain, chainWithVCEK, extended string
	measurement                                                 string
	raw                                                         []byte
}

func newVerifyFixture(t testing.TB) *verifyFixture {
	t.Helper()
	m := measureHex(t, exampleMeasureFlags(t)...)
	mb, _ := hex.DecodeString(m)
	s := testReportSigner(t)
	f := &verifyFixture{dir: t.TempDir(), measurement: m}
	f.raw = signTestReport(t, testReportFields(mb))
	f.report = writeTestFile(t, f.dir, "report.bin", f.raw)
	f.vcek = writeTestFile(t, f.dir, "vcek.der", s.Vcek.Raw)
	f.ask = writeTestFile(t, f.dir, "ask.pem", pemCerts(s.Ask.Raw))
	f.ark = writeTestFile(t, f.dir, "ark.pem", pemCerts(s.Ark.Raw))
	f.chain = writeTestFile(t, f.dir, "chain.pem", pemCerts(s.Ask.Raw, s.Ark.Raw))
	f.chainWithVCEK = writeTestFile(t, f.dir, "chain-vcek.pem", pemCerts(s.Ark.Raw, s.Vcek.Raw, s.Ask.Raw))
	table, err := s.CertTableBytes()
	if err != nil {
		t.Fatal(err)
	}
	f.extended = writeTestFile(t, f.dir, "extended.bin", append(bytes.Clone(f.raw), table...))
	return f
}

func TestVerifyCLI(t *testing.T) {
	f := newVerifyFixture(t)
	good := []string{"--host-data", strings.Repeat("11", 32), "--report-data", strings.Repeat("aa", 64),
		"--policy", "0x30000", "--vmpl", "0", "--family-id", strings.Repeat("0f", 16), "--image-id", strings.Repeat("1d", 16),
		"--id-key-digest", strings.Repeat("00", 48), "--author-key-digest", strings.Repeat("00", 48), "--min-tcb", "0"}
	withReport := func(report string, args ...string) []string {
		return append([]string{"verify", "--report", report}, args...)
	}
	sig := []string{"--vcek", f.vcek, "--cert-chain", f.chain}
	measure := exampleMeasureFlags(t)
	tampered := bytes.Clone(f.raw)
	tampered[0xc0] ^= 1 // HOST_DATA[0]
	tamperedPath := writeTestFile(t, f.dir, "tampered.bin", tampered)
	short := writeTestFile(t, f.dir, "short.bin", f.raw[:1000])
	b64 := writeTestFile(t, f.dir, "report.b64", []byte(base64.StdEncoding.EncodeToString(f.raw)+"\n"))
	hexFile := writeTestFile(t, f.dir, "report.hex", []byte(hex.EncodeToString(f.raw)))

	tests := []struct {
		name   string
		args   []string
		code   int
		out    string // in stdout
		errOut string // in stderr
	}{
		{"all match, measured", withReport(f.report, append(append(append([]string{}, measure...), good...), sig...)...), 0, "OK: 13 of 13 checks match", ""},
		{"measurement given", withReport(f.report, append([]string{"--measurement", f.measurement}, sig...)...), 0, "OK: 4 of 4", ""},
		{"measurement base64", withReport(f.report, "--measurement", base64.StdEncoding.EncodeToString(mustDecodeHex(t, f.measurement))), 0, "NOT CHECKED: signature", ""},
		{"ask and ark files", withReport(f.report, "--measurement", f.measurement, "--vcek", f.vcek, "--ask", f.ask, "--ark", f.ark), 0, "VCEK ← ASK ← ARK (" + f.ask, ""},
		{"vcek in chain file", withReport(f.report, "--measurement", f.measurement, "--cert-chain", f.chainWithVCEK), 0, "signed by the VCEK (" + f.chainWithVCEK, ""},
		{"extended report", withReport(f.extended, "--measurement", f.measurement, "--cert-chain", f.chain), 0, "certificate table: ARK ASK VCEK VLEK", ""},
		{"base64 report", withReport(b64, append([]string{"--measurement", f.measurement}, sig...)...), 0, "(base64)", ""},
		{"hex report", withReport(hexFile, "--measurement", f.measurement, "--report-format", "hex"), 0, "(hex)", ""},
		{"fields only", withReport(f.report, good...), 0, "NOT CHECKED: measurement", ""},

		{"wrong vcpus", withReport(f.report, append([]string{"--ovmf", measure[1], "--vcpus", "5", "--vcpu-type", "EPYC-Milan",
			"--kernel", measure[7], "--initrd", measure[9], "--append", measure[11]}, sig...)...), 3, "measurement", "2 checks failed: measurement, go-sev-guest validate"},
		{"wrong measurement", withReport(f.report, "--measurement", strings.Repeat("ab", 48)), 3, "MISMATCH", "measurement does not match"},
		{"wrong host-data", withReport(f.report, "--host-data", strings.Repeat("12", 32)), 3, "host-data", "host-data does not match"},
		{"wrong report-data", withReport(f.report, "--report-data", strings.Repeat("ab", 64)), 3, "report-data", "report-data does not match"},
		{"wrong policy", withReport(f.report, "--policy", "0xb0000"), 3, "policy", "policy does not match: expected 0xb0000, report has 0x30000"},
		{"wrong vmpl", withReport(f.report, "--vmpl", "1"), 3, "vmpl", "vmpl does not match"},
		{"wrong family-id", withReport(f.report, "--family-id", strings.Repeat("00", 16)), 3, "family-id", "family-id does not match"},
		{"wrong image-id", withReport(f.report, "--image-id", strings.Repeat("00", 16)), 3, "image-id", "image-id does not match"},
		{"wrong id-key-digest", withReport(f.report, "--id-key-digest", strings.Repeat("01", 48)), 3, "id-key-digest", "id-key-digest does not match"},
		{"wrong author-key-digest", withReport(f.report, "--author-key-digest", strings.Repeat("01", 48)), 3, "author-key-digest", "author-key-digest does not match"},
		{"min-tcb too high", withReport(f.report, "--min-tcb", "bl=1,tee=0,snp=0,ucode=0"), 3, "min-tcb", "min-tcb does not match"},
		{"wrong field with signature", withReport(f.report, append([]string{"--vmpl", "2"}, sig...)...), 3, "go-sev-guest validate", "2 checks failed: vmpl, go-sev-guest validate"},
		{"tampered byte", withReport(tamperedPath, append([]string{"--measurement", f.measurement}, sig...)...), 3, "invalid: report signature verification error", "signature failed: invalid: report signature verification error"},
		{"built-in roots reject test chain", withReport(f.report, "--vcek", f.vcek), 3, "AMD's built-in Milan roots", "certificate chain failed: VCEK could not be verified by any trusted roots"},
		{"wrong product", withReport(f.report, append([]string{"--product", "Genoa"}, sig...)...), 3, "SEV_PRODUCT_GENOA", "certificate chain"},

		{"short report", withReport(short, "--measurement", f.measurement), 1, "", short + ": 1000 bytes, want at least 1184"},
		{"missing report", withReport(filepath.Join(f.dir, "nope.bin"), "--measurement", f.measurement), 1, "", "nope.bin: no such file or directory"},
		{"bad vcek file", withReport(f.report, "--vcek", f.report), 1, "", f.report + ": not a DER or PEM X.509 certificate"},
		{"chain without ark", withReport(f.report, "--cert-chain", f.ask), 1, "", "has an ASK but no ARK"},
		{"missing firmware", withReport(f.report, "--ovmf", filepath.Join(f.dir, "no.fd"), "--vcpus", "1", "--vcpu-type", "EPYC"), 1, "", "no.fd: no such file or directory"},

		{"no report", []string{"verify", "--measurement", f.measurement}, 2, "", "missing --report FILE"},
		{"nothing to check", withReport(f.report), 2, "", "nothing to check"},
		{"both measurements", withReport(f.report, append([]string{"--measurement", f.measurement}, measure...)...), 2, "", "use one"},
		{"measure flag without ovmf", withReport(f.report, "--vcpus", "4"), 2, "", "--vcpus needs --ovmf FILE"},
		{"trace without ovmf", withReport(f.report, "--trace", filepath.Join(f.dir, "t.jsonl")), 2, "", "--trace needs --ovmf"},
		{"short host-data", withReport(f.report, "--host-data", "1111"), 2, "", "--host-data: 2 bytes, want 32 (64 hex digits)"},
		{"garbage measurement", withReport(f.report, "--measurement", "xyz"), 2, "", "--measurement \"xyz\": want 48 bytes"},
		{"bad vmpl", withReport(f.report, "--vmpl", "4"), 2, "", "--vmpl 4: want 0, 1, 2 or 3"},
		{"bad min-tcb", withReport(f.report, "--min-tcb", "fmc=1"), 2, "", "--min-tcb: TCB component"},
		{"ask without ark", withReport(f.report, "--vcek", f.vcek, "--ask", f.ask), 2, "", "--ask and --ark go together"},
		{"bad product", withReport(f.report, "--vcek", f.vcek, "--product", "Naples"), 2, "", "--product: unknown product"},
		{"bad format", withReport(f.report, "--report-format", "pem"), 2, "", "--report-format"},
		{"sev mode", withReport(f.report, "--mode", "sev", "--ovmf", measure[1]), 2, "", "verify checks SNP reports"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runInProcess(tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, tc.out) {
				t.Errorf("stdout does not contain %q:\n%s", tc.out, r.stdout)
			}
			if !strings.Contains(r.stderr, tc.errOut) {
				t.Errorf("stderr does not contain %q: %s", tc.errOut, r.stderr)
			}
			if tc.code != 0 && tc.code != exitUsage && strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("stderr is not one line: %q", r.stderr)
			}
			if tc.code == 1 && r.stdout != "" {
				t.Errorf("bad input printed to stdout: %q", r.stdout)
			}
		})
	}
}

func mustDecodeHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVerifyJSON checks the JSON result object.
func TestVerifyJSON(t *testing.T) {
	f := newVerifyFixture(t)
	r := runInProcess("verify", "--report", f.report, "--measurement", f.measurement, "--vmpl", "1", "--json")
	if r.code != exitMismatch {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var out struct {
		OK     bool `json:"ok"`
		Checks []struct {
			Name, Expected, Actual string
			OK                     bool
		} `json:"checks"`
		NotChecked []string `json:"not_checked"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if out.OK || len(out.Checks) != 2 || !out.Checks[0].OK || out.Checks[1].Name != "vmpl" || out.Checks[1].OK ||
		out.Checks[1].Expected != "1" || out.Checks[1].Actual != "0" {
		t.Errorf("JSON result %+v", out)
	}
	if len(out.NotChecked) != 1 || !strings.HasPrefix(out.NotChecked[0], "signature and certificate chain: no VCEK") {
		t.Errorf("not_checked %q", out.NotChecked)
	}
	for _, key := range []string{`"ok"`, `"checks"`, `"name"`, `"expected"`, `"actual"`, `"not_checked"`} {
		if !strings.Contains(r.stdout, key) {
			t.Errorf("JSON lacks key %s", key)
		}
	}
	r = runInProcess("verify", "--report", f.report, "--measurement", f.measurement, "--json", "--vcek", f.vcek, "--cert-chain", f.chain)
	if r.code != 0 || !strings.Contains(r.stdout, `"ok": true`) || !strings.Contains(r.stdout, `"not_checked": []`) {
		t.Errorf("exit %d: %s", r.code, r.stdout)
	}
}

// TestVerifyTrace checks that verify writes the trace of the launch it computed.
func TestVerifyTrace(t *testing.T) {
	f := newVerifyFixture(t)
	tr := filepath.Join(f.dir, "verify.jsonl")
	r := runInProcess(append([]string{"verify", "--report", f.report, "--trace", tr}, exampleMeasureFlags(t)...)...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	data, err := os.ReadFile(tr)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if !strings.Contains(lines[len(lines)-1], f.measurement) {
		t.Errorf("last trace line %s does not end at the measurement %s", lines[len(lines)-1], f.measurement)
	}
}

// TestVerifyRealReport checks go-sev-guest's real Milan report through the CLI
// with AMD's built-in roots.
func TestVerifyRealReport(t *testing.T) {
	rep, vcek := "../../report/testdata/milan-attestation.bin", "../../report/testdata/milan-vcek.der"
	r := runInProcess("verify", "--report", rep, "--vcek", vcek, "--vmpl", "0",
		"--measurement", "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"AMD's built-in Milan roots", "OK: 5 of 5 checks match"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestVerifyBinaryExitCodes runs the built binary for each exit status.
func TestVerifyBinaryExitCodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	f := newVerifyFixture(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"ok", append([]string{"verify", "--report", f.report, "--vcek", f.vcek, "--cert-chain", f.chain}, exampleMeasureFlags(t)...), 0},
		{"bad input", []string{"verify", "--report", f.vcek, "--measurement", f.measurement}, 1},
		{"usage", []string{"verify", "--report", f.report}, 2},
		{"mismatch", []string{"verify", "--report", f.report, "--vmpl", "3"}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runBinary(t, f.dir, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\n%s%s", r.code, tc.code, r.stdout, r.stderr)
			}
			if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine") {
				t.Errorf("stderr %q", r.stderr)
			}
		})
	}
}

// TestVerifyExampleReports checks the signed example reports of
// the README; -update-reports rewrites them.
func TestVerifyExampleReports(t *testing.T) {
	rep := filepath.Join(reportsDir, "milan-4vcpu.bin")
	chain := filepath.Join(reportsDir, "test-chain.pem")
	vcek := filepath.Join(reportsDir, "test-vcek.pem")
	if *updateReports {
		m := mustDecodeHex(t, measureHex(t, exampleMeasureFlags(t)...))
		s := testReportSigner(t)
		if err := os.MkdirAll(reportsDir, 0o755); err != nil {
			t.Fatal(err)
		}
		writeTestFile(t, reportsDir, "milan-4vcpu.bin", signTestReport(t, testReportFields(m)))
		writeTestFile(t, reportsDir, "test-chain.pem", pemCerts(s.Ask.Raw, s.Ark.Raw))
		writeTestFile(t, reportsDir, "test-vcek.pem", pemCerts(s.Vcek.Raw))
	}
	args := append([]string{"verify", "--report", rep, "--vcek", vcek, "--cert-chain", chain}, exampleMeasureFlags(t)...)
	r := runInProcess(args...)
	if r.code != 0 {
		t.Fatalf("example report no longer verifies (run go test -run TestVerifyExampleReports -update-reports): exit %d\n%s%s",
			r.code, r.stdout, r.stderr)
	}
}

// TestVerifyChecksNothing is a regression test for command lines that looked
// like they checked something but did not, and exited 0.
func TestVerifyChecksNothing(t *testing.T) {
	f := newVerifyFixture(t)
	s := testReportSigner(t)
	// A VLEK-signed report (not even signed) whose certificate table holds
	// only a VCEK: the VCEK cannot check it, so nothing is checked.
	b := testReportFields(mustDecodeHex(t, f.measurement))
	b.SignerInfo = abi.ComposeSignerInfo(abi.SignerInfo{SigningKey: abi.VlekReportSigner})
	raw, err := abi.ReportToAbiBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	g := uuid.MustParse(abi.VcekGUID)
	table := make([]byte, 48)
	copy(table, g[:])
	binary.LittleEndian.PutUint32(table[16:], 48)
	binary.LittleEndian.PutUint32(table[20:], uint32(len(s.Vcek.Raw)))
	vlekReport := writeTestFile(t, f.dir, "vlek-with-vcek.bin", append(append(raw, table...), s.Vcek.Raw...))
	// An unsigned report (SIGNING_KEY None).
	b.SignerInfo = abi.ComposeSignerInfo(abi.SignerInfo{SigningKey: abi.NoneReportSigner})
	raw, err = abi.ReportToAbiBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	unsigned := writeTestFile(t, f.dir, "unsigned.bin", raw)

	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		out    string
		errOut string
	}{
		{"VLEK report, VCEK in table", []string{"--report", vlekReport}, exitUsage, "", "nothing to check"},
		{"VLEK report, VCEK in table, json", []string{"--report", vlekReport, "--json"}, exitUsage, "", "nothing to check"},
		{"VLEK report, VCEK in table, with roots", []string{"--report", vlekReport, "--cert-chain", f.chain}, exitUsage, "", "nothing to check"},
		{"empty --measurement", []string{"--report", f.report, "--measurement", "", "--host-data", strings.Repeat("11", 32)}, exitUsage, "", "--measurement: empty value"},
		{"empty --ovmf", []string{"--report", f.report, "--ovmf", " ", "--vmpl", "0"}, exitUsage, "", "--ovmf: empty value"},
		{"empty --vcek", []string{"--report", f.report, "--vcek", "", "--vmpl", "0"}, exitUsage, "", "--vcek: empty value"},
		{"empty --cert-chain", []string{"--report", f.report, "--vcek", f.vcek, "--cert-chain", ""}, exitUsage, "", "--cert-chain: empty value"},
		{"empty --host-data", []string{"--report", f.report, "--host-data=", "--vmpl", "0"}, exitUsage, "", "--host-data: empty value"},
		{"empty --policy", []string{"--report", f.report, "--policy", "", "--vmpl", "0"}, exitUsage, "", "--policy: empty value"},
		{"unsigned report", []string{"--report", unsigned, "--vmpl", "0"}, 0, "NOT CHECKED: signature and certificate chain: the report is not signed (SIGNING_KEY is None)\n", ""},
		{"unsigned report with a VCEK", []string{"--report", unsigned, "--vcek", f.vcek, "--cert-chain", f.chain}, exitMismatch, "unsigned report", "signature failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runInProcess(append([]string{"verify"}, tc.args...)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, tc.out) || !strings.Contains(r.stderr, tc.errOut) {
				t.Errorf("stdout %q (want %q), stderr %q (want %q)", r.stdout, tc.out, r.stderr, tc.errOut)
			}
			if strings.Contains(r.stdout, `"ok": true`) {
				t.Errorf("JSON says ok: %s", r.stdout)
			}
		})
	}
}
