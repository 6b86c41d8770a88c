package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestArgparseCompat pins command lines on which sev-snp-measure's argparse
// and Python conversions decide: typed flags are converted (and --vars-size
// with --vars-file refused) whatever the mode, int(x, 0) syntax, and
// bytes.fromhex white space. Expected digests come from the reference.
func TestArgparseCompat(t *testing.T) {
	fw := filepath.Join(inputsDir, "fx-ovmf_AmdSev_suffix.bin")
	kernel := filepath.Join(inputsDir, "synth-kernel-12345.bin")
	const (
		snpMilan2 = "7ebc88066ce54aed30ae5dfadbb298613a046effdf58fbba3581cb752d7731f03805fb0154bbbe534fa30ac5bd661299"
		snpGF21   = "2939f85e9efe5dc13bf200ff25ddd14d5242df1821f5e642878caa9e11e58c02358740bfe12c72360baa3aec4bf671ee"
		ovmfHash  = "086e2e9149ebf45abdc3445fba5b2da8270bdbb04094d7a2c37faaa4b24af3aa16aff8c374c2a55c467a50da6d466b74"
		sevDigest = "8f765dfabc127fc0a938a0744a3103ec15864d7d794eb4c398aa976b6d6ab16c"
	)
	snp := []string{"--mode", "snp", "--vcpus", "2", "--vcpu-type", "EPYC-Milan", "--ovmf", fw}
	sev := []string{"--mode", "sev", "--ovmf", fw}
	hash := []string{"--mode", "snp:ovmf-hash", "--ovmf", fw}
	with := func(base []string, extra ...string) []string { return append(append([]string{}, base...), extra...) }
	tests := []struct {
		name string
		args []string
		code int
		out  string // stdout line when code is 0, else a substring of stderr
	}{
		{"sev --vcpus not an int", with(sev, "--vcpus", "abc"), 2, "--vcpus"},
		{"ovmf-hash --vcpus not an int", with(hash, "--vcpus", "abc"), 2, "--vcpus"},
		{"sev --vcpu-sig not an int", with(sev, "--vcpu-sig", "zz"), 2, "--vcpu-sig"},
		{"sev --vcpu-family not an int", with(sev, "--vcpu-family", "x"), 2, "--vcpu-family"},
		{"family wins but --vcpu-sig is still converted", with(snp, "--vcpu-family", "25", "--vcpu-model", "1", "--vcpu-stepping", "1", "--vcpu-sig", "zz"), 2, "--vcpu-sig"},
		{"snp --vars-size not an int", with(snp, "--vars-size", "x"), 2, "--vars-size"},
		{"ovmf-hash --guest-features not an int", with(hash, "--guest-features", "zz"), 2, "--guest-features"},
		{"ovmf-hash --vars-size with --vars-file", with(hash, "--vars-size", "5", "--vars-file", fw), 2, "not allowed"},
		{"snp --vars-size with --vars-file", with(snp, "--vars-size", "5", "--vars-file", fw), 2, "not allowed"},
		{"guest features with a leading zero", with(snp, "--guest-features", "07"), 2, "--guest-features"},
		{"guest features with a leading underscore", with(snp, "--guest-features", "_1"), 2, "--guest-features"},
		{"guest features with a double underscore", with(snp, "--guest-features", "1__0"), 2, "--guest-features"},
		{"guest features 0x_21", with(snp, "--guest-features", "0x_21"), 0, snpGF21},
		{"guest features 000", with(snp, "--guest-features", "000", "--guest-features", "0b10_0001"), 0, snpGF21},
		{"sev ignores a negative --vcpu-sig", with(sev, "--vcpu-sig", "-1"), 0, sevDigest},
		{"ovmf-hash ignores --vcpus 0", with(hash, "--vcpus", "0"), 0, ovmfHash},
		{"--snp-ovmf-hash with a trailing space", with(snp, "--snp-ovmf-hash", ovmfHash+" "), 0, snpMilan2},
		{"--snp-ovmf-hash with a trailing newline", with(snp, "--snp-ovmf-hash", ovmfHash+"\n"), 0, snpMilan2},
		{"--snp-ovmf-hash with spaces between bytes", with(snp, "--snp-ovmf-hash", "\t"+ovmfHash[:2]+" "+strings.ToUpper(ovmfHash[2:])), 0, snpMilan2},
		{"--snp-ovmf-hash with a space inside a byte", with(snp, "--snp-ovmf-hash", ovmfHash[:1]+" "+ovmfHash[1:]), 2, "--snp-ovmf-hash"},
		{"--append not UTF-8", with(snp, "--kernel", kernel, "--append", "\xff\xfe"), 2, "not valid UTF-8"},
		{"--append not UTF-8 without a kernel is never encoded", []string{"--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-v4",
			"--ovmf", fw, "--kernel", "", "--append", "\xff"}, 0,
			"19358ba9a7615534a9a1e2f0dfc29384dcd4dcb7062ff9c6013b26869a5fc6ecabe033c48dd6f6db5d6d76e7c5df632d"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runInProcess(tc.args...)
			if tc.code == 0 {
				if r.code != 0 || r.stdout != tc.out+"\n" {
					t.Fatalf("exit %d, stdout %q, stderr %q; want %s", r.code, r.stdout, r.stderr, tc.out)
				}
				return
			}
			checkOneLine(t, r, tc.code, tc.out)
		})
	}
}

// TestTinyFirmware pins which firmware files smaller than the 50-byte footer
// area the reference measures in --mode sev (it reads the footer entry from
// the last 50-size bytes and fails when fewer than 18 remain).
func TestTinyFirmware(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		size int
		ok   bool
	}{{1, false}, {17, false}, {18, true}, {25, true}, {32, true}, {33, false}, {49, false}, {50, true}} {
		t.Run(strconv.Itoa(tc.size), func(t *testing.T) {
			path := filepath.Join(dir, strconv.Itoa(tc.size)+".fd")
			if err := os.WriteFile(path, make([]byte, tc.size), 0o644); err != nil {
				t.Fatal(err)
			}
			r := runInProcess("--mode", "sev", "--ovmf", path)
			if tc.ok {
				if r.code != 0 || len(r.stdout) != 65 {
					t.Fatalf("exit %d, stdout %q, stderr %q; want a digest", r.code, r.stdout, r.stderr)
				}
				return
			}
			checkOneLine(t, r, 1, "too small to be a firmware image")
		})
	}
}

// TestDeviceInputs: an endless device given as kernel or initrd is refused
// instead of being hashed for ever.
func TestDeviceInputs(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	fw := filepath.Join(inputsDir, "fx-ovmf_AmdSev_suffix.bin")
	kernel := filepath.Join(inputsDir, "synth-kernel-12345.bin")
	for _, args := range [][]string{
		{"--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--ovmf", fw, "--kernel", "/dev/zero"},
		{"--mode", "sev", "--ovmf", fw, "--kernel", kernel, "--initrd", "/dev/zero"},
		{"--mode", "sev", "--ovmf", "/dev/zero"},
	} {
		t.Run(strings.Join(args[len(args)-2:], " "), func(t *testing.T) {
			checkOneLine(t, runInProcess(args...), 1, "/dev/zero: is a device, not a file")
		})
	}
}
