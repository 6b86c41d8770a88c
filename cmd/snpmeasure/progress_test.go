package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snpmeasure/snpmeasure/internal/cli"
	"github.com/snpmeasure/snpmeasure/internal/testtool"
)

// fakeTerminal makes stderr look like a terminal (or not) and captures the
// progress output for the rest of the test.
func fakeTerminal(t *testing.T, tty bool) *testtool.SyncBuffer {
	t.Helper()
	out := &testtool.SyncBuffer{}
	oldTTY, oldOut, oldQuiet := app.IsTerminal, app.ProgressOut, app.Quiet
	app.IsTerminal = func(*os.File) bool { return tty }
	app.ProgressOut = out
	t.Cleanup(func() {
		app.IsTerminal, app.ProgressOut, app.Quiet = oldTTY, oldOut, oldQuiet
		app.FinishProgress()
	})
	return out
}

// lastFrame returns the text of the last bar drawn in out.
func lastFrame(out string) string {
	frames := strings.Split(out, "\r\x1b[K")
	return strings.TrimSuffix(frames[len(frames)-1], "\r")
}

func TestProgressSilent(t *testing.T) {
	fakeTerminal(t, true)
	app.Quiet = false
	if p := app.ProgressFor("small.img", cli.ProgressMinSize-1); p != nil {
		t.Error("a bar for a file below 64 MiB")
	}
	app.Quiet = true
	if p := app.ProgressFor("big.img", 1<<30); p != nil {
		t.Error("a bar with --quiet")
	}
	app.Quiet = false
	fakeTerminal(t, false)
	if p := app.ProgressFor("big.img", 1<<30); p != nil {
		t.Error("a bar when stderr is not a terminal")
	}
}

func TestFinishProgress(t *testing.T) {
	out := fakeTerminal(t, true)
	app.Quiet = false
	p := app.ProgressFor("initrd", 64<<20)
	p(1 << 20)
	app.FinishProgress()
	if !strings.HasSuffix(out.String(), "\r\x1b[K") {
		t.Error("finishProgress did not erase the line")
	}
	n := len(out.String())
	app.FinishProgress()
	p(1 << 20) // a late callback of a forgotten file draws nothing
	if len(out.String()) != n {
		t.Errorf("output after finishProgress: %q", out.String()[n:])
	}
}

// TestProgressMeasure runs the CLI on a 64 MiB initrd with a fake terminal:
// a bar appears and is erased, stdout holds only the measurement; with
// --quiet nothing is drawn.
func TestProgressMeasure(t *testing.T) {
	initrd := filepath.Join(t.TempDir(), "initrd.img")
	if err := os.WriteFile(initrd, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(initrd, 64<<20); err != nil {
		t.Fatal(err)
	}
	args := []string{"--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-Milan",
		"--ovmf", inputPath("fx-ovmf_AmdSev_suffix.bin"), "--kernel", inputPath("synth-kernel-12345.bin"), "--initrd", initrd}
	for _, q := range []bool{false, true} {
		out := fakeTerminal(t, true)
		a := args
		if q {
			a = append(a[:len(a):len(a)], "--quiet")
		}
		r := hostileRun(a)
		if r.code != 0 || len(r.stdout) != 97 || r.stderr != "" {
			t.Fatalf("quiet=%v: exit %d, stdout %q, stderr %q", q, r.code, r.stdout, r.stderr)
		}
		s := out.String()
		switch {
		case q && s != "":
			t.Errorf("--quiet: progress output %q", s)
		case !q && (!strings.Contains(s, "hashing initrd.img  50% [") || !strings.HasSuffix(s, "\r\x1b[K")):
			t.Errorf("no bar, or not erased: %q", s[max(0, len(s)-200):])
		}
	}
}
