// Package progress draws one progress line on a terminal for files being
// read at the same time: the line shows their combined progress and is
// erased when the last one is done, so nothing of it remains above what is
// printed next.
//
// Hand-written rather than github.com/schollz/progressbar/v3: that library
// draws one bar per writer and garbles concurrent bars on one terminal line,
// and it would bring three more modules for about a hundred lines.
package progress

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
)

// Width is the number of cells between the brackets.
const Width = 30

// Line is the progress line. Its zero value is not usable: set Out.
type Line struct {
	// Out is where the line is drawn (a terminal).
	Out io.Writer

	mu      sync.Mutex
	files   []*file
	drawn   string // the text on the line now, "" when the line is clear
	percent int    // combined percentage when last drawn
}

type file struct {
	name       string
	size, done int64
}

// Add registers a file of size bytes and returns the callback that
// advances it by n bytes; the file leaves the line once size are done.
func (l *Line) Add(name string, size int64) func(n int) {
	f := &file{name: filepath.Base(name), size: size}
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

func (l *Line) remove(f *file) {
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
func (l *Line) redraw(force bool) {
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
	cells := int(done * Width / size)
	b := strings.Repeat("=", cells)
	if cells < Width {
		b += ">" + strings.Repeat(" ", Width-cells-1)
	}
	text := fmt.Sprintf("hashing %s %3d%% [%s] %s / %s", label, pct, b, Bytes(done), Bytes(size))
	// Erase the line, draw, and return the cursor to the start of the line,
	// so that anything printed next starts in column one.
	fmt.Fprintf(l.Out, "\r\x1b[K%s\r", text)
	l.drawn = text
}

func (l *Line) clear() {
	if l.drawn != "" {
		fmt.Fprint(l.Out, "\r\x1b[K")
		l.drawn = ""
	}
}

// Finish erases the line and forgets every file: for error paths, where a
// file's reading stopped before its end. Callbacks of forgotten files draw
// nothing.
func (l *Line) Finish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.files = nil
	l.clear()
}

// Bytes formats a byte count with a binary unit: "512 MiB", "1.0 GiB".
func Bytes(n int64) string {
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
