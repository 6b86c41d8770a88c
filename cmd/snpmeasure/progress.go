package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/snpmeasure/snpmeasure/measure"
)

// A progress bar on stderr while large files are hashed.
//
// It is shown only when stderr is a terminal, --quiet is not given and the
// file has at least progressMinSize bytes. Files hashed at the same time (a
// kernel and an initrd, both read while the firmware is hashed) share one
// line: the bar shows their combined progress. The line is erased when the
// last file is done, so nothing of it remains above the command's output.
//
// Hand-written rather than github.com/schollz/progressbar/v3: that library
// draws one bar per writer and garbles concurrent bars on one terminal line,
// and it would bring three more modules for about a hundred lines.

// progressMinSize is the smallest file that gets a progress bar.
const progressMinSize = 64 << 20

// isTerminal reports whether f is a terminal. Tests replace it.
var isTerminal = func(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// progressOut is where the bar is drawn. Tests replace it.
var progressOut io.Writer = os.Stderr

// quiet silences progress output (--quiet).
var quiet bool

// addQuietFlag defines --quiet on fs once.
func addQuietFlag(fs *pflag.FlagSet) {
	if fs.Lookup("quiet") == nil {
		fs.BoolVarP(&quiet, "quiet", "q", false, "no progress bar on stderr")
	}
}

// progressFor returns the callback that advances the bar by a block of a
// file, or nil when no bar is drawn for it.
func progressFor(name string, size int64) func(int) {
	if quiet || size < progressMinSize || !isTerminal(os.Stderr) {
		return nil
	}
	return bar.add(name, size)
}

// progressFunc returns the library's progress callback drawing the bar, or
// nil when none is drawn.
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

// bar is the progress line shared by every file being hashed.
var bar progressLine

// barWidth is the number of cells between the brackets.
const barWidth = 30

type progressFile struct {
	name       string
	size, done int64
}

type progressLine struct {
	mu      sync.Mutex
	files   []*progressFile
	drawn   string // the text on the line now, "" when the line is clear
	percent int    // combined percentage when last drawn
}

// add registers a file and returns its progress callback.
func (l *progressLine) add(name string, size int64) func(int) {
	f := &progressFile{name: filepath.Base(name), size: size}
	l.mu.Lock()
	l.files = append(l.files, f)
	l.redraw(true)
	l.mu.Unlock()
	return func(n int) {
		l.mu.Lock()
		defer l.mu.Unlock()
		f.done += int64(n)
		if f.done >= f.size {
			l.remove(f)
			return
		}
		l.redraw(false)
	}
}

func (l *progressLine) remove(f *progressFile) {
	for i, g := range l.files {
		if g == f {
			l.files = append(l.files[:i], l.files[i+1:]...)
			l.redraw(true)
			return
		}
	}
}

// redraw draws the line again when the combined percentage changed (or
// always, when force is set); with no file left it erases the line.
func (l *progressLine) redraw(force bool) {
	if len(l.files) == 0 {
		l.clear()
		return
	}
	var size, done int64
	for _, f := range l.files {
		size += f.size
		done += min(f.done, f.size)
	}
	pct := int(done * 100 / size)
	if !force && pct == l.percent {
		return
	}
	l.percent = pct
	label := l.files[0].name
	if len(l.files) > 1 {
		label = fmt.Sprintf("%d files", len(l.files))
	}
	if len(label) > 24 {
		label = label[:21] + "..."
	}
	cells := int(done * barWidth / size)
	b := strings.Repeat("=", cells)
	if cells < barWidth {
		b += ">" + strings.Repeat(" ", barWidth-cells-1)
	}
	text := fmt.Sprintf("hashing %s %3d%% [%s] %s / %s", label, pct, b, humanBytes(done), humanBytes(size))
	// Erase the line, draw, and return the cursor to the start of the line,
	// so that anything printed next starts in column one.
	fmt.Fprintf(progressOut, "\r\x1b[K%s\r", text)
	l.drawn = text
}

func (l *progressLine) clear() {
	if l.drawn != "" {
		fmt.Fprint(progressOut, "\r\x1b[K")
		l.drawn = ""
	}
}

// finishProgress erases the progress line and forgets every file; for error
// paths, where a file's hashing stopped before its end.
func finishProgress() {
	bar.mu.Lock()
	defer bar.mu.Unlock()
	bar.files = nil
	bar.clear()
}

// humanBytes formats a byte count with a binary unit: "512 MiB", "1.0 GiB".
func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
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
// the bar; other readers are returned as they are.
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
