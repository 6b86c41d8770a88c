package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// version is the snpmeasure release; overridden with -ldflags "-X main.version=...".
var version = "0.1.0"

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
	w := &stickyWriter{w: stdout}
	err := dispatch(args, w, stderr)
	if w.err != nil && (err == nil || errors.Is(err, errHelp) || errors.Is(err, w.err)) {
		return fmt.Errorf("standard output: %w", unwrapPathErr(w.err))
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
		case "version", "--version":
			if len(args) == 1 {
				fmt.Fprintf(stdout, "snpmeasure %s\n", version)
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
