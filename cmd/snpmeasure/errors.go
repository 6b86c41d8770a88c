package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Exit statuses shared by every command.
const (
	exitOK       = 0
	exitBadInput = 1
	exitUsage    = 2
	exitMismatch = 3
)

// usageError reports a bad command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// checkFailedError reports a completed check whose answer is "no": exit status 3.
// The command has already printed its findings; msg is a one-line summary.
type checkFailedError struct{ msg string }

func (e *checkFailedError) Error() string { return e.msg }

// errHelp is returned after --help output was printed: exit status 0.
var errHelp = errors.New("help requested")

// exitCode maps the error returned by run to a process exit status and prints
// it as a single line on stderr.
func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, errHelp) {
		return exitOK
	}
	finishProgress() // clear a progress line a failed read left behind
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	fmt.Fprintf(stderr, "snpmeasure: %s\n", msg)
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	var ce *checkFailedError
	if errors.As(err, &ce) {
		return exitMismatch
	}
	return exitBadInput
}

// samePath reports whether two paths name the same file: the same absolute
// path, or (when both exist) the same inode, so that links and "./x" are
// caught too.
func samePath(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if aa, err := filepath.Abs(a); err == nil {
		if bb, err := filepath.Abs(b); err == nil && aa == bb {
			return true
		}
	}
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false
	}
	return os.SameFile(fa, fb)
}

// namedPath is a file named by a flag or argument, for checkNotInput.
type namedPath struct{ name, path string }

// checkNotInput refuses an output file that is also one of the inputs:
// writing it would destroy the input (usage error, exit status 2).
func checkNotInput(out namedPath, inputs ...namedPath) error {
	for _, in := range inputs {
		if samePath(out.path, in.path) {
			return usagef("%s %s is also the %s input: refusing to overwrite it", out.name, out.path, in.name)
		}
	}
	return nil
}

// countArgs says how many positional arguments were given: "1 argument".
func countArgs(n int) string {
	if n == 1 {
		return "1 argument"
	}
	return fmt.Sprintf("%d arguments", n)
}
