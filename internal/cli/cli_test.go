package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/snpmeasure/snpmeasure/measure"
)

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want int
		line string
	}{
		{"nil", nil, ExitOK, ""},
		{"help", ErrHelp, ExitOK, ""},
		{"usage", Usagef("--vcpus %q: bad", "x"), ExitUsage, `prog: --vcpus "x": bad` + "\n"},
		{"wrapped usage", fmt.Errorf("wrap: %w", Usagef("u")), ExitUsage, "prog: wrap: u\n"},
		{"config", &measure.ConfigError{Msg: "c"}, ExitUsage, "prog: c\n"},
		{"check failed", Failed("%s differ", "a"), ExitMismatch, "prog: a differ\n"},
		{"bad input", errors.New("f.bin: offset 0x10: bad\nmore"), ExitBadInput, "prog: f.bin: offset 0x10: bad more\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := New("prog", "1", fstest.MapFS{})
			var stderr bytes.Buffer
			if got := a.ExitCode(tc.err, &stderr); got != tc.want {
				t.Errorf("ExitCode = %d, want %d", got, tc.want)
			}
			if stderr.String() != tc.line {
				t.Errorf("stderr %q, want %q", stderr.String(), tc.line)
			}
		})
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

func TestRun(t *testing.T) {
	help := fstest.MapFS{
		"help/top.txt":  {Data: []byte("prog {{version}}\n{{commands}}default flags:\n{{flags}}")},
		"help/echo.txt": {Data: []byte("Usage: prog echo\n{{flags}}")},
	}
	newApp := func() *App {
		a := New("prog", "1.2", help)
		a.Default = "echo"
		a.Register("echo", "print the arguments", func(args []string, stdout, _ io.Writer) error {
			fs := NewFlagSet("echo")
			n := fs.IntP("count", "n", 1, "times")
			if err := a.Parse(fs, args, stdout, a.Usage("echo")); err != nil {
				return err
			}
			for range *n {
				fmt.Fprintln(stdout, strings.Join(fs.Args(), " "))
			}
			return nil
		})
		return a
	}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
	}{
		{"command", []string{"echo", "a", "b"}, ExitOK, "a b\n"},
		{"default command", []string{"-n", "2", "x"}, ExitOK, "x\nx\n"},
		{"unknown command", []string{"nope"}, ExitUsage, ""},
		{"bad flag value", []string{"echo", "-n", "two"}, ExitUsage, ""},
		{"unknown flag", []string{"echo", "--bogus"}, ExitUsage, ""},
		{"command help", []string{"help", "echo"}, ExitOK, "Usage: prog echo\n  -n, --count int   times (default 1)\n  -h, --help        show this help\n"},
		{"top help", []string{"--help"}, ExitOK, "prog 1.2\n  echo         print the arguments\ndefault flags:\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp()
			var stdout, stderr bytes.Buffer
			code := a.ExitCode(a.Run(tc.args, &stdout, &stderr), &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, stderr.String())
			}
			if tc.stdout != "" && !strings.HasPrefix(stdout.String(), tc.stdout) {
				t.Errorf("stdout %q, want %q", stdout.String(), tc.stdout)
			}
			if code != ExitOK && strings.Count(stderr.String(), "\n") != 1 {
				t.Errorf("stderr %q: want one line", stderr.String())
			}
		})
	}
	t.Run("failed write to stdout", func(t *testing.T) {
		a := newApp()
		var stderr bytes.Buffer
		if code := a.ExitCode(a.Run([]string{"echo", "x"}, failWriter{}, &stderr), &stderr); code != ExitBadInput {
			t.Errorf("exit %d, want %d: a lost output must fail", code, ExitBadInput)
		}
		if !strings.Contains(stderr.String(), "standard output: no space left") {
			t.Errorf("stderr %q", stderr.String())
		}
	})
}
