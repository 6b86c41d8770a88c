package qemu_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/snpmeasure/snpmeasure/internal/qemutest"
	"github.com/snpmeasure/snpmeasure/qemu"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

// Which claims have a real binary behind them: CI runs Debian's QEMU 10.0.2
// (bookworm-backports) and 11.1.3 (sid). A command line for release v
// claims to run on v and later, so a binary of release B checks the
// command lines of every release up to B: the 10.0 binary checks the 9.1,
// 9.2 and 10.0 claims, the 11.1 binary every claim up to 11.1. Only the 10.0
// and 11.1 claims are checked on their own release; 9.1, 9.2, 10.1, 10.2 and
// 11.0 rest on their sources (see cpu.go, features.go, launch.go) and on
// running on the later binaries. IGVM command lines have no binary behind
// them: Debian builds QEMU without IGVM support.

// TestRealQEMUFacts compares the model's lists with what each binary
// reports, so the tables cannot drift from the releases they describe.
func TestRealQEMUFacts(t *testing.T) {
	for _, b := range qemutest.Binaries(t) {
		t.Run(b.Line, func(t *testing.T) {
			if !b.Version.AtLeast(qemu.Version{Major: 9, Minor: 1}) {
				t.Skipf("%s predates sev-snp-guest", b)
			}
			v := b.Version
			models := b.CPUModels(t)
			slices.Sort(models)
			if b.Known() {
				if want := qemu.CPUModels(v); !slices.Equal(models, want) {
					t.Errorf("%s -cpu help EPYC models:\n%q\nthe model claims:\n%q", b, models, want)
				}
			} else {
				for _, m := range qemu.CPUModels(qemu.Newest()) {
					if !slices.Contains(models, m) {
						t.Errorf("%s lacks -cpu %s", b, m)
					}
				}
			}
			// -object sev-snp-guest,help lists the class properties; cbitpos
			// and reduced-phys-bits are per instance, checked by creating
			// objects (TestRealQEMUObjects).
			props := append(b.Properties(t, "-object", "sev-snp-guest"), "cbitpos", "reduced-phys-bits")
			slices.Sort(props)
			if want := qemu.SNPGuestProperties(v); b.Known() && !slices.Equal(props, want) {
				t.Errorf("%s sev-snp-guest properties:\n%q\nthe model claims:\n%q", b, props, want)
			}
			objects := b.ObjectTypes(t)
			if !slices.Contains(objects, "sev-snp-guest") || !slices.Contains(objects, "memory-backend-memfd") {
				t.Errorf("%s object types: %q", b, objects)
			}
			if slices.Contains(objects, "igvm-cfg") && !v.AtLeast(qemu.Version{Major: 10, Minor: 1}) {
				t.Errorf("%s has igvm-cfg, which the model says came in 10.1", b)
			}
			if !slices.Contains(objects, "igvm-cfg") {
				t.Logf("%s is built without IGVM support: no IGVM command line can be checked on it", b)
			}
			machine := b.Properties(t, "-machine", "q35")
			for _, p := range []string{"confidential-guest-support", "memory-backend"} {
				if !slices.Contains(machine, p) {
					t.Errorf("%s: -machine q35 has no %s", b, p)
				}
			}
		})
	}
}

// TestRealQEMUObjects has QEMU create sev-snp-guest objects property by
// property, and refuse what the model refuses.
func TestRealQEMUObjects(t *testing.T) {
	for _, b := range qemutest.Binaries(t) {
		if !b.Version.AtLeast(qemu.Version{Major: 9, Minor: 1}) {
			continue
		}
		t.Run(b.Line, func(t *testing.T) {
			start := func(obj string) error { return b.Start("-machine", "none", "-accel", "tcg", "-object", obj) }
			base := "sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1"
			for _, obj := range []string{
				base,
				base + ",policy=0x30000,kernel-hashes=on,author-key-enabled=on,vcek-disabled=on,sev-device=/dev/sev",
				base + ",host-data=" + strings.Repeat("A", 43) + "=",
				base + ",guest-visible-workarounds=" + strings.Repeat("A", 22) + "==",
				base + ",id-block=" + strings.Repeat("A", 128) + ",id-auth=" + strings.Repeat("A", 5460) + "AA==",
			} {
				if err := start(obj); err != nil {
					t.Errorf("%s refuses -object %.120s: %v", b, obj, err)
				}
			}
			for obj, why := range map[string]string{
				base + ",debug-swap=on":  "Invalid parameter 'debug-swap'",
				base + ",secure-tsc=on":  "Invalid parameter 'secure-tsc'",
				"sev-snp-guest,id=sev0":  "'reduced-phys-bits' is missing", // so it is always printed
				base + ",host-data=AAAA": "not equal to 32",
			} {
				if err := start(obj); err == nil || !strings.Contains(err.Error(), why) {
					t.Errorf("%s -object %s: %v, want %q", b, obj, err, why)
				}
			}
		})
	}
}

// TestRealQEMULimits checks the bounds the model puts on memory, vCPUs and
// -cpu models against real QEMU: the largest memory is accepted and one
// MiB more refused; q35 refuses 4097 vCPUs; a model newer than the binary
// is unknown to it.
func TestRealQEMULimits(t *testing.T) {
	fw := "../testdata/inputs/sid-OVMF.amdsev.fd"
	for _, b := range qemutest.Binaries(t) {
		if !b.Version.AtLeast(qemu.Version{Major: 9, Minor: 1}) {
			continue
		}
		t.Run(b.Line, func(t *testing.T) {
			l := &qemu.Launch{Firmware: fw, VCPUs: 1, CPUModel: "EPYC-Genoa", GuestFeatures: qemu.FeatureSNPActive,
				Policy: 0x30000, MemoryMiB: qemu.MaxMemoryMiB}
			cl, err := l.Build(qemu.Version{Major: 10, Minor: 0})
			if err != nil {
				t.Fatal(err)
			}
			b.CheckAccepts(t, cl.Args)
			over := fmt.Sprintf("%dM", qemu.MaxMemoryMiB+1)
			err = b.Start("-accel", "tcg", "-machine", "q35,memory-backend=ram1", "-object",
				"memory-backend-memfd,id=ram1,size="+over+",share=true,prealloc=false", "-m", over, "-cpu", "EPYC-Genoa", "-bios", fw)
			if err == nil || !strings.Contains(err.Error(), "phys-bits too low (40)") {
				t.Errorf("%s with -m %s: %v, want phys-bits too low", b, over, err)
			}
			if _, err := qemu.ParseMemory(over); err == nil {
				t.Errorf("ParseMemory(%s) accepted", over)
			}
			if err := b.Start("-accel", "tcg", "-machine", "q35", "-smp", "4097", "-bios", fw); err == nil || !strings.Contains(err.Error(), "is 4096") {
				t.Errorf("%s -smp 4097: %v, want q35's limit of 4096", b, err)
			}
			models := b.CPUModels(t)
			for _, c := range vmsa.CPUTypes {
				since, _ := qemu.CPUModelSince(c.Name)
				if b.Version.AtLeast(since) {
					continue
				}
				if slices.Contains(models, c.Name) {
					t.Errorf("%s has %s, which the model says came in %s", b, c.Name, since)
				}
				if err := b.Start("-accel", "tcg", "-machine", "q35", "-cpu", c.Name, "-bios", fw); err == nil {
					t.Errorf("%s accepts -cpu %s", b, c.Name)
				}
			}
		})
	}
}
