package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// showGolden are the genuine reports whose 'report show' output is kept in
// testdata/reports (-update-reports rewrites it).
var showGolden = []struct{ report, golden string }{
	{"oak/turin_oc_evidence.report.bin", "show-turin.txt"},
	{"trustee-snp/test-vlek-report.bin", "show-aws-vlek.txt"},
}

func TestReportShowGolden(t *testing.T) {
	for _, g := range showGolden {
		t.Run(g.golden, func(t *testing.T) {
			path := filepath.Join(genuineDir, g.report)
			r := runInProcess("report", "show", path)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			golden := filepath.Join(reportsDir, g.golden)
			if *updateReports {
				writeTestFile(t, reportsDir, g.golden, []byte(r.stdout))
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if r.stdout != string(want) {
				t.Errorf("output differs from %s (go test -run TestReportShowGolden -update-reports):\n%s", golden, r.stdout)
			}
		})
	}
}

func TestReportShow(t *testing.T) {
	f := newVerifyFixture(t)
	turin := filepath.Join(genuineDir, "oak/turin_oc_evidence.report.bin")
	v2 := filepath.Join(genuineDir, "go-sev-guest/attestation.bin")
	aux := filepath.Join(genuineDir, "veraison-tsm-genoa/auxblob.bin")
	ext := writeTestFile(t, f.dir, "genoa-ext.bin", append(readFile(t, filepath.Join(genuineDir, "veraison-tsm-genoa/report.bin")), readFile(t, aux)...))
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  []string
		err  string
	}{
		{"turin", []string{turin}, 0, []string{"(bin, Turin)", "REPORTED_TCB                   0x4700000002000100 (fmc=0 bl=1 tee=0 snp=2 ucode=71)",
			"  FMC                          0", "LAUNCH_MIT_VECTOR", "other bits (reserved in ABI 1.58)  0x40"}, ""},
		{"v2 report, Milan/Genoa layout", []string{v2}, 0, []string{"product line unknown: a VERSION 2 report does not name its CPU",
			"(bl=2 tee=0 snp=5 ucode=68; Milan/Genoa layout)", "  DEBUG                        1"}, ""},
		{"v2 report, --product Genoa", []string{v2, "--product", "genoa"}, 0, []string{"(bin, Genoa)", "(bl=2 tee=0 snp=5 ucode=68)"}, ""},
		{"extended report", []string{ext}, 0, []string{"CERTIFICATE TABLE", `"SEV-Genoa", valid`}, ""},
		{"hex", []string{writeTestFile(t, f.dir, "r.hex", []byte(hexOf(f.raw)))}, 0, []string{"(hex, Milan)"}, ""},
		{"--product disagrees with CPUID", []string{turin, "--product", "Milan"}, 2, nil, "--product Milan: the report's CPUID names Turin"},
		{"no file", nil, 2, nil, "missing FILE"},
		{"two files", []string{turin, v2}, 2, nil, "unexpected argument"},
		{"bad product", []string{turin, "--product", "x"}, 2, nil, "--product: unknown product line"},
		{"not a report", []string{f.vcek}, 1, nil, f.vcek + ": offset 0x0: not a supported SEV-SNP attestation report"},
		{"missing", []string{filepath.Join(f.dir, "nope")}, 1, nil, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runInProcess(append([]string{"report", "show"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.err) {
				t.Fatalf("exit %d, stderr %q; want %d, %q", r.code, r.stderr, tc.code, tc.err)
			}
			for _, o := range tc.out {
				if !strings.Contains(squeeze(r.stdout), squeeze(o)) {
					t.Errorf("no %q in\n%s", o, r.stdout)
				}
			}
		})
	}
	for _, args := range [][]string{{"report"}, {"report", "list"}} {
		if r := runInProcess(args...); r.code != 2 {
			t.Errorf("%q: exit %d", args, r.code)
		}
	}
	for _, args := range [][]string{{"report", "--help"}, {"report", "show", "--help"}, {"help", "report"}} {
		if r := runInProcess(args...); r.code != 0 || !strings.Contains(r.stdout, "\nExample:\n  snpmeasure report show") {
			t.Errorf("%q: exit %d\n%s", args, r.code, r.stdout)
		}
	}
	// Standard input.
	saved := app.Stdin
	defer func() { app.Stdin = saved }()
	app.Stdin = bytes.NewReader(readFile(t, turin))
	if r := runInProcess("report", "show", "-", "--json"); r.code != 0 || !strings.Contains(r.stdout, `"fmc": 0`) {
		t.Errorf("stdin: exit %d %s", r.code, r.stderr)
	}
}

// TestReportShowJSON parses the JSON output: one object, the fields in
// layout order, decoded parts as nested objects with "value".
func TestReportShowJSON(t *testing.T) {
	r := runInProcess("report", "show", "--json", filepath.Join(genuineDir, "oak/turin_oc_evidence.report.bin"))
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	tcb := v["reported_tcb"].(map[string]any)
	if tcb["value"] != "0x4700000002000100" || tcb["fmc"] != 0.0 || tcb["bl"] != 1.0 || tcb["snp"] != 2.0 || tcb["ucode"] != 71.0 {
		t.Errorf("reported_tcb %v", tcb)
	}
	if p := v["policy"].(map[string]any); p["debug"] != false || p["smt"] != true || p["value"] != "0x30000" {
		t.Errorf("policy %v", p)
	}
	if v["measurement"] != "f924dd18f168df60fbea937f0b086284d51b1b376de872bac43694f61134d57967c318018de7335503023dbb50dee624" || v["version"] != 5.0 {
		t.Errorf("measurement %v version %v", v["measurement"], v["version"])
	}
	if s := v["signer_info"].(map[string]any); s["signing_key"] != "VCEK" {
		t.Errorf("signer_info %v", s)
	}
	if strings.Index(r.stdout, `"version"`) > strings.Index(r.stdout, `"measurement"`) {
		t.Error("fields out of order")
	}
}

// squeeze collapses runs of spaces, the column padding of the output.
func squeeze(s string) string {
	for strings.Contains(s, "  ") {
		s = strings.ReplaceAll(s, "  ", " ")
	}
	return s
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hexOf(b []byte) string {
	const d = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, d[c>>4], d[c&15])
	}
	return string(out)
}
