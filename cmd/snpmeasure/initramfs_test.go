package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/snpmeasure/snpmeasure/internal/testtool"
)

// initramfsFixture makes a source tree and a manifest that adds to it.
func initramfsFixture(t *testing.T) (tree, manifest string) {
	t.Helper()
	dir := t.TempDir()
	tree = filepath.Join(dir, "rootfs")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(tree, "bin"), 0o755))
	must(os.MkdirAll(filepath.Join(tree, "etc"), 0o700))
	must(os.WriteFile(filepath.Join(tree, "init"), []byte("#!/bin/sh\nexec /bin/sh\n"), 0o700))
	must(os.WriteFile(filepath.Join(tree, "bin", "busybox"), bytes.Repeat([]byte("busybox"), 1000), 0o755))
	must(os.Symlink("busybox", filepath.Join(tree, "bin", "sh")))
	must(os.WriteFile(filepath.Join(tree, "etc", "hostname"), []byte("guest\n"), 0o600))
	must(os.Link(filepath.Join(tree, "etc", "hostname"), filepath.Join(tree, "etc", "hostname.bak")))
	must(os.WriteFile(filepath.Join(dir, "motd"), []byte("confidential\n"), 0o644))
	manifest = filepath.Join(dir, "extra.list")
	must(os.WriteFile(manifest, []byte("# devices\ndir /dev 0755 0 0\nnod /dev/console 0600 0 0 c 5 1\nfile /etc/motd motd 0644 0 0\n"), 0o644))
	return tree, manifest
}

var (
	buildLine  = regexp.MustCompile(`^sha256:([0-9a-f]{64})  (.+)\n$`)
	devNumbers = regexp.MustCompile(`(\d+),\s+(\d+)`)
)

func TestInitramfsCLI(t *testing.T) {
	tree, manifest := initramfsFixture(t)
	out := t.TempDir()
	img := filepath.Join(out, "initrd.img")
	r := runInProcess("initramfs", "build", tree, manifest, "-o", img, "--compress", "gzip", "--mtime", "1700000000")
	if r.code != 0 {
		t.Fatalf("build: %d %s", r.code, r.stderr)
	}
	m := buildLine.FindStringSubmatch(r.stdout)
	if m == nil || m[2] != img {
		t.Fatalf("build printed %q", r.stdout)
	}
	data, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != m[1] {
		t.Errorf("printed digest %s, file digest %x", m[1], sum)
	}
	// The same build with SOURCE_DATE_EPOCH gives the same bytes.
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	img2 := filepath.Join(out, "again.img")
	if r := runInProcess("initramfs", "build", tree, manifest, "-o", img2, "--compress", "gzip"); r.code != 0 || !strings.HasPrefix(r.stdout, "sha256:"+m[1]) {
		t.Errorf("rebuild with SOURCE_DATE_EPOCH: %d %q %s", r.code, r.stdout, r.stderr)
	}

	ls := runInProcess("initramfs", "ls", img)
	if ls.code != 0 {
		t.Fatalf("ls: %d %s", ls.code, ls.stderr)
	}
	wantLs := []string{
		"drwxr-xr-x 0:0 0 - bin",
		"-rwxr-xr-x 0:0 7000 " + sha256Hex(bytes.Repeat([]byte("busybox"), 1000)) + " bin/busybox",
		"lrwxrwxrwx 0:0 7 - bin/sh -> busybox",
		"drwxr-xr-x 0:0 0 - dev",
		"crw------- 0:0 5,1 - dev/console",
		"drwxr-xr-x 0:0 0 - etc",
		"-rw-r--r-- 0:0 6 " + sha256Hex([]byte("guest\n")) + " etc/hostname",
		"-rw-r--r-- 0:0 6 " + sha256Hex([]byte("guest\n")) + " etc/hostname.bak => etc/hostname",
		"-rw-r--r-- 0:0 13 " + sha256Hex([]byte("confidential\n")) + " etc/motd",
		"-rwxr-xr-x 0:0 23 " + sha256Hex([]byte("#!/bin/sh\nexec /bin/sh\n")) + " init",
	}
	if got := strings.TrimSuffix(ls.stdout, "\n"); got != strings.Join(wantLs, "\n") {
		t.Errorf("ls:\n%s\nwant\n%s", got, strings.Join(wantLs, "\n"))
	}
	js := runInProcess("initramfs", "ls", "--json", img)
	var entries []map[string]any
	if err := json.Unmarshal([]byte(js.stdout), &entries); err != nil || len(entries) != len(wantLs) {
		t.Errorf("ls --json: %v, %d entries", err, len(entries))
	} else if entries[4]["type"] != "char" || entries[4]["rdev_major"] != 5.0 || entries[0]["compression"] != "gzip" {
		t.Errorf("ls --json entry: %v %v", entries[4], entries[0])
	}

	// An archive of the tree alone differs by the manifest's entries.
	plain := filepath.Join(out, "plain.img")
	if r := runInProcess("initramfs", "build", tree, "-o", plain, "--mtime", "1700000000"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	diff := runInProcess("initramfs", "diff", plain, img)
	if diff.code != 3 {
		t.Errorf("diff of different archives: exit %d, %s", diff.code, diff.stderr)
	}
	wantDiff := "+ /dev (dir 0755 0:0)\n+ /dev/console (char 0600 0:0 5,1)\n+ /etc/motd (file 0644 0:0 13 bytes sha256:" + sha256Hex([]byte("confidential\n")) + ")\n"
	if diff.stdout != wantDiff {
		t.Errorf("diff:\n%s\nwant\n%s", diff.stdout, wantDiff)
	}
	if !strings.Contains(diff.stderr, "differ: 3 added, 0 removed, 0 changed") {
		t.Errorf("diff summary: %q", diff.stderr)
	}
	if r := runInProcess("initramfs", "diff", img, img2); r.code != 0 || !strings.HasPrefix(r.stdout, "identical: ") {
		t.Errorf("diff of identical archives: %d %q %s", r.code, r.stdout, r.stderr)
	}

	bad := filepath.Join(out, "bad.img")
	os.WriteFile(bad, append(bytes.Clone(data[:0]), []byte("070701000000010000A1FF")...), 0o644)
	hostile := filepath.Join(out, "hostile.img")
	hdr := "070701" + strings.Repeat("00000000", 11) + "00100000" + "00000000" + "x\x00"
	os.WriteFile(hostile, []byte(hdr), 0o644)
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"initramfs", "--help"}, 0, ""},
		{[]string{"initramfs", "build", "--help"}, 0, ""},
		{[]string{"initramfs", "ls", "--help"}, 0, ""},
		{[]string{"initramfs", "diff", "--help"}, 0, ""},
		{[]string{"initramfs"}, 2, "needs a subcommand"},
		{[]string{"initramfs", "nope"}, 2, "unknown initramfs subcommand"},
		{[]string{"initramfs", "build", tree}, 2, "needs -o FILE"},
		{[]string{"initramfs", "build", "-o", filepath.Join(out, "x")}, 2, "at least one SRC"},
		{[]string{"initramfs", "build", tree, "-o", filepath.Join(out, "x"), "--compress", "xz"}, 2, "--compress \"xz\""},
		{[]string{"initramfs", "build", tree, "-o", filepath.Join(out, "x"), "--mtime", "-1"}, 2, "--mtime"},
		{[]string{"initramfs", "build", tree, "-o", filepath.Join(out, "x"), "--bogus"}, 2, "unknown flag"},
		{[]string{"initramfs", "build", filepath.Join(out, "missing"), "-o", filepath.Join(out, "x")}, 1, "missing: no such file or directory"},
		{[]string{"initramfs", "build", tree, "-o", filepath.Join(out, "nodir", "x")}, 1, "nodir/x: no such file or directory"},
		{[]string{"initramfs", "build", tree, "-o", filepath.Join(out, "x"), "--measure", "--initrd", "y"}, 2, "--initrd is the archive being built"},
		{[]string{"initramfs", "ls"}, 2, "takes one FILE"},
		{[]string{"initramfs", "ls", bad}, 1, "bad.img: offset 0x0: truncated cpio header (22 of 110 bytes)"},
		{[]string{"initramfs", "ls", hostile}, 1, "hostile.img: offset 0x5e: cpio name size 1048576 exceeds the limit of 4096"},
		{[]string{"initramfs", "ls", manifest}, 1, "extra.list: offset 0x0: not a cpio archive"},
		{[]string{"initramfs", "diff", img}, 2, "takes two files"},
		{[]string{"initramfs", "diff", img, hostile}, 1, "hostile.img: offset 0x5e"},
	} {
		r := runInProcess(tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, tc.code, tc.stderr)
		}
		if tc.code == 1 && strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%q: error is not one line: %q", tc.args, r.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "x")); !os.IsNotExist(err) {
		t.Errorf("a failed build left its output: %v", err)
	}
	if ents, _ := filepath.Glob(filepath.Join(out, ".*tmp*")); len(ents) > 0 {
		t.Errorf("temporary files left: %v", ents)
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestInitramfsLsMatchesGNUCpio checks ls against cpio -tv on an archive
// GNU cpio wrote and on one build wrote.
func TestInitramfsLsMatchesGNUCpio(t *testing.T) {
	cpioBin := testtool.Require(t, "cpio")
	tree, manifest := initramfsFixture(t)
	built := filepath.Join(t.TempDir(), "built.img")
	if r := runInProcess("initramfs", "build", tree, manifest, "-o", built); r.code != 0 {
		t.Fatal(r.stderr)
	}
	for _, img := range []string{"../../initramfs/testdata/gnu-newc.cpio", "../../initramfs/testdata/gnu-crc.cpio", built} {
		data, err := os.ReadFile(img)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(cpioBin, "-tv", "--numeric-uid-gid", "--quiet")
		cmd.Stdin = bytes.NewReader(data)
		tv, err := cmd.Output()
		if err != nil {
			t.Fatalf("cpio -tv %s: %v", img, err)
		}
		ls := runInProcess("initramfs", "ls", img)
		if ls.code != 0 {
			t.Fatalf("ls %s: %s", img, ls.stderr)
		}
		gnu := strings.Split(strings.TrimSpace(string(tv)), "\n")
		ours := strings.Split(strings.TrimSpace(ls.stdout), "\n")
		if len(gnu) != len(ours) {
			t.Fatalf("%s: cpio -tv %d lines, ls %d", img, len(gnu), len(ours))
		}
		for i := range gnu {
			// cpio: MODE NLINK UID GID SIZE|MAJ, MIN MON DAY YEAR|TIME NAME [-> TARGET]
			g := strings.Fields(devNumbers.ReplaceAllString(gnu[i], "$1,$2"))
			o := strings.Fields(ours[i])
			owner := g[2] + ":" + g[3]
			name := strings.Join(g[8:], " ")
			oname := strings.Join(o[4:], " ")
			if j := strings.Index(oname, " => "); j >= 0 {
				oname = oname[:j]
			}
			if g[0] != o[0] || owner != o[1] || name != oname {
				t.Errorf("%s line %d:\ncpio -tv %s\nls       %s", img, i, gnu[i], ours[i])
			}
			// Sizes agree except where newc stores a hard link's data once.
			if g[4] != o[2] && !strings.Contains(ours[i], " => ") && g[4] != "0" {
				t.Errorf("%s line %d: size %s, ls %s", img, i, g[4], o[2])
			}
		}
	}
}

// TestInitramfsBuildMeasure: --measure prints what measure prints for the
// built archive.
func TestInitramfsBuildMeasure(t *testing.T) {
	tree, _ := initramfsFixture(t)
	img := filepath.Join(t.TempDir(), "initrd.img")
	common := []string{"--mode", "snp", "--vcpus", "2", "--vcpu-type", "EPYC-v4",
		"--ovmf", filepath.Join(inputsDir, "fx-ovmf_AmdSev_suffix.bin"),
		"--kernel", filepath.Join(inputsDir, "synth-kernel-12345.bin"), "--append", "console=ttyS0"}
	if _, err := os.Stat(common[7]); err != nil {
		t.Skipf("conformance inputs missing: %v", err)
	}
	b := runInProcess(append([]string{"initramfs", "build", tree, "-o", img, "--measure"}, common...)...)
	if b.code != 0 {
		t.Fatalf("build --measure: %d %s", b.code, b.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(b.stdout, "\n"), "\n")
	if len(lines) != 2 || !buildLine.MatchString(lines[0]+"\n") {
		t.Fatalf("build --measure printed %q", b.stdout)
	}
	m := runInProcess(append([]string{"measure", "--initrd", img}, common...)...)
	if m.code != 0 {
		t.Fatalf("measure: %d %s", m.code, m.stderr)
	}
	if lines[1]+"\n" != m.stdout {
		t.Errorf("build --measure: %q, measure: %q", lines[1], m.stdout)
	}
	// Bad measure flags are reported before anything is built.
	img2 := filepath.Join(t.TempDir(), "never.img")
	r := runInProcess("initramfs", "build", tree, "-o", img2, "--measure", "--mode", "snp")
	if r.code != 2 {
		t.Errorf("build --measure without --ovmf: exit %d %s", r.code, r.stderr)
	}
	if _, err := os.Stat(img2); !os.IsNotExist(err) {
		t.Errorf("built despite bad measure flags")
	}
}

// TestInitramfsBinary runs the built binary for the exit statuses.
func TestInitramfsBinary(t *testing.T) {
	tree, manifest := initramfsFixture(t)
	dir := t.TempDir()
	for i, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"initramfs", "build", tree, manifest, "-o", "a.img", "--compress", "zstd"}, 0},
		{[]string{"initramfs", "build", tree, manifest, "-o", "b.img", "--compress", "zstd"}, 0},
		{[]string{"initramfs", "build", tree, "-o", "c.img"}, 0},
		{[]string{"initramfs", "ls", "a.img"}, 0},
		{[]string{"initramfs", "diff", "a.img", "b.img"}, 0},
		{[]string{"initramfs", "diff", "a.img", "c.img"}, 3},
		{[]string{"initramfs", "ls", "missing.img"}, 1},
		{[]string{"initramfs", "ls"}, 2},
	} {
		r := runBinary(t, dir, tc.args...)
		if r.code != tc.code {
			t.Errorf("%d %q: exit %d (%s), want %d", i, tc.args, r.code, r.stderr, tc.code)
		}
	}
	// Building into the source tree: the first build does not archive its
	// own output; a second finds it in the tree, an input, and refuses to
	// overwrite it (issue #10: leaving it out would make the archive wrong).
	if r := runBinary(t, tree, "initramfs", "build", ".", "-o", "self.img"); r.code != 0 {
		t.Fatalf("build into the tree: %s", r.stderr)
	}
	if r := runBinary(t, tree, "initramfs", "ls", "self.img"); strings.Contains(r.stdout, "self.img") {
		t.Errorf("the build archived its own output:\n%s", r.stdout)
	}
	first, _ := os.ReadFile(filepath.Join(tree, "self.img"))
	r := runBinary(t, tree, "initramfs", "build", ".", "-o", "self.img")
	if again, _ := os.ReadFile(filepath.Join(tree, "self.img")); r.code != 2 || !bytes.Equal(first, again) {
		t.Errorf("second build into the tree: exit %d (%s); want 2 and the file unchanged", r.code, r.stderr)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "a.img"))
	b, _ := os.ReadFile(filepath.Join(dir, "b.img"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("two builds differ")
	}
}
