package main

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/snpmeasure/snpmeasure/idblock"
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
		{"firmware only", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-Milan-v2", "--policy", "0x70000"}, "EPYC-Milan-v2", "1",
			"sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,policy=0x70000", false, ""},
		{"signature", []string{"--ovmf", fw, "--vcpus", "2", "--vcpu-sig", "0xa00f11"}, "EPYC-Milan", "2",
			"sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,policy=0x30000", false, "-cpu EPYC-Milan (models with this signature: EPYC-Milan, EPYC-Milan-v1, EPYC-Milan-v2)"},
		{"family model stepping", []string{"--ovmf", fw, "--vcpus", "2", "--vcpu-family", "26", "--vcpu-model", "0", "--vcpu-stepping", "0"}, "EPYC-Turin", "2",
			"sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,policy=0x30000", false, "-cpu EPYC-Turin"},
		{"debug swap old qemu", []string{"--ovmf", fw, "--vcpus", "3", "--vcpu-type", "EPYC-v4", "--guest-features", "0x21"}, "EPYC-v4", "3",
			"sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,policy=0x30000", false, "# guest features 0x21 need a host kernel with debug_swap (6.6/6.7)"},
		{"debug swap qemu 10.2", []string{"--ovmf", fw, "--vcpus", "3", "--vcpu-type", "EPYC-v4", "--guest-features", "0x21", "--qemu-version", "10.2"}, "EPYC-v4", "3",
			"sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,policy=0x30000,debug-swap=on", false, "debug-swap=on"},
		{"secure tsc", []string{"--ovmf", fw, "--vcpus", "3", "--vcpu-type", "EPYC-Genoa", "--guest-features", "0x201", "--qemu-version", "10.2.1"}, "EPYC-Genoa", "3",
			"sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,policy=0x30000,secure-tsc=on", false, "Secure TSC"},
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
			if !strings.Contains(r.stdout, tc.comment) || !strings.Contains(r.stdout, "QEMU 9.1 or later") && !strings.Contains(r.stdout, "QEMU 10.2 or later") {
				t.Errorf("shell output lacks %q:\n%s", tc.comment, r.stdout)
			}
		})
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
		if got := qemuShellQuote(in); got != want {
			t.Errorf("qemuShellQuote(%q) = %s, want %s", in, got, want)
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
	noAuthor := mk(t, "--policy", "0x70000")
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
			"policy=0x70000,kernel-hashes=on,id-block=" + noAuthor.block + ",id-auth=" + noAuthor.auth, ""},
		{"policy differs", []string{"--id-block", noAuthor.block, "--id-auth", noAuthor.auth, "--policy", "0x30000"}, 2, "", "differs from the ID block's policy 0x70000"},
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
		{"vTOM", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--guest-features", "0x3"}, 2, "QEMU cannot set SEV_FEATURES bits 0x2"},
		{"no snp bit", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--guest-features", "0x20"}, 2, "bit 0"},
		{"secure tsc on 9.1", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--guest-features", "0x201"}, 2, "QEMU 10.2"},
		{"svsm", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--mode", "snp:svsm"}, 2, "snp:svsm: refusing"},
		{"sev", []string{"--ovmf", fw, "--vcpus", "1", "--mode", "sev"}, 2, "SEV-SNP launches only"},
		{"ovmf hash mode", []string{"--ovmf", fw, "--mode", "snp:ovmf-hash"}, 2, "not a launch"},
		{"unknown signature", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-sig", "0x123"}, 2, "no QEMU -cpu model"},
		{"no vcpus", []string{"--ovmf", fw, "--vcpu-type", "EPYC-v4"}, 2, "missing --vcpus"},
		{"old qemu", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--qemu-version", "8.2"}, 2, "from 9.1 on"},
		{"memory", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--memory", "lots"}, 2, "--memory"},
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
	if r := runInProcess("qemu-args", "--help"); r.code != 0 || !strings.Contains(r.stdout, "QEMU 9.1") {
		t.Errorf("--help: exit %d", r.code)
	}
}
