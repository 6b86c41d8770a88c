package main

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/snpmeasure/snpmeasure/idblock"
	"github.com/snpmeasure/snpmeasure/internal/cliflags"
	"github.com/snpmeasure/snpmeasure/internal/qemutest"
	"github.com/snpmeasure/snpmeasure/qemu"
)

// qaArgv runs qemu-args --style argv and returns the QEMU argv.
func qaArgv(t *testing.T, args ...string) []string {
	t.Helper()
	r := runInProcess(append([]string{"qemu-args", "--style", "argv"}, args...)...)
	if r.code != 0 {
		t.Fatalf("qemu-args %q: exit %d: %s", args, r.code, r.stderr)
	}
	return strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
}

// qaOption returns the value after the n-th occurrence of opt.
func qaOption(argv []string, opt string, n int) string {
	for i := 0; i+1 < len(argv); i++ {
		if argv[i] == opt {
			if n == 0 {
				return argv[i+1]
			}
			n--
		}
	}
	return ""
}

// qaMeasure is the single measurement of a configuration.
func qaMeasure(t *testing.T, args ...string) string {
	t.Helper()
	r := runInProcess(append([]string{"measure", "--mode", "snp"}, args...)...)
	if r.code != 0 {
		t.Fatalf("measure: exit %d: %s", r.code, r.stderr)
	}
	return strings.TrimSpace(r.stdout)
}

func TestQemuArgs(t *testing.T) {
	fw := rvIn("sid-OVMF.amdsev.fd")
	kernel := []string{"--kernel", rvIn("synth-kernel-12345.bin"), "--initrd", rvIn("synth-initrd-5M.img"), "--append", "console=ttyS0 root=/dev/vda"}
	for _, tc := range []struct {
		name    string
		args    []string
		cpu     string
		smp     string
		object  string
		kernel  bool
		comment string
	}{
		{"kernel", append([]string{"--ovmf", fw, "--vcpus", "4", "--vcpu-type", "EPYC-Genoa"}, kernel...), "EPYC-Genoa", "4",
			"sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,policy=0x30000,kernel-hashes=on", true, "guest features 0x1"},
		{"firmware only", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-Milan-v2", "--policy", "0x130000"}, "EPYC-Milan-v2", "1",
			"sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,policy=0x130000", false, ""},
		{"signature", []string{"--ovmf", fw, "--vcpus", "2", "--vcpu-sig", "0xa00f11"}, "EPYC-Milan", "2",
			"sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,policy=0x30000", false, "-cpu EPYC-Milan (models with this signature: EPYC-Milan, EPYC-Milan-v1, EPYC-Milan-v2)"},
		{"family model stepping", []string{"--ovmf", fw, "--vcpus", "2", "--vcpu-family", "26", "--vcpu-model", "0", "--vcpu-stepping", "0", "--qemu-version", "10.1"}, "EPYC-Turin", "2",
			"sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,policy=0x30000", false, "-cpu EPYC-Turin"},
		{"turin type", []string{"--ovmf", fw, "--vcpus", "3", "--vcpu-type", "EPYC-Turin", "--qemu-version", "11.1.3"}, "EPYC-Turin", "3",
			"sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,policy=0x30000", false, "# guest features 0x1: KVM_SEV_INIT2"},
		{"newer minor", []string{"--ovmf", fw, "--vcpus", "3", "--vcpu-type", "EPYC-v4", "--qemu-version", "11.2"}, "EPYC-v4", "3",
			"sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,policy=0x30000", false, "# QEMU 11.2 is newer than 11.1"},
		{"host data", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-Genoa", "--host-data", strings.Repeat("ff", 32), "--mode", "snp"}, "EPYC-Genoa", "1",
			"sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,policy=0x30000,host-data=" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("\xff", 32))), false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			argv := qaArgv(t, tc.args...)
			if argv[0] != "qemu-system-x86_64" || qaOption(argv, "-cpu", 0) != tc.cpu || qaOption(argv, "-smp", 0) != tc.smp ||
				qaOption(argv, "-bios", 0) != fw || qaOption(argv, "-object", 1) != tc.object ||
				qaOption(argv, "-machine", 0) != "q35,confidential-guest-support=sev0,memory-backend=ram1" ||
				qaOption(argv, "-object", 0) != "memory-backend-memfd,id=ram1,size=2G,share=true,prealloc=false" ||
				!slices.Contains(argv, "-enable-kvm") {
				t.Errorf("argv:\n%s", strings.Join(argv, "\n"))
			}
			if got := qaOption(argv, "-kernel", 0) != ""; got != tc.kernel {
				t.Errorf("-kernel present: %v", got)
			}
			if tc.kernel && (qaOption(argv, "-initrd", 0) != rvIn("synth-initrd-5M.img") || qaOption(argv, "-append", 0) != "console=ttyS0 root=/dev/vda") {
				t.Errorf("kernel arguments:\n%s", strings.Join(argv, "\n"))
			}
			// The shell form says what it measures, and the measurement is measure's.
			var margs []string
			for i := 0; i < len(tc.args); i += 2 {
				switch tc.args[i] {
				case "--policy", "--host-data", "--qemu-version", "--mode":
				default:
					margs = append(margs, tc.args[i], tc.args[i+1])
				}
			}
			r := runInProcess(append([]string{"qemu-args"}, tc.args...)...)
			if r.code != 0 {
				t.Fatal(r.stderr)
			}
			if want := "# expected measurement: " + qaMeasure(t, margs...) + "\n"; !strings.Contains(r.stdout, want) {
				t.Errorf("shell output lacks %q:\n%s", want, r.stdout)
			}
			if !strings.Contains(r.stdout, tc.comment) || !strings.Contains(r.stdout, "# SEV-SNP launch for QEMU ") {
				t.Errorf("shell output lacks %q:\n%s", tc.comment, r.stdout)
			}
		})
	}
}

// TestQemuArgsMemory checks that -m and the memory backend get one size in
// one unit, whatever the --memory spelling.
func TestQemuArgsMemory(t *testing.T) {
	for in, want := range map[string]string{"512": "512M", "2G": "2G", "2048m": "2G", "1536M": "1536M", "4194304K": "4G", "978G": "978G", "128M": "128M"} {
		argv := qaArgv(t, "--ovmf", rvIn("sid-OVMF.amdsev.fd"), "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--memory", in)
		if qaOption(argv, "-m", 0) != want || qaOption(argv, "-object", 0) != "memory-backend-memfd,id=ram1,size="+want+",share=true,prealloc=false" {
			t.Errorf("--memory %s:\n%s", in, strings.Join(argv, "\n"))
		}
	}
}

func TestQemuArgsShellQuoting(t *testing.T) {
	r := runInProcess("qemu-args", "--ovmf", rvIn("sid-OVMF.amdsev.fd"), "--vcpus", "1", "--vcpu-type", "EPYC-v4",
		"--kernel", rvIn("empty"), "--append", "a 'b' $c")
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	if !strings.Contains(r.stdout, ` \`+"\n"+`  -append 'a '\''b'\'' $c' \`) || !strings.HasPrefix(r.stdout, "# SEV-SNP launch for QEMU 9.1") {
		t.Errorf("output:\n%s", r.stdout)
	}
	for in, want := range map[string]string{"": "''", "a,b=c/d.e": "a,b=c/d.e", "x y": "'x y'", "it's": `'it'\''s'`} {
		if got := cliflags.ShellQuote(in); got != want {
			t.Errorf("cliflags.ShellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestQemuArgsIDBlock passes an ID block from 'snpmeasure idblock' and checks
// that qemu-args checks it against the measurement, policy and signatures.
func TestQemuArgsIDBlock(t *testing.T) {
	cfg := []string{"--ovmf", rvIn("fx-ovmf_AmdSev_suffix.bin"), "--vcpus", "2", "--vcpu-type", "EPYC-Milan",
		"--kernel", rvIn("synth-kernel-12345.bin"), "--append", "console=ttyS0"}
	m := qaMeasure(t, cfg...)
	mk := func(t *testing.T, extra ...string) idbOutput {
		r := runInProcess(append([]string{"idblock", "--measurement", m, "--id-key", idbIDKey}, extra...)...)
		if r.code != 0 {
			t.Fatal(r.stderr)
		}
		return parseIDBlockOutput(t, r.stdout)
	}
	withAuthor := mk(t, "--author-key", idbAuthorKey)
	noAuthor := mk(t, "--policy", "0x130000")
	auth, _ := base64.StdEncoding.DecodeString(withAuthor.auth)
	auth[idblock.OffAuthBlockSignature] ^= 1
	badAuth := base64.StdEncoding.EncodeToString(auth)
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		object string // suffix of the sev-snp-guest object
		msg    string
	}{
		{"author key", []string{"--id-block", withAuthor.block, "--id-auth", withAuthor.auth}, 0,
			"policy=0x30000,kernel-hashes=on,id-block=" + withAuthor.block + ",id-auth=" + withAuthor.auth + ",author-key-enabled=on", ""},
		{"policy from the block", []string{"--id-block", noAuthor.block, "--id-auth", noAuthor.auth}, 0,
			"policy=0x130000,kernel-hashes=on,id-block=" + noAuthor.block + ",id-auth=" + noAuthor.auth, ""},
		{"policy differs", []string{"--id-block", noAuthor.block, "--id-auth", noAuthor.auth, "--policy", "0x30000"}, 2, "", "--policy 0x30000: refusing: the ID block's policy is 0x130000"},
		{"other measurement", []string{"--id-block", withAuthor.block, "--id-auth", withAuthor.auth, "--vcpus", "3"}, 3, "", "the ID block is for another launch measurement"},
		{"bad signature", []string{"--id-block", withAuthor.block, "--id-auth", badAuth}, 3, "", "ID block signature (ID key): signature does not verify"},
		{"block alone", []string{"--id-block", withAuthor.block}, 2, "", "go together"},
		{"malformed", []string{"--id-block", withAuthor.block, "--id-auth", "AAAA"}, 1, "", "--id-auth: 3 bytes, want 4096"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"qemu-args", "--style", "argv"}, cfg...), tc.args...)
			r := runInProcess(args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tc.code, tc.msg)
			}
			if tc.code != 0 {
				if r.stdout != "" {
					t.Errorf("output on failure: %q", r.stdout)
				}
				return
			}
			argv := strings.Split(strings.TrimSpace(r.stdout), "\n")
			if obj := qaOption(argv, "-object", 1); !strings.HasSuffix(obj, tc.object) {
				t.Errorf("object %s\nwant suffix %s", obj, tc.object)
			}
		})
	}
}

// TestQemuArgsRefuses lists what QEMU cannot launch, each with its reason.
func TestQemuArgsRefuses(t *testing.T) {
	fw := rvIn("sid-OVMF.amdsev.fd")
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"ec2", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--vmm-type", "ec2"}, 2, "--vmm-type ec2: refusing"},
		{"gce", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--vmm-type", "gce"}, 2, "--vmm-type gce: refusing"},
		{"no hash table", []string{"--ovmf", rvIn("bookworm-OVMF.fd"), "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--kernel", rvIn("empty")}, 1, "SNP_KERNEL_HASHES"},
		{"no metadata", []string{"--ovmf", rvIn("bookworm-OVMF_VARS.fd"), "--vcpus", "1", "--vcpu-type", "EPYC-v4"}, 1, "SEV metadata"},
		{"vTOM", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--guest-features", "0x3"}, 2, "--guest-features 0x3: refusing: QEMU 9.1 cannot launch virtual TOM (0x2)"},
		{"no snp bit", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--guest-features", "0x20"}, 2, "bit 0"},
		{"debug swap", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--guest-features", "0x21", "--qemu-version", "11.1"}, 2, "--guest-features 0x21: refusing: QEMU 11.1 cannot launch DebugSwap (0x20)"},
		{"debug swap 10.2", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--guest-features", "0x21", "--qemu-version", "10.2"}, 2, "kvm_amd's debug_swap only allows DebugSwap"},
		{"secure tsc", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--guest-features", "0x201", "--qemu-version", "11.1"}, 2, "cannot launch Secure TSC (0x200)"},
		{"turin on 10.0", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-Turin", "--qemu-version", "10.0.2"}, 2, "--vcpu-type EPYC-Turin: refusing: QEMU 10.0 has no such model (it came in 10.1)"},
		{"turin by default", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-family", "26", "--vcpu-model", "0", "--vcpu-stepping", "0"}, 2, "--vcpu-sig 0xb00f00: refusing: QEMU 9.1 has no -cpu model with this vCPU signature: EPYC-Turin (QEMU 10.1+)"},
		{"svsm", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--mode", "snp:svsm"}, 2, "snp:svsm: refusing"},
		{"sev", []string{"--ovmf", fw, "--vcpus", "1", "--mode", "sev"}, 2, "SEV-SNP launches only"},
		{"ovmf hash mode", []string{"--ovmf", fw, "--mode", "snp:ovmf-hash"}, 2, "not a launch"},
		{"unknown signature", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-sig", "0x123"}, 2, "no QEMU -cpu model"},
		{"no vcpus", []string{"--ovmf", fw, "--vcpu-type", "EPYC-v4"}, 2, "missing --vcpus"},
		{"old qemu", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--qemu-version", "8.2"}, 2, "--qemu-version 8.2: refusing: upstream QEMU launches SEV-SNP guests from 9.1 on"},
		{"future major", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--qemu-version", "12.0"}, 2, "--qemu-version 12.0: refusing: newer than every release"},
		{"migrate-ma policy", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--policy", "0x70000"}, 2, "--policy 0x70000: refusing: bits 0x40000 are not in KVM's SNP_POLICY_MASK_VALID"},
		{"policy high bits", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--policy", "0xffffffffffffffff"}, 2, "SNP_POLICY_MASK_VALID"},
		{"igvm with --policy", []string{"--igvm", "../../igvm/testdata/conformance/01_snp_basic.igvm", "--vcpus", "1", "--vcpu-type", "EPYC-Milan", "--qemu-version", "10.1", "--policy", "0xb0000"}, 2, "--policy does not apply to --igvm"},
		{"igvm without a model", []string{"--igvm", "../../igvm/testdata/conformance/01_snp_basic.igvm", "--vcpus", "1", "--qemu-version", "10.1"}, 2, "missing --vcpu-type or --vcpu-sig"},
		{"argv with a line break", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--kernel", rvIn("synth-kernel-12345.bin"), "--append", "a\nb", "--style", "argv"}, 2, "--style argv prints one argument per line"},
		{"no such release", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--qemu-version", "10.3"}, 2, "--qemu-version 10.3: refusing: no such release"},
		{"version syntax", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--qemu-version", "ten"}, 2, "--qemu-version ten: want MAJOR.MINOR"},
		{"memory", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--memory", "lots"}, 2, "--memory lots: want a whole number"},
		{"memory huge", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--memory", "99999999T"}, 2, "--memory 99999999T: refusing: above 978G"},
		{"memory over", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--memory", "979G"}, 2, "--memory 979G: refusing: above 978G"},
		{"memory small", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--memory", "64M"}, 2, "--memory 64M: refusing: below 128M"},
		{"memory KiB", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--memory", "1000K"}, 2, "not a whole number of MiB"},
		{"host data", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--host-data", "AAAA"}, 2, "--host-data"},
		{"style", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--style", "json"}, 2, "--style"},
		{"dump vmsa", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--dump-vmsa"}, 2, "does not apply"},
		{"policy", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--policy", "0x0"}, 2, "bit 17"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runInProcess(append([]string{"qemu-args"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) || r.stdout != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want %d and %q", r.code, r.stderr, r.stdout, tc.code, tc.msg)
			}
		})
	}
	if r := runInProcess("qemu-args", "--help"); r.code != 0 || !strings.Contains(r.stdout, "QEMU 9.1 to 11.x") {
		t.Errorf("--help: exit %d", r.code)
	}
}

// TestQemuArgsRealQEMU runs every command line qemu-args prints, for every
// --qemu-version it accepts, on the real QEMU binaries of this machine (CI:
// Debian's 10.0.2 and 11.1.3, see internal/qemutest): a binary of release B
// checks the command lines of every release up to B, since a command line
// for release v claims to run on v and later. Configurations qemu-args
// refuses for a release are refused on that release's binary too.
func TestQemuArgsRealQEMU(t *testing.T) {
	bins := qemutest.Binaries(t)
	fw := rvIn("sid-OVMF.amdsev.fd")
	kernel := qemutest.Kernel(t)
	m := qaMeasure(t, "--ovmf", fw, "--vcpus", "2", "--vcpu-type", "EPYC-Milan", "--kernel", kernel, "--append", "console=ttyS0")
	idb := func(extra ...string) []string {
		r := runInProcess(append([]string{"idblock", "--measurement", m, "--id-key", idbIDKey}, extra...)...)
		if r.code != 0 {
			t.Fatal(r.stderr)
		}
		o := parseIDBlockOutput(t, r.stdout)
		return []string{"--id-block", o.block, "--id-auth", o.auth}
	}
	base := []string{"--ovmf", fw}
	withKernel := []string{"--ovmf", fw, "--kernel", kernel, "--initrd", rvIn("synth-initrd-5M.img"), "--append", "console=ttyS0 root=/dev/vda quiet"}
	configs := []struct {
		name string
		args []string
	}{
		{"firmware", append(base, "--vcpus", "1", "--vcpu-type", "EPYC-v4")},
		{"kernel", append(withKernel, "--vcpus", "4", "--vcpu-type", "EPYC-Genoa")},
		{"kernel without initrd", []string{"--ovmf", fw, "--kernel", kernel, "--vcpus", "2", "--vcpu-type", "EPYC-Rome-v3"}},
		{"every EPYC", append(base, "--vcpus", "2", "--vcpu-type", "EPYC")},
		{"milan v2, policy", append(base, "--vcpus", "8", "--vcpu-type", "EPYC-Milan-v2", "--policy", "0x130000")},
		{"genoa v1", append(base, "--vcpus", "3", "--vcpu-type", "EPYC-Genoa-v1")},
		{"signature", append(base, "--vcpus", "2", "--vcpu-sig", "0xa10f10")},
		{"turin", append(withKernel, "--vcpus", "2", "--vcpu-type", "EPYC-Turin")},
		{"turin by family", append(base, "--vcpus", "2", "--vcpu-family", "26", "--vcpu-model", "0", "--vcpu-stepping", "0")},
		{"host data", append(base, "--vcpus", "1", "--vcpu-type", "EPYC-Milan", "--host-data", strings.Repeat("5a", 32))},
		{"id block, author key", append([]string{"--ovmf", fw, "--kernel", kernel, "--append", "console=ttyS0", "--vcpus", "2", "--vcpu-type", "EPYC-Milan"},
			idb("--author-key", idbAuthorKey)...)},
		{"id block, no author key", append([]string{"--ovmf", fw, "--kernel", kernel, "--append", "console=ttyS0", "--vcpus", "2", "--vcpu-type", "EPYC-Milan"},
			idb("--policy", "0x130000")...)},
		{"128M", append(base, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--memory", "128M")},
		{"1536M", append(base, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--memory", "1536")},
		{"978G", append(base, "--vcpus", "1", "--vcpu-type", "EPYC-Genoa", "--memory", "978G")},
		{"256 vCPUs", append(base, "--vcpus", "256", "--vcpu-type", "EPYC-Genoa", "--memory", "4G")},
	}
	done := map[string]bool{} // binary and command line already checked
	checked := 0
	for _, b := range bins {
		for _, c := range configs {
			for _, v := range qemu.Releases() {
				if !b.Version.AtLeast(v) {
					continue
				}
				t.Run(fmt.Sprintf("%s/%s/%s", b.Version, c.name, v), func(t *testing.T) {
					r := runInProcess(append([]string{"qemu-args", "--style", "argv", "--qemu-version", v.String()}, c.args...)...)
					if r.code == 2 && v == b.Version {
						// A refusal for the binary's own release: the binary must lack it too.
						missing := regexp.MustCompile(`EPYC[-A-Za-z0-9]*`).FindAllString(r.stderr, -1)
						if !strings.Contains(r.stderr, "--vcpu-") || len(missing) == 0 {
							t.Fatalf("refused for a reason the binary cannot confirm: %s", r.stderr)
						}
						for _, name := range missing {
							if slices.Contains(b.CPUModels(t), name) {
								t.Errorf("qemu-args refuses -cpu %s, which %s has: %s", name, b, r.stderr)
							}
						}
						return
					}
					if r.code == 2 {
						return // checked on the release's own binary, if there is one
					}
					if r.code != 0 {
						t.Fatalf("exit %d: %s", r.code, r.stderr)
					}
					argv := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")[1:]
					key := b.Path + "\x00" + strings.Join(argv, "\x00")
					if done[key] {
						return
					}
					done[key] = true
					checked++
					b.CheckAccepts(t, argv)
				})
			}
		}
	}
	t.Logf("%d distinct command lines checked on %d binaries", checked, len(bins))
	if checked < len(configs) {
		t.Errorf("only %d command lines checked", checked)
	}
}
