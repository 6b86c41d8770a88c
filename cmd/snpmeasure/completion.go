package main

import (
	"bytes"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/snpmeasure/snpmeasure/internal/completion"
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
	spec := &completion.Spec{Program: "snpmeasure", Subcommands: subcommands, Values: completionValues(),
		Flags: map[string]map[string]bool{"": completionFlags("measure")}}
	for _, n := range sortedKeys(commands) {
		spec.Commands = append(spec.Commands, n)
		spec.Flags[n] = completionFlags(n)
		for _, s := range subcommands[n] {
			spec.Flags[n+" "+s] = completionFlags(n, s)
		}
	}
	script, err := completion.Script(fs.Arg(0), spec)
	if err != nil {
		return usagef("completion: %v", err)
	}
	_, err = io.WriteString(stdout, script)
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
