package ovmf_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/snpmeasure/snpmeasure/launchdigest"
	"github.com/snpmeasure/snpmeasure/ovmf"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

// Fuzz targets for the firmware parser and what the engine does with its
// results. Short bounded runs (as in CI):
//
//	go test ./ovmf -run '^$' -fuzz '^FuzzParse$' -fuzztime 30s
//	go test ./ovmf -run '^$' -fuzz '^FuzzSVSM$' -fuzztime 30s
//
// Without -fuzz, the seed corpus runs as ordinary tests.

// seedTailSize is how much of the end of each real image seeds the fuzzers:
// the footer table and the SEV metadata are in the last 4 KiB of every image.
const seedTailSize = 64 << 10

// tailOf returns the last n bytes of an input file (all of it when smaller).
func tailOf(tb testing.TB, name string, n int) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(inputs, name))
	if err != nil {
		tb.Fatal(err)
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return b
}

// parseSeeds are the firmware images whose tails seed FuzzParse.
var parseSeeds = []string{
	"sid-OVMF.amdsev.fd", "bookworm-OVMF.fd", "fx-svsm_ovmf.fd", "fx-svsm.bin",
	"fx-ovmf_AmdSev_suffix.bin", "fx-ovmf_OvmfX64_suffix.bin", "synth-odd-size.fd",
}

// fakePages returns n distinct page digests.
func fakePages(n int64) []launchdigest.Digest {
	p := make([]launchdigest.Digest, n)
	for i := range p {
		p[i][0], p[i][1], p[i][47] = byte(i), byte(i>>8), 0x5a
	}
	return p
}

// maxFuzzUpdates bounds the launches whose digest a fuzz run computes; larger
// ones (sections of gigabytes) are only checked for consistency.
const maxFuzzUpdates = 1 << 14

func FuzzParse(f *testing.F) {
	for _, name := range parseSeeds {
		f.Add(tailOf(f, name, seedTailSize))
	}
	f.Add([]byte{})
	f.Add(metaImage(metadata("ASEV", 1, 4, goodSections...)))
	f.Add(metaImage(metadata("ASEV", 1, 0xffffffff)))
	f.Add(footerImage(4096, 0, tEntry{guid: ovmf.SEVMetadataGUID, data: u32s(0xffffffff)}))
	f.Add(footerImage(4096, 0xffff))
	f.Fuzz(func(t *testing.T, data []byte) {
		im, err := ovmf.Parse(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			checkParseError(t, im, err)
			return
		}
		checkImage(t, data, im)
		exerciseEngine(t, data, im)
	})
}

// checkParseError: an error comes alone, is one line, and is a FormatError:
// reading a bytes.Reader cannot fail unless the parser reads past the end.
func checkParseError(t *testing.T, im *ovmf.Image, err error) {
	t.Helper()
	if im != nil {
		t.Fatalf("Parse returned an image and the error %v", err)
	}
	var fe *ovmf.FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("error %q (%T) is not a FormatError: the parser read outside the image", err, err)
	}
	if strings.ContainsAny(err.Error(), "\n\r") {
		t.Fatalf("multi-line error %q", err)
	}
}

// checkImage checks that what Parse reports is really in data.
func checkImage(t *testing.T, data []byte, im *ovmf.Image) {
	t.Helper()
	size := int64(len(data))
	if im.Size != size {
		t.Fatalf("size %d, want %d", im.Size, size)
	}
	for _, e := range im.Entries {
		if e.Offset < 0 || e.Offset+int64(len(e.Data))+ovmf.EntryHeaderSize > size-ovmf.FooterOffsetFromEnd {
			t.Fatalf("entry %s at %#x+%d: outside the table", e.GUID, e.Offset, len(e.Data))
		}
		if !bytes.Equal(e.Data, data[e.Offset:e.Offset+int64(len(e.Data))]) {
			t.Fatalf("entry %s at %#x: data is not the file's", e.GUID, e.Offset)
		}
		trailer := data[e.Offset+int64(len(e.Data)):]
		if ovmf.GUID(trailer[2:18]) != e.GUID {
			t.Fatalf("entry at %#x: GUID is not the file's", e.Offset)
		}
		if got, ok := im.Lookup(e.GUID); !ok || got.GUID != e.GUID {
			t.Fatalf("Lookup(%s) does not find a listed entry", e.GUID)
		}
	}
	if im.HasMetadata {
		if im.MetadataOffset < 0 || im.MetadataOffset+ovmf.MetadataHeaderSize > size {
			t.Fatalf("metadata at %#x outside the %d-byte image", im.MetadataOffset, size)
		}
		if string(data[im.MetadataOffset:im.MetadataOffset+4]) != ovmf.MetadataSignature {
			t.Fatal("metadata accepted without its signature")
		}
	} else if len(im.Sections) > 0 {
		t.Fatal("sections without metadata")
	}
	if len(im.Sections) > ovmf.MaxSections {
		t.Fatalf("%d sections, more than MaxSections", len(im.Sections))
	}
	for _, s := range im.Sections {
		if s.Offset < im.MetadataOffset || s.Offset+ovmf.SectionDescSize > size {
			t.Fatalf("section descriptor at %#x outside the image", s.Offset)
		}
	}
	if k, ok := im.KernelHashesSection(); ok && k.Type != ovmf.SectionSNPKernelHashes {
		t.Fatalf("KernelHashesSection returned %v", k.Type)
	}
}

// exerciseEngine measures the parsed image every way the CLI can: nothing
// may panic, and a launch that is built must be consistent.
func exerciseEngine(t *testing.T, data []byte, im *ovmf.Image) {
	t.Helper()
	pages := fakePages(im.Size / launchdigest.PageSize)
	k := &launchdigest.KernelHashes{Initrd: launchdigest.EmptyHash, Cmdline: launchdigest.CmdlineHash("console=ttyS0")}
	seed := launchdigest.Digest{1}
	for _, vmm := range vmsa.VMMs {
		for _, cfg := range []launchdigest.SNPConfig{
			{VCPUs: launchdigest.VCPUs{Count: 1, VMM: vmm, Signature: 0xa00f11, GuestFeatures: 1}},
			{VCPUs: launchdigest.VCPUs{Count: 3, VMM: vmm, Signature: 0xa10f10, GuestFeatures: 0x21}, Kernel: k},
			{VCPUs: launchdigest.VCPUs{Count: 2, VMM: vmm}, Kernel: k, OVMFHash: &seed},
		} {
			l, err := launchdigest.SNP(im, pages, cfg)
			checkLaunch(t, im, l, err)
		}
	}
	if d, err := launchdigest.OVMFHash(im, pages); err == nil && im.Size%launchdigest.PageSize != 0 {
		t.Fatalf("OVMFHash %v of a %d-byte image", d, im.Size)
	}
	for _, count := range []int{0, 1, 2} {
		d, err := launchdigest.SEVES(im, bytes.NewReader(data), k, launchdigest.VCPUs{Count: count})
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("multi-line error %q", err)
			}
			continue
		}
		if count == 0 {
			// SEV with a kernel: SHA-256 of the image and the hashes table.
			table := k.Table()
			want := sha256.Sum256(append(bytes.Clone(data), table[:]...))
			if d != want {
				t.Fatal("SEV digest is not SHA-256(image || hashes table)")
			}
		}
	}
}

// checkLaunch checks an SNP launch or its error.
func checkLaunch(t *testing.T, im *ovmf.Image, l *launchdigest.Launch, err error) {
	t.Helper()
	if err != nil {
		if l != nil {
			t.Fatalf("a launch and the error %v", err)
		}
		if err.Error() == "" || strings.ContainsAny(err.Error(), "\n\r") {
			t.Fatalf("bad error message %q", err)
		}
		return
	}
	if l == nil {
		t.Fatal("no launch and no error")
	}
	var n uint64
	for _, s := range l.Steps {
		if s.Pages == 0 && s.Type != launchdigest.PageZero && s.Type != launchdigest.PageUnmeasured {
			t.Fatalf("step %s: no pages", s.Source)
		}
		if s.Type != launchdigest.PageVMSA && s.GPA+s.Pages*s.Stride > launchdigest.FirmwareEnd {
			t.Fatalf("step %s: GPA %#x + %d pages beyond 4 GiB", s.Source, s.GPA, s.Pages)
		}
		if c := uint64(len(s.Contents)); c != 0 && c != 1 && c != s.Pages {
			t.Fatalf("step %s: %d contents for %d pages", s.Source, c, s.Pages)
		}
		n += s.Pages
	}
	if n != l.NumUpdates() {
		t.Fatalf("NumUpdates %d, steps hold %d", l.NumUpdates(), n)
	}
	if n > 2<<20+1<<17 {
		t.Fatalf("%d updates: more than two sets of the pages below 4 GiB and the VMSAs", n)
	}
	if n <= maxFuzzUpdates {
		d := l.Digest()
		var last launchdigest.Digest
		var seen uint64
		for _, ld := range l.Updates() {
			last = ld
			seen++
		}
		if seen != n || (n > 0 && last != d) || (n == 0 && d != l.Start) {
			t.Fatalf("Updates (%d) disagree with Digest (%d updates)", seen, n)
		}
	}
}

var (
	svsmOVMFOnce  sync.Once
	svsmOVMF      *ovmf.Image
	svsmOVMFPages []launchdigest.Digest
	svsmOVMFErr   error
)

// svsmFirmware parses fx-svsm_ovmf.fd and hashes its pages once per process.
func svsmFirmware(tb testing.TB) (*ovmf.Image, []launchdigest.Digest) {
	tb.Helper()
	svsmOVMFOnce.Do(func() {
		var b []byte
		b, svsmOVMFErr = os.ReadFile(filepath.Join(inputs, "fx-svsm_ovmf.fd"))
		if svsmOVMFErr != nil {
			return
		}
		svsmOVMF, svsmOVMFErr = ovmf.Parse(bytes.NewReader(b), int64(len(b)))
		if svsmOVMFErr != nil {
			return
		}
		svsmOVMFPages, svsmOVMFErr = launchdigest.HashPages(bytes.NewReader(b), int64(len(b)), nil)
	})
	if svsmOVMFErr != nil {
		tb.Fatal(svsmOVMFErr)
	}
	return svsmOVMF, svsmOVMFPages
}

// FuzzSVSM measures fuzzed SVSM images below the COCONUT-SVSM OVMF fixture.
func FuzzSVSM(f *testing.F) {
	svsm := tailOf(f, "fx-svsm.bin", 1<<30)
	for _, n := range []int{4096, seedTailSize} {
		tail := svsm[len(svsm)-n:]
		f.Add(tail, uint64(0x84000), uint16(1))
		f.Add(tail, uint64(0x20000), uint16(4))
	}
	f.Add(footerImage(4096, 0, tEntry{guid: ovmf.SVSMInfoGUID, data: u32s(0x10)}), uint64(0), uint16(1))
	f.Add(footerImage(4096, 0, tEntry{guid: ovmf.SVSMInfoGUID}), uint64(1)<<40, uint16(0))
	f.Add([]byte{}, uint64(0), uint16(2))
	f.Fuzz(func(t *testing.T, data []byte, varsSize uint64, vcpus uint16) {
		fw, fwPages := svsmFirmware(t)
		sv, err := ovmf.Parse(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			checkParseError(t, sv, err)
			return
		}
		checkImage(t, data, sv)
		pages := fakePages(sv.Size / launchdigest.PageSize)
		l, err := launchdigest.SVSM(fw, fwPages, sv, pages, launchdigest.SVSMConfig{
			VarsSize: varsSize, VCPUs: int(vcpus), Signature: 0xa00f11})
		checkLaunch(t, sv, l, err)
		if err != nil {
			return
		}
		if !sv.HasSVSMInfo || sv.Size%launchdigest.PageSize != 0 || vcpus == 0 ||
			varsSize+uint64(sv.Size) > fw.GPA(launchdigest.FirmwareEnd) {
			t.Fatal("SVSM launch built from an image or configuration that cannot launch")
		}
		want := fw.GPA(launchdigest.FirmwareEnd) - varsSize - uint64(sv.Size)
		if l.Steps[1].Source != "svsm" || l.Steps[1].GPA != want {
			t.Fatalf("SVSM loaded at %#x, want %#x", l.Steps[1].GPA, want)
		}
	})
}
