// Package qemutest runs real QEMU for the tests of package qemu and of
// qemu-args: the builds .ci/qemu-extract unpacks from Debian without
// installing them (named by SNPMEASURE_QEMU_10_0 and SNPMEASURE_QEMU_11) and
// a qemu-system-x86_64 on PATH. No guest runs: QEMU starts stopped (-S)
// under TCG, with no default devices, and quits on its QMP monitor at once,
// after it has created every object and the machine.
package qemutest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snpmeasure/snpmeasure/qemu"
)

// EnvVars name the extracted QEMU builds, as .ci/qemu-extract exports them.
var EnvVars = []string{"SNPMEASURE_QEMU_10_0", "SNPMEASURE_QEMU_11"}

// Binary is one real qemu-system-x86_64.
type Binary struct {
	Source  string       // the variable that named it, or "PATH"
	Path    string       // the program (a wrapper for extracted builds)
	Version qemu.Version // from --version
	Line    string       // the --version line

	mu   sync.Mutex
	help map[string]string
}

// Binaries returns the real QEMUs of this machine. With none it skips t;
// with CI set, a variable of EnvVars that is unset or names no working
// QEMU fails t: CI extracts them (.ci/run).
func Binaries(t testing.TB) []*Binary {
	t.Helper()
	var bins []*Binary
	for _, v := range EnvVars {
		p := os.Getenv(v)
		if p == "" {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not set (CI is set, so this is a failure: .ci/run extracts QEMU)", v)
			}
			continue
		}
		b, err := probe(v, p)
		if err != nil {
			t.Fatalf("%s=%s: %v", v, p, err)
		}
		bins = append(bins, b)
	}
	if p, err := exec.LookPath("qemu-system-x86_64"); err == nil {
		if b, err := probe("PATH", p); err == nil {
			bins = append(bins, b)
		} else {
			t.Logf("%s: %v", p, err)
		}
	}
	if len(bins) == 0 {
		t.Skipf("no QEMU: set %s (eval \"$(.ci/qemu-extract DIR)\") or install qemu-system-x86_64", strings.Join(EnvVars, " or "))
	}
	return bins
}

var versionLine = regexp.MustCompile(`QEMU emulator version ([0-9]+\.[0-9]+)(\.[0-9]+)?`)

func probe(source, path string) (*Binary, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("--version: %v", err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	m := versionLine.FindStringSubmatch(line)
	if m == nil {
		return nil, fmt.Errorf("--version: %q is not a QEMU version line", line)
	}
	v, err := qemu.ParseVersion(m[1])
	if err != nil {
		return nil, err
	}
	return &Binary{Source: source, Path: path, Version: v, Line: line, help: map[string]string{}}, nil
}

func (b *Binary) String() string { return fmt.Sprintf("%s (%s)", b.Line, b.Source) }

// Known reports whether the binary is one of the releases package qemu
// knows, so that its lists must equal the package's.
func (b *Binary) Known() bool {
	for _, v := range qemu.Releases() {
		if v == b.Version {
			return true
		}
	}
	return false
}

// Help runs the binary with a help request (e.g. "-cpu", "help") and
// returns what it prints; answers are cached.
func (b *Binary) Help(t testing.TB, args ...string) string {
	t.Helper()
	key := strings.Join(args, "\x00")
	b.mu.Lock()
	defer b.mu.Unlock()
	if h, ok := b.help[key]; ok {
		return h
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, b.Path, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", b, strings.Join(args, " "), err, out)
	}
	b.help[key] = string(out)
	return string(out)
}

// CPUModels returns the AMD EPYC models that -cpu help lists.
func (b *Binary) CPUModels(t testing.TB) []string {
	var names []string
	for _, line := range strings.Split(b.Help(t, "-cpu", "help"), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], "EPYC") {
			names = append(names, f[0])
		}
	}
	return names
}

// ObjectTypes returns the user-creatable object types of -object help.
func (b *Binary) ObjectTypes(t testing.TB) []string {
	return listed(b.Help(t, "-object", "help"), false)
}

// Properties returns the property names that "-object TYPE,help" or
// "-machine TYPE,help" lists (opt is "-object" or "-machine").
func (b *Binary) Properties(t testing.TB, opt, typ string) []string {
	return listed(b.Help(t, opt, typ+",help"), true)
}

func listed(help string, props bool) []string {
	var names []string
	for _, line := range strings.Split(help, "\n") {
		if !strings.HasPrefix(line, "  ") {
			continue
		}
		f := strings.TrimSpace(line)
		if props {
			var ok bool
			if f, _, ok = strings.Cut(f, "="); !ok {
				continue
			}
		}
		names = append(names, f)
	}
	return names
}

// Start runs QEMU with args, stopped under TCG with no default devices, and
// quits through QMP once it is up: nil means QEMU created every object and
// the machine. The error holds QEMU's messages (its TCG warnings dropped).
func (b *Binary) Start(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	full := append([]string{"-nodefaults", "-display", "none", "-S", "-qmp", "stdio"}, args...)
	cmd := exec.CommandContext(ctx, b.Path, full...)
	cmd.Stdin = strings.NewReader(`{"execute":"qmp_capabilities"}` + "\n" + `{"execute":"quit"}` + "\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err == nil && strings.Contains(stdout.String(), `"host-qmp-quit"`) {
		return nil
	}
	var msgs []string
	for _, line := range strings.Split(stderr.String(), "\n") {
		if line != "" && !strings.Contains(line, "warning: TCG doesn't support") {
			msgs = append(msgs, line)
		}
	}
	if err == nil {
		err = fmt.Errorf("no QMP shutdown event")
	}
	return fmt.Errorf("%v: %s", err, strings.Join(msgs, " | "))
}

// CheckAccepts has the binary take a qemu-args command line (the program
// excluded) as far as it can without KVM and SEV hardware:
//
//  1. every -object, verbatim, on "-machine none" with the printed -m and
//     memory backend: QEMU parses each property and runs its setter (the
//     base64 lengths of id-block, id-auth and host-data, the policy, the
//     memory size);
//  2. the whole command line on q35 under TCG, stopped, with -enable-kvm
//     and the machine's confidential-guest-support link dropped (a
//     sev-snp-guest needs KVM) and, above 254 vCPUs, x2apic=on added to
//     -cpu (KVM turns it on by default, TCG does not): QEMU takes -machine,
//     -m against the backend size, -cpu, -smp, -bios, -kernel, -initrd and
//     -append. An IGVM command line skips this step (IGVM needs the file).
//
// The machine's confidential-guest-support and igvm-cfg properties are
// checked against "-machine q35,help" instead.
func (b *Binary) CheckAccepts(t testing.TB, args []string) {
	t.Helper()
	var objs []string
	machine, mem, cpu := "", "", ""
	igvm := false
	smp := 1
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "-object":
			objs = append(objs, "-object", args[i+1])
			igvm = igvm || strings.HasPrefix(args[i+1], "igvm-cfg,")
		case "-machine":
			machine = args[i+1]
		case "-m":
			mem = args[i+1]
		case "-cpu":
			cpu = args[i+1]
		case "-smp":
			fmt.Sscan(args[i+1], &smp)
		}
	}
	var keep, dropped []string
	for _, p := range strings.Split(machine, ",") {
		if strings.HasPrefix(p, "confidential-guest-support=") || strings.HasPrefix(p, "igvm-cfg=") {
			dropped = append(dropped, p)
		} else {
			keep = append(keep, p)
		}
	}
	props := b.Properties(t, "-machine", keep[0])
	for _, p := range dropped {
		name, _, _ := strings.Cut(p, "=")
		if !contains(props, name) {
			t.Errorf("%s: -machine %s has no property %s", b, keep[0], name)
		}
	}
	backend := ""
	for _, p := range keep {
		if v, ok := strings.CutPrefix(p, "memory-backend="); ok {
			backend = ",memory-backend=" + v
		}
	}
	if err := b.Start(append([]string{"-accel", "tcg", "-machine", "none" + backend, "-m", mem}, objs...)...); err != nil {
		t.Errorf("%s refuses the objects %q: %v", b, objs, err)
	}
	if igvm {
		return
	}
	full := []string{"-accel", "tcg"}
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "-enable-kvm":
		case args[i] == "-machine" && i+1 < len(args):
			full = append(full, "-machine", strings.Join(keep, ","))
			i++
		case args[i] == "-cpu" && i+1 < len(args) && smp > 254:
			full = append(full, "-cpu", cpu+",x2apic=on")
			i++
		default:
			full = append(full, args[i])
		}
	}
	if err := b.Start(full...); err != nil {
		t.Errorf("%s refuses the command line %q: %v", b, full, err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Kernel writes a minimal bzImage-shaped file (a Linux boot protocol 2.15
// setup header, loadable high, and a page of payload) that QEMU's -kernel
// loader takes, and returns its path. Real kernels are large; QEMU reads
// only the header. The measurement hashes the whole file like any other.
func Kernel(t testing.TB) string {
	t.Helper()
	const setupSects = 4
	k := make([]byte, (setupSects+1)*512+4096)
	k[0x1f1] = setupSects
	binary.LittleEndian.PutUint16(k[0x1fe:], 0xaa55)
	copy(k[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(k[0x206:], 0x020f) // protocol version
	k[0x211] = 0x01                                  // LOADED_HIGH
	binary.LittleEndian.PutUint32(k[0x22c:], 0x7fffffff)
	binary.LittleEndian.PutUint32(k[0x238:], 2047) // cmdline_size
	p := filepath.Join(t.TempDir(), "bzImage")
	if err := os.WriteFile(p, k, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
