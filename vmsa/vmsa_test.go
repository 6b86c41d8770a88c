package vmsa

import (
	"encoding/binary"
	"testing"
)

func TestSignatures(t *testing.T) {
	want := map[string]uint64{
		"EPYC": 0x00800f12, "EPYC-v4": 0x00800f12, "EPYC-IBPB": 0x00800f12,
		"EPYC-Rome": 0x00830f10, "EPYC-Rome-v3": 0x00830f10,
		"EPYC-Milan": 0x00a00f11, "EPYC-Milan-v2": 0x00a00f11,
		"EPYC-Genoa": 0x00a10f10, "EPYC-Genoa-v1": 0x00a10f10,
		"EPYC-Turin": 0x00b00f00,
	}
	if len(CPUTypes) != 16 {
		t.Errorf("%d vCPU types, want 16", len(CPUTypes))
	}
	for name, sig := range want {
		t.Run(name, func(t *testing.T) {
			c, err := LookupCPUType(name)
			if err != nil {
				t.Fatal(err)
			}
			if c.Signature() != sig {
				t.Errorf("signature %#x, want %#x", c.Signature(), sig)
			}
			f, m, s := DecodeSignature(sig)
			if f != c.Family || m != c.Model || s != c.Stepping {
				t.Errorf("decode %d/%d/%d, want %d/%d/%d", f, m, s, c.Family, c.Model, c.Stepping)
			}
		})
	}
	if _, err := LookupCPUType("epyc-milan"); err == nil {
		t.Error("vCPU type names are case-sensitive")
	}
	if Signature(25, 17, 1) != 0xa10f11 {
		t.Error("Signature(25,17,1)")
	}
}

func TestProductOf(t *testing.T) {
	tests := []struct {
		sig  uint64
		want Product
	}{
		{0x00800f12, Naples}, {0x00830f10, Rome}, {0x00a00f11, Milan}, {0x00a10f10, Genoa},
		{0x00aa0f02, Genoa}, {0x00b00f00, Turin}, {0, Unknown},
	}
	for _, tc := range tests {
		t.Run(tc.want.String(), func(t *testing.T) {
			if got := ProductOf(tc.sig); got != tc.want {
				t.Errorf("ProductOf(%#x) = %v, want %v", tc.sig, got, tc.want)
			}
		})
	}
	if LaunchGPA(GCE, Genoa) != GPA52 || LaunchGPA(GCE, Milan) != GPA48 || LaunchGPA(QEMU, Turin) != GPA48 {
		t.Error("LaunchGPA")
	}
}

func TestBuild(t *testing.T) {
	tests := []struct {
		name           string
		p              Params
		csAttr, ssAttr uint16
		trAttr         uint16
		csBase, rip    uint64
		gpat, rdx      uint64
		mxcsr          uint32
		fcw            uint16
	}{
		{"QEMU BSP", Params{VMM: QEMU, EIP: ResetEIP, SEVFeatures: 1, Signature: 0xa00f11}, 0x9b, 0x93, 0x8b, 0xffff0000, 0xfff0, 0x0007040600070406, 0xa00f11, 0x1f80, 0x37f},
		{"QEMU AP", Params{VMM: QEMU, EIP: 0x80b004, SEVFeatures: 1, Signature: 0xa00f11}, 0x9b, 0x93, 0x8b, 0x800000, 0xb004, 0x0007040600070406, 0xa00f11, 0x1f80, 0x37f},
		{"ec2 BSP", Params{VMM: EC2, EIP: ResetEIP, SEVFeatures: 1}, 0x9a, 0x92, 0x83, 0xffff0000, 0xfff0, 0x0007040600070406, 0x600, 0, 0},
		{"ec2 AP", Params{VMM: EC2, EIP: 0x80b004, SEVFeatures: 1}, 0x9b, 0x92, 0x83, 0x800000, 0xb004, 0x0007040600070406, 0x600, 0, 0},
		{"gce BSP", Params{VMM: GCE, EIP: ResetEIP, SEVFeatures: 1, Signature: 0xa00f11}, 0x9b, 0x93, 0x8b, 0xffff0000, 0xfff0, 0x70106, 0x600, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Build(tc.p)
			cs := p.Segment(OffCS)
			if cs.Selector != 0xf000 || cs.Attrib != tc.csAttr || cs.Limit != 0xffff || cs.Base != tc.csBase {
				t.Errorf("cs %+v", cs)
			}
			if ss := p.Segment(OffSS); ss.Attrib != tc.ssAttr {
				t.Errorf("ss %+v", ss)
			}
			if tr := p.Segment(OffTR); tr.Attrib != tc.trAttr {
				t.Errorf("tr %+v", tr)
			}
			if es := p.Segment(OffES); es != (Segment{Attrib: 0x93, Limit: 0xffff}) {
				t.Errorf("es %+v", es)
			}
			if p.Uint64(OffRIP) != tc.rip || p.Uint64(OffGPAT) != tc.gpat || p.Uint64(OffRDX) != tc.rdx {
				t.Errorf("rip %#x gpat %#x rdx %#x", p.Uint64(OffRIP), p.Uint64(OffGPAT), p.Uint64(OffRDX))
			}
			if p.Uint64(OffSEVFeatures) != tc.p.SEVFeatures || p.Uint64(OffEFER) != 0x1000 || p.Uint64(OffCR0) != 0x10 ||
				p.Uint64(OffCR4) != 0x40 || p.Uint64(OffDR6) != 0xffff0ff0 || p.Uint64(OffDR7) != 0x400 ||
				p.Uint64(OffRFLAGS) != 2 || p.Uint64(OffXCR0) != 1 {
				t.Error("control registers")
			}
			if binary.LittleEndian.Uint32(p[OffMXCSR:]) != tc.mxcsr || binary.LittleEndian.Uint16(p[OffX87FCW:]) != tc.fcw {
				t.Errorf("mxcsr/fcw")
			}
		})
	}
}

func TestBuildSVSM(t *testing.T) {
	p := BuildSVSM(0xffaea000, 0x800f12, KVMInit2)
	if cs := p.Segment(OffCS); cs != (Segment{Selector: 8, Attrib: 0xc9b, Limit: 0xffffffff}) {
		t.Errorf("cs %+v", cs)
	}
	if p.Uint64(OffRIP) != 0xffaea000 || p.Uint64(OffCR0) != 0x11 || p.Uint64(OffSEVFeatures) != 1 ||
		binary.LittleEndian.Uint16(p[OffX87FCW:]) != 0 || p.Uint64(OffRDX) != 0x800f12 {
		t.Error("SVSM VMSA fields")
	}
}

func TestParseVMM(t *testing.T) {
	for _, v := range VMMs {
		got, err := ParseVMM(v.String())
		if err != nil || got != v {
			t.Errorf("ParseVMM(%q) = %v, %v", v, got, err)
		}
	}
	if _, err := ParseVMM("qemu"); err == nil {
		t.Error("VMM names are case-sensitive, like the reference")
	}
}

func TestLookupVersionedModels(t *testing.T) {
	for _, tc := range []struct{ name, base string }{
		{"EPYC-v5", "EPYC"}, {"EPYC-Rome-v4", "EPYC-Rome"}, {"EPYC-Rome-v5", "EPYC-Rome"},
		{"EPYC-Milan-v3", "EPYC-Milan"}, {"EPYC-Milan-v4", "EPYC-Milan"}, {"EPYC-Genoa-v2", "EPYC-Genoa"},
		{"EPYC-Genoa-v3", "EPYC-Genoa"}, {"EPYC-Turin-v1", "EPYC-Turin"}, {"EPYC-Turin-v2", "EPYC-Turin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LookupCPUType(tc.name)
			b, berr := LookupCPUType(tc.base)
			if err != nil || berr != nil || c.Name != tc.name || c.Signature() != b.Signature() {
				t.Errorf("%s: %+v %v, base %+v %v", tc.name, c, err, b, berr)
			}
		})
	}
	for _, bad := range []string{"EPYC-Genoa-v9", "EPYC-Milan-v0", "epyc-genoa-v2", "Genoa-v2"} {
		if _, err := LookupCPUType(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
