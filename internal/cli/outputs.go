package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"syscall"

	"github.com/snpmeasure/snpmeasure/outfile"
)

// CreateOutput opens an output file by outfile's rule ("-" is stdout); it
// is aborted (its temporary file removed) when the run fails or a signal
// ends it.
func (a *App) CreateOutput(path string, stdout io.Writer, seekable bool, inputs ...string) (*outfile.File, error) {
	f, err := outfile.Create(path, outfile.Options{Stdout: stdout, Inputs: inputs, Seekable: seekable})
	if err != nil {
		return nil, OutputError(err)
	}
	a.mu.Lock()
	a.outputs = append(a.outputs, f)
	a.mu.Unlock()
	return f, nil
}

// WriteOutput writes one output file with fill and commits it; on error the
// target is left as it was.
func (a *App) WriteOutput(path string, stdout io.Writer, inputs []string, fill func(io.Writer) error) error {
	f, err := a.CreateOutput(path, stdout, false, inputs...)
	if err != nil {
		return err
	}
	if err := fill(f); err != nil {
		f.Abort()
		return OutputError(err)
	}
	return OutputError(f.Commit())
}

// OutputError makes a refused output a usage error, and prints output
// errors as "PATH: problem".
func OutputError(err error) error {
	var pe *fs.PathError
	if err == nil || !errors.As(err, &pe) {
		return err
	}
	if errors.Is(err, outfile.ErrIsInput) {
		return Usagef("%s: %v", pe.Path, pe.Err)
	}
	return fmt.Errorf("%s: %w", pe.Path, pe.Err)
}

// File is a file named by a flag or argument.
type File struct{ Flag, Path string }

// Paths returns the paths of files.
func Paths(files []File) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.Path
	}
	return out
}

// CheckOutputs refuses outputs that name an input, before any work is done.
func CheckOutputs(outputs []File, inputs ...File) error {
	for _, out := range outputs {
		for _, in := range inputs {
			if outfile.SameFile(out.Path, in.Path) {
				return Usagef("%s %s is also the %s input: refusing to overwrite it", out.Flag, out.Path, in.Flag)
			}
		}
	}
	return nil
}

// AbortOutputs removes the temporary files of every uncommitted output.
func (a *App) AbortOutputs() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, f := range a.outputs {
		f.Abort()
	}
	a.outputs = nil
}

// HandleSignals makes SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGPIPE erase
// the progress line, remove temporary files and exit with 128 + the signal
// number. The temporary files are removed without closing them (a writer
// may be blocked in a write), and the command's own error path, which a
// half-done write may reach first, waits for the exit (see ExitCode).
func (a *App) HandleSignals() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGPIPE)
	go func() {
		s := <-c
		a.signalled.Store(true)
		a.mu.Lock() // outputs only grows under mu; Discard takes no lock
		outs := append([]*outfile.File(nil), a.outputs...)
		a.mu.Unlock()
		for _, f := range outs {
			f.Discard()
		}
		a.FinishProgress()
		if s != syscall.SIGPIPE { // a closed pipe (| head) is not news
			fmt.Fprintf(os.Stderr, "%s: interrupted by %v\n", a.Name, s)
		}
		os.Exit(128 + int(s.(syscall.Signal)))
	}()
}

// FileError formats a file error as "PATH: problem" without repeating the path.
func FileError(path string, err error) error {
	return fmt.Errorf("%s: %w", path, UnwrapPath(err))
}

// UnwrapPath drops the operation and path of an *fs.PathError.
func UnwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
