package igvm_test

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/snpmeasure/snpmeasure/idblock"
	"github.com/snpmeasure/snpmeasure/igvm"
	"github.com/snpmeasure/snpmeasure/internal/igvmtest"
)

func conformance(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "conformance", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConformanceFiles(t *testing.T) {
	tests := []struct {
		file              string
		version           uint32
		platforms, inits  int
		pageData, vpCtx   int
		idBlocks, inserts int
	}{
		{"01_snp_basic.igvm", 1, 1, 1, 5, 1, 0, 0},
		{"06_snp_params.igvm", 1, 1, 1, 5, 1, 0, 2},
		{"07_multi_platform.igvm", 1, 6, 3, 15, 4, 0, 0},
		{"11_snp_firmware_image.igvm", 2, 1, 1, 528, 1, 0, 0},
		{"14_snp_idblock_signed.igvm", 1, 1, 1, 5, 1, 1, 0},
		{"30_ib_qemu_sorted_ovmf.igvm", 2, 2, 1, 823, 2, 0, 4},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			f, hs, err := igvm.Parse(conformance(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			counts := map[igvm.HeaderType]int{}
			for _, h := range hs.Directives {
				counts[h.Type]++
			}
			if f.Fixed.FormatVersion != tc.version || len(f.Platforms) != tc.platforms || len(f.Initializations) != tc.inits ||
				counts[igvm.TypePageData] != tc.pageData || counts[igvm.TypeVPContext] != tc.vpCtx ||
				counts[igvm.TypeSNPIDBlock] != tc.idBlocks || counts[igvm.TypeParameterInsert] != tc.inserts {
				t.Errorf("version %d, %d platforms, %d inits, directives %v", f.Fixed.FormatVersion, len(f.Platforms), len(f.Initializations), counts)
			}
			if m, ok := f.Platform(igvm.PlatformSEVSNP); !ok || m != 1 {
				t.Errorf("SEV-SNP mask %#x %v", m, ok)
			}
		})
	}
}

func TestVPContextKinds(t *testing.T) {
	_, hs, err := igvm.Parse(conformance(t, "07_multi_platform.igvm"))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[igvm.VPContextKind]int{}
	for _, h := range hs.Directives {
		if v, ok := h.Body.(igvm.VPContext); ok {
			kinds[v.Kind]++
		}
	}
	if kinds[igvm.VPContextVMSA] != 2 || kinds[igvm.VPContextNative] != 1 || kinds[igvm.VPContextVBS] != 1 {
		t.Errorf("VP context kinds %v", kinds)
	}
}

// Every body marshals back to the bytes it was parsed from.
func TestRoundTrip(t *testing.T) {
	for _, name := range []string{"06_snp_params.igvm", "07_multi_platform.igvm", "14_snp_idblock_signed.igvm", "30_ib_qemu_sorted_ovmf.igvm"} {
		data := conformance(t, name)
		f, hs, err := igvm.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		all := append(append(append([]igvm.Header{}, hs.Platforms...), hs.Initializations...), hs.Directives...)
		var vh []byte
		for _, h := range all {
			body := data[h.Offset+igvm.VariableHeaderSize : h.Offset+igvm.VariableHeaderSize+int64(h.Length)]
			if got := h.Body.Marshal(); !bytes.Equal(got, body) {
				t.Fatalf("%s %s: marshal differs", name, h.Name())
			}
			vh = igvm.AppendHeader(vh, h.Body)
		}
		if igvm.Checksum(f.Fixed, vh) != f.Fixed.Checksum {
			t.Fatalf("%s: checksum of the re-encoded headers", name)
		}
	}
}

func corrupt(data []byte, off int, v uint32) []byte {
	b := append([]byte(nil), data...)
	binary.LittleEndian.PutUint32(b[off:], v)
	return b
}

// fixChecksum recomputes the checksum after an edit of the headers.
func fixChecksum(t *testing.T, b []byte) []byte {
	h := binary.LittleEndian
	varOff, varSize := h.Uint32(b[8:]), h.Uint32(b[12:])
	fixed := igvm.FixedHeader{Magic: h.Uint32(b), FormatVersion: h.Uint32(b[4:]), VariableHeaderOffset: varOff,
		VariableHeaderSize: varSize, TotalFileSize: h.Uint32(b[16:]), PageSize: igvm.PageSize}
	if fixed.FormatVersion == 2 {
		fixed.Architecture, fixed.PageSize = h.Uint32(b[24:]), h.Uint32(b[28:])
	}
	h.PutUint32(b[20:], igvm.Checksum(fixed, b[varOff:varOff+varSize]))
	return b
}

// Bad input is a *FormatError with the offset at fault, never a panic.
func TestFormatErrors(t *testing.T) {
	good := conformance(t, "01_snp_basic.igvm")
	_, hs, err := igvm.Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	pd := hs.Directives[0].Offset // a PAGE_DATA
	tests := []struct {
		name   string
		data   []byte
		kind   error
		offset int64
	}{
		{"short", good[:10], igvm.ErrTruncated, 0},
		{"magic", corrupt(good, 0, 0x12345678), igvm.ErrMagic, 0},
		{"version", corrupt(good, 4, 3), igvm.ErrVersion, 4},
		{"total size", good[:len(good)-1], igvm.ErrTruncated, 0x10},
		{"checksum", corrupt(good, 0x14, 1), igvm.ErrChecksum, 0x14},
		{"variable headers past the end", fixChecksum(t, corrupt(good, 12, uint32(len(good)))), igvm.ErrInvalid, 0x0C},
		{"unknown type", fixChecksum(t, corrupt(good, int(pd), 0x399)), igvm.ErrUnknownType, pd},
		{"reserved type 0x306", fixChecksum(t, corrupt(good, int(pd), 0x306)), igvm.ErrUnknownType, pd},
		{"wrong length", fixChecksum(t, corrupt(good, int(pd)+4, 16)), igvm.ErrHeaderLength, pd},
		{"data beyond the file", fixChecksum(t, corrupt(good, int(pd)+8+0xC, uint32(len(good)-100))), igvm.ErrFileData, pd},
		{"unaligned GPA", fixChecksum(t, corrupt(good, int(pd)+8, 0x1001)), igvm.ErrInvalid, pd},
		{"platform header after a directive", fixChecksum(t, corrupt(good, int(pd), 1)), igvm.ErrOrder, pd},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := igvm.Parse(tc.data)
			var fe *igvm.FormatError
			if !errors.As(err, &fe) || !errors.Is(err, tc.kind) {
				t.Fatalf("got %v, want a FormatError wrapping %v", err, tc.kind)
			}
			if fe.Offset != tc.offset {
				t.Errorf("offset %#x, want %#x (%v)", fe.Offset, tc.offset, err)
			}
		})
	}
}

// Semantic checks the igvm crate makes, on files written for them.
func TestValidation(t *testing.T) {
	base := func() *igvmtest.Builder {
		b := &igvmtest.Builder{}
		b.Platform(1, igvm.PlatformSEVSNP)
		return b
	}
	tests := []struct {
		name  string
		build func(*igvmtest.Builder)
	}{
		{"parameter used before its area", func(b *igvmtest.Builder) { b.Add(igvm.Parameter{Usage: igvm.TypeVPCount, Index: 1}, nil) }},
		{"area declared twice", func(b *igvmtest.Builder) {
			b.Add(igvm.ParameterArea{NumberOfBytes: 4096, Index: 1}, nil)
			b.Add(igvm.ParameterArea{NumberOfBytes: 4096, Index: 1}, nil)
		}},
		{"area inserted twice", func(b *igvmtest.Builder) {
			b.Add(igvm.ParameterArea{NumberOfBytes: 4096, Index: 1}, nil)
			b.Add(igvm.ParameterInsert{GPA: 0x1000, CompatibilityMask: 1, Index: 1}, nil)
			b.Add(igvm.ParameterInsert{GPA: 0x2000, CompatibilityMask: 1, Index: 1}, nil)
		}},
		{"unaligned area size", func(b *igvmtest.Builder) { b.Add(igvm.ParameterArea{NumberOfBytes: 100, Index: 1}, nil) }},
		{"VP context of a combined mask", func(b *igvmtest.Builder) { b.VMSA(0x1000, 3, 0, make([]byte, 4096)) }},
		{"VMSA with bytes after the save area", func(b *igvmtest.Builder) {
			p := make([]byte, 4096)
			p[4000] = 1
			b.VMSA(0x1000, 1, 0, p)
		}},
		{"bad page data type", func(b *igvmtest.Builder) { b.Page(0x1000, 1, 0, 7, nil) }},
		{"reserved field", func(b *igvmtest.Builder) { b.Add(igvm.PageData{GPA: 0x1000, CompatibilityMask: 1, Reserved: 1}, nil) }},
		{"second SEV-SNP platform", func(b *igvmtest.Builder) { b.Platform(2, igvm.PlatformSEVSNP) }},
		{"platform mask of two bits", func(b *igvmtest.Builder) { b.Platform(6, igvm.PlatformNative) }},
		{"relocation region without a VBS context", func(b *igvmtest.Builder) {
			b.Add(igvm.RelocatableRegion{CompatibilityMask: 1, RelocationAlignment: 4096, RelocationRegionSize: 4096}, nil)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := base()
			tc.build(b)
			_, _, err := igvm.Parse(b.Bytes())
			var fe *igvm.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a FormatError", err)
			}
		})
	}
	b := base()
	b.Page(0x1000, 1, 0, igvm.DataNormal, []byte("x"))
	if _, _, err := igvm.Parse(b.Bytes()); err != nil {
		t.Fatalf("a valid file: %v", err)
	}
}

// The ID block igvmmeasure sign wrote into file 14 verifies, as QEMU turns
// it into the SEV-SNP ID block and ID auth structure.
func TestIDBlockOfSignedFile(t *testing.T) {
	_, hs, err := igvm.Parse(conformance(t, "14_snp_idblock_signed.igvm"))
	if err != nil {
		t.Fatal(err)
	}
	var blk *igvm.SNPIDBlock
	for _, h := range hs.Directives {
		if b, ok := h.Body.(igvm.SNPIDBlock); ok {
			blk = &b
		}
	}
	if blk == nil || blk.AuthorKeyEnabled != 1 {
		t.Fatalf("ID block %+v", blk)
	}
	v, err := blk.Verify(0x30000)
	if err != nil {
		t.Fatal(err)
	}
	if v.Err() != nil || !v.HasAuthorKey {
		t.Fatalf("verification %+v: %v", v, v.Err())
	}
}

// WithIDBlock appends a signed ID block to file 01, or replaces the one of
// file 14; the result parses, carries the block, and keeps the pages.
func TestWithIDBlock(t *testing.T) {
	key, err := idblock.ParsePrivateKeyPEM(must(os.ReadFile("../idblock/testdata/id_key_test.pem")))
	if err != nil {
		t.Fatal(err)
	}
	var ld [48]byte
	ld[0] = 0xAB
	blk := idblock.NewBlock(ld)
	auth, err := idblock.NewAuth(rand.Reader, blk, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := igvm.NewSNPIDBlock(1, blk, auth)
	for _, name := range []string{"01_snp_basic.igvm", "14_snp_idblock_signed.igvm", "11_snp_firmware_image.igvm"} {
		t.Run(name, func(t *testing.T) {
			data := conformance(t, name)
			f, before, err := igvm.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := igvm.WithIDBlock(&out, f, want); err != nil {
				t.Fatal(err)
			}
			g, after, err := igvm.Parse(out.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			var got []igvm.SNPIDBlock
			var pages [][]byte
			for _, h := range after.Directives {
				switch b := h.Body.(type) {
				case igvm.SNPIDBlock:
					got = append(got, b)
				case igvm.PageData:
					if b.HasData() {
						p, _ := g.ReadData(b.FileOffset, igvm.PageSize)
						pages = append(pages, p)
					}
				}
			}
			if len(got) != 1 || got[0] != want {
				t.Fatalf("%d ID blocks", len(got))
			}
			n := 0
			for _, h := range before.Directives {
				if b, ok := h.Body.(igvm.PageData); ok && b.HasData() {
					p, _ := f.ReadData(b.FileOffset, igvm.PageSize)
					if !bytes.Equal(p, pages[n]) {
						t.Fatalf("page %d moved wrongly", n)
					}
					n++
				}
			}
			v, err := got[0].Verify(0x30000)
			if err != nil || !v.BlockSignatureValid {
				t.Fatalf("signature: %v %+v", err, v)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
