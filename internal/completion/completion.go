// Package completion writes shell completion scripts for a command with
// subcommands and flags: bash (zsh through bashcompinit) and fish.
package completion

import (
	"fmt"
	"sort"
	"strings"
)

// Spec describes what to complete.
type Spec struct {
	// Program is the command's name.
	Program string
	// Commands are the first words; Subcommands the second words of the
	// commands that have them.
	Commands    []string
	Subcommands map[string][]string
	// Flags maps a command line ("" for the program alone, "verify",
	// "initramfs build") to its long flags, each true when it takes a value.
	Flags map[string]map[string]bool
	// Values are the words a flag takes: "mode" for --mode on every line,
	// "refvalues|--format" for --format of one command.
	Values map[string][]string
}

// Shells lists the shells Script writes for.
var Shells = []string{"bash", "zsh", "fish"}

// Script returns the completion script of s for shell.
func Script(shell string, s *Spec) (string, error) {
	var b strings.Builder
	switch shell {
	case "bash", "zsh":
		bash(&b, s, shell == "zsh")
	case "fish":
		fish(&b, s)
	default:
		return "", fmt.Errorf("unknown shell %q (want bash, zsh or fish)", shell)
	}
	return b.String(), nil
}

func keys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

func bash(b *strings.Builder, s *Spec, zsh bool) {
	p, fn := s.Program, "_"+strings.ReplaceAll(s.Program, "-", "_")
	if zsh {
		fmt.Fprintf(b, "#compdef %s\n# zsh completion for %s (through bash's): eval \"$(%s completion zsh)\"\nautoload -U +X bashcompinit && bashcompinit\n", p, p, p)
	} else {
		fmt.Fprintf(b, "# bash completion for %s: eval \"$(%s completion bash)\"\n", p, p)
	}
	fmt.Fprintf(b, "%s() {\n  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} line=\n", fn)
	fmt.Fprintf(b, "  case \" %s \" in *\" ${COMP_WORDS[1]} \"*) line=${COMP_WORDS[1]} ;; esac\n  case \"$line\" in\n", strings.Join(s.Commands, " "))
	for _, n := range keys(s.Subcommands) {
		fmt.Fprintf(b, "  %s) [ \"$COMP_CWORD\" -gt 2 ] && line=\"$line ${COMP_WORDS[2]}\"\n", n)
		fmt.Fprintf(b, "    [ \"$COMP_CWORD\" -eq 2 ] && { COMPREPLY=($(compgen -W '%s' -- \"$cur\")); return; } ;;\n", strings.Join(s.Subcommands[n], " "))
	}
	b.WriteString("  esac\n  case \"$line|$prev\" in\n")
	for _, k := range keys(s.Values) {
		pattern := "*'|--" + k + "'"
		if strings.Contains(k, "|") {
			pattern = "'" + k + "'"
		}
		fmt.Fprintf(b, "  %s) COMPREPLY=($(compgen -W '%s' -- \"$cur\")); return ;;\n", pattern, strings.Join(s.Values[k], " "))
	}
	fmt.Fprintf(b, "  esac\n  if [ \"$COMP_CWORD\" -eq 1 ] && [[ $cur != -* ]]; then\n    COMPREPLY=($(compgen -W '%s' -- \"$cur\")); return\n  fi\n",
		strings.Join(s.Commands, " "))
	b.WriteString("  [[ $cur == -* ]] || return\n  case \"$line\" in\n")
	for _, l := range keys(s.Flags) {
		flags := keys(s.Flags[l])
		for i := range flags {
			flags[i] = "--" + flags[i]
		}
		fmt.Fprintf(b, "  '%s') COMPREPLY=($(compgen -W '%s' -- \"$cur\")) ;;\n", l, strings.Join(flags, " "))
	}
	fmt.Fprintf(b, "  esac\n}\ncomplete -o default -F %s %s\n", fn, p)
}

func fish(b *strings.Builder, s *Spec) {
	p := s.Program
	fmt.Fprintf(b, "# fish completion for %s: %s completion fish | source\n", p, p)
	fmt.Fprintf(b, "complete -c %s -f -n __fish_use_subcommand -a '%s'\n", p, strings.Join(s.Commands, " "))
	for _, n := range keys(s.Subcommands) {
		subs := strings.Join(s.Subcommands[n], " ")
		fmt.Fprintf(b, "complete -c %s -f -n '__fish_seen_subcommand_from %s; and not __fish_seen_subcommand_from %s' -a '%s'\n", p, n, subs, subs)
	}
	for _, l := range keys(s.Flags) {
		cond, fields := "__fish_use_subcommand", strings.Fields(l)
		if len(fields) > 0 {
			cond = "__fish_seen_subcommand_from " + fields[len(fields)-1]
		}
		for _, f := range keys(s.Flags[l]) {
			fmt.Fprintf(b, "complete -c %s -n '%s' -l %s", p, cond, f)
			if s.Flags[l][f] {
				b.WriteString(" -r")
				v := s.Values[f]
				if len(fields) > 0 && s.Values[fields[0]+"|--"+f] != nil {
					v = s.Values[fields[0]+"|--"+f]
				}
				if v != nil {
					fmt.Fprintf(b, " -f -a '%s'", strings.Join(v, " "))
				}
			}
			b.WriteString("\n")
		}
	}
}
