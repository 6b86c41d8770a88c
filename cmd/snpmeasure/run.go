package main

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// version is the snpmeasure release; overridden with -ldflags "-X main.version=...".
var version = "0.1.0"

// stdin is standard input, for the inputs named "-". Tests replace it.
var stdin io.Reader = os.Stdin

// versionString is the release, for documents and messages.
func versionString() string { return version }

// versionLine is what --version prints: the release, the module version,
// the commit it was built from and the Go toolchain, from the build info.
func versionLine() string {
	s := "snpmeasure " + version
	var parts []string
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			parts = append(parts, "module "+v)
		}
		var rev, dirty string
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				rev = kv.Value[:min(12, len(kv.Value))]
			case "vcs.modified":
				if kv.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if rev == "" {
			rev = "unknown"
		}
		parts = append(parts, "commit "+rev+dirty)
	}
	parts = append(parts, runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH)
	return s + " (" + strings.Join(parts, ", ") + ")"
}

//go:embed help/*.txt
var helpFiles embed.FS

// usageText returns the help printer of a command: help/NAME.txt with the
// flag list in place of {{flags}}.
func usageText(name string) func(io.Writer, *pflag.FlagSet) {
	return func(w io.Writer, fs *pflag.FlagSet) { printHelp(w, name, fs.FlagUsages()) }
}

// printHelp prints help/NAME.txt with flags in place of {{flags}}.
func printHelp(w io.Writer, name, flags string) {
	text, err := helpFiles.ReadFile("help/" + name + ".txt")
	if err != nil {
		panic("no help text for " + name) // a build without its help files
	}
	fmt.Fprint(w, strings.Replace(string(text), "{{flags}}", flags, 1))
}

// command is one subcommand of snpmeasure.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

// register adds a subcommand; each command file calls it from init.
func register(name, summary string, fn func(args []string, stdout, stderr io.Writer) error) {
	commands[name] = command{name: name, summary: summary, run: fn}
}

// run is the whole program: it dispatches to a subcommand and returns an
// error whose type selects the exit status (see exitCode). A failed write to
// stdout (a full disk, a closed pipe) fails the command: a pipeline must not
// take missing output for a result.
func run(args []string, stdout, stderr io.Writer) error {
	defer abortOutputs() // what a failed command left uncommitted
	w := &stickyWriter{w: stdout}
	err := dispatch(args, w, stderr)
	if w.err != nil && (err == nil || errors.Is(err, errHelp) || errors.Is(err, w.err)) {
		return fmt.Errorf("standard output: %w", unwrapPath(w.err))
	}
	return err
}

// stickyWriter remembers the first write error; later writes fail with it.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	if err != nil {
		s.err = err
	}
	return n, err
}

func dispatch(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "help":
			if len(args) > 1 {
				if c, ok := commands[args[1]]; ok {
					// "help initramfs build" is "initramfs build --help".
					sub := append(append([]string{}, args[2:]...), "--help")
					return c.run(sub, stdout, stderr)
				}
				return usagef("unknown command %q (see 'snpmeasure help')", args[1])
			}
			printTopUsage(stdout)
			return nil
		case "-h", "--help":
			if len(args) == 1 {
				printTopUsage(stdout)
				fmt.Fprintln(stdout, "\nWith no command, snpmeasure measures (sev-snp-measure's command line):")
				fs := newFlagSet("measure")
				addMeasureFlags(fs)
				fmt.Fprint(stdout, fs.FlagUsages())
				return errHelp
			}
			if c, ok := commands[args[1]]; ok { // "--help verify" is "verify --help"
				return c.run(append(append([]string{}, args[2:]...), "--help"), stdout, stderr)
			}
		case "version", "--version":
			if len(args) == 1 {
				fmt.Fprintln(stdout, versionLine())
				return nil
			}
		}
		if c, ok := commands[args[0]]; ok {
			return c.run(args[1:], stdout, stderr)
		}
		if !strings.HasPrefix(args[0], "-") {
			return usagef("unknown command %q", args[0])
		}
	}
	// No subcommand: sev-snp-measure compatible measure.
	return runMeasure(args, stdout, stderr)
}

func printTopUsage(w io.Writer) {
	fmt.Fprintf(w, "snpmeasure %s: AMD SEV-SNP launch measurements, computed and checked offline.\n\n", version)
	fmt.Fprintln(w, "Usage:")
	fmt.Fprintln(w, "  snpmeasure [measure] --mode snp --ovmf FILE --vcpus N --vcpu-type TYPE [flags]")
	fmt.Fprintln(w, "  snpmeasure COMMAND [flags]")
	fmt.Fprintln(w, "\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'snpmeasure COMMAND --help' for a command's flags.")
	fmt.Fprintln(w, "Exit status: 0 ok, 1 bad input, 2 bad usage, 3 a check did not match.")
}

// writeJSON prints v as the --json output of a command: 2-space indented,
// one trailing newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
