package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"flag"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snpmeasure/snpmeasure/idblock"
	"github.com/snpmeasure/snpmeasure/internal/cli"
	"github.com/snpmeasure/snpmeasure/report"
	"github.com/snpmeasure/snpmeasure/report/reporttest"
	"github.com/spf13/pflag"
)

var updateReports = flag.Bool("update-reports", false, "rewrite testdata/reports with freshly signed test reports")

// reportsDir holds the signed example reports of the README's "Checking a report".
const reportsDir = "testdata/reports"

// genuineDir holds the genuine reports of the report package.
const genuineDir = "../../report/testdata/genuine"

// exampleTCB is the TCB the example chain's VCEK certifies.
var exampleTCB = report.ComposeTCB(report.Milan, report.TCBParts{BootLoader: 3, SNP: 8, Microcode: 115})

// exampleChipID is the CHIP_ID of the example reports and the VCEK's hwID.
var exampleChipID = bytes.Repeat([]byte{0x5a}, report.ChipIDSize)

var (
	pkiOnce sync.Once
	pkiVal  *reporttest.PKI
)

// testPKI is the test-only chain the tests sign with: fixed validity
// (2025-2045), Milan, TCB exampleTCB, hwID exampleChipID.
func testPKI(t testing.TB) *reporttest.PKI {
	pkiOnce.Do(func() {
		pkiVal = reporttest.NewPKI(t, reporttest.Options{TCB: exampleTCB, HWID: exampleChipID,
			NotBefore: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC)})
	})
	return pkiVal
}

// signedReport returns a VERSION 3 Milan report of the example's fields
// with the given measurement, changed by mut, and signed by the test VCEK.
func signedReport(t testing.TB, measurement []byte, mut func([]byte)) []byte {
	b := reporttest.NewReport(testReportFields(measurement))
	if mut != nil {
		mut(b)
	}
	return reporttest.Sign(t, b, testPKI(t).VCEKKey)
}

func writeTestFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
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

// exampleMeasurement is snpmeasure's digest of exampleMeasureFlags.
const exampleMeasurement = "b8cafa5bddc1d238c3e312427508fc1a6b5bc301f9d7839282f99b20a206db8f9ad44c8d461b56bcf256f05a325e1ab2"

// verifyFixture is a signed report with its certificates on disk.
type verifyFixture struct {
	dir, report, vcek, ask, ark, chain, trust, bundle, extended string
	evilVCEK, evilChain, evilReport                             string
	raw                                                         []byte
}

func newVerifyFixture(t testing.TB) *verifyFixture {
	t.Helper()
	p := testPKI(t)
	m := mustDecodeHex(t, exampleMeasurement)
	f := &verifyFixture{dir: t.TempDir()}
	f.raw = signedReport(t, m, nil)
	f.report = writeTestFile(t, f.dir, "report.bin", f.raw)
	f.vcek = writeTestFile(t, f.dir, "vcek.der", p.VCEK.Raw)
	f.ask = writeTestFile(t, f.dir, "ask.pem", reporttest.PEM(p.ASK))
	f.ark = writeTestFile(t, f.dir, "ark.pem", reporttest.PEM(p.ARK))
	f.trust = f.ark
	f.chain = writeTestFile(t, f.dir, "chain.pem", reporttest.PEM(p.ASK, p.ARK))
	f.bundle = writeTestFile(t, f.dir, "vcek-bundle.pem", reporttest.PEM(p.VCEK, p.ASK, p.ARK))
	f.extended = writeTestFile(t, f.dir, "extended.bin", append(bytes.Clone(f.raw), p.StandardTable()...))
	// A self-made "Evil Root" chain with AMD's names and other keys.
	k := reporttest.Keys()
	evilKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	evil := reporttest.NewPKI(t, reporttest.Options{TCB: exampleTCB, HWID: exampleChipID, ARKKey: k.Ask, ASKKey: k.Asvk, VCEKKey: evilKey})
	f.evilVCEK = writeTestFile(t, f.dir, "evil-vcek.pem", reporttest.PEM(evil.VCEK))
	f.evilChain = writeTestFile(t, f.dir, "evil-chain.pem", reporttest.PEM(evil.ASK, evil.ARK))
	f.evilReport = writeTestFile(t, f.dir, "evil-report.bin",
		reporttest.Sign(t, reporttest.NewReport(reporttest.Fields{TCB: exampleTCB, ChipID: exampleChipID, Measurement: m}), evilKey))
	return f
}

func mustDecodeHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// trusted are the flags that verify the fixture's report with the test chain.
func (f *verifyFixture) trusted() []string {
	return []string{"--vcek", f.vcek, "--cert-chain", f.chain, "--trust-ark", f.trust}
}

func TestVerifyCLI(t *testing.T) {
	f := newVerifyFixture(t)
	p := testPKI(t)
	good := []string{"--host-data", strings.Repeat("11", 32), "--report-data", strings.Repeat("aa", 64),
		"--policy", "0x30000", "--vmpl", "0", "--family-id", strings.Repeat("0f", 16), "--image-id", strings.Repeat("1d", 16),
		"--id-key-digest", strings.Repeat("00", 48), "--author-key-digest", strings.Repeat("00", 48), "--min-tcb", "bl=3,tee=0,snp=8,ucode=115",
		"--report-id", strings.Repeat("22", 32), "--chip-id", hex.EncodeToString(exampleChipID), "--min-build", "21", "--min-version", "1.55",
		"--min-launch-tcb", "0x7308000000000003", "--platform-info", "smt=1", "--min-guest-svn", "0", "--no-provisional"}
	withReport := func(report string, args ...string) []string {
		return append([]string{"verify", "--report", report}, args...)
	}
	join := func(a ...[]string) []string {
		var out []string
		for _, x := range a {
			out = append(out, x...)
		}
		return out
	}
	measure := exampleMeasureFlags(t)
	sig := f.trusted()
	write := func(name string, data []byte) string { return writeTestFile(t, f.dir, name, data) }
	re := func(name string, mut func([]byte)) string {
		return write(name, signedReport(t, mustDecodeHex(t, exampleMeasurement), mut))
	}
	tampered := bytes.Clone(f.raw)
	tampered[0xc0] ^= 1 // HOST_DATA[0]
	tamperedPath := write("tampered.bin", tampered)
	unsigned := bytes.Clone(f.raw)
	binary.LittleEndian.PutUint32(unsigned[report.OffSignerInfo:], 7<<2)
	clear(unsigned[report.OffSignature:])
	unsignedPath := write("unsigned.bin", unsigned)
	vlekClaim := bytes.Clone(f.raw)
	binary.LittleEndian.PutUint32(vlekClaim[report.OffSignerInfo:], 1<<2)
	vlekClaimExt := write("vlek-claim.bin", append(vlekClaim, p.StandardTable()...))
	zeroLen := append(bytes.Clone(f.raw), reporttest.Table(reporttest.Entry{GUID: reporttest.GUIDVCEK, Data: p.VCEK.Raw})...)
	binary.LittleEndian.PutUint32(zeroLen[report.Size+20:], 0)
	zeroLenPath := write("zero-length.bin", zeroLen)
	short := write("short.bin", f.raw[:1000])
	b64 := write("report.b64", []byte(base64.StdEncoding.EncodeToString(f.raw)+"\n"))
	hexFile := write("report.hex", []byte(hex.EncodeToString(f.raw)))
	debugPath := re("debug.bin", func(b []byte) { binary.LittleEndian.PutUint64(b[report.OffPolicy:], 0xb0000) })
	maPath := re("ma.bin", func(b []byte) { binary.LittleEndian.PutUint64(b[report.OffPolicy:], 0x70000) })
	vmpl3 := re("vmpl3.bin", func(b []byte) { binary.LittleEndian.PutUint32(b[report.OffVMPL:], 3) })
	provisional := re("provisional.bin", func(b []byte) { b[report.OffCommittedBuild] = 20 })
	idKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	idDigest, _ := idblock.KeyDigest(&idKey.PublicKey)
	idPath := re("idblock.bin", func(b []byte) { copy(b[report.OffIDKeyDigest:], idDigest[:]) })
	pubDER, _ := x509.MarshalPKIXPublicKey(&idKey.PublicKey)
	idKeyPEM := write("id-key.pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	crlDER, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: time.Now().Add(-time.Hour),
		NextUpdate: time.Now().Add(time.Hour), SignatureAlgorithm: x509.SHA384WithRSAPSS,
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: p.ASK.SerialNumber, RevocationTime: time.Now().Add(-time.Hour)}}}, p.ARK, p.ARKKey)
	if err != nil {
		t.Fatal(err)
	}
	revokedCRL := write("revoked.crl", crlDER)
	notRoot := write("not-root.pem", reporttest.PEM(p.ASK))
	h64 := strings.Repeat("ab", 32) // 64 hex digits: 32 bytes, never read as base64

	tests := []struct {
		name   string
		args   []string
		code   int
		out    string // in stdout
		errOut string // in stderr
	}{
		{"all match, measured", withReport(f.report, join(measure, good, sig)...), 0, "OK: 25 of 25 checks passed", ""},
		{"measurement given", withReport(f.report, join([]string{"--measurement", exampleMeasurement}, sig)...), 0, "OK: 12 of 12 checks passed", ""},
		{"measurement base64", withReport(f.report, join([]string{"--measurement", base64.StdEncoding.EncodeToString(mustDecodeHex(t, exampleMeasurement))}, sig)...), 0, "OK", ""},
		{"measurement 0x-hex", withReport(f.report, join([]string{"--measurement", "0x" + exampleMeasurement}, sig)...), 0, "OK", ""},
		{"ask and ark files", withReport(f.report, "--vcek", f.vcek, "--ask", f.ask, "--ark", f.ark, "--trust-ark", f.trust), 0, "verified: SEV-VCEK ← SEV-Milan ← ARK-Milan", ""},
		{"vcek bundle (VCEK, ASK, ARK)", withReport(f.report, "--vcek", f.bundle, "--trust-ark", f.trust), 0, "signature by the VCEK (--vcek " + f.bundle, ""},
		{"extended report, table only", withReport(f.extended, "--trust-ark", f.trust), 0, "certificate table: ARK ASK VCEK", ""},
		{"base64 report", withReport(b64, sig...), 0, "(base64)", ""},
		{"hex report", withReport(hexFile, append([]string{"--report-format", "hex"}, sig...)...), 0, "(hex)", ""},
		{"provisional firmware accepted", withReport(provisional, sig...), 0, "provisional firmware", ""},
		{"debug, --allow-debug", withReport(debugPath, append([]string{"--allow-debug"}, sig...)...), 0, "0 or 1 (--allow-debug)", ""},
		{"debug, exact --policy", withReport(debugPath, append([]string{"--policy", "0xb0000"}, sig...)...), 0, "OK", ""},
		{"migration agent allowed", withReport(maPath, append([]string{"--allow-migration-agent"}, sig...)...), 0, "OK", ""},
		{"vmpl 3 stated", withReport(vmpl3, append([]string{"--vmpl", "3"}, sig...)...), 0, "OK", ""},
		{"id block, trusted key file", withReport(idPath, append([]string{"--require-id-block", "--trusted-id-key", idKeyPEM}, sig...)...), 0, "is trusted", ""},
		{"id block, trusted key digest", withReport(idPath, append([]string{"--trusted-id-key", hex.EncodeToString(idDigest[:])}, sig...)...), 0, "is trusted", ""},

		// The attacks of issue 9: each fails.
		{"unsigned, fields only", withReport(unsignedPath, "--vmpl", "0", "--policy", "0x30000"), 3, "FAILED", "2 checks failed: signature, certificate chain"},
		{"unsigned, with --cert-chain and --product", withReport(unsignedPath, "--cert-chain", f.chain, "--product", "Milan", "--vmpl", "0"), 3, "SIGNING_KEY is None", ""},
		{"no VCEK at all", withReport(f.report, "--measurement", exampleMeasurement), 3, "no VCEK certificate: give --vcek FILE", "checks failed"},
		{"SIGNING_KEY VLEK, table keeps the VCEK", withReport(vlekClaimExt, "--trust-ark", f.trust), 3, "the table holds no VLEK", ""},
		{"zero-length VCEK entry", withReport(zeroLenPath, "--trust-ark", f.trust), 1, "", "certificate table: entry 0 (VCEK) has length 0"},
		{"debug allowed", withReport(debugPath, sig...), 3, "debug", "debug does not match: expected 0 (--allow-debug accepts 1), report has 1"},
		{"migration agent", withReport(maPath, sig...), 3, "migrate-ma", "migrate-ma does not match"},
		{"VMPL 3", withReport(vmpl3, sig...), 3, "vmpl", "vmpl does not match: expected 0, report has 3"},
		{"evil root in --cert-chain", withReport(f.evilReport, "--vcek", f.evilVCEK, "--cert-chain", f.evilChain), 3, "not a trusted one", "certificate chain"},
		{"genuine test report, self-made root in --cert-chain", withReport(f.report, "--vcek", f.vcek, "--cert-chain", f.evilChain, "--trust-ark", f.trust), 3,
			"is not signed by a trusted ARK", "certificate chain"},
		{"test chain, AMD's roots", withReport(f.report, "--vcek", f.vcek, "--cert-chain", f.chain), 3, "AMD's built-in Milan roots", "certificate chain failed"},
		{"64 hex digits to --measurement", withReport(f.report, "--measurement", h64), 2, "", "--measurement: 32 bytes, want 48 bytes (96 hex digits)"},
		{"--vmpl 4", withReport(f.report, "--vmpl", "4"), 2, "", "--vmpl 4: want 0, 1, 2 or 3"},
		{"--vmpl 0xffffffff", withReport(f.report, "--vmpl", "0xffffffff"), 2, "", "want 0, 1, 2 or 3"},
		{"Turin min-tcb component on Milan", withReport(f.report, append([]string{"--min-tcb", "fmc=1"}, sig...)...), 3, "Milan has no fmc component", ""},

		{"wrong vcpus", withReport(f.report, join([]string{"--ovmf", measure[1], "--vcpus", "5", "--vcpu-type", "EPYC-Milan",
			"--kernel", measure[7], "--initrd", measure[9], "--append", measure[11]}, sig)...), 3, "measurement", "measurement does not match"},
		{"wrong host-data", withReport(f.report, append([]string{"--host-data", strings.Repeat("12", 32)}, sig...)...), 3, "host-data", "host-data does not match"},
		{"wrong report-data", withReport(f.report, append([]string{"--report-data", strings.Repeat("ab", 64)}, sig...)...), 3, "report-data", "report-data does not match"},
		{"wrong policy", withReport(f.report, append([]string{"--policy", "0xb0000"}, sig...)...), 3, "policy", "policy does not match: expected 0xb0000, report has 0x30000"},
		{"wrong family-id", withReport(f.report, append([]string{"--family-id", strings.Repeat("00", 16)}, sig...)...), 3, "family-id", ""},
		{"wrong image-id", withReport(f.report, append([]string{"--image-id", strings.Repeat("00", 16)}, sig...)...), 3, "image-id", ""},
		{"wrong chip-id", withReport(f.report, append([]string{"--chip-id", strings.Repeat("01", 64)}, sig...)...), 3, "chip-id", ""},
		{"wrong report-id-ma", withReport(f.report, append([]string{"--report-id-ma", strings.Repeat("01", 32)}, sig...)...), 3, "report-id-ma", ""},
		{"min-tcb too high", withReport(f.report, append([]string{"--min-tcb", "bl=4"}, sig...)...), 3, "min-tcb", "min-tcb does not match"},
		{"min-build too high", withReport(f.report, append([]string{"--min-build", "22"}, sig...)...), 3, "min-build", ""},
		{"min-version too high", withReport(f.report, append([]string{"--min-version", "1.56"}, sig...)...), 3, "min-version", ""},
		{"platform-info smt=0", withReport(f.report, append([]string{"--platform-info", "smt=0"}, sig...)...), 3, "platform-info", ""},
		{"no provisional", withReport(provisional, append([]string{"--no-provisional"}, sig...)...), 3, "provisional firmware", ""},
		{"id block, untrusted key", withReport(f.report, append([]string{"--trusted-id-key", idKeyPEM}, sig...)...), 3, "no ID block", ""},
		{"revoked ASK", withReport(f.report, append([]string{"--crl", revokedCRL}, sig...)...), 3, "is revoked", "revocation failed"},
		{"tampered byte", withReport(tamperedPath, sig...), 3, "invalid: the signature does not verify", "signature failed"},
		{"--at before the chain", withReport(f.report, append([]string{"--at", "2024-01-01T00:00:00Z"}, sig...)...), 3, "is not valid before", ""},
		{"wrong product", withReport(f.report, append([]string{"--product", "Genoa"}, sig...)...), 3, "they disagree", "product"},

		{"short report", withReport(short, sig...), 1, "", short + ": 1000 bytes, want at least 1184"},
		{"missing report", withReport(filepath.Join(f.dir, "nope.bin"), sig...), 1, "", "nope.bin: no such file or directory"},
		{"bad vcek file", withReport(f.report, "--vcek", f.report), 1, "", f.report + ": not a DER or PEM X.509 certificate"},
		{"--trust-ark not a root", withReport(f.report, "--vcek", f.vcek, "--trust-ark", notRoot), 1, "", `"SEV-Milan" is not a root`},
		{"--crl not a CRL", withReport(f.report, append([]string{"--crl", f.vcek}, sig...)...), 1, "", "not a DER or PEM certificate revocation list"},
		{"--trusted-id-key not a key", withReport(f.report, append([]string{"--trusted-id-key", f.report}, sig...)...), 1, "", "no PEM public key"},
		{"missing firmware", withReport(f.report, "--ovmf", filepath.Join(f.dir, "no.fd"), "--vcpus", "1", "--vcpu-type", "EPYC"), 1, "", "no.fd: no such file or directory"},

		{"no report", []string{"verify", "--measurement", exampleMeasurement}, 2, "", "missing --report FILE"},
		{"both measurements", withReport(f.report, join([]string{"--measurement", exampleMeasurement}, measure)...), 2, "", "use one"},
		{"measure flag without ovmf", withReport(f.report, "--vcpus", "4"), 2, "", "--vcpus needs --ovmf FILE"},
		{"trace without ovmf", withReport(f.report, "--trace", filepath.Join(f.dir, "t.jsonl")), 2, "", "--trace needs --ovmf"},
		{"short host-data", withReport(f.report, "--host-data", "1111"), 2, "", "--host-data: 2 bytes, want 32 bytes (64 hex digits)"},
		{"odd hex digits", withReport(f.report, "--host-data", strings.Repeat("1", 63)), 2, "", "--host-data: 63 hex digits"},
		{"garbage measurement", withReport(f.report, "--measurement", "xyz!"), 2, "", "--measurement \"xyz!\": want 48 bytes"},
		{"base64 of the wrong size", withReport(f.report, "--host-data", base64.StdEncoding.EncodeToString(make([]byte, 31))), 2, "", "base64 of 31 bytes"},
		{"bad min-tcb", withReport(f.report, "--min-tcb", "spl4=1"), 2, "", "--min-tcb: TCB component"},
		{"bad min-version", withReport(f.report, "--min-version", "1"), 2, "", "--min-version \"1\": want MAJOR.MINOR"},
		{"bad min-build", withReport(f.report, "--min-build", "256"), 2, "", "0-255"},
		{"bad platform-info", withReport(f.report, "--platform-info", "smt=2"), 2, "", "--platform-info"},
		{"bad product", withReport(f.report, "--product", "Naples"), 2, "", "--product: unknown product line"},
		{"bad --at", withReport(f.report, "--at", "yesterday"), 2, "", "--at \"yesterday\": want an RFC 3339 time"},
		{"--at year 1", withReport(f.report, "--at", "0001-01-01T00:00:00Z"), 2, "", "before 2000"},
		{"--allow-debug with --policy", withReport(f.report, "--policy", "0x30000", "--allow-debug"), 2, "", "--allow-debug and --policy"},
		{"--require-id-block without keys", withReport(f.report, "--require-id-block"), 2, "", "needs --trusted-id-key or --trusted-author-key"},
		{"--trusted-id-key digest too short", withReport(f.report, "--trusted-id-key", strings.Repeat("ab", 32)), 2, "", "64 hex digits, want 96"},
		{"empty --trust-ark", withReport(f.report, "--trust-ark", ""), 2, "", "--trust-ark: empty value"},
		{"--verbose (a measure flag)", withReport(f.report, "--verbose"), 2, "", "--verbose is a measure flag that does not apply to verify"},
		{"--output-format (a measure flag)", withReport(f.report, "--output-format", "base64"), 2, "", "--output-format is a measure flag"},
		{"--dump-vmsa (a measure flag)", withReport(f.report, "--dump-vmsa"), 2, "", "--dump-vmsa is a measure flag"},
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
			if tc.code != 0 && strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("stderr is not one line: %q", r.stderr)
			}
			if tc.code == 1 && r.stdout != "" {
				t.Errorf("bad input printed to stdout: %q", r.stdout)
			}
			if tc.code == 0 && (!strings.Contains(r.stdout, "signature ") || strings.Contains(r.stdout, "FAILED")) {
				t.Errorf("exit 0 without a signature row, or with a failure:\n%s", r.stdout)
			}
		})
	}
}

// verifyJSON is the --json output of verify.
type verifyJSON struct {
	OK      bool   `json:"ok"`
	Product string `json:"product"`
	Checks  []struct {
		Name, Expected, Actual string
		OK                     bool
	} `json:"checks"`
	NotChecked []string `json:"not_checked"`
}

func parseVerifyJSON(t *testing.T, s string) *verifyJSON {
	t.Helper()
	var out verifyJSON
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return &out
}

func (v *verifyJSON) row(name string) (ok, found bool) {
	for _, c := range v.Checks {
		if c.Name == name {
			return c.OK, true
		}
	}
	return false, false
}

// TestVerifyGenuine runs every genuine report of the shared corpus through
// the CLI exactly as the acceptance command line does, against the
// built-in AMD roots.
func TestVerifyGenuine(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(genuineDir, "reports.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n")[1:] {
		c := strings.Split(line, "\t")
		t.Run(c[0], func(t *testing.T) {
			args := []string{"verify", "--report", filepath.Join(genuineDir, c[1]), "--vcek", filepath.Join(genuineDir, c[2]),
				"--policy", c[6], "--vmpl", c[7], "--json"}
			if c[5] == "VLEK" {
				args = append(args, "--at", "2025-06-01T00:00:00Z") // the VLEK expired on 2025-12-10
			}
			r := runInProcess(args...)
			if c[8] == "must-fail" {
				if r.code == 0 {
					t.Fatalf("must-fail report passed:\n%s", r.stdout)
				}
				return
			}
			if r.code != 0 {
				t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			v := parseVerifyJSON(t, r.stdout)
			for _, name := range []string{"signature", "certificate chain"} {
				if ok, found := v.row(name); !ok || !found {
					t.Errorf("row %q: ok %v found %v", name, ok, found)
				}
			}
			if !v.OK || v.Product != c[3] {
				t.Errorf("ok %v product %q", v.OK, v.Product)
			}
		})
	}
}

// TestVerifyJSON checks the JSON result object.
func TestVerifyJSON(t *testing.T) {
	f := newVerifyFixture(t)
	r := runInProcess("verify", "--report", f.report, "--measurement", exampleMeasurement, "--vmpl", "1", "--json")
	if r.code != cli.ExitMismatch {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	v := parseVerifyJSON(t, r.stdout)
	if v.OK {
		t.Error("ok without a VCEK")
	}
	for name, want := range map[string]bool{"signature": false, "certificate chain": false, "measurement": true, "vmpl": false, "reserved": true} {
		if ok, found := v.row(name); !found || ok != want {
			t.Errorf("row %q: ok %v, found %v; want ok %v", name, ok, found, want)
		}
	}
	if len(v.NotChecked) != 1 || !strings.HasPrefix(v.NotChecked[0], "revocation: no CRL given") || !strings.Contains(v.NotChecked[0], "--crl") {
		t.Errorf("not_checked %q, want only revocation, naming --crl", v.NotChecked)
	}
	for _, key := range []string{`"ok"`, `"product"`, `"checks"`, `"name"`, `"expected"`, `"actual"`, `"not_checked"`} {
		if !strings.Contains(r.stdout, key) {
			t.Errorf("JSON lacks key %s", key)
		}
	}
	r = runInProcess(append([]string{"verify", "--report", f.report, "--json"}, f.trusted()...)...)
	if r.code != 0 || !strings.Contains(r.stdout, `"ok": true`) || !strings.Contains(r.stdout, `"measurement: no expected measurement given (give the measure flags --ovmf ..., or --measurement)"`) {
		t.Errorf("exit %d: %s", r.code, r.stdout)
	}
}

// TestVerifyTrace checks that verify writes the trace of the launch it computed.
func TestVerifyTrace(t *testing.T) {
	f := newVerifyFixture(t)
	tr := filepath.Join(f.dir, "verify.jsonl")
	r := runInProcess(append(append([]string{"verify", "--report", f.report, "--trace", tr}, f.trusted()...), exampleMeasureFlags(t)...)...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	data, err := os.ReadFile(tr)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if !strings.Contains(lines[len(lines)-1], exampleMeasurement) {
		t.Errorf("last trace line %s does not end at the measurement %s", lines[len(lines)-1], exampleMeasurement)
	}
}

// TestVerifyTraceNeverOverwritesAnInput: --trace naming any file verify
// reads (a private key can be a --trusted-id-key) is refused before
// anything is written.
func TestVerifyTraceNeverOverwritesAnInput(t *testing.T) {
	f := newVerifyFixture(t)
	for _, flag := range []string{"--vcek", "--ask", "--ark", "--cert-chain", "--trust-ark", "--crl", "--trusted-id-key", "--trusted-author-key", "--ovmf", "--report"} {
		t.Run(flag, func(t *testing.T) {
			victim := filepath.Join(t.TempDir(), "victim.pem")
			if err := os.WriteFile(victim, []byte("precious\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"verify", "--report", f.report, "--trace", victim}, exampleMeasureFlags(t)...)
			if flag == "--report" || flag == "--ovmf" {
				for i := range args {
					if args[i] == flag {
						args[i+1] = victim
					}
				}
			} else {
				args = append(args, flag, victim)
			}
			r := runInProcess(args...)
			if r.code != 2 || !strings.Contains(r.stderr, "--trace") {
				t.Errorf("exit %d, want 2 naming --trace: %s", r.code, r.stderr)
			}
			if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
				t.Errorf("%s was overwritten: %q", flag, b)
			}
		})
	}
}

// TestVerifyTraceNotStdinsFile: with --report -, the file standard input
// was redirected from is an input too.
func TestVerifyTraceNotStdinsFile(t *testing.T) {
	f := newVerifyFixture(t)
	rep := filepath.Join(t.TempDir(), "rep.bin")
	os.WriteFile(rep, f.raw, 0o644)
	in, err := os.Open(rep)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	cmd := exec.Command(snpmeasureBinary(t), append(append([]string{"verify", "--report", "-", "--trace", rep}, f.trusted()...), exampleMeasureFlags(t)...)...)
	cmd.Stdin = in
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Errorf("%v: %s", err, out)
	}
	if b, _ := os.ReadFile(rep); !bytes.Equal(b, f.raw) {
		t.Error("the report standard input came from was overwritten")
	}
}

// TestVerifyStdin reads the report from standard input (--report -), in
// process and through the binary.
func TestVerifyStdin(t *testing.T) {
	f := newVerifyFixture(t)
	saved := app.Stdin
	defer func() { app.Stdin = saved }()
	for _, in := range [][]byte{f.raw, []byte(hex.EncodeToString(f.raw))} {
		app.Stdin = bytes.NewReader(in)
		r := runInProcess(append([]string{"verify", "--report", "-"}, f.trusted()...)...)
		if r.code != 0 || !strings.Contains(r.stdout, "report - (") {
			t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	}
	app.Stdin = bytes.NewReader(f.raw[:100])
	if r := runInProcess("verify", "--report", "-"); r.code != 1 || !strings.Contains(r.stderr, "standard input: 100 bytes") {
		t.Errorf("short stdin: exit %d %s", r.code, r.stderr)
	}
	if testing.Short() {
		return
	}
	cmd := exec.Command(snpmeasureBinary(t), append([]string{"verify", "--report", "-"}, f.trusted()...)...)
	cmd.Stdin = bytes.NewReader(f.raw)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "OK: ") {
		t.Errorf("binary with stdin: %v\n%s", err, out)
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
		{"ok", append(append([]string{"verify", "--report", f.report}, f.trusted()...), exampleMeasureFlags(t)...), 0},
		{"bad input", []string{"verify", "--report", f.vcek, "--measurement", exampleMeasurement}, 1},
		{"usage", []string{"verify", "--report", f.report, "--vmpl", "4"}, 2},
		{"no VCEK", []string{"verify", "--report", f.report}, 3},
		{"mismatch", append([]string{"verify", "--report", f.report, "--vmpl", "3"}, f.trusted()...), 3},
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

// TestVerifyNoNetwork runs verify under strace: it must not make a single
// network system call (socket, connect, ...), even for a report whose
// chain fails and a VCEK whose KDS URL one could fetch.
func TestVerifyNoNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace is not installed")
	}
	bin := snpmeasureBinary(t)
	f := newVerifyFixture(t)
	g := func(p string) string { return filepath.Join(genuineDir, p) }
	for _, args := range [][]string{
		append([]string{"verify", "--report", f.report}, f.trusted()...),
		{"verify", "--report", f.report, "--vcek", f.vcek},
		{"verify", "--report", f.report},
		{"verify", "--report", g("oak/turin_oc_evidence.report.bin"), "--vcek", g("oak/turin_oc_endorsements.vcek.der"), "--policy", "0x30000"},
		{"verify", "--report", g("trustee-snp/test-vlek-report.bin"), "--vcek", g("trustee-snp/test-vlek.der"), "--vmpl", "1"},
	} {
		t.Run(strings.Join(args[:3], " "), func(t *testing.T) {
			out, calls := straceNetwork(t, strace, bin, args...)
			for _, c := range calls {
				t.Errorf("network system call: %s", c)
			}
			// The run itself was a real one.
			if !strings.Contains(string(out), "signature") {
				t.Errorf("no verify output:\n%s", out)
			}
		})
	}
}

// straceNetwork runs a program under strace -f -e trace=network and returns
// its output and the network system calls it made. It skips the test when
// strace cannot trace here (no ptrace in a container).
func straceNetwork(t *testing.T, strace, bin string, args ...string) ([]byte, []string) {
	t.Helper()
	log := filepath.Join(t.TempDir(), "strace.log")
	cmd := exec.Command(strace, append([]string{"-f", "-e", "trace=network", "-o", log, bin}, args...)...)
	cmd.Env = append(os.Environ(), "SNPMEASURE_NETWORK_HELPER=1")
	out, _ := cmd.CombinedOutput()
	trace, err := os.ReadFile(log)
	if err != nil || !strings.Contains(string(trace), "+++ exited with") {
		t.Skipf("strace cannot trace here: %v\n%s", err, out)
	}
	var calls []string
	for _, line := range strings.Split(string(trace), "\n") {
		if strings.Contains(line, "(") && !strings.Contains(line, "+++ ") && !strings.Contains(line, "--- SIG") {
			calls = append(calls, line)
		}
	}
	return out, calls
}

// TestNetworkHelper opens a socket when run by TestStraceSeesSockets.
func TestNetworkHelper(t *testing.T) {
	if os.Getenv("SNPMEASURE_NETWORK_HELPER") != "1" {
		t.Skip("helper process of TestStraceSeesSockets")
	}
	if c, err := net.Dial("udp", "127.0.0.1:9"); err == nil {
		c.Close()
	}
}

// TestStraceSeesSockets: the strace check of TestVerifyNoNetwork does see
// a program that opens a socket (otherwise it could never fail).
func TestStraceSeesSockets(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace is not installed")
	}
	_, calls := straceNetwork(t, strace, os.Args[0], "-test.run=^TestNetworkHelper$")
	if !strings.Contains(strings.Join(calls, "\n"), "socket(") {
		t.Errorf("no socket call seen: %q", calls)
	}
}

// TestVerifyExampleReports checks the signed example reports of the
// README; -update-reports rewrites them.
func TestVerifyExampleReports(t *testing.T) {
	rep := filepath.Join(reportsDir, "milan-4vcpu.bin")
	chain := filepath.Join(reportsDir, "test-chain.pem")
	vcek := filepath.Join(reportsDir, "test-vcek.pem")
	ark := filepath.Join(reportsDir, "test-ark.pem")
	if *updateReports {
		p := testPKI(t)
		if err := os.MkdirAll(reportsDir, 0o755); err != nil {
			t.Fatal(err)
		}
		writeTestFile(t, reportsDir, "milan-4vcpu.bin", signedReport(t, mustDecodeHex(t, exampleMeasurement), nil))
		writeTestFile(t, reportsDir, "test-chain.pem", reporttest.PEM(p.ASK, p.ARK))
		writeTestFile(t, reportsDir, "test-vcek.pem", reporttest.PEM(p.VCEK))
		writeTestFile(t, reportsDir, "test-ark.pem", reporttest.PEM(p.ARK))
	}
	args := append([]string{"verify", "--report", rep, "--vcek", vcek, "--cert-chain", chain, "--trust-ark", ark, "--policy", "0x30000",
		"--host-data", strings.Repeat("11", 32)}, exampleMeasureFlags(t)...)
	r := runInProcess(args...)
	if r.code != 0 {
		t.Fatalf("example report no longer verifies (run go test -run TestVerifyExampleReports -update-reports): exit %d\n%s%s",
			r.code, r.stdout, r.stderr)
	}
	// The test chain is not AMD's.
	if r := runInProcess("verify", "--report", rep, "--vcek", vcek, "--cert-chain", chain); r.code != cli.ExitMismatch {
		t.Errorf("test chain against AMD's roots: exit %d", r.code)
	}
}

// TestVerifyFlagsDocumented: every verify flag is in the README.
func TestVerifyFlagsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	fs := cli.NewFlagSet("verify")
	addVerifyFlags(fs)
	fs.VisitAll(func(fl *pflag.Flag) {
		if !strings.Contains(string(readme), "--"+fl.Name) {
			t.Errorf("--%s is not in the README", fl.Name)
		}
	})
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

// testReportFields are the fields of the example report with another
// measurement (search tests).
func testReportFields(measurement []byte) reporttest.Fields {
	return reporttest.Fields{TCB: exampleTCB, ChipID: exampleChipID, Measurement: measurement}
}

// signTestReport makes the report and signs it with the test VCEK.
func signTestReport(t testing.TB, f reporttest.Fields) []byte {
	return reporttest.Sign(t, reporttest.NewReport(f), testPKI(t).VCEKKey)
}
