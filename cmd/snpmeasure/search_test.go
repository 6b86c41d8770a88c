package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/snpmeasure/snpmeasure/internal/cli"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

// searchFirmwareFlags are the shared inputs of the search tests: firmware
// with kernel hashes, kernel, initrd and command line.
func searchFirmwareFlags(t testing.TB) []string {
	return []string{"--ovmf", testInput(t, "sid-OVMF.amdsev.fd"), "--kernel", testInput(t, "synth-kernel-12345.bin"),
		"--initrd", testInput(t, "synth-initrd-5M.img"), "--append", "console=ttyS0 root=/dev/vda"}
}

type searchConfig struct {
	vcpus    int
	cpu      string
	vmm      string
	features string
}

func (c searchConfig) measureArgs() []string {
	return []string{"--vcpus", fmt.Sprint(c.vcpus), "--vcpu-type", c.cpu, "--vmm-type", c.vmm, "--guest-features", c.features}
}

// TestSearchRecoversConfigs signs reports made from several configurations
// and checks that search names each one, and only equivalent ones.
func TestSearchRecoversConfigs(t *testing.T) {
	fw := searchFirmwareFlags(t)
	dir := t.TempDir()
	configs := []searchConfig{
		{4, "EPYC-Milan", "QEMU", "0x1"},
		{1, "EPYC-v4", "QEMU", "0x221"},
		{64, "EPYC-Rome", "QEMU", "0x21"},
		{512, "EPYC-Turin", "QEMU", "0x201"},
		{7, "EPYC-Genoa", "ec2", "0x21"},
		{2, "EPYC-Genoa", "gce", "0x201"},
		{3, "EPYC-Milan", "gce", "0x1"},
	}
	for _, c := range configs {
		t.Run(fmt.Sprintf("%d-%s-%s-%s", c.vcpus, c.cpu, c.vmm, c.features), func(t *testing.T) {
			m := measureHex(t, append(slices.Clone(fw), c.measureArgs()...)...)
			rep := writeTestFile(t, dir, "report-"+m[:8]+".bin", signTestReport(t, testReportFields(mustDecodeHex(t, m))))
			r := runInProcess(append([]string{"search", "--report", rep, "--json"}, fw...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			var ms []searchMatch
			if err := json.Unmarshal([]byte(r.stdout), &ms); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, r.stdout)
			}
			found := false
			want, _ := vmsa.LookupCPUType(c.cpu)
			for _, got := range ms {
				if got.VCPUs != c.vcpus || got.VMMType != c.vmm || got.GuestFeatures != c.features || got.Measurement != m {
					t.Errorf("match %+v is not the configuration %+v", got, c)
				}
				if got.VCPUType == c.cpu && got.VCPUSig == fmt.Sprintf("%#x", want.Signature()) {
					found = true
				}
				if c.vmm == "QEMU" && got.VCPUSig != fmt.Sprintf("%#x", want.Signature()) {
					t.Errorf("QEMU match with another signature: %+v", got)
				}
			}
			if !found {
				t.Errorf("configuration %+v not among the matches %+v", c, ms)
			}
			// The matches are exactly the vCPU types that give the same VMSA.
			var names []string
			for _, got := range ms {
				names = append(names, got.VCPUType)
			}
			var wantNames []string
			for _, ct := range vmsa.CPUTypes {
				switch {
				case c.vmm == "QEMU" && ct.Signature() != want.Signature():
				case c.vmm == "gce" && (vmsa.ProductOf(ct.Signature()) >= vmsa.Genoa) != (vmsa.ProductOf(want.Signature()) >= vmsa.Genoa):
				default:
					wantNames = append(wantNames, ct.Name)
				}
			}
			if strings.Join(names, ",") != strings.Join(wantNames, ",") {
				t.Errorf("matching types %v, want %v", names, wantNames)
			}
		})
	}
}

func TestSearchText(t *testing.T) {
	fw := searchFirmwareFlags(t)
	m := measureHex(t, append(slices.Clone(fw), "--vcpus", "4", "--vcpu-sig", "0xa00f11", "--guest-features", "0x21")...)
	r := runInProcess(append([]string{"search", "--measurement", m, "--vcpu-type", "EPYC-Milan,EPYC-Genoa", "--vmm-type", "QEMU"}, fw...)...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"1 configuration match",
		"vcpus=4 vcpu-type=EPYC-Milan vcpu-sig=0xa00f11 vmm-type=QEMU guest-features=0x21",
		"snpmeasure measure --mode snp --ovmf " + fw[1],
		"--append 'console=ttyS0 root=/dev/vda' --vcpus 4 --vcpu-type EPYC-Milan --guest-features 0x21",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	// The printed command line reproduces the measurement.
	var cmdline string
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "snpmeasure measure") {
			cmdline = strings.TrimSpace(l)
		}
	}
	re := runInProcess(shellSplit(cmdline)[1:]...)
	if strings.TrimSpace(re.stdout) != m {
		t.Errorf("%s printed %q, want %s", cmdline, re.stdout, m)
	}

	// By signature.
	r = runInProcess(append([]string{"search", "--measurement", m, "--vcpu-sig", "0xa00f11,0xa10f10", "--vmm-type", "QEMU", "--json"}, fw...)...)
	if r.code != 0 || !strings.Contains(r.stdout, `"vcpu_type": ""`) || !strings.Contains(r.stdout, `"vcpu_sig": "0xa00f11"`) {
		t.Errorf("by signature: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, key := range []string{"vcpus", "vcpu_type", "vcpu_sig", "vmm_type", "guest_features", "measurement"} {
		if !strings.Contains(r.stdout, `"`+key+`"`) {
			t.Errorf("JSON lacks %q", key)
		}
	}
}

func TestSearchNoMatch(t *testing.T) {
	fw := searchFirmwareFlags(t)
	m := strings.Repeat("ab", 48)
	r := runInProcess(append([]string{"search", "--measurement", m, "--vcpus", "1-8,16"}, fw...)...)
	if r.code != cli.ExitMismatch {
		t.Fatalf("exit %d, want 3: %s", r.code, r.stderr)
	}
	for _, want := range []string{"no configuration matches measurement " + m, "searched: vCPUs 1-8,16; vCPU types EPYC,", "KVM init init2,legacy (2304 configurations)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "no configuration matches") {
		t.Errorf("stderr %q", r.stderr)
	}
	r = runInProcess(append([]string{"search", "--measurement", m, "--vcpus", "1-2", "--json"}, fw...)...)
	if r.code != cli.ExitMismatch || strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("JSON no match: exit %d, %q", r.code, r.stdout)
	}
}

func TestSearchErrors(t *testing.T) {
	fw := searchFirmwareFlags(t)
	dir := t.TempDir()
	short := writeTestFile(t, dir, "short.bin", make([]byte, 100))
	m := strings.Repeat("ab", 48)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no target", append([]string{"search"}, fw...), 2, "missing --report FILE or --measurement HEX"},
		{"both targets", append([]string{"search", "--report", short, "--measurement", m}, fw...), 2, "use one"},
		{"no firmware", []string{"search", "--measurement", m}, 2, "missing --ovmf FILE"},
		{"bad range", append([]string{"search", "--measurement", m, "--vcpus", "0-4"}, fw...), 2, "--vcpus"},
		{"bad measurement", append([]string{"search", "--measurement", "abcd"}, fw...), 2, "--measurement: 2 bytes, want 48"},
		{"short report", append([]string{"search", "--report", short}, fw...), 1, "short.bin: 100 bytes, want at least 1184"},
		{"firmware without metadata", []string{"search", "--measurement", m, "--ovmf", testInput(t, "synth-zero-8k.fd")}, 1, "synth-zero-8k.fd:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runInProcess(tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, tc.code, tc.want)
			}
		})
	}
}

func TestSearchBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	fw := searchFirmwareFlags(t)
	m := measureHex(t, append(slices.Clone(fw), "--vcpus", "2", "--vcpu-type", "EPYC-Rome")...)
	dir := t.TempDir()
	if r := runBinary(t, dir, append([]string{"search", "--measurement", m, "--vmm-type", "QEMU"}, fw...)...); r.code != 0 {
		t.Errorf("found: exit %d: %s", r.code, r.stderr)
	}
	if r := runBinary(t, dir, append([]string{"search", "--measurement", m, "--vcpus", "3-4"}, fw...)...); r.code != 3 {
		t.Errorf("not found: exit %d: %s", r.code, r.stderr)
	}
}

// BenchmarkSearchDefaultSpace searches the whole default space (512 vCPU
// counts × 16 vCPU types × 3 VMMs × 4 guest features) of firmware with a
// kernel, initrd and command line, for the configuration enumerated last.
// It includes hashing the firmware, kernel and initrd.
func BenchmarkSearchDefaultSpace(b *testing.B) {
	fw := searchFirmwareFlags(b)
	m := measureHex(b, append(slices.Clone(fw), "--vcpus", "512", "--vcpu-type", "EPYC-Turin", "--vmm-type", "gce", "--guest-features", "0x221")...)
	args := append([]string{"search", "--measurement", m}, fw...)
	b.ResetTimer()
	for range b.N {
		if err := app.Run(args, io.Discard, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSearchFindsLegacyKVM: a measurement of a host before KVM_SEV_INIT2
// (a hardware-observed SVSM digest has its sibling in legacy-vectors.tsv)
// is found in search's default space, and the command line it prints
// reproduces it.
func TestSearchFindsLegacyKVM(t *testing.T) {
	fw := []string{"--ovmf", testInput(t, "bookworm-OVMF.fd")}
	m := measureHex(t, append(slices.Clone(fw), "--mode", "snp", "--vcpus", "4", "--vcpu-type", "EPYC-Milan", "--kvm-init", "legacy")...)
	if m != "89d03389c4d237f6cb40ebd9be6ff41af8ff6b151604576eaa742c4541a3c109f7db7e3f00162bec4b4f045bb3fb389a" {
		t.Fatalf("legacy measurement %s differs from LEGACY-10", m)
	}
	r := runInProcess(append([]string{"search", "--measurement", m, "--vcpus", "1-8"}, fw...)...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "vcpus=4 vcpu-type=EPYC-Milan vcpu-sig=0xa00f11 vmm-type=QEMU guest-features=0x1 kvm-init=legacy") {
		t.Fatalf("no legacy match:\n%s", r.stdout)
	}
	for _, line := range strings.Split(r.stdout, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "snpmeasure measure ") {
			continue
		}
		if !strings.Contains(line, "--kvm-init legacy") {
			t.Errorf("command line without --kvm-init legacy: %s", line)
		}
		args := shellSplit(line)[2:]
		if got := measureHex(t, args...); got != m {
			t.Errorf("%s gives %s", line, got)
		}
	}
	// Narrowed to init2, nothing matches.
	r = runInProcess(append([]string{"search", "--measurement", m, "--vcpus", "1-8", "--kvm-init", "init2"}, fw...)...)
	if r.code != 3 {
		t.Errorf("init2 only: exit %d, want 3", r.code)
	}
}
