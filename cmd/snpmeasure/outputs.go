package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/snpmeasure/snpmeasure/outfile"
)

// openOutputs are the output files being written, aborted (their temporary
// files removed) when the run fails or a signal ends it.
var openOutputs struct {
	sync.Mutex
	files []*outfile.File
}

// createOutput opens an output file by outfile's rule ("-" is stdout).
func createOutput(path string, stdout io.Writer, seekable bool, inputs ...string) (*outfile.File, error) {
	f, err := outfile.Create(path, outfile.Options{Stdout: stdout, Inputs: inputs, Seekable: seekable})
	if err != nil {
		return nil, outputError(err)
	}
	openOutputs.Lock()
	openOutputs.files = append(openOutputs.files, f)
	openOutputs.Unlock()
	return f, nil
}

// writeOutput writes one output file with fill and commits it; on error the
// target is left as it was.
func writeOutput(path string, stdout io.Writer, inputs []string, fill func(io.Writer) error) error {
	f, err := createOutput(path, stdout, false, inputs...)
	if err != nil {
		return err
	}
	if err := fill(f); err != nil {
		f.Abort()
		return outputError(err)
	}
	return outputError(f.Commit())
}

// outputError makes a refused output a usage error, and prints output
// errors as "PATH: problem".
func outputError(err error) error {
	var pe *fs.PathError
	if err == nil || !errors.As(err, &pe) {
		return err
	}
	if errors.Is(err, outfile.ErrIsInput) {
		return usagef("%s: %v", pe.Path, pe.Err)
	}
	return fmt.Errorf("%s: %w", pe.Path, pe.Err)
}

// file is a file named by a flag or argument.
type file struct{ name, path string }

// paths returns the paths of files.
func paths(files []file) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.path
	}
	return out
}

// checkOutputs refuses outputs that name an input, before any work is done.
func checkOutputs(outputs []file, inputs ...file) error {
	for _, out := range outputs {
		for _, in := range inputs {
			if outfile.SameFile(out.path, in.path) {
				return usagef("%s %s is also the %s input: refusing to overwrite it", out.name, out.path, in.name)
			}
		}
	}
	return nil
}

// abortOutputs removes the temporary files of every uncommitted output.
func abortOutputs() {
	openOutputs.Lock()
	defer openOutputs.Unlock()
	for _, f := range openOutputs.files {
		f.Abort()
	}
	openOutputs.files = nil
}

// handleSignals makes SIGINT, SIGTERM and SIGHUP clear the progress line,
// remove temporary files and exit with 128 + the signal number.
func handleSignals() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-c
		finishProgress()
		abortOutputs()
		fmt.Fprintf(os.Stderr, "snpmeasure: interrupted by %v\n", s)
		os.Exit(128 + int(s.(syscall.Signal)))
	}()
}

// fileError formats a file error as "PATH: problem" without repeating the path.
func fileError(path string, err error) error {
	return fmt.Errorf("%s: %w", path, unwrapPath(err))
}

// unwrapPath drops the operation and path of an *fs.PathError.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
