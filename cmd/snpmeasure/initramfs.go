package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/snpmeasure/snpmeasure/initramfs"
	"github.com/snpmeasure/snpmeasure/internal/cli"
	"github.com/snpmeasure/snpmeasure/internal/cliflags"
	"github.com/snpmeasure/snpmeasure/measure"
	"github.com/snpmeasure/snpmeasure/outfile"
	"github.com/spf13/pflag"
)

func init() {
	app.Register("initramfs", "build, list and compare reproducible initramfs archives", runInitramfs)
}

func runInitramfs(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return cli.Usagef("initramfs needs a subcommand: build, ls or diff")
	}
	switch args[0] {
	case "build":
		return runInitramfsBuild(args[1:], stdout)
	case "ls", "list":
		return runInitramfsLs(args[1:], stdout)
	case "diff":
		return runInitramfsDiff(args[1:], stdout)
	case "-h", "--help", "help":
		app.Usage("initramfs")(stdout, cli.NewFlagSet("initramfs"))
		return cli.ErrHelp
	}
	return cli.Usagef("unknown initramfs subcommand %q (want build, ls or diff)", args[0])
}

func runInitramfsBuild(args []string, stdout io.Writer) error {
	bfs := cli.NewFlagSet("initramfs build")
	output := bfs.StringP("output", "o", "", "the archive to write, - for standard output (required)")
	compress := bfs.String("compress", "none", "compression: none, gzip or zstd")
	mtime := bfs.String("mtime", "", "modification time of every entry, seconds since the epoch (default $SOURCE_DATE_EPOCH, else 0)")
	measureToo := bfs.Bool("measure", false, "also print the launch measurement with the archive as --initrd (takes the measure flags)")
	mfs := cli.NewFlagSet("measure")
	mo := cliflags.AddMeasure(mfs)
	app.AddQuietFlag(mfs)
	fs := cli.NewFlagSet("initramfs build")
	fs.AddFlagSet(bfs)
	fs.AddFlagSet(mfs)
	if err := app.Parse(fs, args, stdout, func(w io.Writer, _ *pflag.FlagSet) {
		app.PrintHelp(w, "initramfs-build", bfs.FlagUsages()+"  -h, --help              show this help\n\n"+
			"Measure flags (with --measure; --initrd is the built archive):\n"+mfs.FlagUsages())
	}); err != nil {
		return err
	}
	switch {
	case fs.NArg() == 0:
		return cli.Usagef("initramfs build needs at least one SRC (a directory or a manifest)")
	case *output == "":
		return cli.Usagef("initramfs build needs -o FILE (- for standard output)")
	}
	c, err := initramfs.ParseCompression(*compress)
	if err != nil || (c != initramfs.None && c != initramfs.Gzip && c != initramfs.Zstd) {
		return cli.Usagef("--compress %q: want none, gzip or zstd", *compress)
	}
	epoch, err := buildMTime(fs, *mtime)
	if err != nil {
		return err
	}
	var cfg *measure.Config
	if !*measureToo {
		var first string
		mfs.VisitAll(func(f *pflag.Flag) {
			if first == "" && f.Changed && f.Name != "quiet" {
				first = f.Name
			}
		})
		if first != "" {
			return cli.Usagef("--%s is a measure flag: add --measure", first)
		}
	} else {
		if mfs.Changed("initrd") {
			return cli.Usagef("--initrd is the archive being built: leave it out with --measure")
		}
		if mo.Kernel == "" && mo.Mode != "" && mo.Mode != string(measure.OVMFHash) {
			return cli.Usagef("--measure needs --kernel: the archive is measured as the initrd of a --kernel boot")
		}
		mo.Initrd = *output
		if outfile.SameFile(mo.Trace, *output) || (mo.Trace != "" && mo.Trace == *output) {
			return cli.Usagef("--trace %s is also the -o output", mo.Trace)
		}
		if cfg, err = mo.Config(); err != nil { // check the measure flags before the build
			return err
		}
	}
	b := initramfs.NewBuilder()
	b.MTime = epoch
	for _, src := range fs.Args() {
		if err := b.Add(src); err != nil {
			return sourceErr(src, err)
		}
	}
	var srcs []cli.File
	for _, src := range fs.Args() {
		srcs = append(srcs, cli.File{Flag: "SRC", Path: src})
	}
	for _, src := range b.Sources() {
		srcs = append(srcs, cli.File{Flag: "SRC file", Path: src})
	}
	inputs := append(srcs, mo.Inputs()...)
	if err := cli.CheckOutputs([]cli.File{{Flag: "-o", Path: *output}}, inputs...); err != nil {
		return err
	}
	out, err := app.CreateOutput(*output, stdout, false, cli.Paths(inputs)...)
	if err != nil {
		return err
	}
	b.Progress = app.FileProgress(*output)
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(out, h), 1<<20)
	if err := b.Write(bw, c); err != nil {
		return cli.OutputError(err)
	}
	if err := bw.Flush(); err != nil {
		return cli.OutputError(err)
	}
	sum := measure.SHA256(h.Sum(nil))
	var res *measure.Result
	if cfg != nil {
		// The archive takes its name only when the measurement succeeded too.
		cfg.InitrdHash = &sum
		if res, err = measure.Measure(context.Background(), cfg, measureOpts(mo)); err != nil {
			return err
		}
	}
	if err := out.Commit(); err != nil {
		return err
	}
	if outfile.IsStdout(*output) {
		stdout = os.Stderr // the archive went to standard output
	}
	fmt.Fprintf(stdout, "sha256:%s  %s\n", sum, *output)
	if res != nil {
		return writeMeasurement(mo, cfg, res, stdout)
	}
	return nil
}

// buildMTime resolves --mtime, then SOURCE_DATE_EPOCH, then 0.
func buildMTime(fs *pflag.FlagSet, flag string) (uint32, error) {
	if fs.Changed("mtime") {
		v, err := cliflags.Uint("mtime", flag)
		if err != nil {
			return 0, err
		}
		if v > math.MaxUint32 {
			return 0, cli.Usagef("--mtime %s: newc timestamps end at %d", flag, uint32(math.MaxUint32))
		}
		return uint32(v), nil
	}
	env, ok := os.LookupEnv("SOURCE_DATE_EPOCH")
	if !ok || env == "" {
		return 0, nil
	}
	v, err := strconv.ParseUint(env, 10, 32)
	if err != nil {
		return 0, cli.Usagef("SOURCE_DATE_EPOCH=%q: not a decimal number of seconds below 2^32", env)
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

// listArchive lists an initramfs file ("-" is standard input); errors name the file and offset.
func listArchive(name string) ([]initramfs.Entry, error) {
	f, err := app.OpenInput(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	es, err := initramfs.List(app.ProgressReader(f, name))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return es, nil
}

func runInitramfsLs(args []string, stdout io.Writer) error {
	fs := cli.NewFlagSet("initramfs ls")
	asJSON := fs.Bool("json", false, "print a JSON array of entries")
	app.AddQuietFlag(fs)
	if err := app.Parse(fs, args, stdout, app.Usage("initramfs-ls")); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usagef("initramfs ls takes one FILE, got %s", cli.CountArgs(fs.NArg()))
	}
	es, err := listArchive(fs.Arg(0))
	if err != nil {
		return err
	}
	if *asJSON {
		if es == nil {
			es = []initramfs.Entry{}
		}
		return cli.WriteJSON(stdout, es)
	}
	for i := range es {
		fmt.Fprintln(stdout, es[i].String())
	}
	return nil
}

func runInitramfsDiff(args []string, stdout io.Writer) error {
	fs := cli.NewFlagSet("initramfs diff")
	withMTime := fs.Bool("mtime", false, "also compare modification times")
	app.AddQuietFlag(fs)
	if err := app.Parse(fs, args, stdout, app.Usage("initramfs-diff")); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return cli.Usagef("initramfs diff takes two files, got %s", cli.CountArgs(fs.NArg()))
	}
	if fs.Arg(0) == "-" && fs.Arg(1) == "-" {
		return cli.Usagef("initramfs diff: only one archive can be standard input")
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
		fmt.Fprintf(stdout, "identical: %s and %s unpack to the same %d entries\n", fs.Arg(0), fs.Arg(1), len(a))
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
	return cli.Failed("%s and %s differ: %d added, %d removed, %d changed",
		fs.Arg(0), fs.Arg(1), added, removed, changed)
}
