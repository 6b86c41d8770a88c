package initramfs

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/snpmeasure/snpmeasure/internal/testtool"
)

func buildFile(t testing.TB, c Compression, mtime uint32, srcs ...string) ([]byte, *BuildResult) {
	t.Helper()
	b := NewBuilder()
	b.MTime = mtime
	for _, s := range srcs {
		if err := b.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "initrd.img")
	res, err := b.WriteFile(out, c)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(data) != res.SHA256 || int64(len(data)) != res.Size {
		t.Fatalf("result %x/%d does not describe the file", res.SHA256, res.Size)
	}
	return data, res
}

func decompress(t testing.TB, c Compression, data []byte) []byte {
	t.Helper()
	var r io.Reader
	switch c {
	case None:
		return data
	case Gzip:
		z, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if z.Name != "" || !z.ModTime.IsZero() && z.ModTime.Unix() != 0 {
			t.Errorf("gzip header carries name %q, mtime %v", z.Name, z.ModTime)
		}
		r = z
	case Zstd:
		z, err := zstd.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		defer z.Close()
		r = z
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBuildDeterministic builds the same tree twice, created in a different
// order with different timestamps and umask: the bytes must not change.
func TestInitramfsBuildDeterministic(t *testing.T) {
	for _, c := range []Compression{None, Gzip, Zstd} {
		t.Run(c.String(), func(t *testing.T) {
			build := func(reverse bool, umask int, mtime int64) []byte {
				old := setUmask(umask)
				defer setUmask(old)
				root := sampleTree(t, t.TempDir(), reverse, mtime)
				data, _ := buildFile(t, c, 1700000000, root)
				return data
			}
			a := build(false, 0o022, 1000000000)
			for i, b := range [][]byte{build(true, 0o077, 1600000000), build(false, 0o002, 5)} {
				if !bytes.Equal(a, b) {
					t.Fatalf("build %d differs: %d and %d bytes, first difference at %#x", i+2, len(a), len(b), firstDiff(a, b))
				}
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestBuildLayout checks the properties the package documents.
func TestInitramfsBuildLayout(t *testing.T) {
	root := sampleTree(t, t.TempDir(), false, 0)
	data, _ := buildFile(t, None, 42, root)
	es, err := List(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	inos := map[uint32][]string{}
	for i, e := range es {
		names = append(names, e.Name)
		inos[e.Ino] = append(inos[e.Ino], e.Name)
		if e.MTime != 42 || e.UID != 0 || e.GID != 0 {
			t.Errorf("%s: mtime %d owner %d:%d", e.Name, e.MTime, e.UID, e.GID)
		}
		if i > 0 && e.Ino <= es[i-1].Ino && e.NLink < 2 {
			t.Errorf("%s: inode %d after %d", e.Name, e.Ino, es[i-1].Ino)
		}
		want := map[string]uint32{
			"bin":                          ModeDir | 0o755,
			"bin/busybox":                  ModeRegular | 0o755,
			"bin/sh":                       ModeSymlink | 0o777,
			"init":                         ModeRegular | 0o755,
			"etc/passwd":                   ModeRegular | 0o644,
			"etc/fifo":                     ModeFIFO | 0o644,
			"lib/modules/name with spaces": ModeRegular | 0o644,
		}
		if m, ok := want[e.Name]; ok && e.Mode != m {
			t.Errorf("%s: mode %o, want %o", e.Name, e.Mode, m)
		}
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("entries not sorted: %q", names)
	}
	if es[0].Ino != 1 {
		t.Errorf("first inode %d", es[0].Ino)
	}
	// The hard links: one inode, nlink 3, data with the last name only.
	var group []string
	for _, g := range inos {
		if len(g) > 1 {
			group = g
		}
	}
	if strings.Join(group, " ") != "lib/a-link.ko lib/modules/a.ko lib/modules/b.ko" {
		t.Fatalf("hard link group %q", group)
	}
	rd := NewReader(bytes.NewReader(data))
	for {
		e, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(e.Name, ".ko") {
			wantSize := int64(0)
			if e.Name == "lib/modules/b.ko" {
				wantSize = int64(len("module a"))
			}
			if e.NLink != 3 || e.Size != wantSize {
				t.Errorf("%s: nlink %d size %d", e.Name, e.NLink, e.Size)
			}
		}
	}
	// List resolves the links.
	for _, e := range es {
		if strings.HasSuffix(e.Name, ".ko") && (e.Size != 8 || fmt.Sprintf("%x", e.SHA256) != fmt.Sprintf("%x", sha256.Sum256([]byte("module a")))) {
			t.Errorf("%s: resolved size %d", e.Name, e.Size)
		}
	}
	if !bytes.HasSuffix(data, []byte(TrailerName+"\x00\x00\x00\x00")) {
		t.Errorf("archive does not end with a padded trailer")
	}
}

// TestBuildGNUCpio lets GNU cpio list and extract what Build writes.
func TestInitramfsBuildGNUCpio(t *testing.T) {
	cpioBin := testtool.Require(t, "cpio")
	root := sampleTree(t, t.TempDir(), false, 0)
	for _, c := range []Compression{None, Gzip, Zstd} {
		t.Run(c.String(), func(t *testing.T) {
			data, _ := buildFile(t, c, 0, root)
			plain := decompress(t, c, data)
			switch c {
			case Gzip:
				if out := run(t, "", data, testtool.Require(t, "gzip"), "-dc"); !bytes.Equal(out, plain) {
					t.Error("gzip -dc disagrees with compress/gzip")
				}
			case Zstd:
				if out := run(t, "", data, testtool.Require(t, "zstd"), "-dc"); !bytes.Equal(out, plain) {
					t.Error("zstd -dc disagrees with klauspost/compress")
				}
			}
			// cpio -t lists the names ls prints, in the same order.
			listed := strings.Split(strings.TrimSuffix(string(run(t, "", plain, cpioBin, "-t", "--quiet")), "\n"), "\n")
			es, err := List(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			var ours []string
			for _, e := range es {
				ours = append(ours, e.Name)
			}
			if strings.Join(listed, "\n") != strings.Join(ours, "\n") {
				t.Errorf("cpio -t:\n%s\nList:\n%s", strings.Join(listed, "\n"), strings.Join(ours, "\n"))
			}
			// cpio -i recreates the tree.
			dst := t.TempDir()
			run(t, dst, plain, cpioBin, "-i", "-d", "--quiet", "--no-absolute-filenames", "--no-preserve-owner")
			compareTrees(t, root, dst)
			a, err1 := os.Stat(filepath.Join(dst, "lib/modules/a.ko"))
			b, err2 := os.Stat(filepath.Join(dst, "lib/a-link.ko"))
			if err1 != nil || err2 != nil || !os.SameFile(a, b) {
				t.Errorf("hard links not restored: %v %v", err1, err2)
			}
		})
	}
}

// compareTrees checks that every entry of want exists in got with the same
// type, contents, link target and normalised permissions.
func compareTrees(t *testing.T, want, got string) {
	t.Helper()
	err := filepath.Walk(want, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		g, err := os.Lstat(filepath.Join(got, rel))
		if err != nil {
			t.Errorf("%s missing: %v", rel, err)
			return nil
		}
		if fi.Mode().Type() != g.Mode().Type() {
			t.Errorf("%s: type %v, want %v", rel, g.Mode().Type(), fi.Mode().Type())
			return nil
		}
		switch {
		case fi.Mode().IsRegular():
			a, _ := os.ReadFile(p)
			b, _ := os.ReadFile(filepath.Join(got, rel))
			if !bytes.Equal(a, b) {
				t.Errorf("%s: contents differ", rel)
			}
			if uint32(g.Mode().Perm()) != normPerm(fi.Mode()) {
				t.Errorf("%s: mode %o, want %o", rel, g.Mode().Perm(), normPerm(fi.Mode()))
			}
		case fi.Mode()&os.ModeSymlink != 0:
			a, _ := os.Readlink(p)
			b, _ := os.Readlink(filepath.Join(got, rel))
			if a != b {
				t.Errorf("%s: link target %q, want %q", rel, b, a)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

const testManifest = `# A gen_init_cpio manifest.

dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
nod /dev/vda 0660 0 6 b 254 0
dir /root 0700 0 0
file /init init.sh 0755 0 0
file /bin/busybox ${SNPMEASURE_TEST_BUSYBOX} 0755 0 0 /bin/sh /sbin/init
slink /bin/ls busybox 0777 0 0
pipe /run/initctl 0600 0 0
sock /run/sock 0660 1000 1000
file /etc/motd motd 0644 1000 100
    # indented comment
file /usr/lib/deep/file motd 04755 0 0
`

func writeManifest(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "init.sh"), []byte("#!/bin/sh\n"), 0o600))
	must(os.WriteFile(filepath.Join(dir, "motd"), []byte("hello\n"), 0o600))
	bb := filepath.Join(t.TempDir(), "busybox")
	must(os.WriteFile(bb, []byte("busybox binary"), 0o600))
	t.Setenv("SNPMEASURE_TEST_BUSYBOX", bb)
	m := filepath.Join(dir, "initramfs.list")
	must(os.WriteFile(m, []byte(testManifest), 0o644))
	return m
}

func TestInitramfsBuildManifest(t *testing.T) {
	m := writeManifest(t)
	data, _ := buildFile(t, None, 0, m)
	es, err := List(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	var order []string
	for _, e := range es {
		s := fmt.Sprintf("%s %d:%d", ModeString(e.Mode), e.UID, e.GID)
		switch {
		case e.IsDevice():
			s += fmt.Sprintf(" %d,%d", e.RDevMajor, e.RDevMinor)
		case e.IsSymlink():
			s += " -> " + e.Linkname
		case e.IsRegular():
			s += fmt.Sprintf(" %d", e.Size)
		}
		if e.HardLink != "" {
			s += " => " + e.HardLink
		}
		got[e.Name] = s
		order = append(order, e.Name)
	}
	want := map[string]string{
		"bin":               "drwxr-xr-x 0:0",
		"bin/busybox":       "-rwxr-xr-x 0:0 14",
		"bin/ls":            "lrwxrwxrwx 0:0 -> busybox",
		"bin/sh":            "-rwxr-xr-x 0:0 14 => bin/busybox",
		"dev":               "drwxr-xr-x 0:0",
		"dev/console":       "crw------- 0:0 5,1",
		"dev/vda":           "brw-rw---- 0:6 254,0",
		"etc":               "drwxr-xr-x 0:0",
		"etc/motd":          "-rw-r--r-- 1000:100 6",
		"init":              "-rwxr-xr-x 0:0 10",
		"root":              "drwx------ 0:0",
		"run":               "drwxr-xr-x 0:0",
		"run/initctl":       "prw------- 0:0",
		"run/sock":          "srw-rw---- 1000:1000",
		"sbin":              "drwxr-xr-x 0:0",
		"sbin/init":         "-rwxr-xr-x 0:0 14 => bin/busybox",
		"usr":               "drwxr-xr-x 0:0",
		"usr/lib":           "drwxr-xr-x 0:0",
		"usr/lib/deep":      "drwxr-xr-x 0:0",
		"usr/lib/deep/file": "-rwsr-xr-x 0:0 6",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d entries, want %d: %q", len(got), len(want), order)
	}
	if haveTool("cpio") {
		listed := strings.Fields(string(run(t, "", data, "cpio", "-t", "--quiet")))
		if strings.Join(listed, " ") != strings.Join(order, " ") {
			t.Errorf("cpio -t: %q", listed)
		}
	}
}

func TestInitramfsBuildMerge(t *testing.T) {
	root := sampleTree(t, t.TempDir(), false, 0)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "init2"), []byte("second init"), 0o644)
	m := filepath.Join(dir, "override.list")
	os.WriteFile(m, []byte("file /init init2 0700 1 2\nslink /etc/ssl /usr/share/ssl 0777 0 0\n"), 0o644)
	data, _ := buildFile(t, None, 0, root, m)
	es, err := List(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Entry{}
	for _, e := range es {
		byName[e.Name] = e
	}
	if e := byName["init"]; e.Size != 11 || e.UID != 1 || e.Mode != ModeRegular|0o700 {
		t.Errorf("init not replaced: %+v", e)
	}
	if e := byName["etc/ssl"]; !e.IsSymlink() {
		t.Errorf("etc/ssl not replaced by a link: %+v", e)
	}
	if _, ok := byName["etc/ssl/certs/ca.pem"]; ok {
		t.Errorf("contents of the replaced directory kept")
	}
	if _, ok := byName["etc/passwd"]; !ok {
		t.Errorf("etc/passwd lost")
	}

	// A file below a non-directory is an error.
	bad := filepath.Join(dir, "bad.list")
	os.WriteFile(bad, []byte("file /init/x init2 0644 0 0\n"), 0o644)
	b := NewBuilder()
	if err := b.Add(root); err != nil {
		t.Fatal(err)
	}
	if err := b.Add(bad); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "x.img")
	if _, err := b.WriteFile(out, None); err == nil || !strings.Contains(err.Error(), "bad.list: line 1") {
		t.Errorf("file below a file: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 0 {
		t.Errorf("files left behind after an error: %v", ents)
	}
}

func TestInitramfsBuildErrors(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "m.list")
	os.WriteFile(m, []byte("dir /a 0755 0 0\nfile /a/b missing 0644 0 0\n"), 0o644)
	err := NewBuilder().Add(m)
	var me *ManifestError
	if !errors.As(err, &me) || me.Line != 2 {
		t.Errorf("missing file: %v", err)
	}
	// A source that vanishes between Add and WriteFile.
	src := filepath.Join(dir, "f")
	os.WriteFile(src, []byte("x"), 0o644)
	os.WriteFile(m, []byte("file /f f 0644 0 0\n"), 0o644)
	b := NewBuilder()
	if err := b.Add(m); err != nil {
		t.Fatal(err)
	}
	os.Remove(src)
	outDir := t.TempDir()
	if _, err := b.WriteFile(filepath.Join(outDir, "out.img"), Gzip); err == nil || !strings.Contains(err.Error(), "m.list: line 1") {
		t.Errorf("vanished source: %v", err)
	}
	if ents, _ := os.ReadDir(outDir); len(ents) != 0 {
		t.Errorf("files left behind after an error: %v", ents)
	}
	if _, err := NewCompressor(io.Discard, XZ); err == nil {
		t.Error("xz output: no error")
	}
}

func BenchmarkInitramfsBuild(b *testing.B) {
	dir := b.TempDir()
	root := filepath.Join(dir, "root")
	var total int64
	chunk := make([]byte, 256<<10)
	for i := range chunk {
		chunk[i] = byte(i*31 + i>>9) // compressible but not trivially
	}
	for d := 0; d < 8; d++ {
		sub := filepath.Join(root, fmt.Sprintf("d%d", d))
		os.MkdirAll(sub, 0o755)
		for f := 0; f < 32; f++ {
			chunk[0], chunk[1] = byte(d), byte(f)
			os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%d", f)), chunk, 0o644)
			total += int64(len(chunk))
		}
	}
	for _, c := range []Compression{None, Gzip, Zstd} {
		b.Run(c.String(), func(b *testing.B) {
			out := filepath.Join(dir, "out-"+c.String())
			b.SetBytes(total)
			for i := 0; i < b.N; i++ {
				bl := NewBuilder()
				if err := bl.Add(root); err != nil {
					b.Fatal(err)
				}
				if _, err := bl.WriteFile(out, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestInitramfsWriteFileToDirectory: an output that is a directory is named
// as such, not as "file exists" from the final rename.
func TestInitramfsWriteFileToDirectory(t *testing.T) {
	dir := t.TempDir()
	b := NewBuilder()
	_, err := b.WriteFile(dir, None)
	if err == nil || err.Error() != dir+": is a directory, not a file" {
		t.Errorf("error %v, want %q", err, dir+": is a directory, not a file")
	}
	ents, _ := os.ReadDir(filepath.Dir(dir))
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}
