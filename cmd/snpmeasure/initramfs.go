package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/snpmeasure/snpmeasure/initramfs"
)

func init() {
	register("initramfs", "build, list and compare reproducible initramfs archives", runInitramfs)
}

func runInitramfs(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("initramfs needs a subcommand: build, ls or diff")
	}
	switch args[0] {
	case "build":
		return runInitramfsBuild(args[1:], stdout)
	case "ls", "list":
		return runInitramfsLs(args[1:], stdout)
	case "diff":
		return runInitramfsDiff(args[1:], stdout)
	case "-h", "--help", "help":
		initramfsUsage(stdout)
		return errHelp
	}
	return usagef("unknown initramfs subcommand %q (want build, ls or diff)", args[0])
}

func initramfsUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage:")
	fmt.Fprintln(w, "  snpmeasure initramfs build SRC... -o FILE [--compress none|gzip|zstd] [--mtime EPOCH] [--measure MEASURE-FLAGS]")
	fmt.Fprintln(w, "  snpmeasure initramfs ls FILE [--json]")
	fmt.Fprintln(w, "  snpmeasure initramfs diff A B [--mtime]")
	fmt.Fprintln(w, "\nbuild writes a reproducible newc archive from directories and gen_init_cpio")
	fmt.Fprintln(w, "manifests and prints its SHA-256, the initrd hash SEV-SNP measures.")
	fmt.Fprintln(w, "ls lists any initramfs a kernel unpacks (newc, gzip, zstd, xz, lzma, lz4, bzip2,")
	fmt.Fprintln(w, "early microcode archive + compressed main archive); diff compares what two unpack to.")
	fmt.Fprintln(w, "\nExample:")
	fmt.Fprintln(w, "  snpmeasure initramfs build rootfs/ -o initrd.img && snpmeasure initramfs ls initrd.img")
	fmt.Fprintln(w, "\nRun 'snpmeasure initramfs SUBCOMMAND --help' for details.")
}

func runInitramfsBuild(args []string, stdout io.Writer) error {
	bfs := newFlagSet("initramfs build")
	output := bfs.StringP("output", "o", "", "write the archive to FILE (required)")
	compress := bfs.String("compress", "none", "compression: none, gzip or zstd")
	mtime := bfs.String("mtime", "", "modification time of every entry, seconds since the epoch (default $SOURCE_DATE_EPOCH, else 0)")
	measure := bfs.Bool("measure", false, "also print the launch measurement with the archive as --initrd (takes the measure flags)")
	mfs := newFlagSet("measure")
	mo := addMeasureFlags(mfs)
	fs := newFlagSet("initramfs build")
	fs.AddFlagSet(bfs)
	fs.AddFlagSet(mfs)
	usage := func(w io.Writer, _ *pflag.FlagSet) {
		fmt.Fprintln(w, "Usage: snpmeasure initramfs build SRC... -o FILE [flags]")
		fmt.Fprintln(w, "\nBuilds a reproducible newc initramfs. Each SRC is a directory (its contents")
		fmt.Fprintln(w, "become the archive root) or a gen_init_cpio manifest:")
		fmt.Fprintln(w, "  file /init ./build/init 0755 0 0 [HARDLINK...]   (relative to the manifest)")
		fmt.Fprintln(w, "  dir /etc 0755 0 0")
		fmt.Fprintln(w, "  slink /bin/sh busybox 0777 0 0")
		fmt.Fprintln(w, "  nod /dev/console 0600 0 0 c 5 1")
		fmt.Fprintln(w, "  pipe /run/initctl 0600 0 0")
		fmt.Fprintln(w, "  sock /run/s 0600 0 0")
		fmt.Fprintln(w, "Later SRCs replace entries of earlier ones with the same path.")
		fmt.Fprintln(w, "\nEntries are sorted, inodes numbered in order, owners 0:0 (unless a manifest")
		fmt.Fprintln(w, "says otherwise), one mtime for all; directory trees get normalised modes:")
		fmt.Fprintln(w, "directories 0755, symlinks 0777, other entries 0755 if any x bit is set, else 0644.")
		fmt.Fprintln(w, "\nPrints 'sha256:<hex>  FILE': the value SEV's kernel hashes carry for --initrd.")
		fmt.Fprintln(w, "\nFlags:")
		fmt.Fprint(w, bfs.FlagUsages())
		fmt.Fprintln(w, "  -h, --help              show this help")
		fmt.Fprintln(w, "\nMeasure flags (with --measure; --initrd is the built archive):")
		fmt.Fprint(w, mfs.FlagUsages())
		fmt.Fprintln(w, "\nExample:")
		fmt.Fprintln(w, "  SOURCE_DATE_EPOCH=1700000000 snpmeasure initramfs build rootfs/ extra.list -o initrd.img --compress zstd")
		fmt.Fprintln(w, "\nExit status: 0 ok, 1 bad input, 2 bad usage.")
	}
	if err := parseFlags(fs, args, stdout, usage); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("initramfs build needs at least one SRC (a directory or a manifest)")
	}
	if *output == "" {
		return usagef("initramfs build needs -o FILE")
	}
	c, err := initramfs.ParseCompression(*compress)
	if err != nil || (c != initramfs.None && c != initramfs.Gzip && c != initramfs.Zstd) {
		return usagef("--compress %q: want none, gzip or zstd", *compress)
	}
	epoch, err := buildMTime(fs, *mtime)
	if err != nil {
		return err
	}
	for _, src := range fs.Args() {
		if err := checkNotInput(namedPath{"-o", *output}, namedPath{"SRC", src}); err != nil {
			return err
		}
	}
	if !*measure {
		var first string
		mfs.VisitAll(func(f *pflag.Flag) {
			if first == "" && f.Changed && f.Name != "quiet" {
				first = f.Name
			}
		})
		if first != "" {
			return usagef("--%s is a measure flag: add --measure", first)
		}
	} else {
		if mfs.Changed("initrd") {
			return usagef("--initrd is the archive being built: leave it out with --measure")
		}
		if mo.kernel == "" && mo.mode != "" && mo.mode != modeOVMFHash {
			return usagef("--measure needs --kernel: the archive is measured as the initrd of a --kernel boot")
		}
		if samePath(mo.trace, *output) {
			return usagef("--trace %s is also the -o output", mo.trace)
		}
		mo.initrd = *output
		// Check the measure flags before the build.
		if _, err := mo.config(); err != nil {
			return err
		}
	}

	b := initramfs.NewBuilder()
	b.MTime = epoch
	if fi, err := os.Stat(*output); err == nil {
		b.Exclude(fi) // a previous build inside a source tree
	}
	for _, src := range fs.Args() {
		if err := b.Add(src); err != nil {
			return sourceErr(src, err)
		}
	}
	if !*measure {
		res, err := b.WriteFile(*output, c)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "sha256:%s  %s\n", hex.EncodeToString(res.SHA256[:]), *output)
		return nil
	}
	// Build next to the output and measure that; the archive takes its
	// name only when the measurement succeeded too.
	return buildAndMeasure(b, c, *output, mo, mfs, stdout)
}

// buildAndMeasure writes the archive to a temporary file, measures it as
// the initrd, and renames it to output only when both succeeded.
func buildAndMeasure(b *initramfs.Builder, c initramfs.Compression, output string, mo *measureOptions, mfs *pflag.FlagSet, stdout io.Writer) error {
	if st, err := os.Stat(output); err == nil && st.IsDir() {
		return fmt.Errorf("%s: is a directory, not a file", output)
	}
	f, err := os.CreateTemp(filepath.Dir(output), "."+filepath.Base(output)+".build*")
	if err != nil {
		return fileErr(output, err)
	}
	tmp := f.Name()
	f.Close()
	ok := false
	defer func() {
		if !ok {
			os.Remove(tmp)
		}
	}()
	res, err := b.WriteFile(tmp, c)
	if err != nil {
		return errors.New(strings.ReplaceAll(err.Error(), tmp, output))
	}
	mo.initrd = tmp
	var out bytes.Buffer
	if err := mo.run(mfs, &out); err != nil {
		return err
	}
	if err := os.Rename(tmp, output); err != nil {
		return fileErr(output, err)
	}
	ok = true
	fmt.Fprintf(stdout, "sha256:%s  %s\n", hex.EncodeToString(res.SHA256[:]), output)
	_, err = stdout.Write(out.Bytes())
	return err
}

// buildMTime resolves --mtime, then SOURCE_DATE_EPOCH, then 0.
func buildMTime(fs *pflag.FlagSet, flag string) (uint32, error) {
	if fs.Changed("mtime") {
		v, err := parseUint("mtime", flag)
		if err != nil {
			return 0, err
		}
		if v > math.MaxUint32 {
			return 0, usagef("--mtime %s: newc timestamps end at %d", flag, uint32(math.MaxUint32))
		}
		return uint32(v), nil
	}
	env, ok := os.LookupEnv("SOURCE_DATE_EPOCH")
	if !ok || env == "" {
		return 0, nil
	}
	v, err := strconv.ParseUint(env, 10, 32)
	if err != nil {
		return 0, usagef("SOURCE_DATE_EPOCH=%q: not a decimal number of seconds below 2^32", env)
	}
	return uint32(v), nil
}

// sourceErr names the file an error is about, unless the error already does.
func sourceErr(name string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	if strings.Contains(err.Error(), name) {
		return err
	}
	return fmt.Errorf("%s: %w", name, err)
}

// openArchive opens FILE, or standard input for "-".
func openArchive(name string) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(os.Stdin), nil
	}
	f, _, err := openInput(name)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// listArchive lists an initramfs file; errors name the file and offset.
func listArchive(name string) ([]initramfs.Entry, error) {
	f, err := openArchive(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	es, err := initramfs.List(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return es, nil
}

func runInitramfsLs(args []string, stdout io.Writer) error {
	fs := newFlagSet("initramfs ls")
	asJSON := fs.Bool("json", false, "print a JSON array of entries")
	if err := parseFlags(fs, args, stdout, func(w io.Writer, fs *pflag.FlagSet) {
		fmt.Fprintln(w, "Usage: snpmeasure initramfs ls FILE [--json]")
		fmt.Fprintln(w, "\nLists the entries of an initramfs in archive order, one a line:")
		fmt.Fprintln(w, "  MODE UID:GID SIZE SHA256 PATH")
		fmt.Fprintln(w, "SIZE is 'major,minor' for devices; SHA256 is '-' except for regular files.")
		fmt.Fprintln(w, "Symbolic links end in '-> TARGET'; further names of a hard-linked file end in")
		fmt.Fprintln(w, "'=> FIRST-NAME' and show the size and digest of the file's data.")
		fmt.Fprintln(w, "FILE may be compressed and may be several archives (early microcode first); '-' is stdin.")
		fmt.Fprintln(w, "\nFlags:")
		fmt.Fprint(w, fs.FlagUsages())
		fmt.Fprintln(w, "\nExample:")
		fmt.Fprintln(w, "  snpmeasure initramfs ls /boot/initrd.img-$(uname -r)")
		fmt.Fprintln(w, "\nExit status: 0 ok, 1 bad input, 2 bad usage.")
	}); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("initramfs ls takes one FILE, got %s", countArgs(fs.NArg()))
	}
	es, err := listArchive(fs.Arg(0))
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]jsonEntry, len(es))
		for i := range es {
			out[i] = toJSONEntry(&es[i])
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for i := range es {
		fmt.Fprintln(stdout, lsLine(&es[i]))
	}
	return nil
}

// lsLine formats one entry for initramfs ls.
func lsLine(e *initramfs.Entry) string {
	size := strconv.FormatInt(e.Size, 10)
	if e.IsDevice() {
		size = fmt.Sprintf("%d,%d", e.RDevMajor, e.RDevMinor)
	}
	sum := "-"
	if e.IsRegular() {
		sum = hex.EncodeToString(e.SHA256)
	}
	s := fmt.Sprintf("%s %d:%d %s %s %s", initramfs.ModeString(e.Mode), e.UID, e.GID, size, sum, e.Name)
	if e.IsSymlink() {
		s += " -> " + e.Linkname
	}
	if e.HardLink != "" {
		s += " => " + e.HardLink
	}
	return s
}

type jsonEntry struct {
	Path        string `json:"path"`
	Type        string `json:"type"`
	Mode        string `json:"mode"`
	UID         uint32 `json:"uid"`
	GID         uint32 `json:"gid"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256,omitempty"`
	Target      string `json:"target,omitempty"`
	HardLink    string `json:"hardlink,omitempty"`
	RDevMajor   uint32 `json:"rdev_major,omitempty"`
	RDevMinor   uint32 `json:"rdev_minor,omitempty"`
	MTime       uint32 `json:"mtime"`
	Ino         uint32 `json:"ino"`
	NLink       uint32 `json:"nlink"`
	Offset      int64  `json:"offset"`
	Compression string `json:"compression"`
	Segment     int64  `json:"segment_offset"`
	Archive     int    `json:"archive"`
}

func toJSONEntry(e *initramfs.Entry) jsonEntry {
	j := jsonEntry{
		Path: e.Name, Type: e.TypeName(), Mode: fmt.Sprintf("%04o", e.Mode&initramfs.ModePerm),
		UID: e.UID, GID: e.GID, Size: e.Size, Target: e.Linkname, HardLink: e.HardLink,
		MTime: e.MTime, Ino: e.Ino, NLink: e.NLink, Offset: e.Offset,
		Compression: e.Segment.Compression.String(), Segment: e.Segment.Offset, Archive: e.Segment.Archive,
	}
	if e.IsRegular() {
		j.SHA256 = hex.EncodeToString(e.SHA256)
	}
	if e.IsDevice() {
		j.RDevMajor, j.RDevMinor = e.RDevMajor, e.RDevMinor
	}
	return j
}

func runInitramfsDiff(args []string, stdout io.Writer) error {
	fs := newFlagSet("initramfs diff")
	withMTime := fs.Bool("mtime", false, "also compare modification times")
	if err := parseFlags(fs, args, stdout, func(w io.Writer, fs *pflag.FlagSet) {
		fmt.Fprintln(w, "Usage: snpmeasure initramfs diff A B [--mtime]")
		fmt.Fprintln(w, "\nCompares the trees two initramfs files unpack to, entry by path:")
		fmt.Fprintln(w, "  + PATH (what)            only in B")
		fmt.Fprintln(w, "  - PATH (what)            only in A")
		fmt.Fprintln(w, "  ~ PATH: what changed     type, mode, owner, content size and SHA-256, link target, device")
		fmt.Fprintln(w, "Archive order, compression, inode numbers and (without --mtime) times are ignored.")
		fmt.Fprintln(w, "\nFlags:")
		fmt.Fprint(w, fs.FlagUsages())
		fmt.Fprintln(w, "\nExample:")
		fmt.Fprintln(w, "  snpmeasure initramfs diff initrd-old.img initrd-new.img")
		fmt.Fprintln(w, "\nExit status: 0 identical, 1 bad input, 2 bad usage, 3 they differ.")
	}); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("initramfs diff takes two files, got %s", countArgs(fs.NArg()))
	}
	a, err := listArchive(fs.Arg(0))
	if err != nil {
		return err
	}
	b, err := listArchive(fs.Arg(1))
	if err != nil {
		return err
	}
	changes := initramfs.Diff(a, b, initramfs.DiffOptions{MTime: *withMTime})
	if len(changes) == 0 {
		return nil
	}
	var added, removed, changed int
	for _, c := range changes {
		fmt.Fprintln(stdout, c.String())
		switch c.Kind {
		case '+':
			added++
		case '-':
			removed++
		default:
			changed++
		}
	}
	return &checkFailedError{msg: fmt.Sprintf("%s and %s differ: %d added, %d removed, %d changed",
		fs.Arg(0), fs.Arg(1), added, removed, changed)}
}
