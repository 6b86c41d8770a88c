package cli

import (
	"io"
	"os"
	"sync"

	"github.com/snpmeasure/snpmeasure/measure"
	"github.com/spf13/pflag"
)

// ProgressMinSize is the smallest file that gets a progress line: it is
// drawn on stderr only when stderr is a terminal and Quiet is not set.
const ProgressMinSize = 64 << 20

// AddQuietFlag defines --quiet on fs once.
func (a *App) AddQuietFlag(fs *pflag.FlagSet) {
	if fs.Lookup("quiet") == nil {
		fs.BoolVarP(&a.Quiet, "quiet", "q", false, "no progress bar on stderr")
	}
}

func (a *App) drawing() bool { return !a.Quiet && a.IsTerminal(os.Stderr) }

// ProgressFor returns the callback that advances the line by a block of a
// file, or nil when no line is drawn for it.
func (a *App) ProgressFor(name string, size int64) func(int) {
	if size < ProgressMinSize || !a.drawing() {
		return nil
	}
	return a.bar.Add(name, size)
}

// FinishProgress erases the line; for error paths and signals.
func (a *App) FinishProgress() { a.bar.Finish() }

// Progress returns the library's progress callback, or nil when no line is
// drawn.
func (a *App) Progress() measure.ProgressFunc {
	if !a.drawing() {
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
			f = &file{add: a.ProgressFor(name, total)}
			files[name] = f
		}
		if f.add != nil && done > f.done {
			f.add(int(done - f.done))
			f.done = done
		}
	}
}

// FileProgress returns a progress callback for one file, or nil.
func (a *App) FileProgress(name string) func(done, total int64) {
	p := a.Progress()
	if p == nil {
		return nil
	}
	return func(done, total int64) { p(name, done, total) }
}

// ProgressReader counts what is read from r, a file of a known size, on the
// line; other readers are returned as they are.
func (a *App) ProgressReader(r io.Reader, name string) io.Reader {
	f, ok := r.(*os.File)
	if !ok {
		return r
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return r
	}
	add := a.ProgressFor(name, st.Size())
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
