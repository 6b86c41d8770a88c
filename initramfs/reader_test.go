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
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"

	"github.com/snpmeasure/snpmeasure/internal/testtool"
)

// gnuArchive archives root with GNU cpio (find | sort | cpio -o).
func gnuArchive(t *testing.T, root, format string) []byte {
	t.Helper()
	cpioBin := testtool.Require(t, "cpio")
	var names []string
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			rel, _ := filepath.Rel(root, p)
			names = append(names, rel)
		}
		return nil
	})
	sort.Strings(names)
	return run(t, root, []byte(strings.Join(names, "\n")+"\n"), cpioBin, "-o", "-H", format, "--quiet", "-R", "0:0")
}

// compressWith compresses data with the named tool, or with the Go library
// when the tool is not installed (and CI is not set).
func compressWith(t *testing.T, c Compression, data []byte) []byte {
	t.Helper()
	tools := map[Compression][]string{
		Gzip:  {"gzip", "-9", "-n", "-c"},
		Zstd:  {"zstd", "-q", "-9", "-c"},
		XZ:    {"xz", "--check=crc32", "--lzma2=dict=1MiB", "-c"},
		LZMA:  {"xz", "--format=lzma", "-c"},
		LZ4:   {"lz4", "-q", "-l", "-c"},
		Bzip2: {"bzip2", "-9", "-c"},
	}
	argv := tools[c]
	if haveTool(argv[0]) || os.Getenv("CI") != "" {
		return run(t, "", data, testtool.Require(t, argv[0]), argv[1:]...)
	}
	var b bytes.Buffer
	var w io.WriteCloser
	var err error
	switch c {
	case Gzip:
		w = gzip.NewWriter(&b)
	case Zstd:
		w, err = zstd.NewWriter(&b)
	case XZ:
		w, err = xz.NewWriter(&b)
	case LZ4:
		lw := lz4.NewWriter(&b)
		err = lw.Apply(lz4.LegacyOption(true))
		w = lw
	default:
		t.Skipf("%s is not installed and has no Go writer here", argv[0])
	}
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// listing summarises entries as "name size sha256" lines.
func listing(es []Entry) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "%s %s %d %x %s\n", ModeString(e.Mode), e.Name, e.Size, e.SHA256, e.Linkname)
	}
	return b.String()
}

func TestInitramfsReaderRealTools(t *testing.T) {
	root := sampleTree(t, t.TempDir(), false, 0)
	newc := gnuArchive(t, root, "newc")
	crc := gnuArchive(t, root, "crc")
	want, err := List(bytes.NewReader(newc))
	if err != nil {
		t.Fatal(err)
	}
	// What GNU cpio -t lists is what List lists.
	listed := strings.Split(strings.TrimSpace(string(run(t, "", newc, "cpio", "-t", "--quiet"))), "\n")
	if len(listed) != len(want) {
		t.Fatalf("cpio -t lists %d entries, List %d", len(listed), len(want))
	}
	for i, e := range want {
		if listed[i] != e.Name {
			t.Errorf("entry %d: cpio -t %q, List %q", i, listed[i], e.Name)
		}
		if e.IsRegular() && e.HardLink == "" {
			b, err := os.ReadFile(filepath.Join(root, e.Name))
			if err != nil || fmt.Sprintf("%x", sha256.Sum256(b)) != fmt.Sprintf("%x", e.SHA256) {
				t.Errorf("%s: digest %x does not match the file (%v)", e.Name, e.SHA256, err)
			}
		}
	}
	crcList, err := List(bytes.NewReader(crc))
	if err != nil {
		t.Fatalf("070702 archive: %v", err)
	}
	if listing(crcList) != listing(want) {
		t.Errorf("070702 archive lists differently:\n%s", listing(crcList))
	}
	early := gnuArchive(t, sampleMicrocode(t), "newc")
	earlyList, err := List(bytes.NewReader(early))
	if err != nil {
		t.Fatal(err)
	}
	both := listing(earlyList) + listing(want)

	for _, c := range []Compression{Gzip, Zstd, XZ, LZMA, LZ4, Bzip2} {
		t.Run(c.String(), func(t *testing.T) {
			z := compressWith(t, c, newc)
			check := func(name string, data []byte, want string) {
				t.Helper()
				es, err := List(bytes.NewReader(data))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if got := listing(es); got != want {
					t.Errorf("%s:\n%s\nwant\n%s", name, got, want)
				}
			}
			check("compressed", z, listing(want))
			check("early+compressed", cat(early, z), both)
			check("early+zeros+compressed", cat(early, make([]byte, 512), z), both)
			check("compressed crc", compressWith(t, c, crc), listing(want))
			// Zero padding after the compressed data, as the kernel accepts.
			check("compressed+zeros", cat(z, make([]byte, 512)), listing(want))
			check("early+compressed+zeros", cat(early, z, make([]byte, 4)), both)
			if _, err := List(bytes.NewReader(cat(z, make([]byte, 8), []byte("junk")))); err == nil {
				t.Errorf("junk after the compressed data: no error")
			}
			// Two archives inside one compressed stream, zero padded.
			check("compressed early+main", compressWith(t, c, cat(early, make([]byte, 16), newc)), both)
		})
	}
	// A gzip member ends its segment: more can follow (a cpio archive must
	// start at a multiple of 4, as the kernel requires, so pad).
	gz := compressWith(t, Gzip, newc)
	pad := make([]byte, 4-len(gz)%4)
	es, err := List(bytes.NewReader(cat(gz, pad, early, gz)))
	if err != nil {
		t.Fatal(err)
	}
	if got := listing(es); got != listing(want)+listing(earlyList)+listing(want) {
		t.Errorf("gzip+cpio+gzip:\n%s", got)
	}
}

func sampleMicrocode(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "early")
	p := filepath.Join(dir, "kernel/x86/microcode")
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p, "AuthenticAMD.bin"), []byte("microcode blob"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestReaderTestdata reads the committed archives (made by testdata/gen.sh
// with the real tools), so the reader is checked where the tools are missing.
func TestInitramfsReaderTestdata(t *testing.T) {
	ref, err := os.ReadFile("testdata/gnu-newc.cpio")
	if err != nil {
		t.Fatal(err)
	}
	want, err := List(bytes.NewReader(ref))
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 7 {
		t.Fatalf("%d entries in gnu-newc.cpio", len(want))
	}
	for _, name := range []string{"gnu-crc.cpio", "gnu-newc.cpio.gz", "gnu-newc.cpio.zst", "gnu-newc.cpio.xz", "gnu-newc.cpio.lz4", "gnu-newc.cpio.bz2"} {
		f, err := os.Open(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		es, err := List(f)
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if listing(es) != listing(want) {
			t.Errorf("%s:\n%s", name, listing(es))
		}
	}
	f, err := os.Open("testdata/early-main.img")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	es, err := List(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 12 || es[4].Name != "kernel/x86/microcode/AuthenticAMD.bin" || es[5].Segment.Compression != Zstd || es[5].Segment.Offset != 1024 {
		t.Errorf("early-main.img:\n%s", listing(es))
	}
}

// TestReaderHostile feeds malformed archives: each must fail with a
// FormatError naming the right offset, and never panic or over-allocate.
func TestInitramfsReaderHostile(t *testing.T) {
	file := rec{ino: 1, mode: ModeRegular | 0o644, name: "f", data: "hello"}
	good := cat(raw(file), trailer())
	hugeName := raw(rec{mode: ModeRegular, name: "x", nameSize: 1 << 20})
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(b)
		w.Close()
		return buf.Bytes()
	}
	truncatedGzip := gz(good)
	truncatedGzip = truncatedGzip[:len(truncatedGzip)-10]
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "offset 0x0: no cpio archive found"},
		{"zeros", make([]byte, 1024), "offset 0x400: no cpio archive found"},
		{"bad magic", []byte("hello, world, this is not an archive"), "offset 0x0: not a cpio archive and no known compression"},
		{"odc", cat([]byte("070707"), make([]byte, 200)), "offset 0x0: old portable (odc) cpio header"},
		{"bad second magic", cat(raw(file), []byte("070799"), make([]byte, 104)), "offset 0x78: bad cpio magic \"070799\""},
		{"truncated header", good[:50], "offset 0x0: truncated cpio header (50 of 110 bytes)"},
		{"name size huge", cat(hugeName, trailer()), "offset 0x5e: cpio name size 1048576 exceeds the limit of 4096"},
		{"non-hex field", cat([]byte("070701ZZZZZZZZ"), good[14:]), "offset 0x6: cpio header field ino is not 8 hex digits"},
		{"file size beyond end", raw(rec{mode: ModeRegular, name: "f", data: "abc", fileSize: 1 << 30}), "offset 0x74: data of \"f\" ends after 4 of 1073741824 bytes"},
		{"truncated name", good[:111], "offset 0x6f: archive ends inside a cpio name (1 of 2 bytes)"},
		{"no trailer", raw(file), "offset 0x78: archive ends without a TRAILER!!! record"},
		{"name not terminated", cat([]byte(strings.Replace(string(raw(rec{name: "abc"})), "abc\x00", "abcd", 1)), trailer()), "offset 0x6e: cpio name is not NUL-terminated"},
		{"embedded NUL", cat(raw(rec{name: "a\x00b"}), trailer()), "offset 0x6e: cpio name contains a NUL byte at position 1"},
		{"long symlink", cat(raw(rec{mode: ModeSymlink | 0o777, name: "l", data: strings.Repeat("x", 5000)}), trailer()), "offset 0x36: symbolic link \"l\": target of 5000 bytes exceeds the limit of 4096"},
		{"crc mismatch", cat(raw(rec{magic: NewcCRCMagic, mode: ModeRegular | 0o644, name: "f", data: "abc", check: 1}), trailer()), "offset 0x66: checksum of \"f\" is 0x00000126, the header says 0x00000001"},
		{"junk after trailer", cat(good, []byte("junk")), "offset 0xf4: not a cpio archive and no known compression (bytes 6a 75 6e 6b)"},
		{"unaligned archive", cat(good, []byte{0}, good), "offset 0xf5: cpio header at an offset that is not a multiple of 4"},
		{"lzo", []byte{0x89, 'L', 'Z', 'O', 0, 0, 0, 0}, "offset 0x0: lzo: lzo compression is not supported"},
		{"bad gzip", []byte{0x1f, 0x8b, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0}, "offset 0x0: gzip:"},
		{"truncated gzip", truncatedGzip, "of the gzip data at offset 0x0: "},
		{"junk in gzip", gz(cat(good, []byte("junk"))), "offset 0xf4 of the gzip data at offset 0x0: unexpected data after a cpio trailer"},
		{"bad header in gzip", cat(good, gz(cat(good[:20], make([]byte, 200)))), "offset 0xe of the gzip data at offset 0xf4: cpio header field mode is not 8 hex digits"},
		{"huge xz dictionary", xzHugeDict(), "offset 0x0: xz: dictionary of 3221225472 bytes exceeds the limit of 134217728"},
		{"huge lzma dictionary", []byte{0x5d, 0, 0, 0, 0xc0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0}, "offset 0x0: lzma: dictionary of 3221225472 bytes exceeds the limit of 134217728"},
	}
	for _, tc := range tests {
		if tc.want == "" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			_, err := List(bytes.NewReader(tc.data))
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v (%T), want a *FormatError", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %q\nwant it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
	// Name size 0.
	zero := raw(rec{name: "x"})
	copy(zero[offNameSize:], "00000000")
	if _, err := List(bytes.NewReader(zero)); err == nil || !strings.Contains(err.Error(), "offset 0x5e: cpio name size 0") {
		t.Errorf("name size 0: %v", err)
	}
}

// xzHugeDict is an xz stream header and a block header asking for a
// 3 GiB LZMA2 dictionary.
func xzHugeDict() []byte {
	h := []byte{0xfd, '7', 'z', 'X', 'Z', 0, 0, 1, 0x69, 0x22, 0xde, 0x36}
	// Block header: size 3 (12 bytes), flags 0 (one filter), LZMA2 (0x21),
	// 1 property byte: 39 = 3 GiB; padding and a (wrong) CRC32.
	return append(h, 2, 0, 0x21, 1, 39, 0, 0, 0, 0, 0, 0, 0)
}

// TestReaderStreams checks that Reader never needs the whole input: it
// works from a pipe-like reader that hands out a few bytes at a time.
func TestInitramfsReaderStreams(t *testing.T) {
	data, err := os.ReadFile("testdata/early-main.img")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := List(bytes.NewReader(data))
	got, err := List(&trickle{data: data})
	if err != nil {
		t.Fatal(err)
	}
	if listing(got) != listing(want) {
		t.Errorf("trickled read differs")
	}
}

type trickle struct{ data []byte }

func (r *trickle) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 3)], r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestInitramfsDiff(t *testing.T) {
	a := []Entry{
		{Name: "bin", Mode: ModeDir | 0o755},
		{Name: "bin/sh", Mode: ModeSymlink | 0o777, Linkname: "busybox"},
		{Name: "init", Mode: ModeRegular | 0o755, Size: 3, SHA256: []byte{1}},
		{Name: "etc/old", Mode: ModeRegular | 0o644},
		{Name: "./dev/console", Mode: ModeChar | 0o600, RDevMajor: 5, RDevMinor: 1},
		{Name: "mode", Mode: ModeRegular | 0o644, MTime: 1},
	}
	b := []Entry{
		{Name: "/bin", Mode: ModeDir | 0o755, Ino: 99},
		{Name: "bin/sh", Mode: ModeSymlink | 0o777, Linkname: "bash"},
		{Name: "init", Mode: ModeRegular | 0o755, Size: 4, SHA256: []byte{2}, UID: 1},
		{Name: "etc/new", Mode: ModeRegular | 0o644},
		{Name: "dev/console", Mode: ModeChar | 0o600, RDevMajor: 5, RDevMinor: 1},
		{Name: "mode", Mode: ModeRegular | 0o600, MTime: 2},
	}
	var got []string
	for _, c := range Diff(a, b, DiffOptions{}) {
		got = append(got, c.String())
	}
	want := []string{
		"~ /bin/sh: target busybox -> bash",
		"+ /etc/new (file 0644 0:0 0 bytes sha256:)",
		"- /etc/old (file 0644 0:0 0 bytes sha256:)",
		"~ /init: owner 0:0 -> 1:0, content 3 bytes sha256:01 -> 4 bytes sha256:02",
		"~ /mode: mode 0644 -> 0600",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if d := Diff(a, b, DiffOptions{MTime: true}); !strings.Contains(d[len(d)-1].String(), "mtime 1 -> 2") {
		t.Errorf("mtime not compared: %v", d[len(d)-1])
	}
	if d := Diff(a, a, DiffOptions{MTime: true}); len(d) != 0 {
		t.Errorf("identical lists differ: %v", d)
	}
}

func TestInitramfsModeString(t *testing.T) {
	for mode, want := range map[uint32]string{
		ModeRegular | 0o755:  "-rwxr-xr-x",
		ModeDir | 0o1777:     "drwxrwxrwt",
		ModeRegular | 0o4644: "-rwSr--r--",
		ModeRegular | 0o2755: "-rwxr-sr-x",
		ModeChar | 0o600:     "crw-------",
		ModeSocket | 0o777:   "srwxrwxrwx",
		0o777:                "?rwxrwxrwx",
	} {
		if got := ModeString(mode); got != want {
			t.Errorf("%o: %s, want %s", mode, got, want)
		}
	}
}

// FuzzReader feeds arbitrary bytes to the reader: it must return entries or
// an error, never panic, and every error must be a one-line FormatError.
func FuzzReader(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*")
	for _, s := range seeds {
		if strings.HasSuffix(s, ".sh") {
			continue
		}
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add(cat(raw(rec{mode: ModeRegular | 0o644, name: "f", data: "x", nlink: 2, ino: 7}), raw(rec{mode: ModeRegular | 0o644, name: "g", nlink: 2, ino: 7}), trailer()))
	f.Add(cat(raw(rec{magic: NewcCRCMagic, mode: ModeRegular, name: "c", data: "abc", check: 0x126}), trailer()))
	f.Add(cat(raw(rec{mode: ModeSymlink | 0o777, name: "l", data: "target"}), trailer(), make([]byte, 8)))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := List(bytes.NewReader(data))
		if err == nil {
			return
		}
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Fatalf("error %v is a %T, not a FormatError", err, err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line error %q", err)
		}
	})
}
