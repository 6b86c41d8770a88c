package cli

import (
	"bytes"
	"io"
	"maps"
	"regexp"
	"slices"
	"sync"

	"github.com/snpmeasure/snpmeasure/internal/completion"
)

// flagLine matches a flag in pflag's usage listing: "  -o, --output string   ...".
var flagLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([\w-]+)( \S+)?\s{2,}`) })

// flags returns the flags of a command line ("measure", "initramfs build")
// and whether each takes a value, read from its help.
func (a *App) flags(words ...string) map[string]bool {
	var out bytes.Buffer
	if c, ok := a.commands[words[0]]; ok {
		c.Run(append(words[1:], "--help"), &out, io.Discard)
	}
	flags := map[string]bool{}
	for _, m := range flagLine().FindAllStringSubmatch(out.String(), -1) {
		flags[m[1]] = m[2] != ""
	}
	return flags
}

// CompletionSpec describes the App's commands for completion scripts:
// subcommands are the second words of the commands that have them, values
// the words of flags with a fixed set (see completion.Spec).
func (a *App) CompletionSpec(subcommands, values map[string][]string) *completion.Spec {
	s := &completion.Spec{Program: a.Name, Subcommands: subcommands, Values: values,
		Flags: map[string]map[string]bool{"": a.flags(a.Default)}}
	for _, n := range slices.Sorted(maps.Keys(a.commands)) {
		s.Commands = append(s.Commands, n)
		s.Flags[n] = a.flags(n)
		for _, sub := range subcommands[n] {
			s.Flags[n+" "+sub] = a.flags(n, sub)
		}
	}
	return s
}
