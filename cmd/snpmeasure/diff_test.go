package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/snpmeasure/snpmeasure/trace"
)

// writeTraceOf measures with --trace and returns the trace path.
func writeTraceOf(t testing.TB, dir, name string, args ...string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	measureHex(t, append(slices.Clone(args), "--trace", p)...)
	return p
}

func TestDiffTraces(t *testing.T) {
	dir := t.TempDir()
	base := exampleMeasureFlags(t) // 4 vCPUs, kernel, initrd, command line
	with := func(flag, val string) []string {
		a := slices.Clone(base)
		i := slices.Index(a, flag)
		a[i+1] = val
		return a
	}
	a := writeTraceOf(t, dir, "a.jsonl", base...)
	same := writeTraceOf(t, dir, "same.jsonl", base...)
	cmdline := writeTraceOf(t, dir, "cmdline.jsonl", with("--append", "console=hvc0")...)
	vcpus := writeTraceOf(t, dir, "vcpus.jsonl", with("--vcpus", "6")...)
	vcpuType := writeTraceOf(t, dir, "type.jsonl", with("--vcpu-type", "EPYC-Rome")...)
	gce := writeTraceOf(t, dir, "gce.jsonl", append(with("--vcpu-type", "EPYC-Genoa"), "--vmm-type", "gce")...)
	other := writeTraceOf(t, dir, "other.jsonl", "--ovmf", testInput(t, "fx-ovmf_AmdSev_suffix.bin"), "--vcpus", "4",
		"--vcpu-type", "EPYC-Milan", "--kernel", base[7], "--initrd", base[9], "--append", base[11])

	tests := []struct {
		name  string
		a, b  string
		code  int
		wants []string
	}{
		{"identical", a, same, 0, []string{"identical launches", "1075 updates"}},
		{"command line", a, cmdline, 3, []string{
			"first difference at update 1070 (kernel-hashes): contents differ",
			"kernel-hashes  1     1     1          contents 1",
			"ovmf           1024  1024  0"}},
		{"more vCPUs", a, vcpus, 3, []string{
			"first difference at update 1075: B has 2 more updates than A, starting with vmsa[4] VMSA",
			"vmsa           4     6     0          2 more in B"}},
		{"fewer vCPUs", vcpus, a, 3, []string{"A has 2 more updates than B", "vmsa           6     4     0          2 more in A"}},
		{"vCPU type", a, vcpuType, 3, []string{"first difference at update 1071 (vmsa[0]): contents differ", "vmsa           4     4     4          contents 4"}},
		{"gce", a, gce, 3, []string{"page type", "GPA"}},
		{"other firmware", a, other, 3, []string{"first difference at update 0 (ovmf+0x0)", "ovmf"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runInProcess("diff", tc.a, tc.b)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", r.code, tc.code, r.stdout, r.stderr)
			}
			for _, w := range tc.wants {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			if tc.code == 3 && (strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, " differ: ")) {
				t.Errorf("stderr %q", r.stderr)
			}
		})
	}
}

func TestDiffStartDigest(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(writeTraceOf(t, dir, "a.jsonl", exampleMeasureFlags(t)...))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	// Same inputs, every digest changed: as if started from another digest.
	changed := make([]string, len(lines))
	for i, l := range lines {
		j := strings.LastIndex(l, `"digest":"`) + len(`"digest":"`)
		c := "0"
		if l[j] == '0' {
			c = "1"
		}
		changed[i] = l[:j] + c + l[j+1:]
	}
	a := writeTestFile(t, dir, "a2.jsonl", data)
	b := writeTestFile(t, dir, "b.jsonl", []byte(strings.Join(changed, "\n")+"\n"))
	r := runInProcess("diff", a, b)
	if r.code != 3 || !strings.Contains(r.stdout, "start from different digests") {
		t.Errorf("exit %d\n%s", r.code, r.stdout)
	}
}

func TestDiffErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeTraceOf(t, dir, "good.jsonl", exampleMeasureFlags(t)...)
	data, _ := os.ReadFile(good)
	lines := strings.SplitAfter(string(data), "\n")
	n := 0
	replace7 := func(s string) string {
		c := slices.Clone(lines[:10])
		c[6] = s
		n++
		return writeTestFile(t, dir, fmt.Sprintf("bad%d.jsonl", n), []byte(strings.Join(c, "")))
	}
	empty := writeTestFile(t, dir, "empty.jsonl", nil)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"malformed json", []string{"diff", good, replace7("{\"index\": 6,\n")}, 1, "bad1.jsonl: line 7: not a trace record"},
		{"missing key", []string{"diff", good, replace7(`{"index":6,"gpa":"0x1000","page_type":"NORMAL","source":"ovmf","contents":"` + strings.Repeat("0", 96) + `"}` + "\n")}, 1, `bad2.jsonl: line 7: missing key "digest"`},
		{"bad gpa", []string{"diff", replace7(strings.Replace(lines[6], `"gpa":"0x`, `"gpa":"`, 1)), good}, 1, "bad3.jsonl: line 7: gpa"},
		{"bad page type", []string{"diff", replace7(strings.Replace(lines[6], "NORMAL", "BIG", 1)), good}, 1, `line 7: page_type "BIG"`},
		{"short digest", []string{"diff", replace7(strings.Replace(lines[6], `"digest":"`, `"digest":"0`, 1)), good}, 1, "line 7: digest: 97 characters"},
		{"out of order", []string{"diff", replace7(lines[7]), good}, 1, "line 7: index 7, want 6"},
		{"too long", []string{"diff", writeTestFile(t, dir, "long.jsonl", []byte(strings.Repeat("x", trace.MaxLineSize+10))), good}, 1, "long.jsonl: line 1: longer than 65536 bytes"},
		{"missing", []string{"diff", filepath.Join(dir, "nope.jsonl"), good}, 1, "nope.jsonl: no such file or directory"},
		{"directory", []string{"diff", dir, good}, 1, "is a directory"},
		{"one argument", []string{"diff", good}, 2, "diff takes two trace files, got 1"},
		{"three arguments", []string{"diff", good, good, good}, 2, "got 3"},
		// An empty file is no launch (issue #10): bad input, never "identical".
		{"empty vs trace", []string{"diff", empty, good}, 1, "empty.jsonl: no launch updates: not a trace"},
		{"empty vs empty", []string{"diff", empty, empty}, 1, "empty.jsonl: no launch updates: not a trace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runInProcess(tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, tc.code, tc.want)
			}
			if tc.code == 1 && strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("stderr is not one line: %q", r.stderr)
			}
		})
	}
}

func TestDiffBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	base := exampleMeasureFlags(t)
	a := writeTraceOf(t, dir, "a.jsonl", base...)
	b := writeTraceOf(t, dir, "b.jsonl", append(slices.Clone(base), "--guest-features", "0x21")...)
	bad := writeTestFile(t, dir, "bad.jsonl", []byte("{\n"))
	for _, tc := range []struct {
		args []string
		code int
	}{{[]string{"diff", a, a}, 0}, {[]string{"diff", a, b}, 3}, {[]string{"diff", a, bad}, 1}, {[]string{"diff", a}, 2}} {
		if r := runBinary(t, dir, tc.args...); r.code != tc.code {
			t.Errorf("%q: exit %d, want %d: %s", tc.args, r.code, tc.code, r.stderr)
		}
	}
}

func TestDiffJSON(t *testing.T) {
	dir := t.TempDir()
	base := exampleMeasureFlags(t)
	with := func(flag, val string) []string {
		a := slices.Clone(base)
		a[slices.Index(a, flag)+1] = val
		return a
	}
	a := writeTraceOf(t, dir, "a.jsonl", base...)
	cmdline := writeTraceOf(t, dir, "cmdline.jsonl", with("--append", "console=hvc0")...)
	vcpus := writeTraceOf(t, dir, "vcpus.jsonl", with("--vcpus", "6")...)
	gce := writeTraceOf(t, dir, "gce.jsonl", append(with("--vcpu-type", "EPYC-Genoa"), "--vmm-type", "gce")...)
	data, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	for i, l := range lines { // same inputs, every digest changed
		j := strings.LastIndex(l, `"digest":"`) + len(`"digest":"`)
		c := "0"
		if l[j] == '0' {
			c = "1"
		}
		lines[i] = l[:j] + c + l[j+1:]
	}
	digests := writeTestFile(t, dir, "digests.jsonl", []byte(strings.Join(lines, "\n")+"\n"))
	empty := writeTestFile(t, dir, "empty.jsonl", nil)
	bad := writeTestFile(t, dir, "bad.jsonl", []byte("{\n"))
	aData, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	aLines := strings.SplitAfter(strings.TrimSuffix(string(aData), "\n"), "\n")
	prefix := writeTestFile(t, dir, "prefix.jsonl", []byte(strings.Join(aLines[:len(aLines)-1], "")))
	final := func(p string) string {
		r := runInProcess("diff", p, p)
		return strings.Fields(strings.SplitN(r.stdout, "final digest ", 2)[1])[0]
	}
	finalA := final(a)
	noDiff := `{"contents":0,"gpa":0,"page_type":0,"source":0}`

	for _, tc := range []struct {
		name string
		args []string
		code int
		want map[string]string // path → value; see checkJSONValues
	}{
		{"identical", []string{"diff", "--json", a, a}, 0, map[string]string{
			"identical": "true", "a.file": a, "a.updates": "1075", "a.final_digest": finalA, "b.file": a,
			"first_difference": "null", "digests_differ_from": "null",
			"by_source.0.source": "ovmf", "by_source.0.a": "1024", "by_source.0.b": "1024", "by_source.0.differing": "0",
			"by_source.0.how": noDiff, "by_source.3.source": "vmsa", "by_source.3.a": "4",
		}},
		{"command line", []string{"diff", a, cmdline, "--json"}, 3, map[string]string{
			"identical": "false", "b.file": cmdline, "b.updates": "1075",
			"first_difference.index": "1070", "first_difference.how": `["contents"]`,
			"first_difference.a.index": "1070", "first_difference.a.source": "kernel-hashes", "first_difference.a.page_type": "NORMAL",
			"first_difference.b.source": "kernel-hashes", "digests_differ_from": "null",
			"by_source.2.source": "kernel-hashes", "by_source.2.differing": "1", "by_source.2.how": `{"contents":1,"gpa":0,"page_type":0,"source":0}`,
			"by_source.0.differing": "0",
		}},
		{"more vCPUs", []string{"diff", "--json", a, vcpus}, 3, map[string]string{
			"b.updates": "1077", "first_difference.index": "1075", "first_difference.how": `["extra"]`,
			"first_difference.a": "null", "first_difference.b.source": "vmsa[4]", "first_difference.b.page_type": "VMSA",
			"first_difference.b.gpa": "0xfffffffff000",
			"by_source.3.source":     "vmsa", "by_source.3.a": "4", "by_source.3.b": "6", "by_source.3.differing": "0", "by_source.3.how": noDiff,
		}},
		{"fewer vCPUs", []string{"diff", "--json", vcpus, a}, 3, map[string]string{
			"first_difference.how": `["extra"]`, "first_difference.b": "null", "first_difference.a.source": "vmsa[4]",
		}},
		{"gce", []string{"diff", "--json", a, gce}, 3, map[string]string{
			"first_difference.index": "1024", "first_difference.how": `["page_type"]`,
			"first_difference.a.page_type": "ZERO", "first_difference.b.page_type": "UNMEASURED",
			"by_source.1.source": "metadata", "by_source.1.differing": "43", "by_source.1.how": `{"contents":0,"gpa":0,"page_type":43,"source":0}`,
			"by_source.3.how": `{"contents":4,"gpa":4,"page_type":0,"source":0}`,
		}},
		{"start digest", []string{"diff", "--json", a, digests}, 3, map[string]string{
			"identical": "false", "first_difference": "null", "digests_differ_from": "0", "by_source.0.differing": "0",
		}},
		{"empty", []string{"diff", "--json", empty, empty}, 1, nil},
		{"empty vs trace", []string{"diff", "--json", empty, a}, 1, nil},
		{"shorter", []string{"diff", "--json", a, prefix}, 3, map[string]string{
			"first_difference.index": "1074", "first_difference.b": "null", "first_difference.a.source": "vmsa[3]",
		}},
		{"bad trace", []string{"diff", "--json", a, bad}, 1, nil},
		{"one argument", []string{"diff", "--json", a}, 2, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runInProcess(tc.args...)
			v := checkJSONRun(t, r, tc.code)
			if v == nil {
				return
			}
			checkKeys(t, r.stdout, "identical", "a", "b", "first_difference", "digests_differ_from", "by_source")
			checkJSONValues(t, v, tc.want)
			if fd, ok := jget(t, v, "first_difference").(map[string]any); ok {
				for _, side := range []string{"a", "b"} {
					if u, ok := fd[side].(map[string]any); ok {
						if len(u) != 6 || len(jstr(u["contents"])) != 96 || len(jstr(u["digest"])) != 96 ||
							!strings.HasPrefix(jstr(u["gpa"]), "0x") {
							t.Errorf("first_difference.%s: %v", side, u)
						}
					}
				}
			}
		})
	}
}
