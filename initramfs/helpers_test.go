package initramfs

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func timeAt(sec int64) time.Time { return time.Unix(sec, 0) }

// haveTool reports whether a program is installed (for optional checks).
func haveTool(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

// run runs a command with stdin and returns its stdout.
func run(t testing.TB, dir string, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, errb.String())
	}
	return out.Bytes()
}

// rec is a raw newc record for hand-made archives.
type rec struct {
	magic    string // default NewcMagic
	ino      uint32
	mode     uint32
	nlink    uint32
	name     string
	nameSize int // default len(name)+1
	data     string
	fileSize int // default len(data)
	check    uint32
}

// raw encodes records as a newc archive without a trailer.
func raw(recs ...rec) []byte {
	var b bytes.Buffer
	for _, r := range recs {
		magic := r.magic
		if magic == "" {
			magic = NewcMagic
		}
		ns := r.nameSize
		if ns == 0 {
			ns = len(r.name) + 1
		}
		fs := r.fileSize
		if fs == 0 {
			fs = len(r.data)
		}
		nl := r.nlink
		if nl == 0 {
			nl = 1
		}
		fmt.Fprintf(&b, "%s%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			magic, r.ino, r.mode, 0, 0, nl, 0, fs, 0, 0, 0, 0, ns, r.check)
		b.WriteString(r.name)
		b.WriteByte(0)
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
		b.WriteString(r.data)
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
	}
	return b.Bytes()
}

// trailer is the TRAILER!!! record.
func trailer() []byte { return raw(rec{name: TrailerName}) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// sampleTree creates a small tree covering every entry type a user can
// create: directories, files (executable or not, empty), symbolic links,
// hard links and a FIFO. order reverses the creation order.
func sampleTree(t testing.TB, dir string, reverse bool, mtime int64) string {
	t.Helper()
	root := filepath.Join(dir, "root")
	type step func() error
	mk := func(p string) string { return filepath.Join(root, p) }
	steps := []step{
		func() error { return os.MkdirAll(mk("bin"), 0o700) },
		func() error { return os.MkdirAll(mk("etc/ssl/certs"), 0o777) },
		func() error { return os.MkdirAll(mk("lib/modules"), 0o750) },
		func() error { return os.MkdirAll(mk("empty-dir"), 0o755) },
		func() error { return os.WriteFile(mk("init"), []byte("#!/bin/sh\nexec /bin/busybox sh\n"), 0o700) },
		func() error {
			return os.WriteFile(mk("bin/busybox"), bytes.Repeat([]byte("\x7fELF busybox "), 5000), 0o751)
		},
		func() error { return os.WriteFile(mk("etc/passwd"), []byte("root:x:0:0::/root:/bin/sh\n"), 0o600) },
		func() error { return os.WriteFile(mk("etc/empty"), nil, 0o644) },
		func() error {
			return os.WriteFile(mk("etc/ssl/certs/ca.pem"), []byte("-----BEGIN CERTIFICATE-----\n"), 0o640)
		},
		func() error { return os.WriteFile(mk("lib/modules/a.ko"), []byte("module a"), 0o644) },
		func() error { return os.WriteFile(mk("lib/modules/name with spaces"), []byte("x"), 0o644) },
	}
	links := []step{
		func() error { return os.Symlink("busybox", mk("bin/sh")) },
		func() error { return os.Symlink("/etc/ssl/certs/ca.pem", mk("etc/ca.pem")) },
		func() error { return os.Link(mk("lib/modules/a.ko"), mk("lib/modules/b.ko")) },
		func() error { return os.Link(mk("lib/modules/a.ko"), mk("lib/a-link.ko")) },
		func() error { return mkfifo(mk("etc/fifo")) },
	}
	if reverse {
		// Files before their siblings, links in the other order; parents
		// must still come first, so create them all up front.
		for _, s := range steps[:4] {
			if err := s(); err != nil {
				t.Fatal(err)
			}
		}
		for i := len(steps) - 1; i >= 4; i-- {
			if err := steps[i](); err != nil {
				t.Fatal(err)
			}
		}
		for i := len(links) - 1; i >= 0; i-- {
			if err := links[i](); err != nil {
				t.Fatal(err)
			}
		}
	} else {
		for _, s := range append(steps, links...) {
			if err := s(); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Scatter timestamps.
	i := int64(0)
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode()&os.ModeSymlink == 0 {
			i++
			ts := timeAt(mtime + i*7919)
			os.Chtimes(p, ts, ts)
		}
		return nil
	})
	return root
}
