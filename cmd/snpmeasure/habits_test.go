package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/snpmeasure/snpmeasure/igvm"
	"github.com/snpmeasure/snpmeasure/initramfs"
)

// TestOddButLegalInputs: each case was refused, mismeasured or silently
// accepted before (issue #10).
func TestOddButLegalInputs(t *testing.T) {
	fw := inputPath("sid-OVMF.amdsev.fd")
	kernel := inputPath("synth-kernel-12345.bin")
	snp := []string{"--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-Milan", "--ovmf", fw}
	with := func(extra ...string) []string { return append(append([]string{}, snp...), extra...) }
	empty := measureHex(t, with("--kernel", inputPath("empty"), "--initrd", inputPath("empty"))...)
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string // in stdout (exit 0) or stderr
	}{
		{"kernel /dev/null", with("--kernel", "/dev/null", "--initrd", "/dev/null"), 0, empty},
		{"kernel /dev/zero", with("--kernel", "/dev/zero"), 1, "/dev/zero: is a device, not a file"},
		{"refvalues bad UTF-8", []string{"refvalues", "--ovmf", fw, "--kernel", kernel, "--append", "bad\xff", "--vcpus", "1"}, 2, "not valid UTF-8"},
		{"search bad UTF-8", []string{"search", "--measurement", strings.Repeat("00", 48), "--ovmf", fw, "--kernel", kernel, "--append", "bad\xff"}, 2, "not valid UTF-8"},
		{"empty list item", []string{"refvalues", "--ovmf", fw, "--vcpus", "1,,2"}, 2, "empty item"},
		{"empty type item", []string{"refvalues", "--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-Milan,"}, 2, "empty item"},
		{"vcpus beyond 64 bits", with("--vcpus", "99999999999999999999"), 2, "at most 4096"},
		{"vcpus range beyond int", []string{"refvalues", "--ovmf", fw, "--vcpus", "1-99999999999999999999"}, 2, "<= 4096"},
		{"empty --trace", with("--trace", ""), 2, "--trace: empty value"},
		{"empty --trace of an IGVM launch", []string{"--mode", "snp", "--igvm", "../../igvm/testdata/conformance/01_snp_basic.igvm", "--trace", ""}, 2, "--trace: empty value"},
		{"--vars-file a device", []string{"--mode", "snp:svsm", "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--ovmf", inputPath("fx-svsm_ovmf.fd"), "--svsm", inputPath("fx-svsm.bin"), "--vars-file", "/dev/null"}, 2, "not a regular file"},
		{"--vcpu-type QEMU's EPYC-Genoa-v3", with("--vcpu-type", "EPYC-Genoa-v3"), 0, measureHex(t, with("--vcpu-type", "EPYC-Genoa")...)},
		{"empty -o", []string{"refvalues", "--ovmf", fw, "--vcpus", "1", "-o", ""}, 2, "empty file name"},
		{"ID block version 0", []string{"idblock", "--measurement", strings.Repeat("00", 48), "--id-key", "../../testdata/idblock/id_key_test.pem", "--version", "0"}, 2, "version 1 only"},
		{"guest features beyond 64 bits", with("--guest-features", "0x10000000000000021"), 2, "does not fit in 64 bits"},
		{"--append=--", []string{"--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-Milan", "--ovmf", fw, "--kernel", kernel, "--append=--"}, 0,
			measureHex(t, with("--kernel", kernel, "--append", "--")...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runInProcess(tc.args...)
			where := r.stderr
			if tc.code == 0 {
				where = r.stdout
			}
			if r.code != tc.code || !strings.Contains(where, tc.out) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and %q", r.code, r.stdout, r.stderr, tc.code, tc.out)
			}
		})
	}
	// A command line is measured with its terminating NUL, whatever it holds.
	if got, want := measureHex(t, with("--kernel", kernel, "--append", "--")...), measureHex(t, with("--kernel", kernel, "--append", "-foo")...); got == want {
		t.Error("--append -- and -foo measure the same")
	}
}

// TestListsDeduplicated: a type listed twice is measured once, with a note.
func TestListsDeduplicated(t *testing.T) {
	r := runInProcess("refvalues", "--ovmf", inputPath("sid-OVMF.amdsev.fd"), "--vcpus", "1-2", "--vcpu-type", "EPYC-Milan,EPYC-Milan", "--guest-features", "0x1,1")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var doc struct{ Measurements []json.RawMessage }
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc.Measurements) != 2 {
		t.Errorf("%d measurements, want 2 (%v)", len(doc.Measurements), err)
	}
	if !strings.Contains(r.stderr, "EPYC-Milan is listed twice") || !strings.Contains(r.stderr, "1 is listed twice") {
		t.Errorf("no note: %q", r.stderr)
	}
	// Signatures are compared by value, whatever their spelling.
	r = runInProcess("refvalues", "--ovmf", inputPath("sid-OVMF.amdsev.fd"), "--vcpus", "1", "--vcpu-sig", "0xa00f11,10489617")
	if err := json.Unmarshal([]byte(r.stdout), &doc); r.code != 0 || err != nil || len(doc.Measurements) != 1 || !strings.Contains(r.stderr, "10489617 is listed twice") {
		t.Errorf("--vcpu-sig 0xa00f11,10489617: exit %d, %d measurements, stderr %q", r.code, len(doc.Measurements), r.stderr)
	}
}

// TestMeasureJSON: the digest, the configuration and every input's SHA-256.
func TestMeasureJSON(t *testing.T) {
	args := []string{"--mode", "snp", "--vcpus", "4", "--vcpu-type", "EPYC-Milan", "--ovmf", inputPath("sid-OVMF.amdsev.fd"),
		"--kernel", inputPath("synth-kernel-12345.bin"), "--initrd", inputPath("synth-initrd-5M.img"), "--append", "console=ttyS0 root=/dev/vda"}
	r := runInProcess(append(args, "--json")...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var got measureRecord
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	if got.Measurement != "b8cafa5bddc1d238c3e312427508fc1a6b5bc301f9d7839282f99b20a206db8f9ad44c8d461b56bcf256f05a325e1ab2" ||
		got.VCPUs != 4 || got.VCPUType != "EPYC-Milan" || got.VCPUSig != "0xa00f11" || got.VMMType != "QEMU" ||
		got.GuestFeatures != "0x1" || got.KVMInit != "init2" || got.Cmdline == nil || *got.Cmdline != "console=ttyS0 root=/dev/vda" {
		t.Errorf("record %+v", got)
	}
	want := map[string]string{
		"firmware": "3e4fd0b3fe3b2dbe481c3d9e99418a034174f26cbe1f55aa212b0f18c12d2d6f",
		"kernel":   sha256Hex(readTestFile(t, inputPath("synth-kernel-12345.bin"))),
		"initrd":   sha256Hex(readTestFile(t, inputPath("synth-initrd-5M.img"))),
	}
	var raw struct {
		Inputs []struct{ Role, Path, SHA256 string }
	}
	json.Unmarshal([]byte(r.stdout), &raw)
	if len(raw.Inputs) != 3 {
		t.Fatalf("inputs %+v", raw.Inputs)
	}
	for _, in := range raw.Inputs {
		if want[in.Role] != in.SHA256 {
			t.Errorf("%s: sha256 %s, want %s", in.Role, in.SHA256, want[in.Role])
		}
	}
}

// TestMeasureJSONIGVM: an IGVM record names the loader and its options
// (two digests of one file differ in them), and no VMM or guest features.
func TestMeasureJSONIGVM(t *testing.T) {
	f := "../../igvm/testdata/conformance/02_snp_zero_pages.igvm"
	for _, tc := range []struct {
		args []string
		want measureRecord
	}{
		{[]string{"-n"}, measureRecord{IGVMLoader: "igvmmeasure", NativeZero: ptr(true), CheckKVM: ptr(false)}},
		{nil, measureRecord{IGVMLoader: "igvmmeasure", NativeZero: ptr(false), CheckKVM: ptr(false)}},
		{[]string{"--igvm-loader", "qemu", "--vcpus", "2", "--vcpu-type", "EPYC-Genoa"}, measureRecord{IGVMLoader: "qemu", VCPUs: 2, VCPUSig: "0xa10f10"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := runInProcess(append([]string{"--mode", "snp", "--igvm", f, "--json"}, tc.args...)...)
			var got measureRecord
			if err := json.Unmarshal([]byte(r.stdout), &got); r.code != 0 || err != nil {
				t.Fatalf("exit %d %v: %s", r.code, err, r.stderr)
			}
			if got.IGVMLoader != tc.want.IGVMLoader || got.VCPUs != tc.want.VCPUs || got.VCPUSig != tc.want.VCPUSig ||
				(tc.want.NativeZero != nil && (got.NativeZero == nil || *got.NativeZero != *tc.want.NativeZero)) || got.VMMType != "" || got.GuestFeatures != "" {
				t.Errorf("record %s", r.stdout)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func readTestFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVersionLine: the release, the commit (or "unknown") and the Go version.
func TestVersionLine(t *testing.T) {
	re := regexp.MustCompile(`^snpmeasure \S+ \((module \S+, )?commit [0-9a-f]+(\+dirty)?|commit unknown`)
	for _, args := range [][]string{{"--version"}, {"version"}, {"verify", "--version"}} {
		r := runInProcess(args...)
		if r.code != 0 || !re.MatchString(r.stdout) || !strings.Contains(r.stdout, runtime.Version()) {
			t.Errorf("%v: exit %d, %q", args, r.code, r.stdout)
		}
	}
}

// TestHelpTexts: --help COMMAND shows that command's help; no help shows
// Go type names as placeholders.
func TestHelpTexts(t *testing.T) {
	if r := runInProcess("--help", "verify"); r.code != 0 || !strings.HasPrefix(r.stdout, "Usage: snpmeasure verify") {
		t.Errorf("--help verify: %q", r.stdout[:min(80, len(r.stdout))])
	}
	goTypes := regexp.MustCompile(`--[\w-]+ (uint32|uint64|int|uint|stringSlice)\b`)
	for _, args := range [][]string{{"verity", "format", "--help"}, {"verity", "verify", "--help"}, {"idblock", "--help"},
		{"refvalues", "--help"}, {"search", "--help"}, {"--help"}, {"initramfs", "build", "--help"}} {
		r := runInProcess(args...)
		if m := goTypes.FindString(r.stdout); m != "" {
			t.Errorf("%v: help shows a Go type: %q", args, m)
		}
	}
}

// TestManifestErrorsShowResolvedPath: relative locations are resolved
// against the manifest, and the error says where that led.
func TestManifestErrorsShowResolvedPath(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "m.list")
	os.WriteFile(m, []byte("file /a ./missing.txt 0644 0 0\n"), 0o644)
	r := runInProcess("initramfs", "build", m, "-o", filepath.Join(dir, "out.img"))
	want := m + ": line 1: file ./missing.txt (" + filepath.Join(dir, "missing.txt") + "): no such file or directory"
	if r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("exit %d, %q; want %q", r.code, r.stderr, want)
	}
}

// TestNewOutputUmask: a new output file gets the mode the umask leaves.
func TestNewOutputUmask(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	out := filepath.Join(t.TempDir(), "t.jsonl")
	r := runInProcess("--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-Milan", "--ovmf", inputPath("sid-OVMF.amdsev.fd"), "--trace", out)
	st, err := os.Stat(out)
	if r.code != 0 || err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("exit %d, %v: mode %v, want 0600", r.code, err, st.Mode())
	}
}

// TestOutputToStandardOutputByAnyName: an artefact written to standard
// output under any of its names (-, /dev/stdout, /dev/fd/1) gets no
// summary mixed in: the summary goes to standard error.
func TestOutputToStandardOutputByAnyName(t *testing.T) {
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	os.Mkdir(tree, 0o755)
	os.WriteFile(filepath.Join(tree, "init"), []byte("#!/bin/sh\n"), 0o755)
	data := filepath.Join(dir, "data.img")
	os.WriteFile(data, bytes.Repeat([]byte{7}, 64<<10), 0o644)
	igvmFile := "../../igvm/testdata/conformance/01_snp_basic.igvm"
	idKey, _ := filepath.Abs("../../testdata/idblock/id_key_test.pem")
	for _, name := range []string{"-", "/dev/stdout", "/dev/fd/1"} {
		for _, tc := range []struct {
			what  string
			args  []string
			check func(t *testing.T, out []byte)
		}{
			{"initramfs build", []string{"initramfs", "build", tree, "-o", name}, func(t *testing.T, out []byte) {
				if _, err := initramfs.List(bytes.NewReader(out)); err != nil {
					t.Errorf("not an archive: %v", err)
				}
			}},
			{"igvm sign", []string{"igvm", "sign", igvmFile, "--id-key", idKey, "-o", name}, func(t *testing.T, out []byte) {
				if _, err := igvm.Open(bytes.NewReader(out), int64(len(out))); err != nil {
					t.Errorf("not an IGVM file: %v", err)
				}
			}},
			{"verity format", []string{"verity", "format", "--salt", "-", "--uuid", "00000000-0000-0000-0000-000000000001", data, name}, func(t *testing.T, out []byte) {
				if len(out)%4096 != 0 {
					t.Errorf("%d bytes: text after the hash tree", len(out))
				}
			}},
		} {
			t.Run(tc.what+" -o "+name, func(t *testing.T) {
				abs, _ := filepath.Abs(".")
				r := runBinary(t, abs, tc.args...)
				if r.code != 0 {
					t.Fatalf("exit %d: %s", r.code, r.stderr)
				}
				tc.check(t, []byte(r.stdout))
				if r.stderr == "" {
					t.Error("no summary on standard error")
				}
			})
		}
	}
}

// TestOutputsAllOrNone: when one output cannot be written, none is: the
// trace and vmsa0.bin are not left behind because vmsa1.bin failed.
func TestOutputsAllOrNone(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "vmsa1.bin"), 0o755)
	fw, _ := filepath.Abs(inputPath("sid-OVMF.amdsev.fd"))
	r := runBinary(t, dir, "--mode", "snp", "--vcpus", "2", "--vcpu-type", "EPYC", "--ovmf", fw, "--trace", "t.jsonl", "--dump-vmsa")
	if r.code != 1 || !strings.Contains(r.stderr, "vmsa1.bin: is a directory") {
		t.Errorf("exit %d: %s", r.code, r.stderr)
	}
	for _, name := range []string{"t.jsonl", "vmsa0.bin"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s was written although the run failed", name)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("left behind: %v", ents)
	}
}
