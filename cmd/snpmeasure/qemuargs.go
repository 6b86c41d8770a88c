package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/snpmeasure/snpmeasure/idblock"
	"github.com/snpmeasure/snpmeasure/measure"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

func init() {
	register("qemu-args", "print the QEMU (9.1+) command line that launches the measured SEV-SNP guest", runQemuArgs)
}

// SEV_FEATURES bits QEMU can produce for an SNP guest.
const (
	featSNPActive = 1 << 0
	featDebugSwap = 1 << 5
	featSecureTSC = 1 << 9
)

// qemuVersion is a QEMU major.minor release.
type qemuVersion struct{ major, minor int }

func (v qemuVersion) atLeast(major, minor int) bool {
	return v.major > major || (v.major == major && v.minor >= minor)
}

func (v qemuVersion) String() string { return fmt.Sprintf("%d.%d", v.major, v.minor) }

var qemuVersionRE = regexp.MustCompile(`^(\d+)\.(\d+)(\.\d+)?$`)

func parseQemuVersion(s string) (qemuVersion, error) {
	m := qemuVersionRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return qemuVersion{}, usagef("--qemu-version %q: want MAJOR.MINOR, e.g. 9.1", s)
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	v := qemuVersion{major, minor}
	if !v.atLeast(9, 1) {
		return v, usagef("--qemu-version %s: upstream QEMU launches SEV-SNP guests from 9.1 on", s)
	}
	return v, nil
}

var memSizeRE = regexp.MustCompile(`^[1-9][0-9]*[KMGT]?$`)

// qemuArgsOptions are the flags of qemu-args besides the measure flags.
type qemuArgsOptions struct {
	idBlock, idAuth, hostData, policy, memory, qemuVer, binary, style string
}

func runQemuArgs(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("qemu-args")
	o := addMeasureFlags(fs)
	var q qemuArgsOptions
	fs.StringVar(&q.policy, "policy", fmt.Sprintf("%#x", idblock.DefaultPolicy), "guest policy; with --id-block, the ID block's policy unless given")
	fs.StringVar(&q.idBlock, "id-block", "", "ID block, base64 (from 'snpmeasure idblock'); checked against the measurement")
	fs.StringVar(&q.idAuth, "id-auth", "", "ID auth structure, base64; its signatures are checked")
	fs.StringVar(&q.hostData, "host-data", "", "HOST_DATA: 32 bytes, base64 (or 64 hex digits)")
	fs.StringVar(&q.memory, "memory", "2G", "guest memory size (not measured), e.g. 4096M or 8G")
	fs.StringVar(&q.qemuVer, "qemu-version", "9.1", "oldest QEMU the command line must run on (9.1+; 10.2 adds debug-swap and secure-tsc)")
	fs.StringVar(&q.binary, "qemu", "qemu-system-x86_64", "QEMU program name")
	fs.StringVar(&q.style, "style", "shell", "output: shell (a runnable command with comments) or argv (one argument per line)")
	for _, n := range []string{"output-format", "dump-vmsa", "verbose", "trace", "snp-ovmf-hash", "ovmf-hash"} {
		fs.MarkHidden(n)
	}
	fs.Lookup("mode").Usage = "guest mode: only snp"
	fs.Lookup("mode").DefValue = string(measure.SNP)
	if err := parseFlags(fs, args, stdout, qemuArgsUsage); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	for _, n := range []string{"dump-vmsa", "trace", "output-format", "verbose", "snp-ovmf-hash", "ovmf-hash"} {
		if fs.Changed(n) {
			return usagef("--%s does not apply to qemu-args", n)
		}
	}
	if !fs.Changed("mode") {
		o.mode = string(measure.SNP)
	}
	o.fs = fs
	plan, err := q.plan(o)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	plan.print(&b, q.style)
	_, err = stdout.Write(b.Bytes())
	return err
}

// qemuPlan is a checked launch: the measurement and the command line.
type qemuPlan struct {
	qemu     qemuVersion
	binary   string
	measured []byte
	comments []string
	args     []string
}

// plan validates the configuration for QEMU, measures it and builds the arguments.
func (q *qemuArgsOptions) plan(o *measureOptions) (*qemuPlan, error) {
	if q.style != "shell" && q.style != "argv" {
		return nil, usagef("--style %q: want shell or argv", q.style)
	}
	switch o.mode {
	case string(measure.SNP):
	case string(measure.SVSM):
		return nil, usagef("--mode snp:svsm: refusing: upstream QEMU has no launch path that matches this measurement (COCONUT-SVSM guests are launched from IGVM files, measured differently)")
	case string(measure.OVMFHash):
		return nil, usagef("--mode snp:ovmf-hash is a firmware digest, not a launch")
	case string(measure.SEV), string(measure.SEVES):
		return nil, usagef("--mode %s: qemu-args prints SEV-SNP launches only (--mode snp)", o.mode)
	default:
		return nil, usagef("--mode %q: qemu-args needs --mode snp", o.mode)
	}
	qv, err := parseQemuVersion(q.qemuVer)
	if err != nil {
		return nil, err
	}
	if !memSizeRE.MatchString(q.memory) {
		return nil, usagef("--memory %q: want a size such as 2048M or 4G", q.memory)
	}
	p := &qemuPlan{qemu: qv, binary: q.binary}
	c, err := o.config()
	if err != nil {
		return nil, err
	}
	if c.VMM != vmsa.QEMU {
		return nil, usagef("--vmm-type %s: refusing: that measurement models %s's VMM, whose vCPU state QEMU does not reproduce (use --vmm-type QEMU)", o.vmmType, o.vmmType)
	}
	cpuModel, note, err := qemuCPUModel(o, c.Signature)
	if err != nil {
		return nil, err
	}
	if note != "" {
		p.comments = append(p.comments, note)
	}
	snpProps, featNotes, err := qemuFeatureProps(c.GuestFeatures, qv)
	if err != nil {
		return nil, err
	}
	p.comments = append(p.comments, featNotes...)

	policy, err := parseGuestPolicyFlag("policy", q.policy)
	if err != nil {
		return nil, err
	}
	var blk *idblock.Block
	var auth *idblock.Auth
	switch {
	case (q.idBlock == "") != (q.idAuth == ""):
		return nil, usagef("--id-block and --id-auth go together")
	case q.idBlock != "":
		if blk, auth, err = checkIDBlockFlags(q.idBlock, q.idAuth); err != nil {
			return nil, err
		}
		if !o.fs.Changed("policy") {
			policy = blk.Policy
		} else if blk.Policy != policy {
			return nil, usagef("--policy %#x differs from the ID block's policy %#x: SNP_LAUNCH_FINISH would fail", policy, blk.Policy)
		}
	}
	var hostData []byte
	if q.hostData != "" {
		if hostData, err = decodeHostData(q.hostData); err != nil {
			return nil, err
		}
	}

	res, err := measure.Measure(context.Background(), c, o.measureOptionsFor())
	if err != nil {
		return nil, err // names the file and what it cannot do
	}
	p.measured = res.Digest
	if blk != nil && !bytes.Equal(blk.Measurement[:], res.Digest) {
		return nil, &checkFailedError{msg: fmt.Sprintf("--id-block: %v: it has %s, this configuration measures %s",
			errIDBlockMismatch, hex.EncodeToString(blk.Measurement[:]), hex.EncodeToString(res.Digest))}
	}

	p.args = []string{
		"-enable-kvm",
		"-machine", "q35,confidential-guest-support=sev0,memory-backend=ram1",
		"-object", "memory-backend-memfd,id=ram1,size=" + q.memory + ",share=true,prealloc=false",
		"-m", q.memory,
		"-cpu", cpuModel,
		"-smp", strconv.Itoa(c.VCPUs),
		"-bios", o.ovmf,
	}
	if c.Kernel != "" {
		p.args = append(p.args, "-kernel", o.kernel)
		if o.initrd != "" {
			p.args = append(p.args, "-initrd", o.initrd)
		}
		p.args = append(p.args, "-append", o.appendArg)
	}
	obj := []string{"sev-snp-guest", "id=sev0", "cbitpos=51", "reduced-phys-bits=1", fmt.Sprintf("policy=%#x", policy)}
	if c.Kernel != "" {
		obj = append(obj, "kernel-hashes=on")
	}
	obj = append(obj, snpProps...)
	if blk != nil {
		obj = append(obj, "id-block="+strings.TrimSpace(q.idBlock), "id-auth="+strings.TrimSpace(q.idAuth))
		if auth.HasAuthorKey() {
			obj = append(obj, "author-key-enabled=on")
		}
	}
	if hostData != nil {
		obj = append(obj, "host-data="+base64.StdEncoding.EncodeToString(hostData))
	}
	p.args = append(p.args, "-object", strings.Join(obj, ","))
	return p, nil
}

// qemuCPUModel returns the -cpu model for the measured signature.
func qemuCPUModel(o *measureOptions, sig uint64) (model, note string, err error) {
	if o.vcpuType != "" && !o.fs.Changed("vcpu-sig") && !o.fs.Changed("vcpu-family") {
		return o.vcpuType, "", nil
	}
	var same []string
	for _, c := range vmsa.CPUTypes {
		if c.Signature() == sig {
			same = append(same, c.Name)
		}
	}
	if len(same) == 0 {
		return "", "", usagef("vCPU signature %#x: no QEMU -cpu model has it; give --vcpu-type", sig)
	}
	return same[0], fmt.Sprintf("# vCPU signature %#x: -cpu %s (models with this signature: %s)", sig, same[0], strings.Join(same, ", ")), nil
}

// qemuFeatureProps maps the measured SEV_FEATURES to sev-snp-guest
// properties, or refuses the bits QEMU cannot set.
func qemuFeatureProps(gf uint64, qv qemuVersion) (props, notes []string, err error) {
	if gf&featSNPActive == 0 {
		return nil, nil, usagef("--guest-features %#x: bit 0 (SNP active) is always set for SEV-SNP guests", gf)
	}
	if extra := gf &^ (featSNPActive | featDebugSwap | featSecureTSC); extra != 0 {
		return nil, nil, usagef("--guest-features %#x: refusing: QEMU cannot set SEV_FEATURES bits %#x (it sets only SNP, DebugSwap and Secure TSC)", gf, extra)
	}
	if gf&featSecureTSC != 0 {
		if !qv.atLeast(10, 2) {
			return nil, nil, usagef("--guest-features %#x: Secure TSC (bit 9) needs QEMU 10.2 or later (secure-tsc=on); add --qemu-version 10.2", gf)
		}
		props = append(props, "secure-tsc=on")
		notes = append(notes, "# Secure TSC (secure-tsc=on) needs QEMU 10.2+ and a host kernel with SNP Secure TSC support")
	}
	if gf&featDebugSwap != 0 {
		if qv.atLeast(10, 2) {
			props = append(props, "debug-swap=on")
			notes = append(notes, "# DebugSwap (debug-swap=on) needs QEMU 10.2+ and a host kernel with KVM debug_swap support")
		} else {
			notes = append(notes, fmt.Sprintf("# guest features %#x need a host kernel with debug_swap (6.6/6.7)", gf),
				"# (KVM_SEV_INIT on such kernels turns DebugSwap on by itself; with QEMU 10.2+ use --qemu-version 10.2 for debug-swap=on)")
		}
	} else {
		notes = append(notes, fmt.Sprintf("# guest features %#x: the SEV_FEATURES QEMU 9.1+ gets from KVM_SEV_INIT2 (Linux 6.11+ hosts)", gf))
	}
	return props, notes, nil
}

// checkIDBlockFlags decodes the ID block and ID auth and checks their signatures.
func checkIDBlockFlags(blockB64, authB64 string) (*idblock.Block, *idblock.Auth, error) {
	rawBlock, err := decodeBase64Flag("id-block", blockB64, idblock.BlockSize)
	if err != nil {
		return nil, nil, err
	}
	rawAuth, err := decodeBase64Flag("id-auth", authB64, idblock.AuthSize)
	if err != nil {
		return nil, nil, err
	}
	b, err := idblock.ParseBlock(rawBlock)
	if err != nil {
		return nil, nil, fmt.Errorf("--id-block: %w", err)
	}
	a, err := idblock.ParseAuth(rawAuth)
	if err != nil {
		return nil, nil, fmt.Errorf("--id-auth: %w", err)
	}
	v, err := a.Verify(b)
	if err != nil {
		return nil, nil, fmt.Errorf("--id-auth: %w", err)
	}
	if err := v.Err(); err != nil {
		return nil, nil, &checkFailedError{msg: fmt.Sprintf("--id-auth: %v: SNP_LAUNCH_FINISH would reject it", err)}
	}
	return b, a, nil
}

// decodeHostData reads HOST_DATA as base64 or 64 hex digits, as verify
// --host-data does.
func decodeHostData(s string) ([]byte, error) {
	return verifyBytesFlag("host-data", s)
}

// print writes the plan in the chosen style.
func (p *qemuPlan) print(w io.Writer, style string) {
	if style == "argv" {
		fmt.Fprintln(w, p.binary)
		for _, a := range p.args {
			fmt.Fprintln(w, a)
		}
		return
	}
	fmt.Fprintf(w, "# SEV-SNP launch for QEMU %s or later (snpmeasure %s); add disks, network and console as needed: they are not measured\n", p.qemu, versionString())
	fmt.Fprintf(w, "# expected measurement: %s\n", hex.EncodeToString(p.measured))
	for _, c := range p.comments {
		fmt.Fprintln(w, c)
	}
	fmt.Fprint(w, qemuShellQuote(p.binary))
	for i := 0; i < len(p.args); i++ {
		fmt.Fprint(w, " \\\n  ", qemuShellQuote(p.args[i]))
		if strings.HasPrefix(p.args[i], "-") && i+1 < len(p.args) && !strings.HasPrefix(p.args[i+1], "-") {
			fmt.Fprint(w, " ", qemuShellQuote(p.args[i+1]))
			i++
		}
	}
	fmt.Fprintln(w)
}

// errIDBlockMismatch is wrapped when an ID block is for another measurement.
var errIDBlockMismatch = errors.New("the ID block is for another launch measurement")

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
	fmt.Fprintln(w, "(upstream QEMU 9.1 or later on a host with upstream KVM SNP support, Linux 6.11+),")
	fmt.Fprintln(w, "with the expected measurement as a comment. It refuses what QEMU cannot launch: a kernel")
	fmt.Fprintln(w, "with firmware lacking the SEV hash table or SNP_KERNEL_HASHES section, --vmm-type ec2/gce,")
	fmt.Fprintln(w, "guest features QEMU cannot set, --mode snp:svsm. --id-block must hold the measurement and")
	fmt.Fprintln(w, "the policy; its signatures are checked. --mode defaults to snp.")
	fmt.Fprintln(w, "\nFlags:")
	fmt.Fprint(w, fs.FlagUsages())
	fmt.Fprintln(w, "\nExample:")
	fmt.Fprintln(w, "  snpmeasure qemu-args --ovmf OVMF.amdsev.fd --vcpus 4 --vcpu-type EPYC-Genoa \\")
	fmt.Fprintln(w, "    --kernel vmlinuz --initrd initrd.img --append 'console=ttyS0'")
	fmt.Fprintln(w, "\nExit status: 0 ok, 1 bad input or firmware that cannot launch it, 2 bad usage or a refused")
	fmt.Fprintln(w, "configuration, 3 the ID block does not match the measurement or its signatures fail.")
}
