package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/snpmeasure/snpmeasure/idblock"
	"github.com/snpmeasure/snpmeasure/internal/cli"
	"github.com/snpmeasure/snpmeasure/measure"
	"github.com/snpmeasure/snpmeasure/qemu"
	"github.com/snpmeasure/snpmeasure/vmsa"
	"github.com/spf13/pflag"
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
	o := addMeasureFlags(fs)
	var q qemuArgsOptions
	fs.StringVar(&q.policy, "policy", fmt.Sprintf("%#x", idblock.DefaultPolicy), "guest policy; with --id-block, the ID block's policy unless given")
	fs.StringVar(&q.idBlock, "id-block", "", "ID block, base64 (from 'snpmeasure idblock'); checked against the measurement")
	fs.StringVar(&q.idAuth, "id-auth", "", "ID auth structure, base64; its signatures are checked")
	fs.StringVar(&q.hostData, "host-data", "", "HOST_DATA: 32 bytes, base64 (or 64 hex digits)")
	fs.StringVar(&q.memory, "memory", "2G", "guest memory (not measured): a number with K, M, G or T (no suffix: MiB), 128M to 978G")
	fs.StringVar(&q.qemuVer, "qemu-version", "9.1", "oldest QEMU the command line must run on: 9.1, 9.2, 10.0-10.2, 11.0, 11.1 (EPYC-Turin needs 10.1)")
	fs.StringVar(&q.binary, "qemu", "qemu-system-x86_64", "QEMU program name")
	fs.StringVar(&q.style, "style", "shell", "output: shell (a runnable command with comments) or argv (one argument per line)")
	hidden := []string{"output-format", "dump-vmsa", "verbose", "trace", "snp-ovmf-hash", "ovmf-hash"}
	for _, n := range hidden {
		fs.MarkHidden(n)
	}
	fs.Lookup("mode").Usage = "guest mode: only snp"
	fs.Lookup("mode").DefValue = string(measure.SNP)
	if err := app.Parse(fs, args, stdout, qemuArgsUsage); err != nil {
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
		o.mode = string(measure.SNP)
	}
	if o.igvm != "" && !fs.Changed("igvm-loader") {
		o.igvmLoader = "qemu" // the measurement QEMU makes
	}
	if o.igvm != "" && o.igvmLoader != "qemu" {
		return cli.Usagef("--igvm-loader %s: qemu-args prints what QEMU measures (--igvm-loader qemu)", o.igvmLoader)
	}
	o.fs = fs
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
func (q *qemuArgsOptions) commandLine(o *measureOptions) (*qemu.CommandLine, []byte, error) {
	if q.style != "shell" && q.style != "argv" {
		return nil, nil, cli.Usagef("--style %q: want shell or argv", q.style)
	}
	switch o.mode {
	case string(measure.SNP):
	case string(measure.SVSM):
		return nil, nil, cli.Usagef("--mode snp:svsm: refusing: upstream QEMU has no launch path that matches this measurement (COCONUT-SVSM guests are launched from IGVM files, measured differently)")
	case string(measure.OVMFHash):
		return nil, nil, cli.Usagef("--mode snp:ovmf-hash is a firmware digest, not a launch")
	case string(measure.SEV), string(measure.SEVES):
		return nil, nil, cli.Usagef("--mode %s: qemu-args prints SEV-SNP launches only (--mode snp)", o.mode)
	default:
		return nil, nil, cli.Usagef("--mode %q: qemu-args needs --mode snp", o.mode)
	}
	qv, err := qemu.ParseVersion(q.qemuVer)
	if err != nil {
		return nil, nil, qemuErr(err)
	}
	mem, err := qemu.ParseMemory(q.memory)
	if err != nil {
		return nil, nil, qemuErr(err)
	}
	c, err := o.config()
	if err != nil {
		return nil, nil, err
	}
	l := &qemu.Launch{
		Firmware: o.ovmf, Kernel: o.kernel, Initrd: o.initrd, Append: o.appendArg, IGVM: o.igvm,
		VCPUs: c.VCPUs, Signature: c.Signature, GuestFeatures: c.GuestFeatures,
		VMM: c.VMM, MemoryMiB: mem, LegacyKVM: c.KVMInit == vmsa.KVMLegacy,
	}
	if o.vcpuType != "" && !o.fs.Changed("vcpu-sig") && !o.fs.Changed("vcpu-family") {
		l.CPUModel = o.vcpuType
	}
	if l.Policy, err = parseGuestPolicyFlag("policy", q.policy); err != nil {
		return nil, nil, err
	}
	if (q.idBlock == "") != (q.idAuth == "") {
		return nil, nil, cli.Usagef("--id-block and --id-auth go together")
	}
	if q.idBlock != "" {
		if l.IDBlock, err = decodeBase64Flag("id-block", q.idBlock, idblock.BlockSize); err != nil {
			return nil, nil, err
		}
		if l.IDAuth, err = decodeBase64Flag("id-auth", q.idAuth, idblock.AuthSize); err != nil {
			return nil, nil, err
		}
		if blk, err := idblock.ParseBlock(l.IDBlock); err == nil && !o.fs.Changed("policy") {
			l.Policy = blk.Policy
		}
	}
	if q.hostData != "" {
		if l.HostData, err = verifyBytesFlag("host-data", q.hostData); err != nil {
			return nil, nil, err
		}
	}
	// Refuse before reading the inputs, then measure and build.
	if err := l.Check(qv); err != nil {
		return nil, nil, qemuErr(err)
	}
	res, err := measure.Measure(context.Background(), c, o.measureOptionsFor())
	defer res.Close()
	if err != nil {
		return nil, nil, err // names the file and what it cannot do
	}
	l.Measurement = res.Digest
	cl, err := l.Build(qv)
	if err != nil {
		return nil, nil, qemuErr(err)
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
	if style == "argv" {
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
	fmt.Fprint(w, qemuShellQuote(binary))
	for i := 0; i < len(cl.Args); i++ {
		fmt.Fprint(w, " \\\n  ", qemuShellQuote(cl.Args[i]))
		if strings.HasPrefix(cl.Args[i], "-") && i+1 < len(cl.Args) && !strings.HasPrefix(cl.Args[i+1], "-") {
			fmt.Fprint(w, " ", qemuShellQuote(cl.Args[i+1]))
			i++
		}
	}
	fmt.Fprintln(w)
}

// qemuShellQuote quotes s for a POSIX shell when it needs it.
func qemuShellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func qemuArgsUsage(w io.Writer, fs *pflag.FlagSet) {
	fmt.Fprintln(w, "Usage: snpmeasure qemu-args --ovmf FILE --vcpus N --vcpu-type TYPE [--kernel F --initrd F --append S]")
	fmt.Fprintln(w, "                            [--id-block B64 --id-auth B64] [--host-data B64] [flags]")
	fmt.Fprintln(w, "\nPrints the QEMU command line that launches exactly the measured SEV-SNP configuration")
	fmt.Fprintln(w, "(upstream QEMU 9.1 to 11.x on a host with upstream KVM SNP support, Linux 6.11+),")
	fmt.Fprintln(w, "with the expected measurement as a comment. It prints only properties and -cpu models")
	fmt.Fprintln(w, "that --qemu-version has, and refuses what QEMU cannot launch as measured: a kernel with")
	fmt.Fprintln(w, "firmware lacking the SEV hash table or SNP_KERNEL_HASHES section, --vmm-type ec2/gce,")
	fmt.Fprintln(w, "guest features other than 0x1 (no QEMU property sets DebugSwap or Secure TSC), a -cpu")
	fmt.Fprintln(w, "model the version lacks, --memory beyond 978G, --mode snp:svsm. --id-block must hold the")
	fmt.Fprintln(w, "measurement and the policy; its signatures are checked. --mode defaults to snp.")
	fmt.Fprintln(w, "\nFlags:")
	fmt.Fprint(w, fs.FlagUsages())
	fmt.Fprintln(w, "\nExample:")
	fmt.Fprintln(w, "  snpmeasure qemu-args --ovmf OVMF.amdsev.fd --vcpus 4 --vcpu-type EPYC-Genoa \\")
	fmt.Fprintln(w, "    --kernel vmlinuz --initrd initrd.img --append 'console=ttyS0'")
	fmt.Fprintln(w, "\nExit status: 0 ok, 1 bad input or firmware that cannot launch it, 2 bad usage or a refused")
	fmt.Fprintln(w, "configuration, 3 the ID block does not match the measurement or its signatures fail.")
}
