//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// fifo makes a named pipe in dir that yields data to one reader.
func fifo(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	go func() {
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer f.Close()
		f.Write(data)
	}()
	return p
}

// TestFirmwareFromPipe measures firmware and kernel read from named pipes,
// as `--ovmf <(...)` passes them, and gets the digest of the files.
func TestFirmwareFromPipe(t *testing.T) {
	dir := t.TempDir()
	feed := func(name, src string) string {
		if !strings.Contains(src, "/") {
			src = filepath.Join(inputsDir, src)
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		return fifo(t, dir, name, data)
	}
	want := "b8cafa5bddc1d238c3e312427508fc1a6b5bc301f9d7839282f99b20a206db8f9ad44c8d461b56bcf256f05a325e1ab2"
	r := runInProcess("--mode", "snp", "--vcpus", "4", "--vcpu-type", "EPYC-Milan",
		"--ovmf", feed("ovmf", "sid-OVMF.amdsev.fd"), "--kernel", feed("kernel", "synth-kernel-12345.bin"),
		"--initrd", filepath.Join(inputsDir, "synth-initrd-5M.img"), "--append", "console=ttyS0 root=/dev/vda")
	if r.code != 0 || strings.TrimSpace(r.stdout) != want {
		t.Errorf("exit %d, stdout %q, stderr %q; want %s", r.code, r.stdout, r.stderr, want)
	}
	// An IGVM file is read at offsets too: a pipe is spooled.
	r = runInProcess("--mode", "snp", "--igvm", feed("igvm", "../../igvm/testdata/conformance/30_ib_qemu_sorted_ovmf.igvm"))
	if want := "c43d053d39c347aabe45e621c3c7a7d7601d36e380856f0eb92eeec6a4cb274ab0d6b7535678a8caf0d7463fb6adb6d7"; r.code != 0 || strings.TrimSpace(r.stdout) != want {
		t.Errorf("IGVM from a pipe: exit %d, stdout %q, stderr %q; want %s", r.code, r.stdout, r.stderr, want)
	}
}

// TestPipeSpoolErrors: a pipe that is no IGVM file fails at its first
// bytes, and a temporary directory that cannot take the spool is named.
func TestPipeSpoolErrors(t *testing.T) {
	dir := t.TempDir()
	r := runInProcess("--mode", "snp", "--igvm", fifo(t, dir, "zeros", make([]byte, 1<<20)))
	if r.code != 1 || !strings.Contains(r.stderr, "not an IGVM file") {
		t.Errorf("zeros as IGVM: exit %d, %q", r.code, r.stderr)
	}
	t.Setenv("TMPDIR", filepath.Join(dir, "missing"))
	fw, err := os.ReadFile(filepath.Join(inputsDir, "sid-OVMF.amdsev.fd"))
	if err != nil {
		t.Fatal(err)
	}
	r = runInProcess("--mode", "snp:ovmf-hash", "--ovmf", fifo(t, dir, "fw", fw))
	if r.code != 1 || !strings.Contains(r.stderr, "($TMPDIR)") || !strings.Contains(r.stderr, "missing") {
		t.Errorf("no temporary directory: exit %d, %q", r.code, r.stderr)
	}
}
