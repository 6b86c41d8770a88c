package measure_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/snpmeasure/snpmeasure/launchdigest"
	"github.com/snpmeasure/snpmeasure/measure"
	"github.com/snpmeasure/snpmeasure/ovmf"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

const inputs = "../testdata/inputs/"

func sig(t testing.TB, name string) uint64 {
	t.Helper()
	c, err := vmsa.LookupCPUType(name)
	if err != nil {
		t.Fatal(err)
	}
	return c.Signature()
}

// TestMeasureVectors measures conformance vectors (testdata/vectors.tsv and
// legacy-vectors.tsv, by id) through the library API.
func TestMeasureVectors(t *testing.T) {
	milan, v4 := sig(t, "EPYC-Milan"), sig(t, "EPYC-v4")
	kernel := measure.Config{Firmware: inputs + "sid-OVMF.amdsev.fd", Kernel: inputs + "synth-kernel-12345.bin",
		Initrd: inputs + "synth-initrd-5M.img", Cmdline: "console=ttyS0 root=/dev/vda"}
	with := func(c measure.Config, f func(*measure.Config)) measure.Config { f(&c); return c }
	for _, tc := range []struct {
		name string
		c    measure.Config
		want string
	}{
		{"S-snp-amdsev-kernel-EPYC-Milan", with(kernel, func(c *measure.Config) {
			c.Mode, c.VCPUs, c.Signature, c.GuestFeatures = measure.SNP, 4, milan, 1
		}), "b8cafa5bddc1d238c3e312427508fc1a6b5bc301f9d7839282f99b20a206db8f9ad44c8d461b56bcf256f05a325e1ab2"},
		{"LEGACY-10", measure.Config{Mode: measure.SNP, Firmware: inputs + "bookworm-OVMF.fd", VCPUs: 4, Signature: milan,
			GuestFeatures: 1, KVMInit: vmsa.KVMLegacy}, "89d03389c4d237f6cb40ebd9be6ff41af8ff6b151604576eaa742c4541a3c109f7db7e3f00162bec4b4f045bb3fb389a"},
		{"LEGACY-HW-4VCPU", measure.Config{Mode: measure.SVSM, Firmware: inputs + "fx-svsm_ovmf.fd", SVSM: inputs + "fx-svsm.bin",
			VarsSize: 540672, VCPUs: 4, Signature: v4, KVMInit: vmsa.KVMLegacy},
			"265aed64f2454253f6b19e49e17041ef052dedf964dd8d2740794a06aee3a720c475e3643a1b7e26b9efce7a107bf77f"},
		{"LEGACY-16 seves", measure.Config{Mode: measure.SEVES, Firmware: inputs + "bookworm-OVMF.fd", VCPUs: 1, Signature: v4,
			KVMInit: vmsa.KVMLegacy}, "4f3747ba180ed949656ed604d894d59ce850b7c0bbbbc812e695e6225306a59a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := measure.Measure(context.Background(), &tc.c, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(res.Digest); got != tc.want {
				t.Errorf("digest %s, want %s", got, tc.want)
			}
			if res.Launch != nil && res.Launch.Digest().String() != tc.want {
				t.Errorf("Launch.Digest() %s differs from Digest", res.Launch.Digest())
			}
		})
	}
}

// TestMeasureModes checks every mode against the lower-level launchdigest
// computation of the same inputs, and what Result carries.
func TestMeasureModes(t *testing.T) {
	fwPath := inputs + "sid-OVMF.amdsev.fd"
	fwBytes, err := os.ReadFile(fwPath)
	if err != nil {
		t.Fatal(err)
	}
	fw, err := ovmf.Parse(bytes.NewReader(fwBytes), int64(len(fwBytes)))
	if err != nil {
		t.Fatal(err)
	}
	pages, err := launchdigest.HashPages(bytes.NewReader(fwBytes), int64(len(fwBytes)), nil)
	if err != nil {
		t.Fatal(err)
	}
	ovmfHash, err := launchdigest.OVMFHash(fw, pages)
	if err != nil {
		t.Fatal(err)
	}
	genoa := sig(t, "EPYC-Genoa")
	base := measure.Config{Firmware: fwPath, VCPUs: 3, Signature: genoa, GuestFeatures: 0x21}
	for _, tc := range []struct {
		name  string
		mode  measure.Mode
		want  func() []byte
		vmsas int
	}{
		{"ovmf-hash", measure.OVMFHash, func() []byte { return ovmfHash[:] }, 0},
		{"snp", measure.SNP, func() []byte {
			l, err := launchdigest.SNP(fw, pages, launchdigest.SNPConfig{VCPUs: launchdigest.VCPUs{Count: 3, VMM: vmsa.QEMU, Signature: genoa, GuestFeatures: 0x21}})
			if err != nil {
				t.Fatal(err)
			}
			d := l.Digest()
			return d[:]
		}, 3},
		{"seves", measure.SEVES, func() []byte {
			d, err := launchdigest.SEVES(fw, bytes.NewReader(fwBytes), nil, launchdigest.VCPUs{Count: 3, VMM: vmsa.QEMU, Signature: genoa})
			if err != nil {
				t.Fatal(err)
			}
			return d[:]
		}, 3},
		{"sev", measure.SEV, func() []byte {
			d, err := launchdigest.SEV(fw, bytes.NewReader(fwBytes), nil)
			if err != nil {
				t.Fatal(err)
			}
			return d[:]
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			c.Mode = tc.mode
			res, err := measure.Measure(context.Background(), &c, &measure.Options{VMSAs: true, FileDigests: true})
			if err != nil {
				t.Fatal(err)
			}
			if want := tc.want(); !bytes.Equal(res.Digest, want) {
				t.Errorf("digest %x, want %x", res.Digest, want)
			}
			if len(res.VMSAs) != tc.vmsas {
				t.Errorf("%d VMSA pages, want %d", len(res.VMSAs), tc.vmsas)
			}
			if len(res.Files) != 1 || res.Files[0].Role != "firmware" || res.Files[0].SHA256 != measure.SHA256(sha256.Sum256(fwBytes)) ||
				res.Files[0].Size != int64(len(fwBytes)) {
				t.Errorf("files %+v", res.Files)
			}
		})
	}
}

func TestMeasureFiles(t *testing.T) {
	dir := t.TempDir()
	kernel := filepath.Join(dir, "vmlinuz")
	if err := os.WriteFile(kernel, []byte("kernel"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &measure.Config{Mode: measure.SNP, Firmware: inputs + "sid-OVMF.amdsev.fd", Kernel: kernel, Initrd: "/dev/null",
		VCPUs: 1, Signature: sig(t, "EPYC-Milan"), GuestFeatures: 1}
	var mu sync.Mutex
	final := map[string][2]int64{}
	res, err := measure.Measure(context.Background(), c, &measure.Options{FileDigests: true, Progress: func(f string, done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		if done > total {
			t.Errorf("%s: %d of %d", f, done, total)
		}
		final[f] = [2]int64{done, total}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Kernel.Initrd != launchdigest.EmptyHash {
		t.Errorf("/dev/null initrd hash %x, want the empty input's", res.Kernel.Initrd)
	}
	if got := final[c.Firmware]; got[0] != got[1] || got[1] != 4<<20 {
		t.Errorf("firmware progress ended at %v", got)
	}
	roles := []string{}
	for _, f := range res.Files {
		roles = append(roles, f.Role)
	}
	if !slices.Equal(roles, []string{"firmware", "kernel", "initrd"}) || res.Files[1].SHA256 != measure.SHA256(sha256.Sum256([]byte("kernel"))) || res.Files[1].Size != 6 {
		t.Errorf("files %+v", res.Files)
	}

	// A known initrd hash is not read again.
	h := measure.SHA256(sha256.Sum256([]byte("archive")))
	c2 := *c
	c2.Initrd, c2.InitrdHash = filepath.Join(dir, "not-there.img"), &h
	res2, err := measure.Measure(context.Background(), &c2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Kernel.Initrd != h || bytes.Equal(res2.Digest, res.Digest) {
		t.Errorf("InitrdHash not used: %x", res2.Kernel.Initrd)
	}
}

func TestMeasureErrors(t *testing.T) {
	dir := t.TempDir()
	milan := sig(t, "EPYC-Milan")
	ok := measure.Config{Mode: measure.SNP, Firmware: inputs + "sid-OVMF.amdsev.fd", VCPUs: 1, Signature: milan, GuestFeatures: 1}
	with := func(f func(*measure.Config)) measure.Config { c := ok; f(&c); return c }
	for _, tc := range []struct {
		name   string
		c      measure.Config
		config bool   // a *ConfigError
		path   string // else a *FileError for this path
	}{
		{"unknown mode", with(func(c *measure.Config) { c.Mode = "snp2" }), true, ""},
		{"no firmware", with(func(c *measure.Config) { c.Firmware = "" }), true, ""},
		{"no vCPUs", with(func(c *measure.Config) { c.VCPUs = 0 }), true, ""},
		{"too many vCPUs", with(func(c *measure.Config) { c.VCPUs = measure.MaxVCPUs + 1 }), true, ""},
		{"initrd without kernel", with(func(c *measure.Config) { c.Initrd = "x" }), true, ""},
		{"bad UTF-8", with(func(c *measure.Config) { c.Kernel, c.Cmdline = "k", "bad\xff" }), true, ""},
		{"legacy on ec2", with(func(c *measure.Config) { c.VMM, c.KVMInit = vmsa.EC2, vmsa.KVMLegacy }), true, ""},
		{"ovmf hash with seves", with(func(c *measure.Config) { c.Mode, c.OVMFHash = measure.SEVES, &launchdigest.Digest{} }), true, ""},
		{"missing firmware", with(func(c *measure.Config) { c.Firmware = filepath.Join(dir, "nope.fd") }), false, filepath.Join(dir, "nope.fd")},
		{"firmware is a directory", with(func(c *measure.Config) { c.Firmware = dir }), false, dir},
		{"firmware is /dev/zero", with(func(c *measure.Config) { c.Firmware = "/dev/zero" }), false, "/dev/zero"},
		{"kernel is /dev/zero", with(func(c *measure.Config) { c.Kernel = "/dev/zero" }), false, "/dev/zero"},
		{"firmware is empty", with(func(c *measure.Config) { c.Firmware = "/dev/null" }), false, "/dev/null"},
		{"no metadata", with(func(c *measure.Config) { c.Firmware = inputs + "synth-zero-8k.fd" }), false, inputs + "synth-zero-8k.fd"},
		{"no kernel hashes", with(func(c *measure.Config) { c.Firmware, c.Kernel = inputs+"bookworm-OVMF.fd", inputs+"empty" }), false, inputs + "bookworm-OVMF.fd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := measure.Measure(context.Background(), &tc.c, nil)
			var ce *measure.ConfigError
			var fe *measure.FileError
			switch {
			case tc.config && !errors.As(err, &ce):
				t.Errorf("error %v, want a *ConfigError", err)
			case !tc.config && (!errors.As(err, &fe) || fe.Path != tc.path):
				t.Errorf("error %v, want a *FileError for %s", err, tc.path)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := measure.Measure(ctx, &ok, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestEnumerateMatchesMeasure checks every point of a space against a
// measurement of its own, and the documented order.
func TestEnumerateMatchesMeasure(t *testing.T) {
	base := &measure.Config{Mode: measure.SNP, Firmware: inputs + "sid-OVMF.amdsev.fd", Kernel: inputs + "synth-kernel-12345.bin"}
	in, err := measure.Open(context.Background(), base, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &measure.Space{VCPUs: []int{1, 3}, CPUs: []measure.CPU{{Name: "EPYC-Genoa", Signature: sig(t, "EPYC-Genoa")}, {Signature: 0xa00f11}},
		VMMs: []vmsa.VMM{vmsa.QEMU, vmsa.GCE}, GuestFeatures: []uint64{1, 0x21}, KVMInits: vmsa.KVMInits}
	var points []measure.Point
	if err := in.Enumerate(context.Background(), s, func(p measure.Point) bool { points = append(points, p); return true }); err != nil {
		t.Fatal(err)
	}
	if len(points) != s.Size() || s.Size() != 2*2*2*(2+1) {
		t.Fatalf("%d points, Size %d", len(points), s.Size())
	}
	for i, p := range points {
		res, err := measure.Measure(context.Background(), p.Config(base), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(res.Digest, p.Measurement[:]) {
			t.Errorf("point %d %+v: enumerated %s, measured %x", i, p, p.Measurement, res.Digest)
		}
		if i > 0 {
			q := points[i-1]
			if q.VMM == p.VMM && q.KVMInit == p.KVMInit && q.CPU == p.CPU && q.GuestFeatures == p.GuestFeatures && q.VCPUs >= p.VCPUs {
				t.Errorf("points %d and %d out of order", i-1, i)
			}
		}
		if p.VMM == vmsa.GCE && p.KVMInit != vmsa.KVMInit2 {
			t.Errorf("legacy KVM with gce: %+v", p)
		}
	}
	stop := 0
	in.Enumerate(context.Background(), s, func(measure.Point) bool { stop++; return stop < 5 })
	if stop != 5 {
		t.Errorf("Enumerate went on after yield returned false: %d", stop)
	}
	if err := in.Enumerate(context.Background(), &measure.Space{VCPUs: []int{1}}, func(measure.Point) bool { return true }); err == nil {
		t.Error("a space without types accepted")
	}
}

func TestParseCounts(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		err  bool
	}{
		{"1-4,8", []int{1, 2, 3, 4, 8}, false},
		{"8, 1-2 ,2", []int{1, 2, 8}, false},
		{"4096", []int{4096}, false},
		{"1,,2", nil, true},
		{"", nil, true},
		{"0", nil, true},
		{"4097", nil, true},
		{"99999999999999999999", nil, true},
		{"3-1", nil, true},
		{"-3", nil, true},
		{"1-", nil, true},
		{"a", nil, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := measure.ParseCounts(tc.in)
			if (err != nil) != tc.err || !slices.Equal(got, tc.want) {
				t.Errorf("ParseCounts(%q) = %v, %v", tc.in, got, err)
			}
			if err == nil && measure.FormatCounts(got) == "" {
				t.Error("FormatCounts empty")
			}
		})
	}
	if got := measure.FormatCounts([]int{1, 2, 3, 5, 7, 8}); got != "1-3,5,7-8" {
		t.Errorf("FormatCounts = %q", got)
	}
	// A count beyond an int says the limit, not "not a number".
	if _, err := measure.ParseCounts("99999999999999999999"); err == nil || !bytes.Contains([]byte(err.Error()), []byte("4096")) {
		t.Errorf("huge count: %v", err)
	}
}
