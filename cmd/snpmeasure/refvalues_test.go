package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/snpmeasure/snpmeasure/internal/schemacheck"
	"github.com/snpmeasure/snpmeasure/refvalues"
)

var updateRefvaluesGolden = flag.Bool("update-refvalues", false, "rewrite the refvalues CLI golden files")

// rvInputs is the conformance inputs directory.
const rvInputs = "../../testdata/inputs"

// rvGoldenDir holds the refvalues golden files.
const rvGoldenDir = "../../refvalues/testdata"

func rvIn(name string) string { return filepath.Join(rvInputs, name) }

// rvImage is a kernel-hashes capable firmware with a kernel, initrd and command line.
func rvImage() []string {
	return []string{
		"--ovmf", rvIn("sid-OVMF.amdsev.fd"),
		"--kernel", rvIn("synth-kernel-12345.bin"),
		"--initrd", rvIn("synth-initrd-5M.img"),
		"--append", "console=ttyS0 root=/dev/vda1 ro",
	}
}

func rvDoc(t *testing.T, args ...string) (*refvalues.Document, string) {
	t.Helper()
	r := runInProcess(append([]string{"refvalues"}, args...)...)
	if r.code != 0 {
		t.Fatalf("refvalues %q: exit %d: %s", args, r.code, r.stderr)
	}
	d, err := refvalues.ParseJSON([]byte(r.stdout))
	if err != nil {
		t.Fatal(err)
	}
	if err := schemacheck.RefValues([]byte(r.stdout)); err != nil {
		t.Fatalf("refvalues %q: the document is not valid against the schema: %v", args, err)
	}
	return d, r.stdout
}

// TestRefvaluesMatchMeasure checks entries of a refvalues document against
// single measurements through the CLI: a sample covering every VMM type,
// every vCPU type, both guest feature values and every count.
func TestRefvaluesMatchMeasure(t *testing.T) {
	counts := []int{1, 2, 3, 8, 64}
	args := append(rvImage(), "--vcpus", "1-3,8,64", "--vcpu-type", "all", "--vmm-type", "all", "--guest-features", "0x1,0x21")
	d, _ := rvDoc(t, args...)
	want := len(counts) * 16 * 3 * 2
	if len(d.Measurements) != want {
		t.Fatalf("%d measurements, want %d", len(d.Measurements), want)
	}
	seen := map[string]bool{}
	for i, m := range d.Measurements {
		// Every 7th entry walks across counts, types, features and VMMs.
		if i%7 != 0 {
			continue
		}
		seen[m.VMMType] = true
		seen[m.VCPUType] = true
		seen[strconv.Itoa(m.VCPUs)] = true
		name := m.VMMType + "/" + m.VCPUType + "/" + strconv.Itoa(m.VCPUs) + "/" + m.GuestFeatures.String()
		t.Run(name, func(t *testing.T) {
			margs := append([]string{"measure", "--mode", "snp"}, rvImage()...)
			margs = append(margs, "--vcpus", strconv.Itoa(m.VCPUs), "--vcpu-type", m.VCPUType,
				"--vmm-type", m.VMMType, "--guest-features", m.GuestFeatures.String())
			r := runInProcess(margs...)
			if r.code != 0 {
				t.Fatalf("measure: exit %d: %s", r.code, r.stderr)
			}
			if got := strings.TrimSpace(r.stdout); got != m.Measurement.String() {
				t.Errorf("refvalues %s, measure %s", m.Measurement, got)
			}
		})
	}
	for _, k := range []string{"QEMU", "ec2", "gce", "EPYC", "EPYC-Rome", "EPYC-Milan", "EPYC-Genoa", "EPYC-Turin", "1", "64"} {
		if !seen[k] {
			t.Errorf("the sample misses %s", k)
		}
	}

	// Inputs: base names, sizes and streamed SHA-256 of the files.
	for _, f := range []struct {
		got  *refvalues.File
		path string
	}{{&d.Inputs.Firmware.File, rvIn("sid-OVMF.amdsev.fd")}, {d.Inputs.Kernel, rvIn("synth-kernel-12345.bin")}, {d.Inputs.Initrd, rvIn("synth-initrd-5M.img")}} {
		data, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if f.got == nil || f.got.Name != filepath.Base(f.path) || f.got.Size != int64(len(data)) || f.got.SHA256 != sha256.Sum256(data) {
			t.Errorf("input %s described as %+v", f.path, f.got)
		}
	}
	fw := d.Inputs.Firmware
	if d.Inputs.Cmdline == nil || *d.Inputs.Cmdline != "console=ttyS0 root=/dev/vda1 ro" ||
		!fw.SEVMetadata || !fw.SNPKernelHashes || fw.SEVHashTable == nil || fw.APResetEIP == nil || !fw.SEVESResetBlock {
		t.Errorf("inputs %+v", d.Inputs)
	}
}

// TestRefvaluesConformanceVectors runs each single-configuration SNP vector
// of the conformance suite (outputs of the reference tool) through
// refvalues and compares the one measurement.
func TestRefvaluesConformanceVectors(t *testing.T) {
	data, err := os.ReadFile("../../testdata/vectors.tsv")
	if err != nil {
		t.Fatal(err)
	}
	pathFlags := map[string]bool{"--ovmf": true, "--kernel": true, "--initrd": true}
	spaceFlags := map[string]bool{"--mode": true, "--vcpus": true, "--vcpu-type": true, "--vcpu-sig": true, "--vmm-type": true,
		"--guest-features": true, "--snp-ovmf-hash": true, "--append": true}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n")[1:] {
		f := strings.Split(line, "\t")
		if len(f) != 4 || f[1] != "ok" {
			continue
		}
		argv, ok := rvSplitArgs(f[3])
		if !ok || len(argv)%2 != 0 {
			continue
		}
		args := []string{"refvalues"}
		usable, typed := true, false
		for i := 0; i < len(argv); i += 2 {
			k, v := argv[i], argv[i+1]
			switch {
			case k == "--mode" && v != "snp":
				usable = false
			case pathFlags[k]:
				v = rvIn(v)
			case k == "--vcpu-type" || k == "--vcpu-sig":
				typed = true
			case !spaceFlags[k]:
				usable = false
			}
			args = append(args, k, v)
		}
		if !usable || !typed {
			continue
		}
		n++
		t.Run(f[0], func(t *testing.T) {
			r := runInProcess(args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			d, err := refvalues.ParseJSON([]byte(r.stdout))
			if err != nil {
				t.Fatal(err)
			}
			if err := schemacheck.RefValues([]byte(r.stdout)); err != nil {
				t.Errorf("schema: %v", err)
			}
			if len(d.Measurements) != 1 || d.Measurements[0].Measurement.String() != f[2] {
				t.Errorf("refvalues %+v, vector %s", d.Measurements, f[2])
			}
		})
	}
	if n < 40 {
		t.Errorf("only %d vectors used", n)
	}
}

// rvSplitArgs splits a vector's argv: words separated by spaces, single
// quotes grouping (as the vectors file writes them).
func rvSplitArgs(s string) ([]string, bool) {
	var out []string
	var cur strings.Builder
	inWord, quoted := false, false
	for _, r := range s {
		switch {
		case quoted && r == '\'':
			quoted = false
		case quoted:
			cur.WriteRune(r)
		case r == '\'':
			quoted, inWord = true, true
		case r == ' ':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		case r == '"' || r == '\\':
			return nil, false
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		return nil, false
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out, true
}

// TestRefvaluesSignaturesAndOVMFHash covers --vcpu-sig and --snp-ovmf-hash.
func TestRefvaluesSignaturesAndOVMFHash(t *testing.T) {
	r := runInProcess("measure", "--mode", "snp:ovmf-hash", "--ovmf", rvIn("fx-ovmf_AmdSev_suffix.bin"))
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	hash := strings.TrimSpace(r.stdout)
	base := []string{"--ovmf", rvIn("fx-ovmf_AmdSev_suffix.bin"), "--kernel", rvIn("empty"), "--initrd", rvIn("empty"), "--append", ""}
	for _, tc := range []struct {
		name  string
		extra []string
	}{
		{"sig", nil},
		{"ovmf-hash", []string{"--snp-ovmf-hash", hash}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append(append([]string{}, base...), tc.extra...), "--vcpus", "1,5", "--vcpu-sig", "0x800f12,0xa00f11", "--vmm-type", "QEMU,gce")
			d, _ := rvDoc(t, args...)
			if len(d.Measurements) != 8 {
				t.Fatalf("%d measurements", len(d.Measurements))
			}
			if (d.Inputs.SNPOVMFHash != nil) != (tc.extra != nil) {
				t.Errorf("snp_ovmf_hash %v", d.Inputs.SNPOVMFHash)
			}
			for _, m := range d.Measurements {
				if m.VCPUType != "" {
					t.Errorf("vcpu_type %q for a signature", m.VCPUType)
				}
				margs := append(append(append([]string{"--mode", "snp"}, base...), tc.extra...), "--vcpus", strconv.Itoa(m.VCPUs),
					"--vcpu-sig", m.VCPUSig.String(), "--vmm-type", m.VMMType, "--guest-features", m.GuestFeatures.String())
				r := runInProcess(margs...)
				if r.code != 0 || strings.TrimSpace(r.stdout) != m.Measurement.String() {
					t.Errorf("%+v: measure says %q %s", m, r.stdout, r.stderr)
				}
			}
		})
	}
}

// TestRefvaluesFormats checks every output format against the JSON document.
func TestRefvaluesFormats(t *testing.T) {
	args := append(rvImage(), "--vcpus", "1-4", "--vcpu-type", "EPYC-v4,EPYC-v1,EPYC-Milan", "--vmm-type", "all", "--policy", "0x30000")
	d, js := rvDoc(t, args...)
	distinct := map[string]bool{}
	for _, m := range d.Measurements {
		distinct[m.Measurement.String()] = true
	}
	if len(distinct) >= len(d.Measurements) {
		t.Fatal("the space has no repeated measurement (EPYC-v4 and EPYC-v1 share a signature)")
	}
	out := func(t *testing.T, format string) []byte {
		r := runInProcess(append([]string{"refvalues", "--format", format}, args...)...)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if again := runInProcess(append([]string{"refvalues", "--format", format}, args...)...); again.stdout != r.stdout {
			t.Fatal("two runs differ")
		}
		return []byte(r.stdout)
	}
	for _, format := range refvalues.Formats {
		t.Run(format, func(t *testing.T) {
			b := out(t, format)
			got := map[string]bool{}
			switch format {
			case refvalues.FormatJSON:
				if string(b) != js {
					t.Error("json differs from the default format")
				}
				return
			case refvalues.FormatRVPS:
				rv, err := refvalues.DecodeRVPS(b)
				if err != nil {
					t.Fatal(err)
				}
				var ms []string
				if err := json.Unmarshal(rv[refvalues.RVPSLaunchMeasurement], &ms); err != nil {
					t.Fatal(err)
				}
				if len(ms) != len(distinct) {
					t.Errorf("%d measurements, want %d distinct", len(ms), len(distinct))
				}
				for _, m := range ms {
					got[m] = true
				}
				if string(rv[refvalues.RVPSSMTAllowed]) != "true" || string(rv[refvalues.RVPSGuestABIMajor]) != "0" {
					t.Errorf("policy values %s %s", rv[refvalues.RVPSSMTAllowed], rv[refvalues.RVPSGuestABIMajor])
				}
			case refvalues.FormatInToto:
				st, pd, err := refvalues.DecodeInToto(b)
				if err != nil {
					t.Fatal(err)
				}
				if err := schemacheck.InToto(b); err != nil {
					t.Errorf("schema: %v", err)
				}
				if len(st.GetSubject()) != 3 || st.GetSubject()[0].GetDigest()["sha256"] != d.Inputs.Firmware.SHA256.String() {
					t.Errorf("subjects %v", st.GetSubject())
				}
				for i, m := range pd.Measurements {
					if m != d.Measurements[i] {
						t.Fatalf("predicate measurement %d differs", i)
					}
					got[m.Measurement.String()] = true
				}
			case refvalues.FormatCoRIM:
				c, err := refvalues.DecodeCoRIM(b)
				if err != nil {
					t.Fatal(err)
				}
				if c.Profile != refvalues.CoRIMProfile2024 || len(c.References) != 2*len(distinct) {
					t.Errorf("profile %s, %d reference triples, want %s and %d", c.Profile, len(c.References), refvalues.CoRIMProfile2024, 2*len(distinct))
				}
				for _, r := range c.References {
					got[r.Measurement.String()] = true
					if r.Policy == nil || *r.Policy != 0x30000 || !bytes.Equal(r.Instance, r.Measurement[:]) {
						t.Errorf("policy %v, instance %x", r.Policy, r.Instance)
					}
				}
			}
			if len(got) != len(distinct) {
				t.Errorf("%d distinct measurements, want %d", len(got), len(distinct))
			}
			for m := range distinct {
				if !got[m] {
					t.Errorf("missing %s", m)
				}
			}
		})
	}
	t.Run("corim profiles", func(t *testing.T) {
		def := out(t, "corim")
		for _, tc := range []struct{ flag, uri string }{{"2024", refvalues.CoRIMProfile2024}, {"2025", refvalues.CoRIMProfile2025}} {
			r := runInProcess(append([]string{"refvalues", "--format", "corim", "--corim-profile", tc.flag}, args...)...)
			if r.code != 0 {
				t.Fatalf("--corim-profile %s: exit %d: %s", tc.flag, r.code, r.stderr)
			}
			c, err := refvalues.DecodeCoRIM([]byte(r.stdout))
			if err != nil {
				t.Fatal(err)
			}
			if c.Profile != tc.uri || (tc.flag == "2024") != (r.stdout == string(def)) || len(c.References) != 2*len(distinct) {
				t.Errorf("--corim-profile %s: profile %s, %d triples, same as the default: %v", tc.flag, c.Profile, len(c.References), r.stdout == string(def))
			}
			for _, ref := range c.References {
				if (tc.flag == "2025") != (ref.Instance == nil) || ref.Policy == nil || *ref.Policy != 0x30000 {
					t.Errorf("--corim-profile %s: instance %x, policy %v", tc.flag, ref.Instance, ref.Policy)
				}
			}
		}
	})
	t.Run("output file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "rv.cbor")
		r := runInProcess(append([]string{"refvalues", "--format", "corim", "-o", path}, args...)...)
		if r.code != 0 || r.stdout != "" {
			t.Fatalf("exit %d, stdout %q: %s", r.code, r.stdout, r.stderr)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, out(t, "corim")) {
			t.Error("-o file differs from standard output")
		}
	})
}

// TestRefvaluesGolden compares a small space on the conformance fixtures
// with golden files; the tool version is replaced by VERSION.
func TestRefvaluesGolden(t *testing.T) {
	args := []string{"--ovmf", rvIn("fx-ovmf_AmdSev_suffix.bin"), "--kernel", rvIn("empty"), "--initrd", rvIn("empty"),
		"--append", "console=ttyS0", "--vcpus", "1-2", "--vcpu-type", "EPYC-v4,EPYC-Milan,EPYC-Genoa", "--vmm-type", "all"}
	for _, tc := range []struct{ format, file string }{
		{"json", "cli.json"},
		{"rvps", "cli.rvps.json"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			r := runInProcess(append([]string{"refvalues", "--format", tc.format}, args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			got := strings.Replace(r.stdout, `"version": "`+version+`"`, `"version": "VERSION"`, 1)
			path := filepath.Join(rvGoldenDir, tc.file)
			if *updateRefvaluesGolden {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -run TestRefvaluesGolden -update-refvalues creates it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s:\n%s", tc.format, path, got)
			}
			if tc.format == "json" {
				if err := schemacheck.RefValues([]byte(r.stdout)); err != nil {
					t.Errorf("schema: %v", err)
				}
			}
		})
	}
}

func TestRefvaluesErrors(t *testing.T) {
	fw := rvIn("sid-OVMF.amdsev.fd")
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no vcpus", []string{"--ovmf", fw}, 2, "missing --vcpus"},
		{"no ovmf", []string{"--vcpus", "1"}, 2, "missing --ovmf"},
		{"format", []string{"--ovmf", fw, "--vcpus", "1", "--format", "yaml"}, 2, `--format "yaml"`},
		{"policy bit 17", []string{"--ovmf", fw, "--vcpus", "1", "--policy", "0x10000"}, 2, "bit 17"},
		{"policy number", []string{"--ovmf", fw, "--vcpus", "1", "--policy", "x"}, 2, "--policy"},
		{"corim profile", []string{"--ovmf", fw, "--vcpus", "1", "--format", "corim", "--corim-profile", "2023"}, 2, `--corim-profile: unknown CoRIM profile "2023" (want 2024 or 2025)`},
		{"corim profile of json", []string{"--ovmf", fw, "--vcpus", "1", "--corim-profile", "2025"}, 2, "--corim-profile applies to --format corim only"},
		{"vcpus range", []string{"--ovmf", fw, "--vcpus", "0-3"}, 2, "--vcpus"},
		{"vcpu type", []string{"--ovmf", fw, "--vcpus", "1", "--vcpu-type", "Pentium"}, 2, "Pentium"},
		{"mode", []string{"--ovmf", fw, "--vcpus", "1", "--mode", "sev"}, 2, "only snp"},
		{"argument", []string{"--ovmf", fw, "--vcpus", "1", "extra"}, 2, "unexpected argument"},
		{"missing file", []string{"--ovmf", rvIn("nope.fd"), "--vcpus", "1"}, 1, "nope.fd"},
		{"no metadata", []string{"--ovmf", rvIn("bookworm-OVMF_VARS.fd"), "--vcpus", "1"}, 1, "SEV metadata"},
		{"no kernel hashes", []string{"--ovmf", rvIn("bookworm-OVMF.fd"), "--kernel", rvIn("empty"), "--vcpus", "1"}, 1, "SNP_KERNEL_HASHES"},
		{"output dir", []string{"--ovmf", fw, "--vcpus", "1", "-o", filepath.Join(t.TempDir(), "no", "such", "rv.json")}, 1, "rv.json"},
		{"policy against the IGVM file's", []string{"--igvm", "../../igvm/testdata/conformance/01_snp_basic.igvm", "--policy", "0x20000"}, 2, "the IGVM file's GUEST_POLICY is 0x30000"},
		{"igvm vcpus below its VP contexts", []string{"--igvm", "../../igvm/testdata/conformance/04_snp_multi_vp_kvm_gpa.igvm", "--igvm-loader", "qemu", "--vcpus", "1-6", "--vcpu-type", "EPYC-Milan"}, 1, "VP context for vCPU 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runInProcess(append([]string{"refvalues"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) || r.stdout != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want exit %d and %q", r.code, r.stderr, r.stdout, tc.code, tc.msg)
			}
			if lines := strings.Count(strings.TrimSpace(r.stderr), "\n"); tc.code == 1 && lines != 0 {
				t.Errorf("error is %d lines", lines+1)
			}
		})
	}
	if r := runInProcess("refvalues", "--help"); r.code != 0 || !strings.Contains(r.stdout, "--format") {
		t.Errorf("--help: exit %d", r.code)
	}
}

// benchArgs are the inputs of the benchmarks: an AmdSev firmware with a kernel.
func benchArgs() []string {
	return []string{
		"--ovmf", rvIn("sid-OVMF.amdsev.fd"),
		"--kernel", rvIn("synth-kernel-12345.bin"),
		"--initrd", rvIn("synth-initrd-5M.img"),
		"--append", "console=ttyS0",
	}
}

// BenchmarkRefvalues computes 1..256 vCPUs x 16 vCPU types x 3 VMM types =
// 12,288 launch digests and encodes the JSON document.
func BenchmarkRefvalues(b *testing.B) {
	args := append([]string{"refvalues"}, benchArgs()...)
	args = append(args, "--vcpus", "1-256", "--vcpu-type", "all", "--vmm-type", "all", "--guest-features", "0x1")
	var n int
	for b.Loop() {
		var out bytes.Buffer
		if err := app.Run(args, &out, io.Discard); err != nil {
			b.Fatal(err)
		}
		n = bytes.Count(out.Bytes(), []byte(`{"vcpus":`))
	}
	if n != 12288 {
		b.Fatalf("%d measurements, want 12288", n)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/12288, "ns/digest")
}

// BenchmarkSingleMeasure is one measure of the same inputs (64 vCPUs), to
// compare 12,288 single measurements with one refvalues matrix.
func BenchmarkSingleMeasure(b *testing.B) {
	args := append([]string{"measure", "--mode", "snp"}, benchArgs()...)
	args = append(args, "--vcpus", "64", "--vcpu-type", "EPYC-Milan")
	for b.Loop() {
		if err := app.Run(args, io.Discard, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
