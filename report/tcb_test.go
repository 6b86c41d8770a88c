package report

import (
	"strings"
	"testing"
)

func TestTCBLayouts(t *testing.T) {
	// 0x7308000000000003: bytes 03 00 00 00 00 00 08 73.
	tcb := TCB(0x7308000000000003)
	if got := tcb.Parts(Milan); got != (TCBParts{BootLoader: 3, SNP: 8, Microcode: 0x73}) {
		t.Errorf("Milan %+v", got)
	}
	if got := tcb.Parts(Genoa); got != (TCBParts{BootLoader: 3, SNP: 8, Microcode: 0x73}) {
		t.Errorf("Genoa %+v", got)
	}
	// Turin: FMC byte 0, BOOT_LOADER 1, TEE 2, SNP 3, MICROCODE 7.
	turin := TCB(0x4700000002000100)
	if got := turin.Parts(Turin); got != (TCBParts{FMC: 0, BootLoader: 1, TEE: 0, SNP: 2, Microcode: 0x47}) {
		t.Errorf("Turin %+v", got)
	}
	for _, p := range Products() {
		parts := TCBParts{FMC: 1, BootLoader: 2, TEE: 3, SNP: 4, Microcode: 5}
		if p != Turin {
			parts.FMC = 0
		}
		if got := ComposeTCB(p, parts).Parts(p); got != parts {
			t.Errorf("%s round trip %+v", p, got)
		}
	}
	if s := tcb.Format(Milan); s != "0x7308000000000003 (bl=3 tee=0 snp=8 ucode=115)" {
		t.Errorf("Format %q", s)
	}
	if s := turin.Format(Turin); s != "0x4700000002000100 (fmc=0 bl=1 tee=0 snp=2 ucode=71)" {
		t.Errorf("Format %q", s)
	}
	if s := TCB(0x0000000100000003).Format(Milan); !strings.Contains(s, "reserved bytes 0x100000000") {
		t.Errorf("Format with reserved bytes %q", s)
	}
	if s := tcb.Format(ProductUnknown); s != "0x7308000000000003" {
		t.Errorf("Format, unknown product %q", s)
	}
}

func TestTCBMinimum(t *testing.T) {
	tests := []struct {
		in      string
		p       Product
		want    TCBParts
		err     string // from ParseTCBMinimum
		resolve string // from Resolve
	}{
		{in: "0x7308000000000003", p: Milan, want: TCBParts{BootLoader: 3, SNP: 8, Microcode: 115}},
		{in: "0x4700000002000100", p: Turin, want: TCBParts{BootLoader: 1, SNP: 2, Microcode: 71}},
		{in: "4", p: Genoa, want: TCBParts{BootLoader: 4}},
		{in: "bl=3,tee=0,snp=8,ucode=115", p: Milan, want: TCBParts{BootLoader: 3, SNP: 8, Microcode: 115}},
		{in: "ucode=0x73, snp=8, boot-loader=3", p: Genoa, want: TCBParts{BootLoader: 3, SNP: 8, Microcode: 115}},
		{in: "fmc=1,bl=2,tee=3,snp=4,microcode=5", p: Turin, want: TCBParts{FMC: 1, BootLoader: 2, TEE: 3, SNP: 4, Microcode: 5}},
		{in: "fmc=1", p: Milan, resolve: "Milan has no fmc component in its TCB (it has bl, tee, snp, ucode)"},
		{in: "tee=2", p: ProductUnknown, resolve: "the product line is not known"},
		{in: "0x0000ff0000000000", p: Milan, resolve: "sets reserved bytes of the Milan TCB_VERSION"},
		{in: "0x0000ff0000000000", p: Turin, resolve: "sets reserved bytes of the Turin TCB_VERSION"},
		{in: "bl=2,bl=3", err: "given twice"},
		{in: "bl=2,boot-loader=3", err: "given twice"},
		{in: "spl4=1", err: "want fmc=N"},
		{in: "bl=256", err: "0-255"},
		{in: "bl", err: "want a 64-bit number"},
		{in: "zz", err: "want a 64-bit number"},
		{in: "0x1ffffffffffffffff", err: "want a 64-bit number"},
		{in: " ", err: "empty"},
	}
	for _, tc := range tests {
		m, err := ParseTCBMinimum(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseTCBMinimum(%q) = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseTCBMinimum(%q): %v", tc.in, err)
			continue
		}
		got, err := m.Resolve(tc.p)
		if tc.resolve != "" {
			if err == nil || !strings.Contains(err.Error(), tc.resolve) {
				t.Errorf("Resolve(%q, %s) = %v, want %q", tc.in, tc.p, err, tc.resolve)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Resolve(%q, %s) = %+v, %v; want %+v", tc.in, tc.p, got, err, tc.want)
		}
	}
	ok, low := TCBParts{BootLoader: 3, SNP: 8}.AtLeast(TCBParts{BootLoader: 2, SNP: 9}, Milan)
	if ok || strings.Join(low, ",") != "snp" {
		t.Errorf("AtLeast = %v %v", ok, low)
	}
	// FMC is not a Milan component: it is ignored there.
	if ok, _ := (TCBParts{}).AtLeast(TCBParts{FMC: 9}, Milan); !ok {
		t.Error("FMC compared on Milan")
	}
}

func TestProducts(t *testing.T) {
	for _, tc := range []struct {
		fam, model uint8
		want       Product
	}{
		{0x19, 0x00, Milan}, {0x19, 0x01, Milan}, {0x19, 0x0f, Milan},
		{0x19, 0x10, Genoa}, {0x19, 0x11, Genoa}, {0x19, 0x1f, Genoa},
		// Zen 4c (Bergamo, Siena) parts: KDS serves them as Genoa.
		{0x19, 0xa0, Genoa}, {0x19, 0xa1, Genoa}, {0x19, 0xaf, Genoa},
		{0x1a, 0x00, Turin}, {0x1a, 0x02, Turin}, {0x1a, 0x11, Turin},
		{0x19, 0x20, ProductUnknown}, {0x19, 0x61, ProductUnknown}, {0x19, 0xb0, ProductUnknown},
		{0x1a, 0x50, ProductUnknown}, {0x17, 0x31, ProductUnknown}, {0, 0, ProductUnknown},
	} {
		p, err := ProductFromCPUID(CPUID{Family: tc.fam, Model: tc.model})
		if p != tc.want || (err != nil) != (tc.want == ProductUnknown) {
			t.Errorf("family %02Xh model %02Xh: %v, %v; want %v", tc.fam, tc.model, p, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "Unknown") {
			t.Errorf("error says Unknown: %v", err)
		}
	}
	for in, want := range map[string]Product{"milan": Milan, "Genoa": Genoa, "TURIN": Turin, "Milan-B0": Milan, " genoa ": Genoa} {
		if p, err := ParseProduct(in); err != nil || p != want {
			t.Errorf("ParseProduct(%q) = %v, %v", in, p, err)
		}
	}
	for _, in := range []string{"Naples", "", "Venice", "Unknown"} {
		if _, err := ParseProduct(in); err == nil {
			t.Errorf("ParseProduct(%q) accepted", in)
		}
	}
}

func TestPlatformInfoRequirement(t *testing.T) {
	for _, tc := range []struct {
		in, str string
		value   uint64
		mask    uint64
		err     string
	}{
		{in: "smt=0", str: "smt=0", value: 0, mask: 1},
		{in: "SMT_EN=0, ecc=1", str: "smt=0,ecc=1", value: 4, mask: 5},
		{in: "tio=0,alias-check-complete=1,ciphertext-hiding=1,rapl-dis=1,tsme=1", str: "tsme=1,rapl-dis=1,ciphertext-hiding=1,alias-check-complete=1,tio=0",
			value: 0x3a, mask: 0xba},
		{in: "0x4/0x5", str: "smt=0,ecc=1", value: 4, mask: 5},
		{in: "0x100/0x100", str: "0x100/0x100", value: 0x100, mask: 0x100},
		{in: "0x5/0x4", err: "VALUE has bits outside MASK"},
		{in: "smt=2", err: "want NAME=0 or NAME=1"},
		{in: "turbo=1", err: "NAME one of smt, tsme"},
		{in: "smt=1,smt=0", err: "given twice"},
		{in: "x/y", err: "VALUE/MASK as numbers"},
		{in: "", err: "empty"},
	} {
		q, err := ParsePlatformInfoRequirement(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || q.Value != tc.value || q.Mask != tc.mask || q.String() != tc.str {
			t.Errorf("%q: %+v %q %v", tc.in, q, q, err)
		}
	}
}
