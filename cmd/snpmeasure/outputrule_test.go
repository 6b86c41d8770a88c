package main

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// writer is a command that writes an output file, for the output rule tests.
type writer struct {
	name string
	// args returns the command line writing out, in a directory dir that
	// holds the inputs (see setupInputs); input is the path of one of its
	// inputs, which the output must never be.
	args  func(dir, out string) []string
	input string
	// stdout reports whether the command also prints to stdout, so that
	// the output written to "-" is not the whole of stdout.
	stdout bool
}

var writers = []writer{
	{"measure --trace", func(d, out string) []string {
		return []string{"--mode", "snp", "--vcpus", "2", "--vcpu-type", "EPYC-Milan", "--ovmf", d + "/fw.fd", "--kernel", d + "/kernel", "--trace", out}
	}, "fw.fd", true},
	{"verify --trace", func(d, out string) []string {
		return []string{"verify", "--report", d + "/report.bin", "--ovmf", d + "/fw.fd", "--vcpus", "1", "--vcpu-type", "EPYC-Milan", "--trace", out}
	}, "report.bin", true},
	{"refvalues -o", func(d, out string) []string {
		return []string{"refvalues", "--ovmf", d + "/fw.fd", "--kernel", d + "/kernel", "--vcpus", "1-2", "-o", out}
	}, "kernel", false},
	{"initramfs build -o", func(d, out string) []string {
		return []string{"initramfs", "build", d + "/tree", "-o", out}
	}, "tree/init", true},
	{"verity format", func(d, out string) []string {
		return []string{"verity", "format", d + "/data.img", out, "--salt", "-", "--uuid", "00000000-0000-0000-0000-000000000001"}
	}, "data.img", true},
}

// setupInputs fills dir with the inputs of every writer, readable by anyone.
func setupInputs(t *testing.T, dir string) {
	t.Helper()
	copyFile := func(src, dst string) {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(inputPath("sid-OVMF.amdsev.fd"), filepath.Join(dir, "fw.fd"))
	copyFile(inputPath("synth-kernel-12345.bin"), filepath.Join(dir, "kernel"))
	copyFile("testdata/reports/milan-4vcpu.bin", filepath.Join(dir, "report.bin"))
	os.Mkdir(filepath.Join(dir, "tree"), 0o755)
	os.WriteFile(filepath.Join(dir, "tree", "init"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "data.img"), bytes.Repeat([]byte{7}, 64<<10), 0o644)
	os.Chmod(dir, 0o777)
	os.Chmod(filepath.Dir(dir), 0o755) // t.TempDir's parent is 0700
}

// runAs runs the built CLI in dir, as uid when it is not -1.
func runAs(t *testing.T, uid int, dir string, stdin io.Reader, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(snpmeasureBinary(t), args...)
	cmd.Dir, cmd.Stdin = dir, stdin
	if uid >= 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	code := 0
	if err := cmd.Run(); err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running snpmeasure: %v", err)
		}
		code = ee.ExitCode()
	}
	return cliResult{stdout: out.String(), stderr: errb.String(), code: code}
}

// users are the users the rule is tested as: the current one, and nobody
// when the tests run as root.
func users(t *testing.T) map[string]int {
	u := map[string]int{"current user": -1}
	if os.Geteuid() == 0 {
		os.Chmod(filepath.Dir(snpmeasureBinary(t)), 0o755)
		u["nobody"] = 65534
	}
	return u
}

// noDebris fails when a temporary output file is left in dir.
func noDebris(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && (strings.Contains(d.Name(), ".tmp") || d.Name() == "-") {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

// TestOutputRule runs every writing command against each kind of target and
// checks what is on disk afterwards.
func TestOutputRule(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary many times")
	}
	for uname, uid := range users(t) {
		for _, w := range writers {
			t.Run(uname+"/"+w.name, func(t *testing.T) {
				dir := t.TempDir()
				setupInputs(t, dir)
				run := func(out string, stdin io.Reader) cliResult { return runAs(t, uid, dir, stdin, w.args(dir, out)...) }
				own := func(p string) { // files the test makes belong to the user the command runs as
					if uid >= 0 {
						os.Lchown(p, uid, uid)
					}
				}
				ref := run(filepath.Join(dir, "ref.out"), nil)
				if ref.code != 0 && !(w.name == "verify --trace" && ref.code == 3) {
					t.Fatalf("reference run: exit %d: %s", ref.code, ref.stderr)
				}
				want, err := os.ReadFile(filepath.Join(dir, "ref.out"))
				if err != nil || len(want) == 0 {
					t.Fatalf("reference output: %v", err)
				}

				t.Run("standard output", func(t *testing.T) {
					r := run("-", nil)
					if !strings.Contains(r.stdout, string(want)) || (!w.stdout && r.stdout != string(want)) {
						t.Errorf("stdout (%d bytes) does not hold the output (%d bytes): %s", len(r.stdout), len(want), r.stderr)
					}
				})
				t.Run("symlink", func(t *testing.T) {
					os.WriteFile(filepath.Join(dir, "target.out"), []byte("old"), 0o640)
					os.Symlink("target.out", filepath.Join(dir, "link.out"))
					own(filepath.Join(dir, "target.out"))
					run(filepath.Join(dir, "link.out"), nil)
					if st, err := os.Lstat(filepath.Join(dir, "link.out")); err != nil || st.Mode()&fs.ModeSymlink == 0 {
						t.Error("the symbolic link was replaced")
					}
					got, _ := os.ReadFile(filepath.Join(dir, "target.out"))
					st, _ := os.Stat(filepath.Join(dir, "target.out"))
					if !bytes.Equal(got, want) || st.Mode().Perm() != 0o640 {
						t.Errorf("target: %d bytes, mode %v; want %d bytes, mode 0640", len(got), st.Mode(), len(want))
					}
				})
				t.Run("FIFO", func(t *testing.T) {
					fifo := filepath.Join(dir, "fifo.out")
					if err := syscall.Mkfifo(fifo, 0o666); err != nil {
						t.Skip(err)
					}
					os.Chmod(fifo, 0o666)
					got := make(chan []byte)
					go func() {
						f, err := os.Open(fifo)
						if err != nil {
							got <- nil
							return
						}
						b, _ := io.ReadAll(f)
						f.Close()
						got <- b
					}()
					run(fifo, nil)
					if b := <-got; !bytes.Equal(b, want) {
						t.Errorf("read %d bytes from the FIFO, want %d", len(b), len(want))
					}
					if st, _ := os.Lstat(fifo); st.Mode()&fs.ModeNamedPipe == 0 {
						t.Error("the FIFO was replaced")
					}
				})
				t.Run("device", func(t *testing.T) {
					dev := "/dev/null"
					if os.Geteuid() == 0 {
						dev = filepath.Join(dir, "null.out")
						if err := syscall.Mknod(dev, syscall.S_IFCHR|0o666, int(1<<8|3)); err != nil {
							t.Skip(err)
						}
						os.Chmod(dev, 0o666)
					}
					if r := run(dev, nil); r.code != 0 && !(w.name == "verify --trace" && r.code == 3) {
						t.Errorf("exit %d: %s", r.code, r.stderr)
					}
					if st, err := os.Lstat(dev); err != nil || st.Mode()&fs.ModeCharDevice == 0 {
						t.Errorf("%s is no longer a character device", dev)
					}
				})
				t.Run("read-only file", func(t *testing.T) {
					ro := filepath.Join(dir, "ro.out")
					os.WriteFile(ro, []byte("keep"), 0o444)
					os.Chmod(ro, 0o444)
					own(ro)
					r := run(ro, nil)
					got, _ := os.ReadFile(ro)
					st, _ := os.Stat(ro)
					switch {
					case os.Geteuid() == 0 && uid < 0: // root may write it, as with >: replaced, mode kept
						if !bytes.Equal(got, want) || st.Mode().Perm() != 0o444 {
							t.Errorf("as root: %d bytes, mode %v", len(got), st.Mode())
						}
					default:
						if r.code != 1 || string(got) != "keep" || !strings.Contains(r.stderr, "permission denied") {
							t.Errorf("exit %d, %q, file %q; want exit 1, permission denied, file kept", r.code, r.stderr, got)
						}
					}
				})
				t.Run("an input", func(t *testing.T) {
					in := filepath.Join(dir, w.input)
					before, _ := os.ReadFile(in)
					os.Symlink(w.input, filepath.Join(dir, "in-link"))
					for _, out := range []string{in, filepath.Join(dir, "in-link")} {
						r := run(out, nil)
						after, _ := os.ReadFile(in)
						if r.code != 2 || !bytes.Equal(before, after) || !strings.Contains(r.stderr, "refusing to overwrite") {
							t.Errorf("%s: exit %d, %q; want exit 2 and the input unchanged", out, r.code, r.stderr)
						}
					}
				})
				t.Run("missing directory", func(t *testing.T) {
					r := run(filepath.Join(dir, "nope", "x.out"), nil)
					if r.code != 1 || !strings.Contains(r.stderr, "no such file or directory") {
						t.Errorf("exit %d, %q", r.code, r.stderr)
					}
					if _, err := os.Stat(filepath.Join(dir, "nope")); err == nil {
						t.Error("the directory was created")
					}
				})
				noDebris(t, dir)
			})
		}
	}
}

// TestOutputIsAManifestInput: a manifest that names the output path as a
// file source is refused before anything is written.
func TestOutputIsAManifestInput(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "d.txt")
	os.WriteFile(data, []byte("data"), 0o644)
	m := filepath.Join(dir, "m.list")
	os.WriteFile(m, []byte("file /a ./d.txt 0644 0 0\n"), 0o644)
	r := runInProcess("initramfs", "build", m, "-o", data)
	if got, _ := os.ReadFile(data); r.code != 2 || string(got) != "data" || !strings.Contains(r.stderr, "refusing to overwrite") {
		t.Errorf("exit %d, %q, d.txt %q", r.code, r.stderr, got)
	}
	noDebris(t, dir)
}

// TestDumpVMSAOutputRule: --dump-vmsa follows an existing vmsa0.bin link
// and refuses to write over an input.
func TestDumpVMSAOutputRule(t *testing.T) {
	fw, err := filepath.Abs(inputPath("sid-OVMF.amdsev.fd"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	os.WriteFile("real.bin", nil, 0o644)
	os.Symlink("real.bin", "vmsa0.bin")
	args := []string{"--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-Milan", "--ovmf", fw, "--dump-vmsa"}
	if r := runInProcess(args...); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if st, _ := os.Lstat("vmsa0.bin"); st.Mode()&fs.ModeSymlink == 0 {
		t.Error("vmsa0.bin, a link, was replaced")
	}
	if b, _ := os.ReadFile("real.bin"); len(b) != 4096 {
		t.Errorf("real.bin has %d bytes", len(b))
	}
	// The kernel is named vmsa0.bin: refused, unchanged.
	os.Remove("vmsa0.bin")
	os.WriteFile("vmsa0.bin", []byte("kernel"), 0o644)
	r := runInProcess(append(args, "--kernel", "vmsa0.bin")...)
	if b, _ := os.ReadFile("vmsa0.bin"); r.code != 2 || string(b) != "kernel" {
		t.Errorf("exit %d, %q: vmsa0.bin %q", r.code, r.stderr, b)
	}
	noDebris(t, dir)
}
