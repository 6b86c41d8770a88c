// Package cli is the command-line machinery of snpmeasure, shared by its
// commands and kept out of them: dispatch to subcommands, help texts, flag
// parsing, exit statuses and one-line errors, the output rule with cleanup
// on signals, and the progress line. An App holds the state of one run.
package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/snpmeasure/snpmeasure/internal/progress"
	"github.com/snpmeasure/snpmeasure/measure"
	"github.com/snpmeasure/snpmeasure/outfile"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// Exit statuses shared by every command.
const (
	ExitOK       = 0
	ExitBadInput = 1
	ExitUsage    = 2
	ExitMismatch = 3
)

// UsageError is a bad command line: exit status 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// CheckFailedError is a completed check whose answer is "no": exit status 3.
// The command has printed its findings; Msg is a one-line summary.
type CheckFailedError struct{ Msg string }

func (e *CheckFailedError) Error() string { return e.Msg }

// Failed returns a *CheckFailedError.
func Failed(format string, args ...any) error {
	return &CheckFailedError{Msg: fmt.Sprintf(format, args...)}
}

// ErrHelp is returned after help was printed: exit status 0.
var ErrHelp = errors.New("help requested")

// Command is one subcommand.
type Command struct {
	Name, Summary string
	Run           func(args []string, stdout, stderr io.Writer) error
}

// App is a program with subcommands and the state of one run.
type App struct {
	Name, Version string
	// Default is the command run when the first argument is a flag.
	Default string
	// Help holds the help texts, help/NAME.txt, with {{flags}} for the flags.
	Help fs.FS
	// Stdin is standard input, for inputs named "-".
	Stdin io.Reader
	// IsTerminal and ProgressOut decide where the progress line is drawn.
	IsTerminal  func(*os.File) bool
	ProgressOut io.Writer
	// Quiet turns the progress line off (--quiet).
	Quiet bool

	commands  map[string]Command
	bar       progress.Line
	mu        sync.Mutex
	outputs   []*outfile.File
	signalled atomic.Bool // a signal is ending the process (HandleSignals)
}

// New returns an App reading help texts from help.
func New(name, version string, help fs.FS) *App {
	a := &App{Name: name, Version: version, Help: help, Stdin: os.Stdin, ProgressOut: os.Stderr,
		IsTerminal: func(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }, commands: map[string]Command{}}
	a.bar.Out = writerFunc(func(p []byte) (int, error) { return a.ProgressOut.Write(p) })
	return a
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Register adds a subcommand.
func (a *App) Register(name, summary string, run func(args []string, stdout, stderr io.Writer) error) {
	a.commands[name] = Command{Name: name, Summary: summary, Run: run}
}

// Commands returns the subcommands by name.
func (a *App) Commands() map[string]Command { return a.commands }

// Run is the whole program: it dispatches to a subcommand and returns an
// error whose type selects the exit status (ExitCode). A failed write to
// stdout (a full disk, a closed pipe) fails the command: a pipeline must
// not take missing output for a result.
func (a *App) Run(args []string, stdout, stderr io.Writer) error {
	defer a.AbortOutputs() // what a failed command left uncommitted
	w := &stickyWriter{w: stdout}
	err := a.dispatch(args, w, stderr)
	if w.err != nil && (err == nil || errors.Is(err, ErrHelp) || errors.Is(err, w.err)) {
		return fmt.Errorf("standard output: %w", UnwrapPath(w.err))
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

func (a *App) dispatch(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "help", "-h", "--help":
			if len(args) == 1 {
				a.printTopUsage(stdout)
				if args[0] != "help" {
					return ErrHelp
				}
				return nil
			}
			if c, ok := a.commands[args[1]]; ok { // "help verify", "--help verify": "verify --help"
				return c.Run(append(append([]string{}, args[2:]...), "--help"), stdout, stderr)
			}
			return Usagef("unknown command %q (see '%s help')", args[1], a.Name)
		case "version", "--version":
			if len(args) == 1 {
				fmt.Fprintln(stdout, a.VersionLine())
				return nil
			}
		}
		if c, ok := a.commands[args[0]]; ok {
			return c.Run(args[1:], stdout, stderr)
		}
		if !strings.HasPrefix(args[0], "-") {
			return Usagef("unknown command %q", args[0])
		}
	}
	return a.commands[a.Default].Run(args, stdout, stderr)
}

func (a *App) printTopUsage(w io.Writer) {
	var b strings.Builder
	for _, n := range slices.Sorted(maps.Keys(a.commands)) {
		fmt.Fprintf(&b, "  %-12s %s\n", n, a.commands[n].Summary)
	}
	var def strings.Builder
	a.commands[a.Default].Run([]string{"--help"}, &def, io.Discard)
	flags := def.String()
	if i := strings.Index(flags, "\nFlags:\n"); i >= 0 {
		flags = flags[i+len("\nFlags:\n"):]
		if j := strings.Index(flags, "\n\n"); j >= 0 {
			flags = flags[:j+1]
		}
	}
	text := strings.NewReplacer("{{version}}", a.Version, "{{commands}}", b.String(), "{{flags}}", flags).Replace(a.helpText("top"))
	fmt.Fprint(w, text)
}

// helpText returns help/NAME.txt.
func (a *App) helpText(name string) string {
	text, err := fs.ReadFile(a.Help, "help/"+name+".txt")
	if err != nil {
		panic("no help text for " + name) // a build without its help files
	}
	return string(text)
}

// Usage returns the help printer of a command: help/NAME.txt with the flag
// list in place of {{flags}}.
func (a *App) Usage(name string) func(io.Writer, *pflag.FlagSet) {
	return func(w io.Writer, fs *pflag.FlagSet) { a.PrintHelp(w, name, fs.FlagUsages()) }
}

// PrintHelp prints help/NAME.txt with flags in place of {{flags}}.
func (a *App) PrintHelp(w io.Writer, name, flags string) {
	fmt.Fprint(w, strings.Replace(a.helpText(name), "{{flags}}", flags, 1))
}

// VersionLine is what --version prints: the release, the module version,
// the commit it was built from and the Go toolchain, from the build info.
func (a *App) VersionLine() string {
	var parts []string
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			parts = append(parts, "module "+v)
		}
		rev, dirty := "unknown", ""
		for _, kv := range bi.Settings {
			switch {
			case kv.Key == "vcs.revision":
				rev = kv.Value[:min(12, len(kv.Value))]
			case kv.Key == "vcs.modified" && kv.Value == "true":
				dirty = "+dirty"
			}
		}
		parts = append(parts, "commit "+rev+dirty)
	}
	parts = append(parts, runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH)
	return a.Name + " " + a.Version + " (" + strings.Join(parts, ", ") + ")"
}

// NewFlagSet returns a flag set that reports errors instead of exiting.
func NewFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	return fs
}

// Parse parses args; --help prints usage to stdout and returns ErrHelp.
func (a *App) Parse(fs *pflag.FlagSet, args []string, stdout io.Writer, usage func(io.Writer, *pflag.FlagSet)) error {
	help := fs.BoolP("help", "h", false, "show this help")
	version := false
	if fs.Lookup("version") == nil {
		fs.BoolVar(&version, "version", false, "print the version")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			usage(stdout, fs)
			return ErrHelp
		}
		var ive *pflag.InvalidValueError
		if errors.As(err, &ive) {
			return invalidValueError(ive)
		}
		return Usagef("%v", err)
	}
	switch {
	case *help:
		usage(stdout, fs)
		return ErrHelp
	case version:
		fmt.Fprintln(stdout, a.VersionLine())
		return ErrHelp
	}
	return nil
}

// invalidValueError rewords pflag's "invalid argument ... strconv.ParseUint:
// parsing ...: invalid syntax" for the typed (numeric and boolean) flags.
func invalidValueError(e *pflag.InvalidValueError) error {
	f, v := e.GetFlag(), e.GetValue()
	switch typ := f.Value.Type(); {
	case typ == "bool":
		return Usagef("--%s=%s: want true or false", f.Name, v)
	case errors.Is(e, strconv.ErrRange):
		return Usagef("--%s %s: out of range", f.Name, v)
	case strings.HasPrefix(typ, "uint"):
		return Usagef("--%s %s: want a non-negative whole number", f.Name, v)
	}
	return Usagef("--%s %s: not a valid number", f.Name, v)
}

// ExitCode maps the error Run returned to a process exit status, printing
// it as a single line on stderr.
func (a *App) ExitCode(err error, stderr io.Writer) int {
	if a.signalled.Load() {
		select {} // the signal handler prints its line and exits
	}
	if err == nil || errors.Is(err, ErrHelp) {
		return ExitOK
	}
	if errors.Is(err, syscall.EPIPE) {
		return 128 + int(syscall.SIGPIPE) // the reader went away (| head): no news
	}
	a.FinishProgress() // clear a progress line a failed read left behind
	fmt.Fprintf(stderr, "%s: %s\n", a.Name, strings.ReplaceAll(err.Error(), "\n", " "))
	var ue *UsageError
	var cfg *measure.ConfigError
	var ce *CheckFailedError
	switch {
	case errors.As(err, &ue) || errors.As(err, &cfg):
		return ExitUsage
	case errors.As(err, &ce):
		return ExitMismatch
	}
	return ExitBadInput
}

// CountArgs says how many positional arguments were given: "1 argument".
func CountArgs(n int) string {
	if n == 1 {
		return "1 argument"
	}
	return fmt.Sprintf("%d arguments", n)
}

// WriteJSON prints v as the --json output of a command: 2-space indented,
// one trailing newline.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// OpenInput opens a file to read (see measure.OpenInput), or standard input
// for "-".
func (a *App) OpenInput(name string) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(a.Stdin), nil
	}
	f, _, err := measure.OpenInput(name)
	return f, err
}

// PrintNotes prints notes about the command line on stderr.
func PrintNotes(stderr io.Writer, notes []string) {
	for _, n := range notes {
		fmt.Fprintf(stderr, "snpmeasure: note: %s\n", n)
	}
}
