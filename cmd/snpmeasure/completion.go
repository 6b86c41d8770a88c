package main

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/snpmeasure/snpmeasure/measure"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

func init() {
	register("completion", "print a shell completion script: bash, zsh or fish", runCompletion)
}

// subcommands lists the second words of the commands that have them.
var subcommands = map[string][]string{
	"initramfs": {"build", "ls", "diff"}, "verity": {"format", "verify"}, "idblock": {"verify"},
	"report": {"show"}, "igvm": {"show", "sign"},
}

// flagLine matches a flag in pflag's usage listing: "  -o, --output string   ...".
var flagLine = regexp.MustCompile(`^\s+(?:-\w, )?--([\w-]+)( \S+)?\s{2,}`)

// completionFlags returns the flags of a command line ("measure",
// "initramfs build") and whether each takes a value, read from its help.
func completionFlags(words ...string) map[string]bool {
	var out bytes.Buffer
	if c, ok := commands[words[0]]; ok {
		c.run(append(words[1:], "--help"), &out, io.Discard)
	}
	flags := map[string]bool{}
	for _, l := range strings.Split(out.String(), "\n") {
		if m := flagLine.FindStringSubmatch(l); m != nil {
			flags[m[1]] = m[2] != ""
		}
	}
	return flags
}

// completionValues are the words some flags take.
func completionValues() map[string][]string {
	var modes, cpus []string
	for _, m := range measure.Modes {
		modes = append(modes, string(m))
	}
	for _, c := range vmsa.CPUTypes {
		cpus = append(cpus, c.Name)
	}
	return map[string][]string{
		"mode": modes, "vcpu-type": cpus, "vmm-type": {"QEMU", "ec2", "gce"}, "kvm-init": {"init2", "legacy"},
		"output-format": {"hex", "base64"}, "refvalues|--format": {"json", "rvps", "intoto", "corim"}, "compress": {"none", "gzip", "zstd"},
		"report-format": {"auto", "bin", "hex", "base64"}, "product": {"Milan", "Genoa", "Turin"}, "style": {"shell", "argv"},
		"corim-profile": {"2024", "2025"}, "igvm-loader": {"igvmmeasure", "qemu"}, "hash": {"sha256", "sha1", "sha512"},
		"platform": {"sev-snp", "sev-es", "sev"},
	}
}

func runCompletion(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("completion")
	if err := parseFlags(fs, args, stdout, usageText("completion")); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("completion takes one shell: bash, zsh or fish")
	}
	names := sortedKeys(commands)
	// Every command line and its flags; "" is the default command (measure).
	lines := map[string]map[string]bool{"": completionFlags("measure")}
	for _, n := range names {
		lines[n] = completionFlags(n)
		for _, s := range subcommands[n] {
			lines[n+" "+s] = completionFlags(n, s)
		}
	}
	var b strings.Builder
	switch fs.Arg(0) {
	case "bash", "zsh":
		writeBashCompletion(&b, names, lines, fs.Arg(0) == "zsh")
	case "fish":
		writeFishCompletion(&b, names, lines)
	default:
		return usagef("completion %q: want bash, zsh or fish", fs.Arg(0))
	}
	_, err := io.WriteString(stdout, b.String())
	return err
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// flagWords returns the flags of a command line, "--name" each, sorted.
func flagWords(flags map[string]bool) string {
	w := sortedKeys(flags)
	for i := range w {
		w[i] = "--" + w[i]
	}
	return strings.Join(w, " ")
}

func writeBashCompletion(b *strings.Builder, names []string, lines map[string]map[string]bool, zsh bool) {
	if zsh {
		b.WriteString("#compdef snpmeasure\n# zsh completion for snpmeasure (through bash's): eval \"$(snpmeasure completion zsh)\"\nautoload -U +X bashcompinit && bashcompinit\n")
	} else {
		b.WriteString("# bash completion for snpmeasure: eval \"$(snpmeasure completion bash)\"\n")
	}
	b.WriteString("_snpmeasure() {\n  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} line=\n")
	fmt.Fprintf(b, "  case \" %s \" in *\" ${COMP_WORDS[1]} \"*) line=${COMP_WORDS[1]} ;; esac\n", strings.Join(names, " "))
	b.WriteString("  case \"$line\" in\n")
	for _, n := range sortedKeys(subcommands) {
		subs := subcommands[n]
		fmt.Fprintf(b, "  %s) [ \"$COMP_CWORD\" -gt 2 ] && line=\"$line ${COMP_WORDS[2]}\"\n", n)
		fmt.Fprintf(b, "    [ \"$COMP_CWORD\" -eq 2 ] && { COMPREPLY=($(compgen -W '%s' -- \"$cur\")); return; } ;;\n", strings.Join(subs, " "))
	}
	b.WriteString("  esac\n  case \"$line|$prev\" in\n")
	values := completionValues()
	for _, k := range sortedKeys(values) {
		pattern := "*'|--" + k + "'"
		if strings.Contains(k, "|") {
			pattern = "'" + k + "'"
		}
		fmt.Fprintf(b, "  %s) COMPREPLY=($(compgen -W '%s' -- \"$cur\")); return ;;\n", pattern, strings.Join(values[k], " "))
	}
	b.WriteString("  esac\n  if [ \"$COMP_CWORD\" -eq 1 ] && [[ $cur != -* ]]; then\n")
	fmt.Fprintf(b, "    COMPREPLY=($(compgen -W '%s' -- \"$cur\")); return\n  fi\n", strings.Join(names, " "))
	b.WriteString("  [[ $cur == -* ]] || return\n  case \"$line\" in\n")
	for _, l := range sortedKeys(lines) {
		fmt.Fprintf(b, "  '%s') COMPREPLY=($(compgen -W '%s' -- \"$cur\")) ;;\n", l, flagWords(lines[l]))
	}
	b.WriteString("  esac\n}\ncomplete -o default -F _snpmeasure snpmeasure\n")
}

func writeFishCompletion(b *strings.Builder, names []string, lines map[string]map[string]bool) {
	b.WriteString("# fish completion for snpmeasure: snpmeasure completion fish | source\n")
	fmt.Fprintf(b, "complete -c snpmeasure -f -n __fish_use_subcommand -a '%s'\n", strings.Join(names, " "))
	for _, n := range sortedKeys(subcommands) {
		subs := subcommands[n]
		fmt.Fprintf(b, "complete -c snpmeasure -f -n '__fish_seen_subcommand_from %s; and not __fish_seen_subcommand_from %s' -a '%s'\n",
			n, strings.Join(subs, " "), strings.Join(subs, " "))
	}
	values := completionValues()
	for _, l := range sortedKeys(lines) {
		cond := "__fish_use_subcommand"
		fields := strings.Fields(l)
		if len(fields) > 0 {
			cond = "__fish_seen_subcommand_from " + fields[len(fields)-1]
		}
		for _, f := range sortedKeys(lines[l]) {
			fmt.Fprintf(b, "complete -c snpmeasure -n '%s' -l %s", cond, f)
			if lines[l][f] {
				b.WriteString(" -r")
				v := values[f]
				if len(fields) > 0 && values[fields[0]+"|--"+f] != nil {
					v = values[fields[0]+"|--"+f]
				}
				if v != nil {
					fmt.Fprintf(b, " -f -a '%s'", strings.Join(v, " "))
				}
			}
			b.WriteString("\n")
		}
	}
}
