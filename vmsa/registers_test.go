package vmsa

import (
	"errors"
	"testing"
)

// The reset state QEMU gives a vCPU, rebuilt as KVM does, is the VMSA that
// sev-snp-measure and Build compute for QEMU: two derivations of one page.
func TestBuildKVMResetStateIsBuild(t *testing.T) {
	for _, sig := range []uint64{0x800f12, 0xa00f11, 0xa10f10} {
		for _, feats := range []uint64{1, 0x21} {
			got, err := BuildKVM(QEMUResetRegisters(sig), feats)
			if err != nil {
				t.Fatal(err)
			}
			want := Build(Params{VMM: QEMU, EIP: ResetEIP, SEVFeatures: feats, Signature: sig})
			if *got != *want {
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("sig %#x features %#x: byte %#x is %#x, want %#x", sig, feats, i, got[i], want[i])
					}
				}
			}
		}
	}
}

func TestRegistersRoundTrip(t *testing.T) {
	p := Build(Params{VMM: QEMU, EIP: 0x80b004, SEVFeatures: 1, Signature: 0xa00f11})
	r := p.Registers()
	if r.CS.Base != 0x800000 || r.RIP != 0xb004 || r.RDX != 0xa00f11 || r.EFER != 0x1000 || r.MXCSR != 0x1f80 || r.X87FCW != 0x37f {
		t.Errorf("registers %+v", r)
	}
	if err := p.CheckQEMU(); err != nil {
		t.Errorf("a VMSA of register fields only: %v", err)
	}
	p[OffCPL] = 3
	if err := p.CheckQEMU(); !errors.Is(err, ErrUnsupportedVMSA) {
		t.Errorf("CPL set: %v", err)
	}
}

func TestBuildKVMRules(t *testing.T) {
	base := func() Registers {
		flat := Segment{Selector: 0x10, Attrib: 0xc93, Limit: 0xffffffff}
		return Registers{ES: flat, SS: flat, DS: flat, FS: flat, GS: flat,
			CS:   Segment{Selector: 0x8, Attrib: 0xc9b, Limit: 0xffffffff},
			GDTR: Segment{Base: 0x1000, Limit: 0x1f}, CR0: 0x31, CR4: 0x20, EFER: 0x1000, XCR0: 1,
			PAT: 0x0007040600070406, RIP: 0xffaea000, RFLAGS: 2}
	}
	tests := []struct {
		name  string
		edit  func(*Registers)
		check func(*Page) bool
		fails bool
	}{
		{"CR0 gains ET, loses CD/NW", func(r *Registers) { r.CR0 = 0x60000001 }, func(p *Page) bool { return p.Uint64(OffCR0) == 0x11 }, false},
		{"CR0 cut to 32 bits", func(r *Registers) { r.CR0 = 1<<40 | 0x31 }, func(p *Page) bool { return p.Uint64(OffCR0) == 0x31 }, false},
		{"CR4 gains MCE", func(r *Registers) {}, func(p *Page) bool { return p.Uint64(OffCR4) == 0x60 }, false},
		{"EFER gains SVME", func(r *Registers) { r.EFER = 0 }, func(p *Page) bool { return p.Uint64(OffEFER) == 0x1000 }, false},
		{"long mode gains LMA", func(r *Registers) { r.EFER = 0x100; r.CR0 = 0x80000031 }, func(p *Page) bool { return p.Uint64(OffEFER) == 0x1500 }, false},
		{"RFLAGS fixed bit", func(r *Registers) { r.RFLAGS = 0 }, func(p *Page) bool { return p.Uint64(OffRFLAGS) == 2 }, false},
		{"TR base from LDTR", func(r *Registers) {
			r.TR = Segment{Attrib: 0x8b, Base: 0x5000}
			r.LDTR = Segment{Attrib: 0x82, Base: 0x7000}
		},
			func(p *Page) bool { return p.Segment(OffTR).Base == 0x7000 && p.Segment(OffLDTR).Base == 0x7000 }, false},
		{"attributes keep 12 bits", func(r *Registers) { r.DS.Attrib = 0xfc93 }, func(p *Page) bool { return p.Segment(OffDS).Attrib == 0xc93 }, false},
		{"GDTR limit 16 bits, no selector", func(r *Registers) { r.GDTR = Segment{Selector: 8, Attrib: 0x82, Limit: 0x1ffff, Base: 9} },
			func(p *Page) bool { return p.Segment(OffGDTR) == Segment{Limit: 0xffff, Base: 9} }, false},
		{"CPL is SS.DPL", func(r *Registers) { r.SS.Attrib = 0xcf3 }, func(p *Page) bool { return p[OffCPL] == 3 }, false},
		{"CR3 kept", func(r *Registers) { r.CR3 = 0x9000 }, func(p *Page) bool { return p.Uint64(OffCR3) == 0x9000 }, false},
		{"DR7 beyond bit 10", func(r *Registers) { r.DR7 = 0x401 }, nil, true},
		{"XCR0 without x87", func(r *Registers) { r.XCR0 = 0 }, nil, true},
		{"bad PAT", func(r *Registers) { r.PAT = 2 }, nil, true},
		{"long mode without PAE", func(r *Registers) { r.EFER = 0x100; r.CR0 = 0x80000031; r.CR4 = 0 }, nil, true},
		{"CS.L outside long mode", func(r *Registers) { r.CS.Attrib = 0xa9b }, nil, true},
		{"CR4.SMAP depends on the model", func(r *Registers) { r.CR4 |= 1 << 21 }, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := base()
			tc.edit(&r)
			p, err := BuildKVM(r, 0x29)
			if tc.fails {
				if !errors.Is(err, ErrUnsupportedVMSA) {
					t.Fatalf("got %v, want ErrUnsupportedVMSA", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(p) {
				t.Error("rule not applied")
			}
			if p.Uint64(OffSEVFeatures) != 0x29 {
				t.Error("SEV_FEATURES")
			}
		})
	}
}
