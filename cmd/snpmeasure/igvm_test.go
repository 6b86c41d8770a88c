package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/snpmeasure/snpmeasure/igvm"
	"github.com/snpmeasure/snpmeasure/internal/igvmtest"
	"github.com/snpmeasure/snpmeasure/internal/schemacheck"
)

const igvmDir = "../../igvm/testdata/conformance"

// igvmmeasureArgs turns igvmmeasure's command line (digests.tsv) into
// snpmeasure's.
func igvmmeasureArgs(t *testing.T, file, argv string) []string {
	t.Helper()
	args := []string{"--mode", "snp"}
	words := strings.Fields(argv)
	for i := 0; i < len(words); i++ {
		switch w := words[i]; w {
		case "<file>":
			args = append(args, "--igvm", filepath.Join(igvmDir, file))
		case "-n", "--native-zero", "-c", "--check-kvm", "-i", "--ignore-idblock":
			args = append(args, w)
		case "-p", "--platform":
			i++
			args[1] = map[string]string{"sev-snp": "snp", "sev-es": "seves", "sev": "sev"}[words[i]]
		case "measure", "-b", "--bare", "-v", "--verbose":
		default:
			t.Fatalf("igvmmeasure argument %q", w)
		}
	}
	return args
}

// TestIGVMDigests reproduces every row of igvmmeasure's digests through the
// CLI: the same digest, or a clean failure where igvmmeasure fails.
func TestIGVMDigests(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(igvmDir, "digests.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(string(data)), "\n")[1:]
	for _, row := range rows {
		f := strings.SplitN(row, "\t", 3)
		t.Run(strings.Join([]string{f[0], f[1]}, " "), func(t *testing.T) {
			r := runInProcess(igvmmeasureArgs(t, f[0], f[1])...)
			got := strings.TrimSpace(r.stdout)
			want := strings.ToLower(f[2])
			switch {
			case strings.HasPrefix(f[2], "ERROR rc=1 after printing "):
				want = strings.ToLower(strings.TrimPrefix(f[2], "ERROR rc=1 after printing "))
				if r.code != 3 || got != want || !strings.Contains(r.stderr, "ID block") {
					t.Errorf("exit %d, %q, %q; want exit 3 after %s", r.code, got, r.stderr, want)
				}
			case strings.HasPrefix(f[2], "ERROR"):
				if (r.code != 1 && r.code != 3) || got != "" || strings.Count(r.stderr, "\n") != 1 {
					t.Errorf("exit %d, stdout %q, stderr %q; want a one-line failure (%s)", r.code, got, r.stderr, f[2])
				}
			default:
				if r.code != 0 || got != want {
					t.Errorf("exit %d, %q (%s); want %s", r.code, got, r.stderr, want)
				}
			}
		})
	}
	if len(rows) < 60 {
		t.Fatalf("%d rows", len(rows))
	}
}

func igvmPath(name string) string { return filepath.Join(igvmDir, name) }

// TestIGVMLaunches: the qemu loader, traces and diff, search, refvalues,
// verify and qemu-args with --igvm.
func TestIGVMLaunches(t *testing.T) {
	dir := t.TempDir()
	basic, params := igvmPath("01_snp_basic.igvm"), igvmPath("06_snp_params.igvm")
	// The qemu loader needs a vCPU count; the igvmmeasure loader refuses one.
	if r := runInProcess("--mode", "snp", "--igvm", basic, "--igvm-loader", "qemu"); r.code != 2 || !strings.Contains(r.stderr, "--vcpus") {
		t.Errorf("qemu loader without --vcpus: exit %d, %q", r.code, r.stderr)
	}
	if r := runInProcess("--mode", "snp", "--igvm", basic, "--vcpus", "2"); r.code != 2 {
		t.Errorf("igvmmeasure loader with --vcpus: exit %d", r.code)
	}
	if r := runInProcess("--mode", "snp", "--igvm", basic, "--ovmf", inputPath("sid-OVMF.amdsev.fd")); r.code != 2 {
		t.Errorf("--igvm with --ovmf: exit %d", r.code)
	}
	q2 := measureHex(t, "--mode", "snp", "--igvm", basic, "--igvm-loader", "qemu", "--vcpus", "2", "--vcpu-type", "EPYC-Genoa")
	q1 := measureHex(t, "--mode", "snp", "--igvm", basic, "--igvm-loader", "qemu", "--vcpus", "1")
	if q1 != "01319f1cee72aec0bff8f14b0f812f16451be8e3e0113ec6e1c260e56e87e6a6d5fb75c17eb887325c8cf4de3c42b7a5" || q2 == q1 {
		t.Errorf("qemu loader: 1 vCPU %s (the loaders agree on 01), 2 vCPUs %s", q1, q2)
	}

	// A trace ends at the digest; diff names the first differing directive.
	ta, tb := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	m := measureHex(t, "--mode", "snp", "--igvm", params, "--trace", ta)
	measureHex(t, "--mode", "snp", "--igvm", params, "-n", "--trace", tb)
	lines := strings.Split(strings.TrimSpace(string(readTestFile(t, ta))), "\n")
	if !strings.Contains(lines[len(lines)-1], `"digest":"`+m+`"`) || !strings.Contains(lines[0], `"source":"directive[`) {
		t.Errorf("trace: first %s, last %s, digest %s", lines[0], lines[len(lines)-1], m)
	}
	r := runInProcess("diff", ta, tb)
	if r.code != 3 || !regexpMatch(`first difference at update \d+ \(directive\[\d+\] PAGE_DATA`, r.stdout) {
		t.Errorf("diff: exit %d\n%s", r.code, r.stdout)
	}

	// search finds the vCPU count and type of a qemu-loader launch.
	r = runInProcess("search", "--measurement", q2, "--igvm", basic, "--igvm-loader", "qemu", "--vcpus", "1-16", "--vcpu-type", "EPYC-Milan,EPYC-Genoa")
	if r.code != 0 || !strings.Contains(r.stdout, "vcpus=2 vcpu-type=EPYC-Genoa") {
		t.Errorf("search: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runInProcess("search", "--measurement", q1, "--igvm", basic); r.code != 0 {
		t.Errorf("search with the igvmmeasure loader: exit %d %s", r.code, r.stderr)
	}

	// refvalues lists every count, and the document follows the schema.
	r = runInProcess("refvalues", "--igvm", basic, "--igvm-loader", "qemu", "--vcpus", "1-3", "--vcpu-type", "EPYC-Genoa")
	if r.code != 0 || strings.Count(r.stdout, `"measurement":`) != 3 || !strings.Contains(r.stdout, q2) {
		t.Errorf("refvalues: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if err := schemacheck.RefValues([]byte(r.stdout)); err != nil {
		t.Errorf("schema: %v", err)
	}

	// verify computes the expected measurement from --igvm.
	r = runInProcess("verify", "--report", "testdata/reports/milan-4vcpu.bin", "--igvm", basic)
	if r.code != 3 || !strings.Contains(r.stdout, "01319f1cee72aec0") {
		t.Errorf("verify --igvm: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// qemu-args prints the igvm-cfg object and the qemu loader's measurement.
	r = runInProcess("qemu-args", "--igvm", basic, "--vcpus", "2", "--vcpu-type", "EPYC-Genoa", "--qemu-version", "10.2")
	if r.code != 0 || !strings.Contains(r.stdout, "-object igvm-cfg,id=igvm0,file="+basic) || !strings.Contains(r.stdout, "expected measurement: "+q2) {
		t.Errorf("qemu-args --igvm: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runInProcess("qemu-args", "--igvm", basic, "--vcpus", "1", "--vcpu-type", "EPYC-Milan", "--qemu-version", "10.0"); r.code != 2 {
		t.Errorf("qemu-args --igvm for QEMU 10.0: exit %d", r.code)
	}
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// TestIGVMShowAndSign: show names how the loaders differ; sign writes a
// file whose ID block holds its digest, and a tampered one fails (exit 3).
func TestIGVMShowAndSign(t *testing.T) {
	r := runInProcess("igvm", "show", igvmPath("06_snp_params.igvm"))
	if r.code != 0 || !strings.Contains(r.stdout, "loaders: they differ: update 0, page type differs: igvmmeasure directive[5] PAGE_DATA") ||
		!strings.Contains(r.stdout, "parameter area") {
		t.Errorf("show 06: exit %d\n%s", r.code, r.stdout)
	}
	r = runInProcess("igvm", "show", igvmPath("30_ib_qemu_sorted_ovmf.igvm"), "--json")
	var d struct {
		Measurement, Divergence string
		LoadersAgree            bool   `json:"loaders_agree"`
		WithParameters          string `json:"qemu_with_parameters"`
		Directives              map[string]int
	}
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil || d.LoadersAgree || !strings.Contains(d.Divergence, "MADT") ||
		d.WithParameters != "the loaders agree" || d.Directives["PAGE_DATA"] != 823 {
		t.Errorf("show 30 --json: %v %+v", err, d)
	}
	dir := t.TempDir()
	signed := filepath.Join(dir, "signed.igvm")
	r = runInProcess("igvm", "sign", igvmPath("06_snp_params.igvm"), "-o", signed, "--id-key", "../../testdata/idblock/id_key_test.pem")
	if r.code != 0 {
		t.Fatalf("sign: exit %d %s", r.code, r.stderr)
	}
	want := "9c56a7c283c5bde489d1d070f2004b78e1b2d05b1949e39c8b65a88f657e3c2f35289daa83bd1b6ed2b5fe0ff753737c"
	if got := measureHex(t, "--mode", "snp", "--igvm", signed); got != want {
		t.Errorf("signed file measures %s, want 06's %s", got, want)
	}
	if r := runInProcess("igvm", "show", signed); !strings.Contains(r.stdout, "(matches: true)") {
		t.Errorf("show signed:\n%s", r.stdout)
	}
	// Its ID block for 06 does not fit the same file measured with -n.
	r = runInProcess("--mode", "snp", "--igvm", signed, "-n")
	if r.code != 3 || !strings.Contains(r.stderr, "ID block") || len(strings.TrimSpace(r.stdout)) != 96 {
		t.Errorf("-n on the signed file: exit %d, %q, %q", r.code, r.stdout, r.stderr)
	}
	if r := runInProcess("--mode", "snp", "--igvm", signed, "-n", "-i"); r.code != 0 {
		t.Errorf("-n -i: exit %d", r.code)
	}
	// The output is never the input.
	if r := runInProcess("igvm", "sign", signed, "-o", signed, "--id-key", "../../testdata/idblock/id_key_test.pem"); r.code != 2 {
		t.Errorf("sign onto its input: exit %d", r.code)
	}
}

// writeIGVM writes the file b lays out and returns its path.
func writeIGVM(t *testing.T, name string, b *igvmtest.Builder) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// basicVMSA is the VMSA of file 01, one QEMU loads.
func basicVMSA(t *testing.T) []byte {
	t.Helper()
	f, hs, err := igvm.Parse(readTestFile(t, igvmPath("01_snp_basic.igvm")))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs.Directives {
		if v, ok := h.Body.(igvm.VPContext); ok {
			p, err := f.VPContextData(v)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	t.Fatal("no VP context in 01")
	return nil
}

func snpFile() *igvmtest.Builder {
	b := &igvmtest.Builder{}
	b.Platform(1, igvm.PlatformSEVSNP)
	b.Policy(1, 0x30000)
	return b
}

// The qemu loader needs the vCPU signature when a vCPU has no VP context
// (its reset VMSA holds it): measure and qemu-args say so alike.
func TestIGVMQEMUNeedsSignature(t *testing.T) {
	basic := igvmPath("01_snp_basic.igvm")
	want := "vCPU 1 has no VP context in the IGVM file, so QEMU gives it its reset VMSA, which holds the vCPU signature: give --vcpu-type or --vcpu-sig"
	m := runInProcess("--mode", "snp", "--igvm", basic, "--igvm-loader", "qemu", "--vcpus", "2")
	q := runInProcess("qemu-args", "--igvm", basic, "--vcpus", "2", "--qemu-version", "10.2")
	for _, r := range []cliResult{m, q} {
		if r.code != 2 || r.stdout != "" || r.stderr != "snpmeasure: "+basic+": "+want+"\n" {
			t.Errorf("exit %d, %q, %q; want exit 2: %s", r.code, r.stdout, r.stderr, want)
		}
	}
	// A vCPU type, or a single vCPU (VP 0 has a context), is measured.
	measureHex(t, "--mode", "snp", "--igvm", basic, "--igvm-loader", "qemu", "--vcpus", "2", "--vcpu-sig", "0xa00f11")
	measureHex(t, "--mode", "snp", "--igvm", basic, "--igvm-loader", "qemu", "--vcpus", "1")
	// A file without VP contexts needs it for vCPU 0.
	b := snpFile()
	b.Page(0x1000, 1, 0, igvm.DataNormal, []byte{1})
	r := runInProcess("--mode", "snp", "--igvm", writeIGVM(t, "novp.igvm", b), "--igvm-loader", "qemu", "--vcpus", "1")
	if r.code != 2 || !strings.Contains(r.stderr, "vCPU 0 has no VP context") {
		t.Errorf("no VP context: exit %d, %q", r.code, r.stderr)
	}
}

type showJSON struct {
	Measurement            string `json:"measurement"`
	IGVMMeasureRefusal     string `json:"igvmmeasure_refusal"`
	QEMUMeasurement        string `json:"qemu_measurement"`
	QEMUVCPUs              int    `json:"qemu_vcpus"`
	QEMURefusal            string `json:"qemu_refusal"`
	QEMUIgnoringParameters string `json:"qemu_measurement_ignoring_parameters"`
	QEMUNeedsVCPUType      string `json:"qemu_needs_vcpu_type"`
	LoadersAgree           bool   `json:"loaders_agree"`
	ParameterAreas         []any  `json:"parameter_areas"`
	ParameterAreaCount     int    `json:"parameter_area_count"`
	VPContexts             []any  `json:"vp_contexts"`
	VPContextCount         int    `json:"vp_context_count"`
}

func showIGVM(t *testing.T, path string) (string, showJSON) {
	t.Helper()
	r := runInProcess("igvm", "show", path)
	j := runInProcess("igvm", "show", "--json", path)
	var d showJSON
	if r.code != 0 || j.code != 0 || json.Unmarshal([]byte(j.stdout), &d) != nil {
		t.Fatalf("show %s: exit %d %d, %s%s", path, r.code, j.code, r.stderr, j.stderr)
	}
	return r.stdout, d
}

// igvm show labels what each loader does with the files they refuse.
func TestIGVMShowRefusals(t *testing.T) {
	// QEMU 10.2 refuses 30 for its MADT: the qemu digest shown is that of
	// --ignore-unhandled-parameters, and says so.
	c43d := "c43d053d39c347aabe45e621c3c7a7d7601d36e380856f0eb92eeec6a4cb274ab0d6b7535678a8caf0d7463fb6adb6d7"
	out, d := showIGVM(t, igvmPath("30_ib_qemu_sorted_ovmf.igvm"))
	if !strings.Contains(out, "measurement (qemu loader, 1 vCPU): not measured: offset 0x108: directive[7] MADT: QEMU 10.2 has no handler for MADT directives\n") ||
		!strings.Contains(out, "measurement (qemu loader with --ignore-unhandled-parameters, 1 vCPU; QEMU 10.2 itself refuses the file): "+c43d+"\n") ||
		strings.Contains(out, "measurement (qemu loader, 1 vCPU): "+c43d) {
		t.Errorf("show 30:\n%s", out)
	}
	if d.QEMUMeasurement != "" || d.QEMUIgnoringParameters != c43d || !strings.Contains(d.QEMURefusal, "MADT") {
		t.Errorf("show 30 --json: %+v", d)
	}

	// A VP context for vCPU 65535: no QEMU guest has 65536 vCPUs.
	b := snpFile()
	b.Page(0x1000, 1, 0, igvm.DataNormal, []byte{1})
	b.VMSA(0xFFFFFFFFF000, 1, 0xFFFF, basicVMSA(t))
	out, d = showIGVM(t, writeIGVM(t, "vp65535.igvm", b))
	if !strings.Contains(out, "measurement (qemu loader): not measured: offset 0x68: directive[1] VP_CONTEXT: a VP context for vCPU 65535, but a QEMU guest has at most 4096 vCPUs\n") ||
		strings.Contains(out, "65536") || d.QEMUMeasurement != "" || d.QEMUVCPUs != 0 || d.Measurement == "" {
		t.Errorf("show VP 65535: %+v\n%s", d, out)
	}

	// A 2 MiB page with data: igvmmeasure cannot measure it (it panics);
	// show says so and shows the qemu loader, which measures it.
	b = snpFile()
	b.Page(0x200000, 1, igvm.FlagLargePage, igvm.DataNormal, []byte{1})
	b.VMSA(0xFFFFFFFFF000, 1, 0, basicVMSA(t))
	large := writeIGVM(t, "large.igvm", b)
	q := measureHex(t, "--mode", "snp", "--igvm", large, "--igvm-loader", "qemu", "--vcpus", "1")
	out, d = showIGVM(t, large)
	if !strings.Contains(out, "measurement (igvmmeasure loader): not measured: offset 0x48: directive[0] PAGE_DATA: 2 MiB page with file data") ||
		!strings.Contains(out, "measurement (qemu loader, 1 vCPU): "+q+"\n") || d.Measurement != "" || d.QEMUMeasurement != q ||
		!strings.Contains(d.IGVMMeasureRefusal, "2 MiB page") || d.LoadersAgree {
		t.Errorf("show 2 MiB page with data: %+v\n%s", d, out)
	}

	// Without a VP context, the qemu loader's VMSA depends on the vCPU type.
	b = snpFile()
	b.Page(0x1000, 1, 0, igvm.DataNormal, []byte{1})
	out, d = showIGVM(t, writeIGVM(t, "novp.igvm", b))
	if !strings.Contains(out, "measurement (qemu loader, 1 vCPU): depends on the vCPU type: vCPU 0 has no VP context") ||
		d.QEMUMeasurement != "" || d.QEMUNeedsVCPUType == "" {
		t.Errorf("show without VP context: %+v\n%s", d, out)
	}
}

// Many parameter areas or VP contexts are counted, not listed.
func TestIGVMShowManyAreas(t *testing.T) {
	for _, n := range []int{16, 17} {
		b := snpFile()
		for i := range n {
			b.Add(igvm.ParameterArea{NumberOfBytes: 4096, Index: uint32(i)}, nil)
		}
		out, d := showIGVM(t, writeIGVM(t, "areas.igvm", b))
		listed := strings.Count(out, "\nparameter area ")
		summary := strings.Contains(out, fmt.Sprintf("\nparameter areas: %d, too many to list: %d bytes in all, 0 with initial data\n", n, n*4096))
		if d.ParameterAreaCount != n || (n == 16) != (listed == 16 && len(d.ParameterAreas) == 16 && !summary) ||
			(n == 17) != (listed == 0 && len(d.ParameterAreas) == 0 && summary) {
			t.Errorf("%d areas: %d listed, %d in JSON, summary %v\n%s", n, listed, len(d.ParameterAreas), summary, out)
		}
	}
	b := snpFile()
	for i := range 17 {
		b.VMSA(0xFFFFFFFFF000, 1, uint16(i), basicVMSA(t))
	}
	out, d := showIGVM(t, writeIGVM(t, "vps.igvm", b))
	if !strings.Contains(out, "\nVP contexts: 17, too many to list\n") || strings.Contains(out, "VP_CONTEXT: VP") || d.VPContextCount != 17 ||
		len(d.VPContexts) != 0 || d.QEMUVCPUs != 17 || d.QEMUMeasurement == "" {
		t.Errorf("17 VP contexts: %+v\n%s", d, out)
	}
}

// igvm sign notes when QEMU measures the file otherwise, in one line.
func TestIGVMSignNote(t *testing.T) {
	dir := t.TempDir()
	key := "../../testdata/idblock/id_key_test.pem"
	r := runInProcess("igvm", "sign", igvmPath("06_snp_params.igvm"), "-o", filepath.Join(dir, "06.igvm"), "--id-key", key)
	want := "snpmeasure: note: QEMU 10.2 measures this file as c8b478b1b3fac7bcd52b81cf82f9d78a10622a1421f595b0ee565b44d26fcef9618f7995866f1d460fc8952727d7d121 (qemu loader, 1 vCPU), not as the signed 9c56a7c283c5bde489d1d070f2004b78e1b2d05b1949e39c8b65a88f657e3c2f35289daa83bd1b6ed2b5fe0ff753737c: a QEMU launch with this ID block fails at SNP_LAUNCH_FINISH\n"
	if r.code != 0 || r.stderr != want {
		t.Errorf("sign 06: exit %d, stderr %q, want %q", r.code, r.stderr, want)
	}
	// Without a VP context, QEMU measures a reset VMSA igvmmeasure never does.
	b := snpFile()
	b.Page(0x1000, 1, 0, igvm.DataNormal, []byte{1})
	r = runInProcess("igvm", "sign", writeIGVM(t, "novp.igvm", b), "-o", filepath.Join(dir, "novp.igvm"), "--id-key", key)
	if r.code != 0 || !strings.HasPrefix(r.stderr, "snpmeasure: note: QEMU 10.2 measures this file otherwise (qemu loader, 1 vCPU: vCPU 0 has no VP context") ||
		strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("sign without VP context: exit %d, stderr %q", r.code, r.stderr)
	}
	// The loaders agree on 01: no note.
	if r := runInProcess("igvm", "sign", igvmPath("01_snp_basic.igvm"), "-o", filepath.Join(dir, "01.igvm"), "--id-key", key); r.code != 0 || r.stderr != "" {
		t.Errorf("sign 01: exit %d, stderr %q", r.code, r.stderr)
	}
}
