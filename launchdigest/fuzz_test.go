package launchdigest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/snpmeasure/snpmeasure/ovmf"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

// Fuzz targets of the engine. Short bounded runs (as in CI):
//
//	go test ./launchdigest -run '^$' -fuzz '^FuzzSNPMetadata$' -fuzztime 30s
//	go test ./launchdigest -run '^$' -fuzz '^FuzzKernelHashesPage$' -fuzztime 10s
//	go test ./launchdigest -run '^$' -fuzz '^FuzzHashStream$' -fuzztime 10s
//	go test ./launchdigest -run '^$' -fuzz '^FuzzParseDigest$' -fuzztime 10s
//
// Without -fuzz, the seed corpus runs as ordinary tests.

// fuzzImage is a 16 KiB firmware with a footer table (reset block, hash
// table at hashGPA, SEV metadata) whose SEV metadata holds the section
// descriptors in sections (12 bytes each; a trailing partial one is dropped).
func fuzzImage(sections []byte, hashGPA uint32, resetEIP uint32) []byte {
	const size, metaOff = 0x4000, 0x100
	img := make([]byte, size)
	n := min(len(sections)/ovmf.SectionDescSize, (0x3000-metaOff-ovmf.MetadataHeaderSize)/ovmf.SectionDescSize)
	m := img[metaOff:]
	copy(m, ovmf.MetadataSignature)
	binary.LittleEndian.PutUint32(m[4:], uint32(ovmf.MetadataHeaderSize+n*ovmf.SectionDescSize))
	binary.LittleEndian.PutUint32(m[8:], ovmf.MetadataVersion)
	binary.LittleEndian.PutUint32(m[12:], uint32(n))
	copy(m[ovmf.MetadataHeaderSize:], sections[:n*ovmf.SectionDescSize])
	var table []byte
	for _, e := range []struct {
		g ovmf.GUID
		v uint32
	}{{ovmf.SEVMetadataGUID, size - metaOff}, {ovmf.SEVHashTableGUID, hashGPA}, {ovmf.SEVESResetBlockGUID, resetEIP}} {
		table = binary.LittleEndian.AppendUint32(table, e.v)
		table = binary.LittleEndian.AppendUint16(table, 4+ovmf.EntryHeaderSize)
		table = append(table, e.g[:]...)
	}
	footer := size - ovmf.FooterOffsetFromEnd
	copy(img[footer-len(table):], table)
	binary.LittleEndian.PutUint16(img[footer:], uint16(len(table)+ovmf.EntryHeaderSize))
	copy(img[footer+2:], ovmf.FooterGUID[:])
	return img
}

// sectionBytes encodes section descriptors.
func sectionBytes(s ...ovmf.Section) []byte {
	var b []byte
	for _, x := range s {
		b = binary.LittleEndian.AppendUint32(b, x.GPA)
		b = binary.LittleEndian.AppendUint32(b, x.Size)
		b = binary.LittleEndian.AppendUint32(b, uint32(x.Type))
	}
	return b
}

// amdSevSections are the sections of the AmdSev OVMF fixture.
var amdSevSections = sectionBytes(
	ovmf.Section{GPA: 0x800000, Size: 0x9000, Type: ovmf.SectionSNPSecMem},
	ovmf.Section{GPA: 0x80a000, Size: 0x3000, Type: ovmf.SectionSNPSecMem},
	ovmf.Section{GPA: 0x80d000, Size: 0x1000, Type: ovmf.SectionSNPSecrets},
	ovmf.Section{GPA: 0x80e000, Size: 0x1000, Type: ovmf.SectionCPUID},
	ovmf.Section{GPA: 0x80f000, Size: 0x1000, Type: ovmf.SectionSVSMCAA},
	ovmf.Section{GPA: 0x810000, Size: 0x1000, Type: ovmf.SectionSNPKernelHashes},
	ovmf.Section{GPA: 0x811000, Size: 0xf000, Type: ovmf.SectionSNPSecMem},
)

// FuzzSNPMetadata measures well-formed images with fuzzed metadata sections,
// reset EIP, hash table GPA, VMM and vCPU count: the structure-aware
// complement of ovmf.FuzzParse, which rarely gets past the footer GUID.
func FuzzSNPMetadata(f *testing.F) {
	f.Add(amdSevSections, uint32(0x810c00), uint32(0x80b004), uint8(0), uint8(4), true)
	f.Add(amdSevSections, uint32(0x80cfa0), uint32(0x80b004), uint8(1), uint8(1), true)
	f.Add(amdSevSections[:6*12], uint32(0), uint32(0), uint8(2), uint8(2), false)
	f.Add(sectionBytes(ovmf.Section{GPA: 0xffffe000, Size: 0x2000, Type: 1}), uint32(0), uint32(1), uint8(0), uint8(1), false)
	f.Add(sectionBytes(ovmf.Section{GPA: 0, Size: 0xffffb000, Type: 1}, ovmf.Section{GPA: 0, Size: 0xffffb000, Type: 4}), uint32(0), uint32(1), uint8(0), uint8(1), false)
	f.Add(sectionBytes(ovmf.Section{GPA: 0x810000, Size: 0x2000, Type: 0x10}), uint32(0x810c00), uint32(1), uint8(0), uint8(1), true)
	f.Add(sectionBytes(ovmf.Section{GPA: 1, Size: 1, Type: 0x11}), uint32(0), uint32(1), uint8(0), uint8(1), false)
	f.Fuzz(func(t *testing.T, sections []byte, hashGPA, resetEIP uint32, vmm, vcpus uint8, kernel bool) {
		img := fuzzImage(sections, hashGPA, resetEIP)
		fw, err := ovmf.Parse(bytes.NewReader(img), int64(len(img)))
		if err != nil {
			t.Fatalf("the wrapper built an image that does not parse: %v", err)
		}
		cfg := SNPConfig{VCPUs: VCPUs{Count: int(vcpus), VMM: vmsa.VMMs[int(vmm)%len(vmsa.VMMs)], Signature: 0xa10f10, GuestFeatures: 1}}
		if kernel {
			cfg.Kernel = &KernelHashes{Kernel: sha256.Sum256(sections), Initrd: EmptyHash, Cmdline: CmdlineHash("")}
		}
		pages := make([]Digest, len(img)/PageSize)
		l, err := SNP(fw, pages, cfg)
		if err != nil {
			if l != nil || err.Error() == "" || strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("launch %v, error %q", l, err)
			}
			var se *SectionError
			if errors.As(err, &se) && (se.Index < 0 || se.Index >= len(fw.Sections) || se.Section != fw.Sections[se.Index]) {
				t.Fatalf("SectionError names section %d, which is not the image's", se.Index)
			}
			return
		}
		// A launch was built: the firmware and every section are placed
		// below 4 GiB and outside the image, and the update count is bounded.
		imStart := fw.GPA(FirmwareEnd)
		var metaPages uint64
		for _, s := range l.Steps {
			switch s.Source {
			case "ovmf":
				if s.GPA != imStart || s.Pages != uint64(len(pages)) {
					t.Fatalf("firmware step %+v", s)
				}
				continue
			case "vmsa":
				continue
			}
			metaPages += s.Pages
			end := s.GPA + s.Pages*s.Stride
			if s.Stride == 0 {
				end = s.GPA + PageSize
			}
			if end > FirmwareEnd || (s.Pages > 0 && s.Stride > 0 && end > imStart && s.GPA < FirmwareEnd) {
				t.Fatalf("step %s at %#x-%#x: beyond 4 GiB or over the image at %#x", s.Source, s.GPA, end, imStart)
			}
			if s.Source == "kernel-hashes" && (cfg.Kernel == nil || s.Pages != 1 || len(s.Contents) != 1) {
				t.Fatalf("kernel-hashes step %+v", s)
			}
		}
		if metaPages > maxMetadataPages {
			t.Fatalf("%d metadata pages, more than %d", metaPages, uint64(maxMetadataPages))
		}
		if vcpus == 0 || (vcpus > 1 && resetEIP == 0) {
			t.Fatalf("launch with %d vCPUs and AP EIP %#x", vcpus, resetEIP)
		}
		if l.NumUpdates() <= 1<<14 {
			l.Digest()
		}
	})
}

// TestMetadataPagesBounded: sections that add up to more pages than lie
// below 4 GiB are refused before any is measured (a 4 KiB image could
// otherwise ask for hours of hashing).
func TestMetadataPagesBounded(t *testing.T) {
	big := ovmf.Section{GPA: 0, Size: 0xffffb000, Type: ovmf.SectionSNPSecMem}
	img := fuzzImage(sectionBytes(big, big, big), 0, 0x80b004)
	fw, err := ovmf.Parse(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = SNP(fw, make([]Digest, len(img)/PageSize), SNPConfig{VCPUs: VCPUs{Count: 1}})
	var se *SectionError
	if !errors.As(err, &se) || se.Index != 1 || !strings.Contains(err.Error(), "more than 1048576 pages") {
		t.Fatalf("err %v, want a SectionError for section 1", err)
	}
	// One section that large is fine (it is just zero pages).
	img = fuzzImage(sectionBytes(big), 0, 0x80b004)
	fw, err = ovmf.Parse(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	l, err := SNP(fw, make([]Digest, len(img)/PageSize), SNPConfig{VCPUs: VCPUs{Count: 1}})
	if err != nil || l.NumUpdates() != 4+0xffffb+1 {
		t.Fatalf("one 4 GiB section: %v", err)
	}
}

// FuzzKernelHashesPage checks the kernel-hashes page for every hash-table GPA.
func FuzzKernelHashesPage(f *testing.F) {
	f.Add(uint32(0x810c00), []byte("kernel"), []byte(""), "console=ttyS0")
	f.Add(uint32(0x80cfa0), []byte{}, []byte("initrd"), "")
	f.Add(uint32(0xffffffff), []byte{0}, []byte{1}, "\x00")
	f.Add(uint32(4096-PaddedHashTableSize), []byte{}, []byte{}, "x")
	f.Fuzz(func(t *testing.T, gpa uint32, kernel, initrd []byte, cmdline string) {
		k := &KernelHashes{Kernel: sha256.Sum256(kernel), Initrd: sha256.Sum256(initrd), Cmdline: CmdlineHash(cmdline)}
		off := int(gpa & (PageSize - 1))
		page, err := k.Page(gpa)
		if off+PaddedHashTableSize > PageSize {
			if !errors.Is(err, ErrHashTableOffset) || page != nil {
				t.Fatalf("GPA %#x: page %v, err %v; want ErrHashTableOffset", gpa, page != nil, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("GPA %#x: %v", gpa, err)
		}
		table := k.Table()
		if !bytes.Equal(page[off:off+PaddedHashTableSize], table[:]) {
			t.Fatal("table not at the GPA's page offset")
		}
		if bytes.ContainsFunc(page[:off], func(r rune) bool { return r != 0 }) ||
			bytes.ContainsFunc(page[off+PaddedHashTableSize:], func(r rune) bool { return r != 0 }) {
			// ContainsFunc decodes runes; any non-zero byte yields a non-zero rune.
			t.Fatal("bytes outside the table are not zero")
		}
		want := sha256.Sum256(append([]byte(cmdline), 0))
		if !bytes.Equal(table[18+18:18+50], want[:]) {
			t.Fatal("command line hash is not SHA-256(cmdline || NUL)")
		}
	})
}

// chunkReader yields data in reads whose sizes cycle through sizes, then
// fails with err (io.EOF for a clean end). A size 0 is a read that returns
// nothing; two in a row become one byte, so that the reader makes progress.
type chunkReader struct {
	data  []byte
	sizes []byte
	i     int
	empty bool
	err   error
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := len(p)
	if len(r.sizes) > 0 {
		n = min(n, int(r.sizes[r.i%len(r.sizes)])*97)
		r.i++
	}
	if n == 0 && r.empty {
		n = 1
	}
	r.empty = n == 0
	n = copy(p, r.data[:min(n, len(r.data))])
	r.data = r.data[n:]
	return n, nil
}

// FuzzHashStream feeds HashStream through readers that return short, empty
// and failing reads: the hash is that of the bytes, and read errors are returned.
func FuzzHashStream(f *testing.F) {
	f.Add([]byte("hello"), []byte{1, 0, 3}, uint32(0), false)
	f.Add(bytes.Repeat([]byte{7}, 5000), []byte{}, uint32(3), true)
	f.Add([]byte{}, []byte{0}, uint32(1<<20+1), false)
	f.Fuzz(func(t *testing.T, data, sizes []byte, extra uint32, fail bool) {
		// Stretch the data beyond one read buffer sometimes.
		data = append(data, make([]byte, int(extra%(3*streamBufSize)))...)
		end := io.EOF
		boom := errors.New("boom")
		if fail {
			end = boom
		}
		var progressed int64
		got, err := SHA256Stream(&chunkReader{data: data, sizes: sizes, err: end}, func(n int) { progressed += int64(n) })
		if fail {
			if !errors.Is(err, boom) {
				t.Fatalf("err %v, want boom", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if got != sha256.Sum256(data) || progressed != int64(len(data)) {
			t.Fatalf("hash or progress (%d of %d bytes) wrong", progressed, len(data))
		}
	})
}

// FuzzParseDigest: ParseDigest accepts exactly 96 hex digits and round-trips.
func FuzzParseDigest(f *testing.F) {
	f.Add(strings.Repeat("ab", 48))
	f.Add(strings.Repeat("AB", 48))
	f.Add("")
	f.Add(strings.Repeat("0", 95) + "g")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDigest(s)
		if err != nil {
			return
		}
		if len(s) != 2*DigestSize || !strings.EqualFold(d.String(), s) {
			t.Fatalf("ParseDigest(%q) = %s", s, d)
		}
	})
}
