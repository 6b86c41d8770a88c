// Package outfile writes a command's output files by one rule, so that a
// run never damages anything that is not its output:
//
//   - "-" is standard output (Options.Stdout); so are /dev/stdout and
//     /dev/fd/1, which name it too.
//   - A new file is created with the permissions the umask leaves of 0666;
//     an existing regular file is replaced atomically (a temporary file in
//     the same directory, renamed over it once complete) and keeps its
//     permissions (and, when running as root, its owner).
//   - A symbolic link is followed: the file it names is replaced (or
//     created), the link itself is left as it is.
//   - An existing target that is not a regular file (a character or block
//     device, a FIFO, /dev/fd/N) is written in place, never replaced; a
//     socket is refused.
//   - An output that is one of the run's inputs (same device and inode,
//     through any link) is refused before anything is written.
//   - A directory, or a path in a missing directory, is refused.
//
// Until Commit the target is untouched (in-place writes aside); Abort
// removes the temporary file, and is safe to call from a signal handler's
// goroutine while another goroutine writes.
package outfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// Errors a caller may branch on (wrapped in an *fs.PathError).
var (
	ErrIsInput   = errors.New("is also an input of this run: refusing to overwrite it")
	ErrIsDir     = errors.New("is a directory, not a file")
	errTooDeep   = errors.New("too many levels of symbolic links")
	errIsSocket  = errors.New("is a socket: a socket cannot be opened as a file")
	errCommitted = errors.New("already committed or aborted")
)

// pathErr is an *fs.PathError for the output path as the caller named it
// (never a temporary file), with Op "write".
func pathErr(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		err = le.Err
	}
	return &fs.PathError{Op: "write", Path: path, Err: err}
}

// Options say how an output is written.
type Options struct {
	// Stdout receives the output named "-" (nil: "-" is refused).
	Stdout io.Writer
	// Inputs are the files the run reads; the output must be none of them.
	Inputs []string
	// Seekable asks for a target that can be read back and written at
	// offsets (File.OS): where the target cannot be (standard output, a
	// FIFO, a character device), the output is built in an unnamed
	// temporary file and copied to the target by Commit.
	Seekable bool
	// TempDir is where that unnamed temporary file goes ("" for os.TempDir).
	TempDir string
}

// File is an output being written.
type File struct {
	name string // as given, for messages
	mu   sync.Mutex
	w    io.Writer // where Write goes
	f    *os.File  // the file written, nil for Stdout
	tmp  string    // temporary file to rename to target, "" when in place
	// target is the file replaced by tmp; copyTo receives f's contents on
	// Commit (Seekable output to a stream); own is a device or FIFO opened
	// here, closed at the end.
	target string
	copyTo io.Writer
	own    io.Closer
	perm   fs.FileMode
	owner  *fs.FileInfo
	closed bool
}

// Create opens the output path by the package's rule.
func Create(path string, o Options) (*File, error) {
	if path == "" {
		return nil, &fs.PathError{Op: "write", Path: `""`, Err: errors.New("empty file name")}
	}
	if IsStdout(path) {
		if o.Stdout == nil {
			return nil, &fs.PathError{Op: "write", Path: path, Err: errors.New("standard output is not available here")}
		}
		return stream(path, o.Stdout, nil, o)
	}
	target, st, magic, err := resolve(path)
	if err != nil {
		return nil, pathErr(path, err)
	}
	if st != nil {
		if st.IsDir() {
			return nil, &fs.PathError{Op: "write", Path: path, Err: ErrIsDir}
		}
		if st.Mode()&fs.ModeSocket != 0 {
			return nil, &fs.PathError{Op: "write", Path: path, Err: errIsSocket}
		}
		if err := isInput(st, o.Inputs); err != nil {
			return nil, &fs.PathError{Op: "write", Path: path, Err: err}
		}
		if o.Stdout != nil && sameAsStdout(st) {
			// Standard output under another name: written through it, so
			// that nothing else written there lands in the middle.
			return stream(path, o.Stdout, nil, o)
		}
		if magic || !st.Mode().IsRegular() {
			return inPlace(path, target, st, o)
		}
	}
	return replace(path, target, st)
}

// IsStdout reports whether path names standard output: "-", /dev/stdout,
// /dev/fd/1 or /proc/self/fd/1, or any path to the file standard output is
// open on (a link to /dev/stdout, /dev//stdout, the file of "> out"). A command that prints a summary next to an
// output written there should print it elsewhere (standard error).
func IsStdout(path string) bool {
	switch path {
	case "-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1":
		return true
	}
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && sameAsStdout(st)
}

// fdLink matches the links to a process's open files, which lead to a pipe,
// a terminal or another process's output rather than to a path.
var fdLink = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^/(proc/(self|thread-self|[0-9]+)|dev)/fd/[0-9]+$`) })

// resolve follows symbolic links to the file a path names, as the kernel
// does: each directory part is resolved through its links before a ".."
// after it is applied (so "dir/link/../x" is x in the link's parent, not
// in dir), and a relative link is read from the directory that holds it.
// st is that file's information, nil when it does not exist (its
// directory does). magic reports a /proc/PID/fd/N or /dev/fd/N link, which
// leads to an open file (a pipe, a terminal, another process's output)
// with no path of its own.
func resolve(path string) (target string, st fs.FileInfo, magic bool, err error) {
	p := path
	for range 40 {
		if fdLink().MatchString(p) {
			st, err := os.Stat(p)
			return p, st, true, err
		}
		dir, base := splitRaw(p)
		if base == "" || base == "." || base == ".." {
			if st, err := os.Stat(p); err == nil {
				return p, st, false, nil // a directory: Create refuses it
			}
			return "", nil, false, ErrIsDir
		}
		realDir, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return "", nil, false, unwrap(err) // no such file or directory
		}
		if dst, err := os.Stat(realDir); err != nil {
			return "", nil, false, unwrap(err)
		} else if !dst.IsDir() {
			return "", nil, false, fmt.Errorf("%s is not a directory", dir)
		}
		target = filepath.Join(realDir, base)
		if fdLink().MatchString(target) { // /dev/fd/N reached through links
			st, err := os.Stat(target)
			return target, st, true, err
		}
		lst, err := os.Lstat(target)
		if errors.Is(err, fs.ErrNotExist) {
			return target, nil, false, nil
		}
		if err != nil {
			return "", nil, false, err
		}
		if lst.Mode()&fs.ModeSymlink == 0 {
			return target, lst, false, nil
		}
		link, err := os.Readlink(target)
		if err != nil {
			return "", nil, false, err
		}
		if filepath.IsAbs(link) {
			p = link
		} else {
			p = realDir + string(filepath.Separator) + link // not cleaned: the next round resolves it
		}
	}
	return "", nil, false, errTooDeep
}

// splitRaw splits a path at its last separator without cleaning it (a
// cleaned "a/link/../x" would lose the link).
func splitRaw(p string) (dir, base string) {
	i := strings.LastIndexByte(p, filepath.Separator)
	switch {
	case i < 0:
		return ".", p
	case i == 0:
		return string(filepath.Separator), p[1:]
	}
	return p[:i], p[i+1:]
}

// sameAsStdout reports whether st is the file standard output is open on.
func sameAsStdout(st fs.FileInfo) bool {
	out, err := os.Stdout.Stat()
	return err == nil && st != nil && os.SameFile(st, out)
}

func unwrap(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// stream writes to w directly, or, for Seekable output, to an unnamed
// temporary file copied to w by Commit.
func stream(name string, w io.Writer, f *os.File, o Options) (*File, error) {
	out := &File{name: name, w: w, f: f}
	if !o.Seekable {
		return out, nil
	}
	tf, err := os.CreateTemp(o.TempDir, ".snpmeasure-out-*")
	if err != nil {
		return nil, pathErr(name, err)
	}
	os.Remove(tf.Name()) // unnamed: nothing is left behind, whatever happens
	out.w, out.f, out.copyTo = tf, tf, w
	if f != nil {
		out.own = f
	}
	return out, nil
}

// inPlace opens an existing device or FIFO (or what a magic link
// leads to) for writing.
func inPlace(name, target string, st fs.FileInfo, o Options) (*File, error) {
	flag := os.O_WRONLY
	if st.Mode().IsRegular() {
		flag |= os.O_APPEND // another stream's file: add to it, as the shell would
	}
	f, err := os.OpenFile(target, flag, 0)
	if err != nil {
		return nil, pathErr(name, err)
	}
	if st.Mode()&fs.ModeDevice != 0 && st.Mode()&fs.ModeCharDevice == 0 {
		// A block device can be read back: the tree is written in place.
		f.Close()
		if f, err = os.OpenFile(target, os.O_RDWR, 0); err != nil {
			return nil, pathErr(name, err)
		}
		return &File{name: name, w: f, f: f}, nil
	}
	out, err := stream(name, f, f, o)
	if err != nil {
		f.Close()
	}
	return out, err
}

// maxTempBase keeps a temporary name, "." + base + ".tmp" + 12 hex digits,
// within the 255 bytes of a file name.
const maxTempBase = 255 - len(".") - len(".tmp") - 12

// replace creates a temporary file next to target, renamed over it by Commit.
// An existing target that its mode does not let us write (a read-only file,
// for anyone but root) is refused, as the shell's > would refuse it.
func replace(name, target string, st fs.FileInfo) (*File, error) {
	if st != nil && !writable(target) {
		return nil, &fs.PathError{Op: "write", Path: name, Err: fs.ErrPermission}
	}
	dir, base := filepath.Split(target)
	if len(base) > maxTempBase {
		base = base[:maxTempBase] // the name must stay within NAME_MAX (255)
	}
	var suffix [6]byte
	for {
		rand.Read(suffix[:])
		tmp := filepath.Join(dir, "."+base+".tmp"+hex.EncodeToString(suffix[:]))
		// The kernel applies the umask to 0666, as for any new file.
		f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, pathErr(name, err)
		}
		out := &File{name: name, w: f, f: f, tmp: tmp, target: target}
		if st != nil {
			out.perm, out.owner = st.Mode().Perm(), &st
		}
		return out, nil
	}
}

// Name returns the output's name as given to Create.
func (f *File) Name() string { return f.name }

// OS returns the file being written: the temporary file, the device, or the
// unnamed file of a Seekable stream; nil for a plain stream.
func (f *File) OS() *os.File { return f.f }

// Write writes to the output.
func (f *File) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, &fs.PathError{Op: "write", Path: f.name, Err: os.ErrClosed}
	}
	n, err := f.w.Write(p)
	if err != nil {
		err = pathErr(f.name, err)
	}
	return n, err
}

// Commit finishes the output: the temporary file replaces the target, or
// the buffered contents are copied to the stream. After an error the
// target is as it was (for in-place writes: as far as they got).
func (f *File) Commit() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return &fs.PathError{Op: "write", Path: f.name, Err: errCommitted}
	}
	f.closed = true
	err := f.commit()
	if err != nil && f.tmp != "" {
		os.Remove(f.tmp)
	}
	return err
}

func (f *File) commit() error {
	if f.copyTo != nil {
		_, err := f.f.Seek(0, io.SeekStart)
		if err == nil {
			_, err = io.Copy(f.copyTo, f.f)
		}
		if cerr := f.f.Close(); err == nil {
			err = cerr
		}
		if f.own != nil {
			if cerr := f.own.Close(); err == nil {
				err = cerr
			}
		}
		return wrap(f.name, err)
	}
	if f.f == nil {
		return nil // a plain stream: nothing to finish
	}
	if f.tmp == "" {
		return wrap(f.name, f.f.Close())
	}
	if f.owner != nil {
		if err := f.f.Chmod(f.perm); err != nil {
			f.f.Close()
			return pathErr(f.name, err)
		}
		keepOwner(f.f, *f.owner)
	}
	if err := f.f.Close(); err != nil {
		return pathErr(f.name, err)
	}
	return wrap(f.name, os.Rename(f.tmp, f.target))
}

func wrap(name string, err error) error {
	if err != nil {
		return pathErr(name, err)
	}
	return nil
}

// Abort discards the output: the temporary file is removed and the target
// left as it was. It may be called more than once, and after Commit.
func (f *File) Abort() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	f.closed = true
	if f.f != nil {
		f.f.Close()
	}
	if f.tmp != "" {
		os.Remove(f.tmp)
	}
	if f.own != nil {
		f.own.Close()
	}
}

// Discard removes the temporary file at once, without waiting for a
// writer: for a signal handler about to end the process while another
// goroutine may be blocked in Write. The file descriptors are left to the
// process's exit; a later Commit fails and leaves the target as it was.
func (f *File) Discard() {
	if f.tmp != "" { // set at creation, never changed
		os.Remove(f.tmp)
	}
}

// SameFile reports whether an output path names the existing file input
// (the same file through any link), which writing it would destroy. "-"
// and a path that does not exist yet never do.
func SameFile(output, input string) bool {
	if output == "" || IsStdout(output) || input == "" {
		return false
	}
	st, err := os.Stat(output)
	return err == nil && isInput(st, []string{input}) != nil
}

// isInput returns an error wrapping ErrIsInput when st is one of inputs.
func isInput(st fs.FileInfo, inputs []string) error {
	for _, in := range inputs {
		if in == "" {
			continue
		}
		is, err := os.Stat(in)
		if in == "-" {
			// Standard input: the file it was redirected from (< report.bin),
			// not a terminal or pipe, which nothing can overwrite.
			if is, err = os.Stdin.Stat(); err == nil && !is.Mode().IsRegular() {
				continue
			}
		}
		if err == nil && os.SameFile(st, is) {
			return fmt.Errorf("is also the input %s: %w", in, ErrIsInput)
		}
	}
	return nil
}
