package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	return fs
}

// parseFlags parses args; --help prints usage to stdout and returns errHelp.
func parseFlags(fs *pflag.FlagSet, args []string, stdout io.Writer, usage func(io.Writer, *pflag.FlagSet)) error {
	help := fs.BoolP("help", "h", false, "show this help")
	version := false
	if fs.Lookup("version") == nil {
		fs.BoolVar(&version, "version", false, "print the version")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			usage(stdout, fs)
			return errHelp
		}
		var ive *pflag.InvalidValueError
		if errors.As(err, &ive) {
			return invalidValueError(ive)
		}
		return usagef("%v", err)
	}
	if *help {
		usage(stdout, fs)
		return errHelp
	}
	if version {
		fmt.Fprintln(stdout, versionLine())
		return errHelp
	}
	return nil
}

// invalidValueError rewords pflag's "invalid argument ... strconv.ParseUint:
// parsing ...: invalid syntax" for the typed (numeric and boolean) flags.
func invalidValueError(e *pflag.InvalidValueError) error {
	f := e.GetFlag()
	v := e.GetValue()
	switch typ := f.Value.Type(); {
	case typ == "bool":
		return usagef("--%s=%s: want true or false", f.Name, v)
	case errors.Is(e, strconv.ErrRange):
		return usagef("--%s %s: out of range", f.Name, v)
	case strings.HasPrefix(typ, "uint"):
		return usagef("--%s %s: want a non-negative whole number", f.Name, v)
	default:
		return usagef("--%s %s: not a valid number", f.Name, v)
	}
}
