package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY returns a new pseudo-terminal: the master to read, the slave to
// hand to the command as its stderr.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		t.Skipf("ptsname: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Skipf("open pts: %v", err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// sparse makes a sparse file of size bytes.
func sparse(t *testing.T, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestSignalsCleanUp interrupts long runs once their progress line is on
// the terminal: nothing is left behind, the line is erased, and the exit
// status is 128 + the signal.
func TestSignalsCleanUp(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes 1 GiB files")
	}
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	os.Mkdir(tree, 0o755)
	sparse(t, filepath.Join(tree, "big"), 1<<30)
	sparse(t, filepath.Join(dir, "big.img"), 1<<30)
	sparse(t, filepath.Join(dir, "initrd"), 1<<30)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"initramfs build", []string{"initramfs", "build", tree, "-o", filepath.Join(dir, "out.img"), "--compress", "zstd"}},
		{"verity format", []string{"verity", "format", filepath.Join(dir, "big.img"), filepath.Join(dir, "big.hash")}},
		{"measure --trace", []string{"--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-Milan", "--ovmf", inputPath("sid-OVMF.amdsev.fd"),
			"--kernel", inputPath("synth-kernel-12345.bin"), "--initrd", filepath.Join(dir, "initrd"), "--trace", filepath.Join(dir, "t.jsonl")}},
	} {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT} {
			t.Run(fmt.Sprintf("%s/%v", tc.name, sig), func(t *testing.T) {
				before := listDir(t, dir)
				master, slave := openPTY(t)
				cmd := exec.Command(snpmeasureBinary(t), tc.args...)
				cmd.Stderr = slave
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				var mu sync.Mutex
				var term bytes.Buffer
				go func() {
					b := make([]byte, 4096)
					for {
						n, err := master.Read(b)
						mu.Lock()
						term.Write(b[:n])
						mu.Unlock()
						if err != nil {
							return
						}
					}
				}()
				drawn := func() bool { mu.Lock(); defer mu.Unlock(); return strings.Contains(term.String(), "hashing ") }
				deadline := time.Now().Add(20 * time.Second)
				for !drawn() && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
				cmd.Process.Signal(sig)
				err := cmd.Wait()
				time.Sleep(50 * time.Millisecond) // let the reader drain the terminal
				if err == nil {
					t.Skip("finished before the signal: the machine is too fast for this test")
				}
				if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 128+int(sig) {
					t.Errorf("%v, want exit status %d (128 + %d)", err, 128+int(sig), int(sig))
				}
				mu.Lock()
				out := term.String()
				mu.Unlock()
				last := out[strings.LastIndex(out, "hashing "):]
				if !strings.Contains(last, "\r\x1b[K") {
					t.Errorf("the progress line was not erased: %q", last)
				}
				// One line says why; a write the signal cut short is no error of its own.
				if n := strings.Count(last, "snpmeasure: "); n != 1 || !strings.Contains(last, "snpmeasure: interrupted by") {
					t.Errorf("stderr after the progress line: %q, want only the interruption", last)
				}
				if after := listDir(t, dir); after != before {
					t.Errorf("files changed:\nbefore %s\nafter  %s", before, after)
				}
			})
		}
	}
}

// listDir names what dir holds, to compare before and after a run.
func listDir(t *testing.T, dir string) string {
	t.Helper()
	var names []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			names = append(names, strings.TrimPrefix(p, dir))
		}
		return nil
	})
	return strings.Join(names, " ")
}
