package launchdigest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/snpmeasure/snpmeasure/igvm"
	"github.com/snpmeasure/snpmeasure/internal/igvmtest"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

const (
	maskSNP    = 0x1
	maskNative = 0x2
	testSig    = 0xa00f11
)

// wantUpdate is one expected SNP_LAUNCH_UPDATE, written out by hand.
type wantUpdate struct {
	t   PageType
	gpa uint64
	c   []byte // page contents for NORMAL and VMSA pages
}

func fill(b byte) []byte { return bytes.Repeat([]byte{b}, PageSize) }

func zeros(n int, gpa uint64) []wantUpdate {
	var u []wantUpdate
	for i := range n {
		u = append(u, wantUpdate{PageNormal, gpa + uint64(i)*PageSize, make([]byte, PageSize)})
	}
	return u
}

func typed(t PageType, n int, gpa uint64) []wantUpdate {
	var u []wantUpdate
	for i := range n {
		u = append(u, wantUpdate{t, gpa + uint64(i)*PageSize, nil})
	}
	return u
}

func resetVMSA(features uint64) []byte {
	p := vmsa.Build(vmsa.Params{VMM: vmsa.QEMU, EIP: vmsa.ResetEIP, SEVFeatures: features, Signature: testSig})
	return p[:]
}

// fileVMSA is a VMSA as a file carries it: flat 32-bit protected mode, with
// CR0.ET, CR4.MCE, EFER.SVME and RFLAGS bit 1 clear and TR's base not LDTR's,
// so that KVM's rebuild changes each of them.
func fileVMSA(features uint64) []byte {
	p := make([]byte, PageSize)
	seg := func(off int, sel, attr uint16, limit uint32, base uint64) {
		binary.LittleEndian.PutUint16(p[off:], sel)
		binary.LittleEndian.PutUint16(p[off+2:], attr)
		binary.LittleEndian.PutUint32(p[off+4:], limit)
		binary.LittleEndian.PutUint64(p[off+8:], base)
	}
	for _, off := range []int{vmsa.OffES, vmsa.OffSS, vmsa.OffDS, vmsa.OffFS, vmsa.OffGS} {
		seg(off, 0x10, 0xc93, 0xffffffff, 0)
	}
	seg(vmsa.OffCS, 0x8, 0xc9b, 0xffffffff, 0)
	seg(vmsa.OffTR, 0, 0x8b, 0xffff, 0x5000)
	seg(vmsa.OffGDTR, 0, 0, 0x17, 0x9000)
	put := func(off int, v uint64) { binary.LittleEndian.PutUint64(p[off:], v) }
	put(vmsa.OffCR0, 0x1)
	put(vmsa.OffCR4, 0x20)
	put(vmsa.OffRIP, 0x100000)
	put(vmsa.OffRSP, 0x8000)
	put(vmsa.OffRSI, 0x77)
	put(vmsa.OffGPAT, 0x0007040600070406)
	put(vmsa.OffXCR0, 1)
	put(vmsa.OffSEVFeatures, features)
	return p
}

// rebuiltVMSA is fileVMSA as KVM measures it, edited by hand: CR0 gains ET,
// CR4 the host's MCE, EFER SVME, RFLAGS bit 1; TR takes LDTR's base (0).
func rebuiltVMSA(features uint64) []byte {
	p := fileVMSA(features)
	put := func(off int, v uint64) { binary.LittleEndian.PutUint64(p[off:], v) }
	put(vmsa.OffCR0, 0x11)
	put(vmsa.OffCR4, 0x60)
	put(vmsa.OffEFER, 0x1000)
	put(vmsa.OffRFLAGS, 0x2)
	put(vmsa.OffTR+8, 0)
	return p
}

func wantDigest(us []wantUpdate) Digest {
	var ld Digest
	for _, u := range us {
		var c *Digest
		if u.c != nil {
			d := PageDigest(u.c)
			c = &d
		}
		ld = Extend(ld, u.t, u.gpa, c)
	}
	return ld
}

func vmsas(pages ...[]byte) []wantUpdate {
	var u []wantUpdate
	for _, p := range pages {
		u = append(u, wantUpdate{PageVMSA, KVMVMSAGPA, p})
	}
	return u
}

func cat(parts ...[]wantUpdate) []wantUpdate {
	var u []wantUpdate
	for _, p := range parts {
		u = append(u, p...)
	}
	return u
}

func snpBuilder() *igvmtest.Builder {
	b := &igvmtest.Builder{}
	b.Platform(maskSNP, igvm.PlatformSEVSNP)
	b.Platform(maskNative, igvm.PlatformNative)
	b.Policy(maskSNP, 0x30000)
	return b
}

func openBytes(t *testing.T, data []byte) *igvm.File {
	t.Helper()
	f, err := igvm.Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// One table entry per rule of spec §4, each on a file written for it, with
// the expected updates written out from the rule.
func TestIGVMQEMURules(t *testing.T) {
	type tc struct {
		name  string
		build func(b *igvmtest.Builder)
		opts  QEMUOptions
		want  []wantUpdate
	}
	const G = 0x100000
	tests := []tc{
		{"data-less pages are NORMAL zeros, never ZERO", func(b *igvmtest.Builder) {
			for i := range 3 {
				b.Page(G+uint64(i)*PageSize, maskSNP, 0, igvm.DataNormal, nil)
			}
		}, QEMUOptions{VCPUs: 1, Signature: testSig}, cat(zeros(3, G), vmsas(resetVMSA(1)))},
		{"page types; the shared flag is ignored; CPUID data is not measured", func(b *igvmtest.Builder) {
			b.Page(G, maskSNP, igvm.FlagUnmeasured, igvm.DataNormal, nil)
			b.Page(G+0x1000, maskSNP, igvm.FlagUnmeasured, igvm.DataNormal, fill(1))
			b.Page(G+0x2000, maskSNP, igvm.FlagShared, igvm.DataNormal, fill(2))
			b.Page(G+0x3000, maskSNP, 0, igvm.DataSecrets, nil)
			b.Page(G+0x4000, maskSNP, 0, igvm.DataCPUID, fill(3))
			b.Page(G+0x5000, maskSNP, 0, igvm.DataCPUIDXF, nil)
		}, QEMUOptions{VCPUs: 1, Signature: testSig}, cat(typed(PageUnmeasured, 2, G), []wantUpdate{{PageNormal, G + 0x2000, fill(2)}},
			typed(PageSecrets, 1, G+0x3000), typed(PageCPUID, 2, G+0x4000), vmsas(resetVMSA(1)))},
		{"a 2 MiB page with data is its 4 KiB then zeros; without data 512 zero pages", func(b *igvmtest.Builder) {
			b.Page(0x200000, maskSNP, igvm.FlagLargePage, igvm.DataNormal, fill(5))
			b.Page(0x400000, maskSNP, igvm.FlagLargePage, igvm.DataNormal, nil)
			b.Page(0x600000, maskSNP, igvm.FlagLargePage|igvm.FlagUnmeasured, igvm.DataNormal, nil)
		}, QEMUOptions{VCPUs: 1, Signature: testSig}, cat([]wantUpdate{{PageNormal, 0x200000, fill(5)}}, zeros(511, 0x201000), zeros(512, 0x400000),
			typed(PageUnmeasured, 512, 0x600000), vmsas(resetVMSA(1)))},
		{"a parameter insert submits its whole area at once, ahead of the pending region", func(b *igvmtest.Builder) {
			b.Add(igvm.ParameterArea{NumberOfBytes: 3 * PageSize, Index: 0}, fill(9)) // initial data ignored
			b.Add(igvm.Parameter{Usage: igvm.TypeVPCount, Index: 0}, nil)
			b.Page(G, maskSNP, 0, igvm.DataNormal, fill(1))
			b.Page(G+0x1000, maskSNP, 0, igvm.DataNormal, fill(2))
			b.Add(igvm.ParameterInsert{GPA: 0x7000, CompatibilityMask: maskSNP, Index: 0}, nil)
			b.Page(G+0x2000, maskSNP, 0, igvm.DataNormal, fill(3))
		}, QEMUOptions{VCPUs: 1, Signature: testSig}, cat(typed(PageUnmeasured, 3, 0x7000),
			[]wantUpdate{{PageNormal, G, fill(1)}, {PageNormal, G + 0x1000, fill(2)}, {PageNormal, G + 0x2000, fill(3)}},
			vmsas(resetVMSA(1)))},
		{"pages of another mask are skipped", func(b *igvmtest.Builder) {
			b.Page(G, maskSNP, 0, igvm.DataNormal, fill(1))
			b.Page(G+0x1000, maskNative, 0, igvm.DataNormal, fill(7))
			b.Page(G+0x1000, maskSNP|maskNative, 0, igvm.DataNormal, fill(8))
		}, QEMUOptions{VCPUs: 1, Signature: testSig}, cat([]wantUpdate{{PageNormal, G, fill(1)}, {PageNormal, G + 0x1000, fill(8)}}, vmsas(resetVMSA(1)))},
		{"VMSAs are rebuilt from register state, measured last, one per vCPU", func(b *igvmtest.Builder) {
			b.Page(G, maskSNP, 0, igvm.DataNormal, fill(1))
			b.VMSA(KVMVMSAGPA, maskSNP, 0, fileVMSA(0x21))
			b.Page(G+0x1000, maskSNP, 0, igvm.DataNormal, nil)
		}, QEMUOptions{VCPUs: 3, Signature: testSig}, cat([]wantUpdate{{PageNormal, G, fill(1)}}, zeros(1, G+0x1000),
			vmsas(rebuiltVMSA(0x21), resetVMSA(0x21), resetVMSA(0x21)))},
		{"a VP context for a later vCPU; VP 0 keeps the reset state and SNP_ACTIVE alone", func(b *igvmtest.Builder) {
			b.VMSA(KVMVMSAGPA, maskSNP, 1, fileVMSA(0x21))
		}, QEMUOptions{VCPUs: 2, Signature: testSig}, vmsas(resetVMSA(1), rebuiltVMSA(1))},
		{"the last VP context of a vCPU wins", func(b *igvmtest.Builder) {
			b.VMSA(KVMVMSAGPA, maskSNP, 0, resetVMSA(1))
			b.VMSA(KVMVMSAGPA, maskSNP, 0, fileVMSA(1))
		}, QEMUOptions{VCPUs: 1}, vmsas(rebuiltVMSA(1))},
		{"VP contexts of another mask are skipped", func(b *igvmtest.Builder) {
			b.Page(G, maskSNP, 0, igvm.DataNormal, nil)
			b.Add(igvm.VPContext{CompatibilityMask: maskNative}, make([]byte, PageSize))
		}, QEMUOptions{VCPUs: 1, Signature: testSig}, cat(zeros(1, G), vmsas(resetVMSA(1)))},
		{"parameters without a QEMU 10.2 handler, ignored on request", func(b *igvmtest.Builder) {
			b.Add(igvm.ParameterArea{NumberOfBytes: PageSize, Index: 3}, nil)
			b.Add(igvm.Parameter{Usage: igvm.TypeMADT, Index: 3}, nil)
			b.Add(igvm.ParameterInsert{GPA: 0x3000, CompatibilityMask: maskSNP, Index: 3}, nil)
		}, QEMUOptions{VCPUs: 1, Signature: testSig, IgnoreUnhandledParameters: true}, cat(typed(PageUnmeasured, 1, 0x3000), vmsas(resetVMSA(1)))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := snpBuilder()
			tc.build(b)
			f := openBytes(t, b.Bytes())
			l, err := IGVMQEMU(f, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []Update
			for u := range l.Updates() {
				got = append(got, u)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d updates, want %d", len(got), len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				var wc Digest
				if w.c != nil {
					wc = PageDigest(w.c)
				}
				if g.Type != w.t || g.GPA != w.gpa || g.Contents != wc {
					t.Fatalf("update %d (%s): %s at %#x, want %s at %#x (contents equal: %v)", i, g.Source, g.Type, g.GPA, w.t, w.gpa, g.Contents == wc)
				}
			}
			if d := l.Digest(); d != wantDigest(tc.want) {
				t.Fatalf("digest %s, want %s", d, wantDigest(tc.want))
			}
		})
	}
}

// Files QEMU 10.2 or KVM refuse to launch.
func TestIGVMQEMURefuses(t *testing.T) {
	tests := []struct {
		name  string
		build func(b *igvmtest.Builder)
		vcpus int
	}{
		{"a directive without a handler", func(b *igvmtest.Builder) {
			b.Add(igvm.ParameterArea{NumberOfBytes: PageSize, Index: 0}, nil)
			b.Add(igvm.Parameter{Usage: igvm.TypeSRAT, Index: 0}, nil)
		}, 1},
		{"an ERROR_RANGE, whatever its mask", func(b *igvmtest.Builder) {
			b.Add(igvm.ErrorRange{GPA: 0x1000, CompatibilityMask: maskNative, SizeBytes: PageSize}, nil)
		}, 1},
		{"a VMSA away from KVM's GPA", func(b *igvmtest.Builder) { b.VMSA(0x1000, maskSNP, 0, fileVMSA(1)) }, 1},
		{"a VP context for a vCPU the guest lacks", func(b *igvmtest.Builder) { b.VMSA(KVMVMSAGPA, maskSNP, 2, fileVMSA(1)) }, 2},
		{"a VMSA field QEMU cannot load", func(b *igvmtest.Builder) {
			p := fileVMSA(1)
			p[vmsa.OffVirtualTOM] = 1
			b.VMSA(KVMVMSAGPA, maskSNP, 0, p)
		}, 1},
		{"SEV_FEATURES without SNP_ACTIVE", func(b *igvmtest.Builder) { b.VMSA(KVMVMSAGPA, maskSNP, 0, fileVMSA(0x20)) }, 1},
		{"two ID blocks", func(b *igvmtest.Builder) {
			b.Add(igvm.SNPIDBlock{CompatibilityMask: maskSNP}, nil)
			b.Add(igvm.SNPIDBlock{CompatibilityMask: maskSNP}, nil)
		}, 1},
		{"a DR7 KVM refuses", func(b *igvmtest.Builder) {
			p := fileVMSA(1)
			p[vmsa.OffDR7] = 0xff
			b.VMSA(KVMVMSAGPA, maskSNP, 0, p)
		}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := snpBuilder()
			b.Page(0x1000, maskSNP, 0, igvm.DataNormal, nil)
			tc.build(b)
			_, err := IGVMQEMU(openBytes(t, b.Bytes()), QEMUOptions{VCPUs: tc.vcpus})
			var de *DirectiveError
			if !errors.As(err, &de) && !errors.Is(err, vmsa.ErrUnsupportedVMSA) {
				t.Fatalf("got %v, want a refusal naming the directive", err)
			}
			if !errors.Is(err, ErrQEMURefuses) && !errors.Is(err, vmsa.ErrUnsupportedVMSA) {
				t.Fatalf("got %v", err)
			}
		})
	}
	b := &igvmtest.Builder{}
	b.Platform(maskNative, igvm.PlatformNative)
	b.Page(0x1000, maskNative, 0, igvm.DataNormal, nil)
	if _, err := IGVMQEMU(openBytes(t, b.Bytes()), QEMUOptions{VCPUs: 1}); !errors.Is(err, ErrIGVMPlatform) {
		t.Fatalf("no SNP platform: %v", err)
	}
}

// A file laid out as igvmbuilder lays it out without --sort, the VMSA ahead
// of the CPUID and secrets pages: --check-kvm passes, but QEMU measures the
// VMSA last, and the comparison names the VMSA directive.
func TestIGVMLoadersPartOnUnsortedFile(t *testing.T) {
	vm := rebuiltVMSA(1)
	vm[vmsa.OffCR0] = 0x31 // as --check-kvm wants it
	b := snpBuilder()
	b.Page(G2, maskSNP, 0, igvm.DataNormal, fill(1))
	b.VMSA(KVMVMSAGPA, maskSNP, 0, vm)
	b.Page(G2+0x1000, maskSNP, 0, igvm.DataCPUID, nil)
	b.Page(G2+0x2000, maskSNP, 0, igvm.DataSecrets, nil)
	f := openBytes(t, b.Bytes())
	if _, err := IGVMMeasure(f, IGVMMeasureOptions{CheckKVM: true}); err != nil {
		t.Fatalf("--check-kvm: %v", err)
	}
	div, err := CompareIGVMLoaders(context.Background(), f, IGVMMeasureOptions{}, QEMUOptions{VCPUs: 1})
	if err != nil {
		t.Fatal(err)
	}
	if div == nil || div.Index != 1 || div.IGVMMeasure.Source != "directive[1] VP_CONTEXT" || div.QEMU.Source != "directive[2] PAGE_DATA" {
		t.Fatalf("divergence %v", div)
	}
	// Sorted, the two agree.
	b = snpBuilder()
	b.Page(G2, maskSNP, 0, igvm.DataNormal, fill(1))
	b.Page(G2+0x1000, maskSNP, 0, igvm.DataCPUID, nil)
	b.Page(G2+0x2000, maskSNP, 0, igvm.DataSecrets, nil)
	b.VMSA(KVMVMSAGPA, maskSNP, 0, vm)
	if div, err := CompareIGVMLoaders(context.Background(), openBytes(t, b.Bytes()), IGVMMeasureOptions{}, QEMUOptions{VCPUs: 1}); err != nil || div != nil {
		t.Fatalf("sorted: %v %v", div, err)
	}
}

const G2 = 0x800000
