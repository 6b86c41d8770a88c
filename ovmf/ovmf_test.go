package ovmf_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/snpmeasure/snpmeasure/ovmf"
)

// inputs holds the conformance inputs.
const inputs = "../testdata/inputs"

// tEntry is a footer table entry of a hand-built image.
type tEntry struct {
	guid ovmf.GUID
	data []byte
	// size overrides the entry's u16 size field when non-zero; the real
	// size is len(data) + 18.
	size int
}

// footerImage returns an image of size bytes whose footer table holds the
// entries, the first one nearest the start of the table. footerSize
// overrides the footer entry's u16 size field when non-zero.
func footerImage(size int, footerSize int, entries ...tEntry) []byte {
	img := make([]byte, size)
	var table []byte
	for _, e := range entries {
		sz := e.size
		if sz == 0 {
			sz = len(e.data) + ovmf.EntryHeaderSize
		}
		table = append(table, e.data...)
		table = binary.LittleEndian.AppendUint16(table, uint16(sz))
		table = append(table, e.guid[:]...)
	}
	footerOff := size - ovmf.FooterOffsetFromEnd
	copy(img[footerOff-len(table):], table)
	if footerSize == 0 {
		footerSize = len(table) + ovmf.EntryHeaderSize
	}
	binary.LittleEndian.PutUint16(img[footerOff:], uint16(footerSize))
	copy(img[footerOff+2:], ovmf.FooterGUID[:])
	return img
}

func u32s(v ...uint32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, x)
	}
	return b
}

// metadata returns an 'ASEV' header claiming count sections (its size field
// says so too), followed by the sections.
func metadata(sig string, version, count uint32, sections ...ovmf.Section) []byte {
	b := append([]byte(sig), u32s(uint32(ovmf.MetadataHeaderSize+int64(count)*ovmf.SectionDescSize), version, count)...)
	for _, s := range sections {
		b = append(b, u32s(s.GPA, s.Size, uint32(s.Type))...)
	}
	return b
}

// withMetaSize overwrites the size field of the 'ASEV' header meta.
func withMetaSize(meta []byte, size uint32) []byte {
	binary.LittleEndian.PutUint32(meta[4:], size)
	return meta
}

// metaImage is a 16 KiB image with a reset block, a hash table and SEV
// metadata at file offset 0x1000 holding the given bytes.
func metaImage(meta []byte) []byte {
	const size = 0x4000
	img := footerImage(size, 0,
		tEntry{guid: ovmf.SEVMetadataGUID, data: u32s(size - 0x1000)},
		tEntry{guid: ovmf.SEVHashTableGUID, data: u32s(0x810c00, 0x400)},
		tEntry{guid: ovmf.SEVESResetBlockGUID, data: u32s(0x80b004)})
	copy(img[0x1000:], meta)
	return img
}

func parse(b []byte) (*ovmf.Image, error) {
	return ovmf.Parse(bytes.NewReader(b), int64(len(b)))
}

var goodSections = []ovmf.Section{
	{GPA: 0x800000, Size: 0x9000, Type: ovmf.SectionSNPSecMem},
	{GPA: 0x80d000, Size: 0x1000, Type: ovmf.SectionSNPSecrets},
	{GPA: 0x80e000, Size: 0x1000, Type: ovmf.SectionCPUID},
	{GPA: 0x810000, Size: 0x1000, Type: ovmf.SectionSNPKernelHashes},
}

func TestParseFooter(t *testing.T) {
	reset := tEntry{guid: ovmf.SEVESResetBlockGUID, data: u32s(0x80b004)}
	hashes := tEntry{guid: ovmf.SEVHashTableGUID, data: u32s(0x810c00, 0x400)}
	tests := []struct {
		name  string
		img   []byte
		err   string // substring of the error; "" for success
		off   int64  // FormatError offset when err is set and off >= 0
		check func(t *testing.T, im *ovmf.Image)
	}{
		{name: "empty", img: nil, check: noEntries},
		{name: "smaller than the footer", img: make([]byte, ovmf.FooterOffsetFromEnd-1), check: noEntries},
		{name: "exactly the footer", img: footerImage(ovmf.FooterOffsetFromEnd, 0), check: noEntries},
		{name: "no footer GUID", img: make([]byte, 4096), check: noEntries},
		{name: "footer size 0", img: footerImage(4096, 1, reset), check: noEntries},
		{name: "footer size 17", img: footerImage(4096, 17, reset), check: noEntries},
		{name: "footer size 18: empty table", img: footerImage(4096, 18, reset), check: noEntries},
		{name: "footer table larger than the file", img: footerImage(4096, 0xffff, reset),
			err: "footer table size 65535 exceeds the 4046 bytes before the footer", off: 4096 - 50},
		{name: "footer table spanning the whole file is walked", img: footerImage(4096, 4046+18),
			err: "entry size 0 is smaller than its 18-byte header", off: 4046 - 18},
		{name: "entry size below its header", img: footerImage(4096, 0, tEntry{guid: ovmf.SEVESResetBlockGUID, data: u32s(1), size: 17}),
			err: "entry size 17 is smaller than its 18-byte header", off: 4096 - 50 - 18},
		{name: "entry size 0", img: footerImage(4096, 0, tEntry{guid: ovmf.SEVESResetBlockGUID, data: u32s(1), size: 1}),
			err: "smaller than its", off: 4096 - 50 - 18},
		{name: "entry larger than the table", img: footerImage(4096, 0, hashes, tEntry{guid: ovmf.SEVESResetBlockGUID, data: u32s(1), size: 0xffff}),
			err: "entry size 65535 exceeds the 48 table bytes before it", off: 4096 - 50 - 18},
		{name: "second entry larger than the rest", img: footerImage(4096, 0, hashes, tEntry{guid: ovmf.SEVESResetBlockGUID, data: u32s(1)}, tEntry{guid: ovmf.SEVSecretGUID, data: u32s(1, 2)}),
			check: func(t *testing.T, im *ovmf.Image) {
				if len(im.Entries) != 3 || im.Entries[0].GUID != ovmf.SEVSecretGUID || im.Entries[2].GUID != ovmf.SEVHashTableGUID {
					t.Errorf("entries %v: want them from the table end backwards", im.Entries)
				}
			}},
		{name: "reset block with 2 data bytes", img: footerImage(4096, 0, tEntry{guid: ovmf.SEVESResetBlockGUID, data: []byte{1, 2}}),
			err: "SEV-ES reset block entry has 2 data bytes, need 4", off: 4096 - 50 - 20},
		{name: "metadata entry without data", img: footerImage(4096, 0, tEntry{guid: ovmf.SEVMetadataGUID}),
			err: "SEV metadata entry has 0 data bytes, need 4"},
		{name: "SVSM info without data", img: footerImage(4096, 0, tEntry{guid: ovmf.SVSMInfoGUID}),
			err: "SVSM info entry has 0 data bytes, need 4"},
		{name: "hash table with GPA only", img: footerImage(4096, 0, tEntry{guid: ovmf.SEVHashTableGUID, data: u32s(0x1234)}),
			check: func(t *testing.T, im *ovmf.Image) {
				if !im.HasHashTable || im.HashTableGPA != 0x1234 || im.HashTableSize != 0 || !im.HashTableSupported() {
					t.Errorf("hash table %v %#x %#x", im.HasHashTable, im.HashTableGPA, im.HashTableSize)
				}
			}},
		{name: "hash table GPA 0 is not supported", img: footerImage(4096, 0, tEntry{guid: ovmf.SEVHashTableGUID, data: u32s(0, 0x400)}),
			check: func(t *testing.T, im *ovmf.Image) {
				if !im.HasHashTable || im.HashTableSupported() {
					t.Error("GPA 0 must mean: entry present, not supported")
				}
			}},
		{name: "duplicate GUID: nearest the table start wins", img: footerImage(4096, 0,
			tEntry{guid: ovmf.SEVESResetBlockGUID, data: u32s(0x1111)}, hashes, tEntry{guid: ovmf.SEVESResetBlockGUID, data: u32s(0x2222)}),
			check: func(t *testing.T, im *ovmf.Image) {
				if im.ResetEIP != 0x1111 {
					t.Errorf("reset EIP %#x, want 0x1111", im.ResetEIP)
				}
			}},
		{name: "unknown GUIDs are kept and ignored", img: footerImage(4096, 0, tEntry{guid: ovmf.GUID{1, 2, 3}, data: []byte("hello")}, reset),
			check: func(t *testing.T, im *ovmf.Image) {
				e, ok := im.Lookup(ovmf.GUID{1, 2, 3})
				if !ok || string(e.Data) != "hello" || e.Offset != 4096-50-22-23 {
					t.Errorf("entry %+v %v", e, ok)
				}
				if _, ok := im.Lookup(ovmf.SVSMInfoGUID); ok {
					t.Error("found an entry that is not there")
				}
			}},
		{name: "leftover bytes before the first entry are ignored",
			img: footerImage(4096, 18+22+17, reset),
			check: func(t *testing.T, im *ovmf.Image) {
				if len(im.Entries) != 1 || im.ResetEIP != 0x80b004 {
					t.Errorf("entries %v", im.Entries)
				}
			}},
		{name: "metadata offset beyond the file", img: footerImage(4096, 0, tEntry{guid: ovmf.SEVMetadataGUID, data: u32s(0xffffffff)}),
			err: "SEV metadata offset 0xffffffff points outside the 4096-byte image", off: 4096 - 50 - 22},
		{name: "metadata offset one past the file", img: footerImage(4096, 0, tEntry{guid: ovmf.SEVMetadataGUID, data: u32s(4097)}),
			err: "points outside"},
		{name: "metadata offset 0", img: footerImage(4096, 0, tEntry{guid: ovmf.SEVMetadataGUID, data: u32s(0)}),
			err: "points outside"},
		{name: "metadata header past the end", img: footerImage(4096, 0, tEntry{guid: ovmf.SEVMetadataGUID, data: u32s(15)}),
			err: "points outside"},
		{name: "bad metadata signature", img: metaImage(metadata("ASEX", 1, 0)),
			err: `wrong SEV metadata signature "ASEX", want "ASEV"`, off: 0x1000},
		{name: "zero metadata signature", img: metaImage(nil), err: "wrong SEV metadata signature", off: 0x1000},
		{name: "bad metadata version", img: metaImage(metadata("ASEV", 2, 0)),
			err: "wrong SEV metadata version 2, want 1", off: 0x1008},
		{name: "section count 2^32-1", img: metaImage(metadata("ASEV", 1, 0xffffffff)),
			err: "SEV metadata claims 4294967295 sections but only", off: 0x100c},
		{name: "section count one past the file", img: metaImage(metadata("ASEV", 1, (0x4000-0x1010)/12+1)),
			err: "claims 1023 sections but only 1022 fit", off: 0x100c},
		{name: "no sections", img: metaImage(metadata("ASEV", 1, 0)),
			check: func(t *testing.T, im *ovmf.Image) {
				if !im.HasMetadata || len(im.Sections) != 0 || im.MetadataOffset != 0x1000 {
					t.Errorf("metadata %v %d %#x", im.HasMetadata, len(im.Sections), im.MetadataOffset)
				}
				if _, ok := im.KernelHashesSection(); ok {
					t.Error("kernel hashes section found in no sections")
				}
			}},
		{name: "sections", img: metaImage(metadata("ASEV", 1, 4, goodSections...)),
			check: func(t *testing.T, im *ovmf.Image) {
				if len(im.Sections) != len(goodSections) {
					t.Fatalf("%d sections, want %d", len(im.Sections), len(goodSections))
				}
				for i, s := range im.Sections {
					w := goodSections[i]
					w.Offset = int64(0x1010 + 12*i)
					if s != w {
						t.Errorf("section %d: %+v, want %+v", i, s, w)
					}
				}
				k, ok := im.KernelHashesSection()
				if !ok || k.GPA != 0x810000 {
					t.Errorf("kernel hashes section %+v %v", k, ok)
				}
				if !im.HasResetBlock || im.ResetEIP != 0x80b004 || im.HashTableGPA != 0x810c00 || im.HashTableSize != 0x400 {
					t.Errorf("image %+v", im)
				}
			}},
		// The reference reads the descriptors from within the header's size
		// field and fails when they do not fit; a larger size is accepted.
		{name: "metadata size smaller than its sections", img: metaImage(withMetaSize(metadata("ASEV", 1, 4, goodSections...), 16+3*12)),
			err: "SEV metadata size 52 is too small for the header and its 4 sections (64 bytes)", off: 0x1004},
		{name: "metadata size 0", img: metaImage(withMetaSize(metadata("ASEV", 1, 4, goodSections...), 0)),
			err: "SEV metadata size 0 is too small", off: 0x1004},
		{name: "metadata size 0 without sections", img: metaImage(withMetaSize(metadata("ASEV", 1, 0), 0)),
			check: func(t *testing.T, im *ovmf.Image) {
				if !im.HasMetadata || len(im.Sections) != 0 {
					t.Errorf("metadata %v, %d sections", im.HasMetadata, len(im.Sections))
				}
			}},
		{name: "metadata size larger than its sections", img: metaImage(withMetaSize(metadata("ASEV", 1, 4, goodSections...), 0x1000)),
			check: func(t *testing.T, im *ovmf.Image) {
				if len(im.Sections) != len(goodSections) {
					t.Errorf("%d sections, want %d", len(im.Sections), len(goodSections))
				}
			}},
		{name: "section count over MaxSections", img: func() []byte {
			img := footerImage(0x10000, 0, tEntry{guid: ovmf.SEVMetadataGUID, data: u32s(0x10000)})
			copy(img, metadata("ASEV", 1, ovmf.MaxSections+1))
			return img
		}(), err: "SEV metadata claims 4097 sections, more than the 4096 any firmware needs", off: 12},
		{name: "section count MaxSections", img: func() []byte {
			img := footerImage(0x10000, 0, tEntry{guid: ovmf.SEVMetadataGUID, data: u32s(0x10000)})
			copy(img, metadata("ASEV", 1, ovmf.MaxSections))
			return img
		}(), check: func(t *testing.T, im *ovmf.Image) {
			if len(im.Sections) != ovmf.MaxSections {
				t.Errorf("%d sections", len(im.Sections))
			}
		}},
		{name: "section count exactly what fits", img: metaImage(metadata("ASEV", 1, (0x4000-0x1010)/12)),
			check: func(t *testing.T, im *ovmf.Image) {
				n := len(im.Sections)
				if n != 1022 || im.Sections[n-1].Offset != 0x1010+12*1021 {
					t.Errorf("%d sections, last at %#x", n, im.Sections[n-1].Offset)
				}
			}},
		{name: "unknown section types parse (measuring them fails)", img: metaImage(metadata("ASEV", 1, 1, ovmf.Section{GPA: 1, Size: 2, Type: 0x77})),
			check: func(t *testing.T, im *ovmf.Image) {
				if len(im.Sections) != 1 || im.Sections[0].Type.Known() || im.Sections[0].Type.String() != "unknown(0x77)" {
					t.Errorf("sections %+v", im.Sections)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			im, err := parse(tc.img)
			if tc.err == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if im.Size != int64(len(tc.img)) {
					t.Errorf("size %d, want %d", im.Size, len(tc.img))
				}
				if tc.check != nil {
					tc.check(t, im)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v, want %q", err, tc.err)
			}
			if im != nil {
				t.Error("an image returned with an error")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			var fe *ovmf.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("err %T, want *ovmf.FormatError", err)
			}
			if tc.off != 0 && fe.Offset != tc.off {
				t.Errorf("offset %#x, want %#x", fe.Offset, tc.off)
			}
			if !strings.HasPrefix(err.Error(), "offset 0x") {
				t.Errorf("err %q does not start with the offset", err)
			}
		})
	}
}

func noEntries(t *testing.T, im *ovmf.Image) {
	t.Helper()
	if len(im.Entries) != 0 || im.HasMetadata || im.HasResetBlock || im.HasHashTable || im.HasSVSMInfo {
		t.Errorf("image %+v: want no entries", im)
	}
}

func TestParseSizeLimits(t *testing.T) {
	if _, err := ovmf.Parse(bytes.NewReader(nil), -1); err == nil {
		t.Error("negative size accepted")
	}
	if _, err := ovmf.Parse(bytes.NewReader(nil), ovmf.MaxImageSize+1); !errors.Is(err, ovmf.ErrTooLarge) {
		t.Errorf("size 4 GiB + 1: err %v, want ErrTooLarge", err)
	}
}

// failingReaderAt fails every read that touches [from, to).
type failingReaderAt struct {
	r        io.ReaderAt
	from, to int64
}

func (f failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < f.to && off+int64(len(p)) > f.from {
		return 0, errors.New("I/O error")
	}
	return f.r.ReadAt(p, off)
}

func TestParseReadErrors(t *testing.T) {
	img := metaImage(metadata("ASEV", 1, 4, goodSections...))
	size := int64(len(img))
	for _, tc := range []struct {
		name     string
		from, to int64
		want     string
	}{
		{"footer", size - 50, size - 32, "reading footer at offset 0x3fce"},
		{"table", size - 60, size - 55, "reading footer table at offset"},
		{"metadata header", 0x1000, 0x1001, "reading SEV metadata at offset 0x1000"},
		{"sections", 0x1010, 0x1011, "reading SEV metadata sections at offset 0x1010"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ovmf.Parse(failingReaderAt{bytes.NewReader(img), tc.from, tc.to}, size)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "I/O error") {
				t.Errorf("err %v, want %q and the I/O error", err, tc.want)
			}
		})
	}
	// The file shrank after its size was taken.
	if _, err := ovmf.Parse(bytes.NewReader(img[:100]), size); err == nil {
		t.Error("size larger than the file: no error")
	}
}

// TestParseRealImages checks what the parser finds in the conformance inputs.
func TestParseRealImages(t *testing.T) {
	tests := []struct {
		file                   string
		resetEIP, hashTableGPA uint32
		sections               int
		kernelHashes, svsm     bool
		metadataFromEnd        int64
	}{
		{"sid-OVMF.amdsev.fd", 0x80b004, 0x810c00, 7, true, false, 0x5c4},
		{"bookworm-OVMF.fd", 0x80b004, 0, 5, false, false, 0x52c},
		{"fx-ovmf_AmdSev_suffix.bin", 0x80b004, 0x810c00, 7, true, false, 0x554},
		{"fx-ovmf_OvmfX64_suffix.bin", 0x80b004, 0, 6, false, false, 0x548},
		{"fx-svsm_ovmf.fd", 0x80b004, 0, 6, false, false, 0x558},
		{"fx-svsm.bin", 0xfffffff0, 0, 3, false, true, 0xc2},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join(inputs, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				t.Fatal(err)
			}
			im, err := ovmf.Parse(f, st.Size())
			if err != nil {
				t.Fatal(err)
			}
			if !im.HasResetBlock || im.ResetEIP != tc.resetEIP {
				t.Errorf("reset EIP %#x, want %#x", im.ResetEIP, tc.resetEIP)
			}
			if im.HasHashTable != !tc.svsm || im.HashTableGPA != tc.hashTableGPA {
				t.Errorf("hash table %v %#x, want %#x", im.HasHashTable, im.HashTableGPA, tc.hashTableGPA)
			}
			if !im.HasMetadata || len(im.Sections) != tc.sections || im.Size-im.MetadataOffset != tc.metadataFromEnd {
				t.Errorf("metadata %v, %d sections at %#x from the end; want %d at %#x",
					im.HasMetadata, len(im.Sections), im.Size-im.MetadataOffset, tc.sections, tc.metadataFromEnd)
			}
			if _, ok := im.KernelHashesSection(); ok != tc.kernelHashes {
				t.Errorf("kernel hashes section %v, want %v", ok, tc.kernelHashes)
			}
			if im.HasSVSMInfo != tc.svsm {
				t.Errorf("SVSM info %v, want %v", im.HasSVSMInfo, tc.svsm)
			}
			for _, s := range im.Sections {
				if !s.Type.Known() {
					t.Errorf("section %+v: unknown type", s)
				}
			}
			if got := im.GPA(1 << 32); got != 1<<32-uint64(st.Size()) {
				t.Errorf("GPA %#x", got)
			}
		})
	}
}

func TestSectionTypes(t *testing.T) {
	for _, tc := range []struct {
		t     ovmf.SectionType
		name  string
		known bool
	}{
		{ovmf.SectionSNPSecMem, "SNP_SEC_MEM", true},
		{ovmf.SectionSNPSecrets, "SNP_SECRETS", true},
		{ovmf.SectionCPUID, "CPUID", true},
		{ovmf.SectionSVSMCAA, "SVSM_CAA", true},
		{ovmf.SectionSNPKernelHashes, "SNP_KERNEL_HASHES", true},
		{0, "unknown(0x0)", false},
		{5, "unknown(0x5)", false},
		{0xffffffff, "unknown(0xffffffff)", false},
	} {
		if tc.t.String() != tc.name || tc.t.Known() != tc.known {
			t.Errorf("%d: %q %v, want %q %v", uint32(tc.t), tc.t.String(), tc.t.Known(), tc.name, tc.known)
		}
	}
	s := ovmf.Section{GPA: 0xfffff000, Size: 0xffffffff}
	if s.End() != 0xfffff000+0xffffffff {
		t.Errorf("End %#x overflows", s.End())
	}
}

func TestGUID(t *testing.T) {
	const s = "96b582de-1fb2-45f7-baea-a366c55a082d"
	g, err := ovmf.ParseGUID(s)
	if err != nil || g != ovmf.FooterGUID || g.String() != s || g.Name() != "footer" {
		t.Errorf("ParseGUID(%q) = %v (%q), %v", s, g, g.String(), err)
	}
	want := []byte{0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45, 0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d}
	if !bytes.Equal(g[:], want) {
		t.Errorf("bytes % x, want mixed-endian % x", g[:], want)
	}
	for _, bad := range []string{"", "96b582de", "96b582de-1fb2-45f7-baea-a366c55a082", "96b582de-1fb2-45f7-baea-a366c55a082z", "96b582de1fb245f7baeaa366c55a082d"} {
		if _, err := ovmf.ParseGUID(bad); err == nil {
			t.Errorf("ParseGUID(%q): no error", bad)
		}
	}
}

// TestParseMemoryBounded parses images whose metadata claims 2^32-1
// sections: the parser must reject them without allocating for the claim.
func TestParseMemoryBounded(t *testing.T) {
	small := metaImage(metadata("ASEV", 1, 0xffffffff))
	allocs := bytesAllocated(func() { parse(small) })
	t.Logf("16 KiB image claiming 2^32-1 sections: %d bytes allocated", allocs)
	if allocs > 128<<10 {
		t.Errorf("parsing a 16 KiB image allocated %d bytes", allocs)
	}

	// A 4 GiB sparse image whose sections could all fit: the claim is
	// bounded by MaxSections, not by the file size.
	f, err := os.Create(filepath.Join(t.TempDir(), "4g.fd"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const size = ovmf.MaxImageSize
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	tail := footerImage(4096, 0, tEntry{guid: ovmf.SEVMetadataGUID, data: u32s(0x80000000)})
	if _, err := f.WriteAt(tail, size-4096); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(metadata("ASEV", 1, 150_000_000), size-0x80000000); err != nil {
		t.Fatal(err)
	}
	var perr error
	allocs = bytesAllocated(func() { _, perr = ovmf.Parse(f, size) })
	t.Logf("4 GiB image claiming 150 million sections: %v; %d bytes allocated", perr, allocs)
	if perr == nil || !strings.Contains(perr.Error(), "claims 150000000 sections, more than the 4096") {
		t.Errorf("err %v, want the section limit", perr)
	}
	if allocs > 128<<10+ovmf.MaxSections*(ovmf.SectionDescSize+32) {
		t.Errorf("parsing allocated %d bytes", allocs)
	}
}

func bytesAllocated(fn func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	fn()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}
