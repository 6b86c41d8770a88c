package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/snpmeasure/snpmeasure/measure"
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
	var cfg *measure.ConfigError
	if errors.As(err, &ue) || errors.As(err, &cfg) {
		return exitUsage
	}
	var ce *checkFailedError
	if errors.As(err, &ce) {
		return exitMismatch
	}
	return exitBadInput
}

// countArgs says how many positional arguments were given: "1 argument".
func countArgs(n int) string {
	if n == 1 {
		return "1 argument"
	}
	return fmt.Sprintf("%d arguments", n)
}
