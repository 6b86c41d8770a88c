package main

import (
	"io"

	"github.com/snpmeasure/snpmeasure/internal/cli"
	"github.com/snpmeasure/snpmeasure/internal/completion"
	"github.com/snpmeasure/snpmeasure/measure"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

func init() {
	app.Register("completion", "print a shell completion script: bash, zsh or fish", runCompletion)
}

// subcommands lists the second words of the commands that have them.
var subcommands = map[string][]string{
	"initramfs": {"build", "ls", "diff"}, "verity": {"format", "verify"}, "idblock": {"verify"},
	"report": {"show"}, "igvm": {"show", "sign"},
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
	fs := cli.NewFlagSet("completion")
	if err := app.Parse(fs, args, stdout, app.Usage("completion")); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usagef("completion takes one shell: bash, zsh or fish")
	}
	script, err := completion.Script(fs.Arg(0), app.CompletionSpec(subcommands, completionValues()))
	if err != nil {
		return cli.Usagef("completion: %v", err)
	}
	_, err = io.WriteString(stdout, script)
	return err
}
