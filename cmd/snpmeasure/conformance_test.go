package main

import (
	"strings"
	"testing"

	"github.com/snpmeasure/snpmeasure/internal/cli"
)

// checkVector applies the conformance runner's rules to one outcome.
func checkVector(t *testing.T, v vector, r cliResult) {
	t.Helper()
	got := strings.TrimSpace(r.stdout)
	switch v.expect {
	case "ok":
		if r.code != 0 || got != v.stdout {
			t.Errorf("exit %d, stdout %q, stderr %q; want exit 0 and %q", r.code, got, r.stderr, v.stdout)
		}
	case "error":
		if r.code == 0 || got != "" {
			t.Errorf("exit %d, stdout %q; want a failure with empty stdout", r.code, got)
		}
		lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
		if r.stderr == "" || strings.Contains(r.stderr, "goroutine ") || strings.HasPrefix(r.stderr, "panic:") {
			t.Errorf("stderr %q: want a clean message", r.stderr)
		}
		if len(lines) != 1 {
			t.Errorf("stderr has %d lines: %q", len(lines), r.stderr)
		}
		if r.code != cli.ExitBadInput && r.code != cli.ExitUsage {
			t.Errorf("exit %d, want 1 (bad input) or 2 (bad usage)", r.code)
		}
	default:
		t.Fatalf("unknown expectation %q", v.expect)
	}
}

// TestConformanceInProcess runs every vector through app.Run.
func TestConformanceInProcess(t *testing.T) {
	vs := loadVectors(t)
	t.Chdir(linkInputs(t))
	for _, v := range vs {
		t.Run(v.id, func(t *testing.T) {
			checkVector(t, v, runInProcess(v.args...))
		})
	}
}

// TestConformanceBinary runs every vector through the built binary.
func TestConformanceBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := linkInputs(t)
	for _, v := range loadVectors(t) {
		t.Run(v.id, func(t *testing.T) {
			checkVector(t, v, runBinary(t, dir, v.args...))
		})
	}
}

func TestShellSplit(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"a b", []string{"a", "b"}},
		{"--append ''", []string{"--append", ""}},
		{"--append 'a b' c", []string{"--append", "a b", "c"}},
		{`x "y z" w\ v`, []string{"x", "y z", "w v"}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got := shellSplit(tc.in)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Errorf("shellSplit(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
