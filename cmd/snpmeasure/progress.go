package main

import (
	"io"
	"os"
	"sync"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/snpmeasure/snpmeasure/internal/progress"
	"github.com/snpmeasure/snpmeasure/measure"
)

// The progress line is drawn on stderr while large files are read: only
// when stderr is a terminal, --quiet is not given and the file has at least
// progressMinSize bytes.
const progressMinSize = 64 << 20

// isTerminal reports whether f is a terminal. Tests replace it.
var isTerminal = func(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// progressOut is where the line is drawn. Tests replace it.
var progressOut io.Writer = os.Stderr

// bar is the line shared by every file read at the same time.
var bar = progress.Line{Out: writerFunc(func(p []byte) (int, error) { return progressOut.Write(p) })}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// quiet silences progress output (--quiet).
var quiet bool

// addQuietFlag defines --quiet on fs once.
func addQuietFlag(fs *pflag.FlagSet) {
	if fs.Lookup("quiet") == nil {
		fs.BoolVarP(&quiet, "quiet", "q", false, "no progress bar on stderr")
	}
}

// progressFor returns the callback that advances the line by a block of a
// file, or nil when no line is drawn for it.
func progressFor(name string, size int64) func(int) {
	if quiet || size < progressMinSize || !isTerminal(os.Stderr) {
		return nil
	}
	return bar.Add(name, size)
}

// finishProgress erases the line; for error paths and signals.
func finishProgress() { bar.Finish() }

// progressFunc returns the library's progress callback, or nil when no
// line is drawn.
func progressFunc() measure.ProgressFunc {
	if quiet || !isTerminal(os.Stderr) {
		return nil
	}
	type file struct {
		add  func(int)
		done int64
	}
	var mu sync.Mutex
	files := map[string]*file{}
	return func(name string, done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		f := files[name]
		if f == nil {
			f = &file{add: progressFor(name, total)}
			files[name] = f
		}
		if f.add != nil && done > f.done {
			f.add(int(done - f.done))
			f.done = done
		}
	}
}

// fileProgress returns a progress callback for one file, or nil.
func fileProgress(name string) func(done, total int64) {
	p := progressFunc()
	if p == nil {
		return nil
	}
	return func(done, total int64) { p(name, done, total) }
}

// progressReader counts what is read from r, a file of a known size, on
// the line; other readers are returned as they are.
func progressReader(r io.Reader, name string) io.Reader {
	f, ok := r.(*os.File)
	if !ok {
		return r
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return r
	}
	add := progressFor(name, st.Size())
	if add == nil {
		return r
	}
	return &countingReader{r: r, add: add}
}

type countingReader struct {
	r   io.Reader
	add func(int)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.add(n)
	return n, err
}
