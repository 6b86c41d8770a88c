package launchdigest

import (
	"bytes"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"testing"

	"github.com/snpmeasure/snpmeasure/ovmf"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

func TestPageInfoLayout(t *testing.T) {
	var ld, c Digest
	for i := range ld {
		ld[i], c[i] = byte(i), byte(0x80+i)
	}
	pi := PageInfo{Digest: ld, Contents: c, Type: PageVMSA, GPA: 0x0000FFFFFFFFF000}
	b := pi.Marshal()
	if !bytes.Equal(b[0:48], ld[:]) || !bytes.Equal(b[48:96], c[:]) {
		t.Error("digest or contents misplaced")
	}
	if got := binary.LittleEndian.Uint16(b[0x60:]); got != 0x70 {
		t.Errorf("length %#x, want 0x70", got)
	}
	if b[0x62] != 2 || b[0x63] != 0 {
		t.Errorf("page type %d imi %d", b[0x62], b[0x63])
	}
	if !bytes.Equal(b[0x64:0x68], []byte{0, 0, 0, 0}) {
		t.Error("VMPL permissions and reserved byte must be zero")
	}
	if got := binary.LittleEndian.Uint64(b[0x68:]); got != 0x0000FFFFFFFFF000 {
		t.Errorf("gpa %#x", got)
	}
	if Extend(ld, PageVMSA, pi.GPA, &c) != sha512.Sum384(b[:]) {
		t.Error("Extend is not SHA-384 of PAGE_INFO")
	}
	// Unmeasured page types carry zero contents.
	pi.Contents, pi.Type = Digest{}, PageZero
	z := pi.Marshal()
	if Extend(ld, PageZero, pi.GPA, nil) != sha512.Sum384(z[:]) {
		t.Error("nil contents must mean zero contents")
	}
}

func TestKernelHashesTable(t *testing.T) {
	k := KernelHashes{Initrd: EmptyHash, Cmdline: CmdlineHash("")}
	for i := range k.Kernel {
		k.Kernel[i] = 0xAA
	}
	tb := k.Table()
	if PaddedHashTableSize != 176 || HashTableSize != 168 {
		t.Fatalf("sizes %d/%d, want 176/168", PaddedHashTableSize, HashTableSize)
	}
	want := []struct {
		off  int
		guid ovmf.GUID
	}{{0, HashTableHeaderGUID}, {18, CmdlineEntryGUID}, {68, InitrdEntryGUID}, {118, KernelEntryGUID}}
	for _, w := range want {
		if !bytes.Equal(tb[w.off:w.off+16], w.guid[:]) {
			t.Errorf("GUID at %d = %x, want %s", w.off, tb[w.off:w.off+16], w.guid)
		}
	}
	if binary.LittleEndian.Uint16(tb[16:]) != 168 || binary.LittleEndian.Uint16(tb[34:]) != 50 {
		t.Error("wrong lengths")
	}
	if !bytes.Equal(tb[136:168], k.Kernel[:]) || !bytes.Equal(tb[168:], make([]byte, 8)) {
		t.Error("kernel hash or padding misplaced")
	}
	// SHA-256("\x00"): an empty command line is a lone NUL.
	if got := hex.EncodeToString(tb[36:68]); got != "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d" {
		t.Errorf("empty cmdline hash %s", got)
	}
	p, err := k.Page(0x80cc00)
	if err != nil || !bytes.Equal(p[0xc00:0xc00+176], tb[:]) || p[0xbff] != 0 {
		t.Errorf("page at 0xc00: %v", err)
	}
	if _, err := k.Page(0x80cfa0); !errors.Is(err, ErrHashTableOffset) {
		t.Errorf("table crossing the page end: err %v", err)
	}
}

func loadFirmware(t testing.TB, name string) (*ovmf.Image, []Digest) {
	t.Helper()
	b, err := os.ReadFile("../testdata/inputs/" + name)
	if err != nil {
		t.Fatal(err)
	}
	im, err := ovmf.Parse(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := HashPages(bytes.NewReader(b), int64(len(b)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return im, p
}

// TestUpdatesMatchDigest checks that walking the updates gives the same
// digest as Digest, and that sources, types and GPAs are as documented.
func TestUpdatesMatchDigest(t *testing.T) {
	fw, pages := loadFirmware(t, "sid-OVMF.amdsev.fd")
	k := &KernelHashes{Initrd: EmptyHash, Cmdline: CmdlineHash("x")}
	for _, vmm := range vmsa.VMMs {
		t.Run(vmm.String(), func(t *testing.T) {
			l, err := SNP(fw, pages, SNPConfig{VCPUs: VCPUs{Count: 3, VMM: vmm, Signature: 0xa10f10, GuestFeatures: 1}, Kernel: k})
			if err != nil {
				t.Fatal(err)
			}
			var last Digest
			var n uint64
			sawKernel := false
			for u, d := range l.Updates() {
				if u.Index != n {
					t.Fatalf("index %d at position %d", u.Index, n)
				}
				if n == 0 && (u.Source != "ovmf+0x0" || u.GPA != 0xffc00000 || u.Type != PageNormal) {
					t.Errorf("first update %+v", u)
				}
				if u.Source == "kernel-hashes" {
					sawKernel = true
				}
				last = d
				n++
			}
			if n != l.NumUpdates() || last != l.Digest() {
				t.Errorf("%d updates (want %d), last digest %s, Digest %s", n, l.NumUpdates(), last, l.Digest())
			}
			if !sawKernel {
				t.Error("no kernel-hashes update")
			}
			wantGPA := uint64(vmsa.GPA48)
			if vmm == vmsa.GCE {
				wantGPA = vmsa.GPA52 // signature 0xa10f10 is Genoa
			}
			if v := l.Steps[len(l.Steps)-1]; v.GPA != wantGPA || v.FirstIndex != 1 || v.PageSource(1) != "vmsa[2]" {
				t.Errorf("last VMSA step %+v", v)
			}
		})
	}
}

// TestVMSASeries checks that extending one VMSA at a time gives the same
// digest as a full launch for every count.
func TestVMSASeries(t *testing.T) {
	fw, pages := loadFirmware(t, "sid-OVMF.amdsev.fd")
	v := VCPUs{Count: 1, VMM: vmsa.QEMU, Signature: 0xa00f11, GuestFeatures: 0x21}
	l, err := SNP(fw, pages, SNPConfig{VCPUs: v})
	if err != nil {
		t.Fatal(err)
	}
	prefix, tail := l.SplitVMSAs()
	if len(tail) != 1 || len(prefix.Steps) != len(l.Steps)-1 {
		t.Fatalf("split into %d + %d steps", len(prefix.Steps), len(tail))
	}
	bsp, ap := VMSAPages(fw.ResetEIP, v)
	for n, d := range VMSASeries(prefix.Digest(), PageDigest(bsp[:]), PageDigest(ap[:]), v.VMSAGPA(), 9) {
		v.Count = n
		full, err := SNP(fw, pages, SNPConfig{VCPUs: v})
		if err != nil {
			t.Fatal(err)
		}
		if full.Digest() != d {
			t.Errorf("%d vCPUs: series %s, full %s", n, d, full.Digest())
		}
	}
}

func TestSNPErrors(t *testing.T) {
	fw, pages := loadFirmware(t, "sid-OVMF.amdsev.fd")
	bookworm, bpages := loadFirmware(t, "bookworm-OVMF.fd")
	k := &KernelHashes{}
	one := VCPUs{Count: 1, VMM: vmsa.QEMU}
	noMeta := *fw
	noMeta.HasMetadata = false
	noReset := *fw
	noReset.HasResetBlock = false
	zeroEIP := *fw
	zeroEIP.ResetEIP = 0
	badSection := *fw
	badSection.Sections = append([]ovmf.Section{{GPA: 0xfffff000, Size: 0x2000, Type: ovmf.SectionSNPSecMem}}, fw.Sections...)
	odd := *fw
	odd.Sections = append([]ovmf.Section{{GPA: 0x1000, Size: 0x1800, Type: ovmf.SectionSNPSecMem}}, fw.Sections...)
	unknown := *fw
	unknown.Sections = append([]ovmf.Section{{GPA: 0x1000, Size: 0x1000, Type: 7}}, fw.Sections...)
	overlap := *fw
	overlap.Sections = append([]ovmf.Section{{GPA: 0xffc01000, Size: 0x1000, Type: ovmf.SectionSNPSecMem}}, fw.Sections...)
	var se *SectionError
	tests := []struct {
		name  string
		fw    *ovmf.Image
		pages []Digest
		cfg   SNPConfig
		is    error
		as    any
	}{
		{"no metadata", &noMeta, pages, SNPConfig{VCPUs: one}, ErrNoMetadata, nil},
		{"no reset block", &noReset, pages, SNPConfig{VCPUs: one}, ErrNoResetBlock, nil},
		{"zero AP EIP", &zeroEIP, pages, SNPConfig{VCPUs: VCPUs{Count: 2}}, ErrZeroAPEIP, nil},
		{"kernel without section", bookworm, bpages, SNPConfig{VCPUs: one, Kernel: k}, ErrNoKernelHashes, nil},
		{"section beyond 4 GiB", &badSection, pages, SNPConfig{VCPUs: one}, nil, &se},
		{"section size not pages", &odd, pages, SNPConfig{VCPUs: one}, nil, &se},
		{"unknown section type", &unknown, pages, SNPConfig{VCPUs: one}, nil, &se},
		{"section overlaps firmware", &overlap, pages, SNPConfig{VCPUs: one}, nil, &se},
		{"no vCPUs", fw, pages, SNPConfig{}, nil, nil},
		{"wrong page count", fw, pages[1:], SNPConfig{VCPUs: one}, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := SNP(tc.fw, tc.pages, tc.cfg)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v, want %v", err, tc.is)
			}
			if tc.as != nil && !errors.As(err, tc.as) {
				t.Errorf("error %v (%T), want a %T", err, err, tc.as)
			}
		})
	}
}

func TestSEVErrors(t *testing.T) {
	bookworm, _ := loadFirmware(t, "bookworm-OVMF.fd")
	if _, err := SEV(bookworm, bytes.NewReader(nil), &KernelHashes{}); !errors.Is(err, ErrNoSEVHashTable) {
		t.Errorf("SEV kernel on firmware without hash table: %v", err)
	}
	noReset := *bookworm
	noReset.HasResetBlock = false
	if _, err := SEVES(&noReset, bytes.NewReader(nil), nil, VCPUs{Count: 1}); !errors.Is(err, ErrNoResetBlock) {
		t.Errorf("SEV-ES without reset block: %v", err)
	}
}

func TestParseDigest(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"9d0dd8be18c86e3fe3bf0038ed75ebf5340bee69fd2632c8ff9409964575960ae1f7e84be387d2e3467bc3508d1e4806", true},
		{"9d0d", false},
		{"zz0dd8be18c86e3fe3bf0038ed75ebf5340bee69fd2632c8ff9409964575960ae1f7e84be387d2e3467bc3508d1e4806", false},
	}
	for _, tc := range tests {
		t.Run(tc.in[:4], func(t *testing.T) {
			d, err := ParseDigest(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("err %v", err)
			}
			if tc.ok && d.String() != tc.in {
				t.Errorf("round trip %s", d)
			}
		})
	}
}

func TestSVSMSectionOverlap(t *testing.T) {
	fw, fwPages := loadFirmware(t, "fx-svsm_ovmf.fd")
	sv, svPages := loadFirmware(t, "fx-svsm.bin")
	cfg := SVSMConfig{VarsSize: 0x84000, VCPUs: 1}
	if _, err := SVSM(fw, fwPages, sv, svPages, cfg); err != nil {
		t.Fatalf("control: %v", err)
	}
	svsmGPA := fw.GPA(FirmwareEnd) - cfg.VarsSize - uint64(sv.Size)
	for name, gpa := range map[string]uint64{"SVSM": svsmGPA, "firmware": FirmwareEnd - PageSize} {
		t.Run(name, func(t *testing.T) {
			bad := *sv
			bad.Sections = append([]ovmf.Section{{GPA: uint32(gpa), Size: PageSize, Type: ovmf.SectionSVSMCAA}}, sv.Sections...)
			var se *SectionError
			if _, err := SVSM(fw, fwPages, &bad, svPages, cfg); !errors.As(err, &se) {
				t.Errorf("section over the %s image: err %v, want a *SectionError", name, err)
			}
		})
	}
}
