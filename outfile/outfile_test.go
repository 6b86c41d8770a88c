package outfile

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func write(t *testing.T, path string, o Options, data string) error {
	t.Helper()
	f, err := Create(path, o)
	if err != nil {
		return err
	}
	if o.Seekable {
		if _, err := f.OS().WriteAt([]byte(data), 0); err != nil {
			t.Fatal(err)
		}
	} else if _, err := io.WriteString(f, data); err != nil {
		f.Abort()
		return err
	}
	return f.Commit()
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// noTemp fails when a temporary file is left in dir.
func noTemp(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

func TestCreate(t *testing.T) {
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		setup func(path string) string // returns the path to write
		check func(t *testing.T, path string)
	}{
		{"new file gets the umask's mode", func(p string) string { return p }, func(t *testing.T, p string) {
			if st, _ := os.Stat(p); st.Mode().Perm() != 0o640 || read(t, p) != "data" {
				t.Errorf("mode %v", st.Mode())
			}
		}},
		{"replaced file keeps its mode", func(p string) string { os.WriteFile(p, []byte("old"), 0o604); os.Chmod(p, 0o604); return p }, func(t *testing.T, p string) {
			if st, _ := os.Stat(p); st.Mode().Perm() != 0o604 || read(t, p) != "data" {
				t.Errorf("mode %v", st.Mode())
			}
		}},
		{"symlink is followed, not replaced", func(p string) string {
			os.WriteFile(p+".target", []byte("old"), 0o600)
			os.Symlink(filepath.Base(p)+".target", p)
			return p
		}, func(t *testing.T, p string) {
			if st, _ := os.Lstat(p); st.Mode()&fs.ModeSymlink == 0 {
				t.Error("the link was replaced")
			}
			if read(t, p+".target") != "data" {
				t.Error("the target was not written")
			}
		}},
		{"dangling symlink creates its target", func(p string) string { os.Symlink(filepath.Base(p)+".new", p); return p }, func(t *testing.T, p string) {
			if read(t, p+".new") != "data" {
				t.Error("target not created")
			}
		}},
		{"FIFO is written in place", func(p string) string {
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Skip(err)
			}
			go func() { f, _ := os.Open(p); io.Copy(io.Discard, f); f.Close() }()
			return p
		}, func(t *testing.T, p string) {
			if st, _ := os.Lstat(p); st.Mode()&fs.ModeNamedPipe == 0 {
				t.Error("the FIFO was replaced")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.setup(filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")))
			if err := write(t, p, Options{}, "data"); err != nil {
				t.Fatal(err)
			}
			tc.check(t, p)
			noTemp(t, dir)
		})
	}
}

func TestDevicesAndStreams(t *testing.T) {
	if err := write(t, "/dev/null", Options{}, "data"); err != nil {
		t.Errorf("/dev/null: %v", err)
	}
	if st, err := os.Stat("/dev/null"); err != nil || st.Mode()&fs.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is no longer a device: %v", st.Mode())
	}
	if err := write(t, "/dev/full", Options{}, "data"); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("/dev/full: %v, want ENOSPC", err)
	}
	for _, name := range []string{"-", "/dev/stdout"} {
		var out bytes.Buffer
		if err := write(t, name, Options{Stdout: &out}, "data"); err != nil || out.String() != "data" {
			t.Errorf("%s: %q, %v", name, out.String(), err)
		}
		out.Reset()
		if err := write(t, name, Options{Stdout: &out, Seekable: true}, "seek"); err != nil || out.String() != "seek" {
			t.Errorf("%s seekable: %q, %v", name, out.String(), err)
		}
	}
	if err := write(t, "-", Options{}, "data"); err == nil {
		t.Error("- without a standard output accepted")
	}
}

func TestRefused(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "input.fd")
	os.WriteFile(in, []byte("input"), 0o644)
	link := filepath.Join(dir, "link")
	os.Symlink("input.fd", link)
	for _, tc := range []struct {
		name, path string
		want       error
		msg        string
	}{
		{"input itself", in, ErrIsInput, "is also the input"},
		{"input through a link", link, ErrIsInput, "is also the input"},
		{"directory", dir, ErrIsDir, "is a directory"},
		{"missing directory", filepath.Join(dir, "no", "x"), fs.ErrNotExist, "no such file or directory"},
		{"empty name", "", nil, "empty file name"},
		{"socket", sock(t, dir), nil, "is a socket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := write(t, tc.path, Options{Inputs: []string{in}}, "data")
			var pe *fs.PathError
			if !errors.As(err, &pe) || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %v, want %v (%s)", err, tc.want, tc.msg)
			}
			if read(t, in) != "input" {
				t.Error("the input changed")
			}
		})
	}
	if !SameFile(link, in) || SameFile(filepath.Join(dir, "new"), in) || SameFile("-", in) {
		t.Error("SameFile")
	}
	noTemp(t, dir)
}

// halfWritten replaces a file "out" holding "old" and writes half of it.
func halfWritten(t *testing.T) (dir, p string, f *File) {
	dir = t.TempDir()
	p = filepath.Join(dir, "out")
	os.WriteFile(p, []byte("old"), 0o644)
	f, err := Create(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "half")
	return dir, p, f
}

func TestAbort(t *testing.T) {
	dir, p, f := halfWritten(t)
	f.Abort()
	f.Abort()
	if read(t, p) != "old" {
		t.Error("Abort changed the target")
	}
	if _, err := f.Write([]byte("x")); err == nil {
		t.Error("write after Abort")
	}
	if err := f.Commit(); err == nil {
		t.Error("Commit after Abort")
	}
	noTemp(t, dir)
}

// TestLinkThroughLinkedDirectory: a relative link reached through a
// linked directory is resolved where the kernel resolves it, not by
// cleaning the path as written (which named, and replaced, another file).
func TestLinkThroughLinkedDirectory(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "proj", "build"), 0o755)
	os.WriteFile(filepath.Join(dir, "proj", "target"), []byte("old"), 0o644)
	os.WriteFile(filepath.Join(dir, "target"), []byte("unrelated"), 0o644)
	os.Symlink(filepath.Join("proj", "build"), filepath.Join(dir, "b"))
	os.Symlink(filepath.Join("..", "target"), filepath.Join(dir, "proj", "build", "link.json"))
	if err := write(t, filepath.Join(dir, "b", "link.json"), Options{}, "data"); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(dir, "proj", "target")); got != "data" {
		t.Errorf("the link's target holds %q, want data", got)
	}
	if got := read(t, filepath.Join(dir, "target")); got != "unrelated" {
		t.Errorf("an unrelated file was written: %q", got)
	}
	noTemp(t, filepath.Join(dir, "proj"))
}

// TestDotDotAfterLinkedDirectory: "dir/link/../x" is x next to the link's
// target, not dir/x, in a path given and in a link's target alike.
func TestDotDotAfterLinkedDirectory(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.MkdirAll(a, 0o755)
	os.MkdirAll(filepath.Join(b, "c"), 0o755)
	os.Symlink(filepath.Join("..", "b", "c"), filepath.Join(a, "dl"))
	for _, f := range []string{filepath.Join(a, "x"), filepath.Join(b, "x"), filepath.Join(a, "y"), filepath.Join(b, "y")} {
		os.WriteFile(f, []byte("old"), 0o644)
	}
	os.Symlink("dl/../x", filepath.Join(a, "lnk")) // not filepath.Join, which would clean it
	for _, tc := range []struct{ path, written, untouched string }{
		{filepath.Join(a, "lnk"), filepath.Join(b, "x"), filepath.Join(a, "x")},
		{a + "/dl/../y", filepath.Join(b, "y"), filepath.Join(a, "y")},
	} {
		if err := write(t, tc.path, Options{}, "data"); err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if read(t, tc.written) != "data" || read(t, tc.untouched) != "old" {
			t.Errorf("%s: wrote the wrong file (want %s)", tc.path, tc.written)
		}
	}
	noTemp(t, a)
	noTemp(t, b)
}

// TestStdoutByAnotherName: a path to the file standard output is open on
// is written through Options.Stdout.
func TestStdoutByAnotherName(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "so")
	if err := os.Symlink("/dev/stdout", link); err != nil {
		t.Skip(err)
	}
	if _, err := os.Stat(link); err != nil {
		t.Skipf("standard output has no file: %v", err)
	}
	for _, p := range []string{link, "/dev//stdout", "/dev/./stdout"} {
		var out bytes.Buffer
		if err := write(t, p, Options{Stdout: &out}, "data"); err != nil || out.String() != "data" {
			t.Errorf("%s: %q, %v", p, out.String(), err)
		}
		if !IsStdout(p) {
			t.Errorf("IsStdout(%s) = false", p)
		}
	}
}

// TestProcPaths: only /proc/PID/fd/N and /dev/fd/N are written in place;
// another /proc path (/proc/self/cwd/...) is an ordinary path.
func TestProcPaths(t *testing.T) {
	if _, err := os.Stat("/proc/self/cwd"); err != nil {
		t.Skip("no /proc")
	}
	dir := t.TempDir()
	old, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(old)
	os.WriteFile("out.json", []byte("{\"old\":1}\n"), 0o644)
	if err := write(t, "/proc/self/cwd/out.json", Options{}, "new\n"); err != nil {
		t.Fatal(err)
	}
	if got := read(t, "out.json"); got != "new\n" {
		t.Errorf("out.json holds %q: appended, not replaced", got)
	}
	if err := write(t, "/proc/self/cwd/fresh.json", Options{}, "x"); err != nil || read(t, "fresh.json") != "x" {
		t.Errorf("new file under /proc/self/cwd: %v", err)
	}
	for _, p := range []string{"/proc/self/fd/1", "/proc/123/fd/4", "/dev/fd/2", "/proc/thread-self/fd/0"} {
		if !fdLink().MatchString(p) {
			t.Errorf("%s is an open-file link", p)
		}
	}
	for _, p := range []string{"/proc/self/cwd/x", "/proc/self/fd", "/dev/fdx/1", "/proc/self/fd/1/x"} {
		if fdLink().MatchString(p) {
			t.Errorf("%s is not an open-file link", p)
		}
	}
}

// TestLongName: a name as long as a file name can be still gets its
// temporary file next to it.
func TestLongName(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, strings.Repeat("n", 255))
	if err := write(t, p, Options{}, "data"); err != nil {
		t.Fatal(err)
	}
	if err := write(t, p, Options{}, "again"); err != nil || read(t, p) != "again" {
		t.Fatalf("replacing: %v", err)
	}
	noTemp(t, dir)
}

// TestDiscard: a signal handler's Discard removes the temporary file while
// the output is still open; the target stays as it was.
func TestDiscard(t *testing.T) {
	dir, p, f := halfWritten(t)
	f.Discard()
	noTemp(t, dir)
	if _, err := io.WriteString(f, "more"); err != nil {
		t.Errorf("write after Discard: %v (the writer must not fail before the process ends)", err)
	}
	if err := f.Commit(); err == nil {
		t.Error("Commit after Discard succeeded")
	}
	if read(t, p) != "old" {
		t.Error("the target changed")
	}
}

// sock makes a Unix socket in dir and returns its path.
func sock(t *testing.T, dir string) string {
	p := filepath.Join(dir, "s.sock")
	l, err := net.Listen("unix", p)
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { l.Close() })
	return p
}
