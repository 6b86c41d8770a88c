package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/snpmeasure/snpmeasure/idblock"
	"github.com/snpmeasure/snpmeasure/internal/cli"
	"github.com/snpmeasure/snpmeasure/internal/cliflags"
	"github.com/snpmeasure/snpmeasure/measure"
	"github.com/snpmeasure/snpmeasure/qemu"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

func init() {
	app.Register("qemu-args", "print the QEMU (9.1 to 11.x) command line that launches the measured SEV-SNP guest", runQemuArgs)
}

// qemuArgsOptions are the flags of qemu-args besides the measure flags.
type qemuArgsOptions struct {
	idBlock, idAuth, hostData, policy, memory, qemuVer, binary, style string
}

func runQemuArgs(args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("qemu-args")
	o := cliflags.AddMeasure(fs)
	app.AddQuietFlag(fs)
	var q qemuArgsOptions
	fs.StringVar(&q.policy, "policy", fmt.Sprintf("%#x", idblock.DefaultPolicy), "guest policy; with --id-block, the ID block's policy unless given")
	fs.StringVar(&q.idBlock, "id-block", "", "ID block, base64 (from 'snpmeasure idblock'); checked against the measurement")
	fs.StringVar(&q.idAuth, "id-auth", "", "ID auth structure, base64; its signatures are checked")
	fs.StringVar(&q.hostData, "host-data", "", "HOST_DATA: 32 bytes, base64 (or 64 hex digits)")
	fs.StringVar(&q.memory, "memory", "2G", "guest memory (not measured): a number with K, M, G or T (no suffix: MiB), 128M to 978G")
	fs.StringVar(&q.qemuVer, "qemu-version", "9.1", "oldest QEMU the command line must run on: 9.1, 9.2, 10.0-10.2, 11.0, 11.1 (11.2: as 11.1, with a note; EPYC-Turin and IGVM need 10.1)")
	fs.StringVar(&q.binary, "qemu", "qemu-system-x86_64", "QEMU program name")
	fs.StringVar(&q.style, "style", "shell", "output: shell (a runnable command with comments) or argv (one argument per line)")
	hidden := []string{"output-format", "dump-vmsa", "verbose", "trace", "snp-ovmf-hash", "ovmf-hash", "svsm", "vars-size", "vars-file"}
	for _, n := range hidden {
		fs.MarkHidden(n)
	}
	fs.Lookup("mode").Usage = "guest mode: only snp"
	fs.Lookup("mode").DefValue = string(measure.SNP)
	if err := app.Parse(fs, args, stdout, app.Usage("qemu-args")); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected argument %q", fs.Arg(0))
	}
	for _, n := range hidden {
		if fs.Changed(n) {
			return cli.Usagef("--%s does not apply to qemu-args", n)
		}
	}
	if !fs.Changed("mode") {
		o.Mode = string(measure.SNP)
	}
	if o.IGVM != "" && !fs.Changed("igvm-loader") {
		o.IGVMLoader = "qemu" // the measurement QEMU makes
	}
	if o.IGVM != "" && o.IGVMLoader != "qemu" {
		return cli.Usagef("--igvm-loader %s: qemu-args prints what QEMU measures (--igvm-loader qemu)", o.IGVMLoader)
	}
	switch {
	case o.IGVM != "" && fs.Changed("policy"):
		return cli.Usagef("--policy does not apply to --igvm: QEMU launches with the IGVM file's GUEST_POLICY (0x30000, QEMU's default, when it has none)")
	}
	o.FS = fs
	cl, measured, err := q.commandLine(o)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	printQemuArgs(&b, q.style, q.binary, cl, measured)
	_, err = stdout.Write(b.Bytes())
	return err
}

// commandLine turns the flags into a qemu.Launch, checks it, measures it
// and builds the command line.
func (q *qemuArgsOptions) commandLine(o *cliflags.Measure) (*qemu.CommandLine, []byte, error) {
	if q.style != "shell" && q.style != "argv" {
		return nil, nil, cli.Usagef("--style %q: want shell or argv", q.style)
	}
	switch o.Mode {
	case string(measure.SNP):
	case string(measure.SVSM):
		return nil, nil, cli.Usagef("--mode snp:svsm: refusing: upstream QEMU has no launch path that matches this measurement (COCONUT-SVSM guests are launched from IGVM files, measured differently)")
	case string(measure.OVMFHash):
		return nil, nil, cli.Usagef("--mode snp:ovmf-hash is a firmware digest, not a launch")
	case string(measure.SEV), string(measure.SEVES):
		return nil, nil, cli.Usagef("--mode %s: qemu-args prints SEV-SNP launches only (--mode snp)", o.Mode)
	default:
		return nil, nil, cli.Usagef("--mode %q: qemu-args needs --mode snp", o.Mode)
	}
	qv, err := qemu.ParseVersion(q.qemuVer)
	if err != nil {
		return nil, nil, qemuErr(err)
	}
	mem, err := qemu.ParseMemory(q.memory)
	if err != nil {
		return nil, nil, qemuErr(err)
	}
	c, err := o.Config()
	if err != nil {
		return nil, nil, err
	}
	l := &qemu.Launch{
		Firmware: o.OVMF, Kernel: o.Kernel, Initrd: o.Initrd, Append: o.Append, IGVM: o.IGVM,
		VCPUs: c.VCPUs, Signature: c.Signature, GuestFeatures: c.GuestFeatures,
		VMM: c.VMM, MemoryMiB: mem, LegacyKVM: c.KVMInit == vmsa.KVMLegacy,
	}
	if o.VCPUType != "" && !o.FS.Changed("vcpu-sig") && !o.FS.Changed("vcpu-family") {
		l.CPUModel = o.VCPUType
	}
	if l.Policy, err = cliflags.GuestPolicy("policy", q.policy); err != nil {
		return nil, nil, err
	}
	if (q.idBlock == "") != (q.idAuth == "") {
		return nil, nil, cli.Usagef("--id-block and --id-auth go together")
	}
	if q.idBlock != "" {
		if l.IDBlock, err = cliflags.Base64("id-block", q.idBlock, idblock.BlockSize); err != nil {
			return nil, nil, err
		}
		if l.IDAuth, err = cliflags.Base64("id-auth", q.idAuth, idblock.AuthSize); err != nil {
			return nil, nil, err
		}
		if blk, err := idblock.ParseBlock(l.IDBlock); err == nil && !o.FS.Changed("policy") {
			l.Policy = blk.Policy
		}
	}
	if q.hostData != "" {
		if l.HostData, err = cliflags.ReportField("host-data", q.hostData); err != nil {
			return nil, nil, err
		}
	}
	// Refuse before reading the inputs, then measure and build.
	if err := l.Check(qv); err != nil {
		// No vCPU model: when an IGVM file leaves a vCPU without a VP
		// context, say so as measure does.
		var re *qemu.RefusedError
		if l.IGVM != "" && errors.As(err, &re) && re.Field == "vcpu-sig" && c.Signature == 0 {
			if err := measure.CheckIGVMSignature(c); err != nil {
				return nil, nil, err
			}
			return nil, nil, cli.Usagef("missing --vcpu-type or --vcpu-sig: QEMU needs a -cpu model")
		}
		return nil, nil, qemuErr(err)
	}
	res, err := measure.Measure(context.Background(), c, measureOpts(o))
	defer res.Close()
	if err != nil {
		return nil, nil, err // names the file and what it cannot do
	}
	l.Measurement = res.Digest
	cl, err := l.Build(qv)
	if err != nil {
		return nil, nil, qemuErr(err)
	}
	if q.style == "argv" && slices.ContainsFunc(cl.Args, func(a string) bool { return strings.Contains(a, "\n") }) {
		return nil, nil, cli.Usagef("--style argv prints one argument per line, and an argument holds a line break: use --style shell")
	}
	return cl, res.Digest, nil
}

// qemuErr gives the qemu package's errors their exit status: a refusal is a
// usage error (2), an ID block SNP_LAUNCH_FINISH would reject a failed check
// (3), a malformed ID block or auth bad input (1), anything else usage.
func qemuErr(err error) error {
	var ide *qemu.IDBlockError
	var ie *qemu.InputError
	switch {
	case errors.As(err, &ide):
		return cli.Failed("%s", "--"+ide.Error())
	case errors.As(err, &ie) && (ie.Field == "id-block" || ie.Field == "id-auth"):
		return fmt.Errorf("--%v", err)
	}
	return cli.Usagef("--%v", err)
}

// printQemuArgs writes the command line in the chosen style.
func printQemuArgs(w io.Writer, style, binary string, cl *qemu.CommandLine, measured []byte) {
	if style == "argv" { // one argument per line (commandLine refuses one with a newline)
		fmt.Fprintln(w, binary)
		for _, a := range cl.Args {
			fmt.Fprintln(w, a)
		}
		return
	}
	fmt.Fprintf(w, "# SEV-SNP launch for QEMU %s or later (snpmeasure %s); add disks, network and console as needed: they are not measured\n", cl.Version, version)
	fmt.Fprintf(w, "# expected measurement: %s\n", hex.EncodeToString(measured))
	for _, n := range cl.Notes {
		fmt.Fprintf(w, "# %s\n", n)
	}
	fmt.Fprint(w, cliflags.ShellQuote(binary))
	for i := 0; i < len(cl.Args); i++ {
		fmt.Fprint(w, " \\\n  ", cliflags.ShellQuote(cl.Args[i]))
		if strings.HasPrefix(cl.Args[i], "-") && i+1 < len(cl.Args) && !strings.HasPrefix(cl.Args[i+1], "-") {
			fmt.Fprint(w, " ", cliflags.ShellQuote(cl.Args[i+1]))
			i++
		}
	}
	fmt.Fprintln(w)
}
