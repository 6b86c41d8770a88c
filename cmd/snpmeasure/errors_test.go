package main

import (
	"bytes"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// qaFixture holds the files of the cross-command regression tests.
type qaFixture struct {
	dir, fw, kernel, report, vcek, chainASK, chainARK, data string
}

func newQAFixture(t *testing.T) *qaFixture {
	t.Helper()
	dir := t.TempDir()
	copyTo := func(src, name string) string {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		return writeTestFile(t, dir, name, b)
	}
	f := &qaFixture{
		dir:    dir,
		fw:     copyTo(filepath.Join(inputsDir, "sid-OVMF.amdsev.fd"), "fw.fd"),
		kernel: copyTo(filepath.Join(inputsDir, "synth-kernel-12345.bin"), "kernel.bin"),
		report: filepath.Join(reportsDir, "milan-4vcpu.bin"),
		vcek:   filepath.Join(reportsDir, "test-vcek.pem"),
		data:   writeTestFile(t, dir, "data.img", bytes.Repeat([]byte{0x5a}, 64<<10)),
	}
	// Split the test chain into its ASK and ARK.
	chain, err := os.ReadFile(filepath.Join(reportsDir, "test-chain.pem"))
	if err != nil {
		t.Fatal(err)
	}
	var blocks [][]byte
	for rest := chain; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		blocks = append(blocks, pem.EncodeToMemory(b))
	}
	if len(blocks) != 2 {
		t.Fatalf("test-chain.pem: %d certificates, want ASK and ARK", len(blocks))
	}
	f.chainASK = writeTestFile(t, dir, "ask.pem", blocks[0])
	f.chainARK = writeTestFile(t, dir, "ark.pem", blocks[1])
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	return f
}

// checkOneLine checks the exit status and that stderr is exactly one line
// holding want.
func checkOneLine(t *testing.T, r cliResult, code int, want string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit %d, want %d; stderr %q", r.code, code, r.stderr)
	}
	if strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("stderr is not exactly one line: %q", r.stderr)
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr %q does not contain %q", r.stderr, want)
	}
	if strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "panic") {
		t.Errorf("stderr has a stack trace: %q", r.stderr)
	}
}

// TestQARegressions covers defects found in the QA pass: each row is a
// command line that must fail with one line on stderr and an exit status.
func TestQARegressions(t *testing.T) {
	f := newQAFixture(t)
	adir := filepath.Join(f.dir, "adir")
	snp := []string{"--mode", "snp", "--vcpus", "2", "--vcpu-type", "EPYC-Milan", "--ovmf", f.fw}
	with := func(base []string, extra ...string) []string {
		return append(append([]string{}, base...), extra...)
	}
	measureFlags := []string{"--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-Milan", "--ovmf", f.fw, "--kernel", f.kernel}
	tree := filepath.Join(f.dir, "tree")
	if err := os.MkdirAll(filepath.Join(tree, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, tree, "init", []byte("#!/bin/sh\n"))
	manifest := writeTestFile(t, f.dir, "m.list", []byte("dir /etc 0755 0 0\n"))
	badTrace := writeTestFile(t, f.dir, "array.jsonl", []byte("[1,2]\n"))
	badIndex := writeTestFile(t, f.dir, "index.jsonl", []byte(`{"index":"0"}`+"\n"))
	hexReport := func() string {
		raw, err := os.ReadFile(f.report)
		if err != nil {
			t.Fatal(err)
		}
		h := []byte(hex.EncodeToString(raw))
		h[100] = 'z' // one stray character in an otherwise hex report
		return writeTestFile(t, f.dir, "typo.hex", h)
	}()

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		// Output files that are also inputs are refused, before anything is written.
		{"measure --trace is the firmware", with(snp, "--trace", f.fw), 2, "--trace " + f.fw + " is also the --ovmf input"},
		{"measure --trace is the kernel via ./", with(snp, "--kernel", f.kernel, "--trace", filepath.Join(f.dir, ".", "kernel.bin")), 2, "is also the --kernel input"},
		{"verify --trace is the report", with([]string{"verify", "--report", f.report}, append(snp[2:], "--trace", f.report)...), 2, "is also the --report input"},
		{"refvalues -o is the firmware", []string{"refvalues", "--ovmf", f.fw, "--vcpus", "1", "-o", f.fw}, 2, "-o " + f.fw + " is also the --ovmf input"},
		{"refvalues -o is the kernel", []string{"refvalues", "--ovmf", f.fw, "--kernel", f.kernel, "--vcpus", "1", "-o", f.kernel}, 2, "is also the --kernel input"},
		{"initramfs build -o is a manifest", []string{"initramfs", "build", manifest, "-o", manifest}, 2, "is also the SRC input"},
		{"initramfs build --trace is -o", with([]string{"initramfs", "build", tree, "-o", filepath.Join(f.dir, "i.img"), "--measure", "--trace", filepath.Join(f.dir, "i.img")}, measureFlags...), 2, "is also the -o output"},
		{"verity format HASHFILE is DATA", []string{"verity", "format", f.data, f.data}, 2, "HASHFILE " + f.data + " is also the DATA input"},

		// Directories where an output file is expected.
		{"measure --trace dir", with(snp, "--trace", adir), 1, adir + ": is a directory, not a file"},
		{"refvalues -o dir", []string{"refvalues", "--ovmf", f.fw, "--vcpus", "1", "-o", adir}, 1, adir + ": is a directory, not a file"},
		{"initramfs build -o dir", []string{"initramfs", "build", tree, "-o", adir}, 1, adir + ": is a directory, not a file"},
		{"verity format HASHFILE dir", []string{"verity", "format", f.data, adir}, 1, adir + ": is a directory, not a file"},
		{"verity format DATA dir", []string{"verity", "format", adir, filepath.Join(f.dir, "h.img")}, 1, adir + ": is a directory, not a file"},
		{"verity verify HASHFILE dir", []string{"verity", "verify", f.data, adir, strings.Repeat("00", 32), "--no-superblock"}, 1, adir + ": is a directory, not a file"},
		{"verity format into missing dir", []string{"verity", "format", f.data, filepath.Join(f.dir, "nope", "h.img")}, 1, filepath.Join(f.dir, "nope", "h.img") + ": no such file or directory"},

		// Typed flags get readable messages.
		{"verity --format -1", []string{"verity", "format", f.data, filepath.Join(f.dir, "h.img"), "--format", "-1"}, 2, "--format -1: want a non-negative whole number"},
		{"verity --data-block-size huge", []string{"verity", "format", f.data, filepath.Join(f.dir, "h.img"), "--data-block-size", "99999999999"}, 2, "--data-block-size 99999999999: out of range"},
		{"bool flag with a value", []string{"verify", "--json=maybe"}, 2, "--json=maybe: want true or false"},

		// help of an unknown command is a usage error.
		{"help of unknown command", []string{"help", "nosuch"}, 2, `unknown command "nosuch"`},

		// verify: the trusted roots must be an ASK and an ARK.
		{"verify --ark is the VCEK", []string{"verify", "--report", f.report, "--vcek", f.vcek, "--ask", f.chainASK, "--ark", f.vcek}, 1, `"SEV-VCEK" is not an ARK`},
		{"verify --ask is the VCEK", []string{"verify", "--report", f.report, "--vcek", f.vcek, "--ask", f.vcek, "--ark", f.chainARK}, 1, `"SEV-VCEK" is not an ASK`},
		{"verify --ask is the ARK", []string{"verify", "--report", f.report, "--vcek", f.vcek, "--ask", f.chainARK, "--ark", f.chainARK}, 1, `"ARK-Milan" is not an ASK`},
		{"verify --ark is the ASK", []string{"verify", "--report", f.report, "--vcek", f.vcek, "--ask", f.chainASK, "--ark", f.chainASK}, 1, `"SEV-Milan" is not an ARK`},
		{"verify hex report with a typo", []string{"verify", "--report", hexReport, "--vmpl", "0"}, 1, "not hex (offset 100: byte 'z' is not a hex digit)"},

		// search and refvalues: conflicting flags, and usage before input.
		{"search --vcpu-type and --vcpu-sig", []string{"search", "--report", f.report, "--ovmf", f.fw, "--vcpu-type", "EPYC-Milan", "--vcpu-sig", "0xa00f11"}, 2, "--vcpu-type and --vcpu-sig both give the vCPU models"},
		{"refvalues --vcpu-type and --vcpu-sig", []string{"refvalues", "--ovmf", f.fw, "--vcpus", "1", "--vcpu-type", "EPYC-Milan", "--vcpu-sig", "0xa00f11"}, 2, "--vcpu-type and --vcpu-sig both give the vCPU models"},
		{"search bad --snp-ovmf-hash before a bad report", []string{"search", "--report", f.fw, "--ovmf", f.fw, "--snp-ovmf-hash", "zz"}, 2, "--snp-ovmf-hash"},

		// measure: --vcpus beyond what KVM and QEMU can launch.
		{"measure --vcpus too many", with(snp[:2], "--vcpus", "99999999999", "--vcpu-type", "EPYC", "--ovmf", f.fw), 2, "--vcpus 99999999999: at most 4096"},

		// diff: JSON of the wrong shape is named, not dumped as a Go type.
		{"diff array line", []string{"diff", badTrace, badTrace}, 1, "array.jsonl: line 1: not a trace record: a JSON array, want an object"},
		{"diff string index", []string{"diff", badIndex, badIndex}, 1, `key "index" is a JSON string, want a non-negative integer`},
		{"diff one argument", []string{"diff", badTrace}, 2, "got 1 argument"},

		// idblock verify: a repeated key in the line.
		{"idblock verify repeated key", []string{"idblock", "verify", "id-block=AAAA,id-auth=AAAA,id-auth=BBBB"}, 2, "want id-block=<base64>,id-auth=<base64>"},

		// initramfs build: measure flags need --measure; --measure needs --kernel.
		{"initramfs measure flag without --measure", []string{"initramfs", "build", tree, "-o", filepath.Join(f.dir, "i.img"), "--vcpu-sig", "1"}, 2, "--vcpu-sig is a measure flag: add --measure"},
		{"initramfs --trace without --measure", []string{"initramfs", "build", tree, "-o", filepath.Join(f.dir, "i.img"), "--trace", filepath.Join(f.dir, "t.jsonl")}, 2, "--trace is a measure flag"},
		{"initramfs --measure without --kernel", []string{"initramfs", "build", tree, "-o", filepath.Join(f.dir, "i.img"), "--measure", "--mode", "snp", "--ovmf", f.fw, "--vcpus", "1", "--vcpu-type", "EPYC"}, 2, "--measure needs --kernel"},

		// qemu-args: file errors start with the file, like every other command.
		{"qemu-args missing kernel", []string{"qemu-args", "--ovmf", f.fw, "--vcpus", "1", "--vcpu-type", "EPYC", "--kernel", filepath.Join(f.dir, "nope")}, 1, "snpmeasure: " + filepath.Join(f.dir, "nope") + ": no such file or directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshotDir(t, f.dir)
			r := runInProcess(tc.args...)
			checkOneLine(t, r, tc.code, tc.want)
			if after := snapshotDir(t, f.dir); after != before {
				t.Errorf("a failed command changed %s:\nbefore %s\nafter  %s", f.dir, before, after)
			}
		})
	}
}

// snapshotDir lists the files under dir with their sizes and modification
// times (directories left out: their times change with temporary files).
func snapshotDir(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			fmt.Fprintf(&b, "%s %d %s\n", p, fi.Size(), fi.ModTime())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestInitramfsMeasureFailureLeavesNoArchive: with --measure, the archive
// is renamed into place only when the measurement succeeded too.
func TestInitramfsMeasureFailureLeavesNoArchive(t *testing.T) {
	f := newQAFixture(t)
	tree := filepath.Join(f.dir, "tree")
	if err := os.Mkdir(tree, 0o755); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, tree, "init", []byte("x"))
	out := filepath.Join(f.dir, "initrd.img")
	bookworm := filepath.Join(inputsDir, "bookworm-OVMF.fd") // no SNP_KERNEL_HASHES
	for _, tc := range []struct {
		name, ovmf, want string
	}{
		{"missing firmware", filepath.Join(f.dir, "nope.fd"), "nope.fd: no such file or directory"},
		{"firmware without kernel hashes", bookworm, "no SNP_KERNEL_HASHES section"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runInProcess("initramfs", "build", tree, "-o", out, "--measure", "--mode", "snp", "--ovmf", tc.ovmf,
				"--vcpus", "1", "--vcpu-type", "EPYC", "--kernel", f.kernel)
			checkOneLine(t, r, 1, tc.want)
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
			ents, err := os.ReadDir(f.dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				if strings.Contains(e.Name(), "initrd.img") {
					t.Errorf("left %s behind", e.Name())
				}
			}
		})
	}
	r := runInProcess("initramfs", "build", tree, "-o", out, "--measure", "--mode", "snp", "--ovmf", f.fw,
		"--vcpus", "1", "--vcpu-type", "EPYC", "--kernel", f.kernel)
	if r.code != 0 || strings.Count(r.stdout, "\n") != 2 || !strings.HasPrefix(r.stdout, "sha256:") || !strings.Contains(r.stdout, "  "+out+"\n") {
		t.Fatalf("build --measure: exit %d\nstdout %q\nstderr %q", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("archive not written: %v", err)
	}
}

// TestHelpSubcommand: "help CMD SUB" shows the subcommand's help.
func TestHelpSubcommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"help", "initramfs", "build"}, "Usage: snpmeasure initramfs build"},
		{[]string{"help", "idblock", "verify"}, "Usage: snpmeasure idblock verify"},
		{[]string{"help", "verity", "verify"}, "Usage: snpmeasure verity verify"},
		{[]string{"help", "verify"}, "Usage: snpmeasure verify"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := runInProcess(tc.args...)
			if r.code != 0 || !strings.HasPrefix(r.stdout, tc.want) || r.stderr != "" {
				t.Errorf("exit %d, stdout %.60q, stderr %q", r.code, r.stdout, r.stderr)
			}
		})
	}
}

// TestEveryHelpHasExample: --help of every command and subcommand prints
// usage with an example and exits 0.
func TestEveryHelpHasExample(t *testing.T) {
	for _, args := range [][]string{
		{"cpus"}, {"measure"}, {"verify"}, {"search"}, {"diff"}, {"refvalues"}, {"idblock"}, {"idblock", "verify"},
		{"qemu-args"}, {"initramfs"}, {"initramfs", "build"}, {"initramfs", "ls"}, {"initramfs", "diff"},
		{"verity"}, {"verity", "format"}, {"verity", "verify"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runInProcess(append(args, "--help")...)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			if !strings.Contains(r.stdout, "Usage:") || !strings.Contains(r.stdout, "\nExample:\n  snpmeasure ") &&
				!strings.Contains(r.stdout, "\nExample:\n  SOURCE_DATE_EPOCH=") && !strings.Contains(r.stdout, "\nExample:\n  openssl ") {
				t.Errorf("no usage with an example:\n%s", r.stdout)
			}
		})
	}
}

// TestQAAccepted: inputs the QA pass made consistent across commands.
func TestQAAccepted(t *testing.T) {
	f := newQAFixture(t)
	m := "b8cafa5bddc1d238c3e312427508fc1a6b5bc301f9d7839282f99b20a206db8f9ad44c8d461b56bcf256f05a325e1ab2"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"idblock --measurement with 0x, as verify takes it", []string{"idblock", "--measurement", "0x" + m, "--id-key", idbIDKey}, "id-block="},
		{"qemu-args --host-data with 0x, as verify takes it", []string{"qemu-args", "--ovmf", f.fw, "--vcpus", "1", "--vcpu-type", "EPYC",
			"--host-data", "0x" + strings.Repeat("ab", 32)}, "host-data=q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s="},
		{"verify with the test chain split into --ask and --ark", []string{"verify", "--report", f.report, "--vcek", f.vcek,
			"--ask", f.chainASK, "--ark", f.chainARK, "--trust-ark", f.chainARK}, "OK: 11 of 11 checks passed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runInProcess(tc.args...)
			if r.code != 0 || !strings.Contains(r.stdout, tc.want) {
				t.Errorf("exit %d, stderr %q, stdout lacks %q:\n%s", r.code, r.stderr, tc.want, r.stdout)
			}
		})
	}
}

// fullWriter fails every write, like stdout redirected to /dev/full.
type fullWriter struct{}

func (fullWriter) Write(p []byte) (int, error) { return 0, syscall.ENOSPC }

// TestStdoutWriteError: output that could not be written fails the command
// (exit 1, one line), instead of exit 0 with nothing printed.
func TestStdoutWriteError(t *testing.T) {
	f := newQAFixture(t)
	for _, args := range [][]string{
		{"cpus"},
		{"--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC", "--ovmf", f.fw},
		{"verify", "--report", f.report, "--vmpl", "0"},
		{"refvalues", "--ovmf", f.fw, "--vcpus", "1", "--vcpu-type", "EPYC"},
		{"verity", "format", f.data, filepath.Join(f.dir, "h.img")},
		{"--help"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var errb bytes.Buffer
			code := app.ExitCode(app.Run(args, fullWriter{}, &errb), &errb)
			checkOneLine(t, cliResult{stderr: errb.String(), code: code}, 1, "snpmeasure: standard output: no space left on device")
		})
	}
}
