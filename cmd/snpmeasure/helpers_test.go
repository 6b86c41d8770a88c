package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// inputsDir holds the conformance inputs copied from the shared suite.
const inputsDir = "../../testdata/inputs"

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

// TestMain removes the built binary after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// snpmeasureBinary builds the CLI once per test process and returns its path.
func snpmeasureBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "snpmeasure-bin")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "snpmeasure")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = &buildError{out: string(out), err: err}
		}
	})
	if binErr != nil {
		t.Fatalf("building snpmeasure: %v", binErr)
	}
	return binPath
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

// cliResult is the outcome of one CLI invocation.
type cliResult struct {
	stdout, stderr string
	code           int
}

// runInProcess runs the CLI through app.Run and app.ExitCode, as main does.
func runInProcess(args ...string) cliResult {
	var out, errb bytes.Buffer
	code := app.ExitCode(app.Run(args, &out, &errb), &errb)
	return cliResult{stdout: out.String(), stderr: errb.String(), code: code}
}

// runBinary runs the built CLI in dir.
func runBinary(t testing.TB, dir string, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(snpmeasureBinary(t), args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running snpmeasure: %v", err)
		}
		code = ee.ExitCode()
	}
	return cliResult{stdout: out.String(), stderr: errb.String(), code: code}
}

// shellSplit splits a command line written with POSIX shell quoting
// (single quotes, double quotes, backslashes) into words.
func shellSplit(s string) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				j = len(s) - i - 1
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				cur.WriteByte(s[i])
			}
			inWord = true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// vector is one line of testdata/vectors.tsv.
type vector struct {
	id, expect, stdout string
	args               []string
}

// vectorFiles are the conformance vectors and the extra reference vectors.
var vectorFiles = []string{"../../testdata/vectors.tsv", "../../testdata/reference-vectors.tsv", "../../testdata/legacy-vectors.tsv"}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	var vs []vector
	for _, file := range vectorFiles {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n")[1:] {
			f := strings.SplitN(line, "\t", 4)
			if len(f) != 4 {
				t.Fatalf("%s: malformed vector line %q", file, line)
			}
			vs = append(vs, vector{id: f[0], expect: f[1], stdout: f[2], args: shellSplit(f[3])})
		}
	}
	if len(vs) < 300 {
		t.Fatalf("only %d vectors loaded", len(vs))
	}
	return vs
}

// linkInputs makes a scratch directory that links every input, as the
// conformance runner does, so vectors name inputs relative to it.
func linkInputs(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	abs, err := filepath.Abs(inputsDir)
	if err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(abs)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if err := os.Symlink(filepath.Join(abs, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
