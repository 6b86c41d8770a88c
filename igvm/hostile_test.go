package igvm_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/snpmeasure/snpmeasure/igvm"
	"github.com/snpmeasure/snpmeasure/internal/igvmtest"
)

// vbsTable is a VBS VP context of n registers of the VTL, all RIP (0x20005).
func vbsTable(n int, vtl byte) []byte {
	b := make([]byte, igvm.VBSVPContextHeaderSize+n*igvm.VBSVPContextRegisterSize)
	binary.LittleEndian.PutUint32(b, uint32(n))
	for i := range n {
		r := b[igvm.VBSVPContextHeaderSize+i*igvm.VBSVPContextRegisterSize:]
		r[0] = vtl
		binary.LittleEndian.PutUint32(r[1:], 0x20005)
	}
	return b
}

const maskVSM = 2

func vsmBuilder() *igvmtest.Builder {
	b := &igvmtest.Builder{Dedup: true}
	b.Platform(maskVSM, igvm.PlatformVSM)
	return b
}

// readAll opens data through a counting reader and reads every directive.
func readAll(data []byte) (*igvmtest.CountingReaderAt, *igvm.Headers, error) {
	r := &igvmtest.CountingReaderAt{R: bytes.NewReader(data)}
	f, err := igvm.Open(r, int64(len(data)))
	if err != nil {
		return r, nil, err
	}
	hs, err := f.ReadAll()
	return r, hs, err
}

// A VBS context named by many VP_CONTEXT directives is read once, in one
// piece: the reads do not grow with directives x registers.
func TestVBSContextReadOnce(t *testing.T) {
	b := vsmBuilder()
	table := vbsTable(1000, 0)
	for range 200 {
		b.Add(igvm.VPContext{CompatibilityMask: maskVSM}, table)
	}
	data := b.Bytes()
	r, hs, err := readAll(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(hs.Directives) != 200 {
		t.Fatalf("%d directives", len(hs.Directives))
	}
	for _, h := range hs.Directives {
		if v := h.Body.(igvm.VPContext); v.Kind != igvm.VPContextVBS || v.VBSVTL != 0 {
			t.Fatalf("%s: %+v", h.Name(), v)
		}
	}
	// The checksum, the head sections and the directives each read the
	// headers once; the context is read once.
	if calls, n := r.Calls.Load(), r.Bytes.Load(); calls > 20 || n > 3*int64(len(data)) {
		t.Errorf("%d reads of %d bytes for a %d-byte file", calls, n, len(data))
	}
}

// vbsError parses data and returns its FormatError.
func vbsError(t *testing.T, data []byte) *igvm.FormatError {
	t.Helper()
	_, _, err := readAll(data)
	var fe *igvm.FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("got %v, want a FormatError", err)
	}
	return fe
}

func TestVBSContextBounds(t *testing.T) {
	t.Run("too many registers", func(t *testing.T) {
		b := vsmBuilder()
		b.Add(igvm.VPContext{CompatibilityMask: maskVSM}, vbsTable(igvm.MaxVBSRegisters+1, 0))
		data := b.Bytes()
		fe := vbsError(t, data)
		ctx := int64(len(data) - len(vbsTable(igvm.MaxVBSRegisters+1, 0)))
		if fe.Offset != ctx || !errors.Is(fe, igvm.ErrInvalid) || !strings.Contains(fe.Error(), "1025 registers, more than 1024") ||
			fe.Header != "directive[0] VP_CONTEXT" {
			t.Errorf("%v (offset %#x), want the context at %#x", fe, fe.Offset, ctx)
		}
	})
	t.Run("the bound itself", func(t *testing.T) {
		b := vsmBuilder()
		b.Add(igvm.VPContext{CompatibilityMask: maskVSM}, vbsTable(igvm.MaxVBSRegisters, 2))
		if _, _, err := readAll(b.Bytes()); err != nil {
			t.Fatal(err)
		}
	})
	// A second context whose count is the value of the first one's
	// register 0: its registers are the first one's registers 1 to 999.
	// The igvm crate reads both; a real file never overlaps them, and
	// checking overlapping tables would cost their sizes times their number.
	t.Run("overlapping tables", func(t *testing.T) {
		first := vbsTable(1000, 0)
		binary.LittleEndian.PutUint32(first[igvm.VBSVPContextHeaderSize+28:], 999)
		build := func(second uint32) []byte {
			b := vsmBuilder()
			b.Add(igvm.VPContext{CompatibilityMask: maskVSM}, first)
			b.Add(igvm.VPContext{CompatibilityMask: maskVSM, FileOffset: second}, nil)
			return b.Bytes()
		}
		off := uint32(len(build(0)) - len(first))
		fe := vbsError(t, build(off+32))
		if fe.Header != "directive[1] VP_CONTEXT" || int64(off+32) != fe.Offset || !strings.Contains(fe.Error(), "overlap") {
			t.Errorf("%v (offset %#x), want the second context at %#x", fe, fe.Offset, off+32)
		}
		// The same context twice is one table.
		if _, _, err := readAll(build(off)); err != nil {
			t.Errorf("the same context twice: %v", err)
		}
	})
	// The VP index is checked for every directive, also of a context read before.
	t.Run("second directive for VP 1", func(t *testing.T) {
		b := vsmBuilder()
		b.Add(igvm.VPContext{CompatibilityMask: maskVSM}, vbsTable(4, 0))
		b.Add(igvm.VPContext{CompatibilityMask: maskVSM, VPIndex: 1}, vbsTable(4, 0))
		if fe := vbsError(t, b.Bytes()); fe.Header != "directive[1] VP_CONTEXT" || !strings.Contains(fe.Error(), "VP 1") {
			t.Errorf("%v", fe)
		}
	})
}

// More than MaxParameterAreas areas is refused at the first one beyond.
func TestParameterAreaBound(t *testing.T) {
	b := &igvmtest.Builder{}
	b.Platform(1, igvm.PlatformSEVSNP)
	for i := range igvm.MaxParameterAreas + 1 {
		b.Add(igvm.ParameterArea{NumberOfBytes: igvm.PageSize, Index: uint32(i)}, nil)
	}
	data := b.Bytes()
	_, _, err := igvm.Parse(data)
	var fe *igvm.FormatError
	name := fmt.Sprintf("directive[%d] PARAMETER_AREA", igvm.MaxParameterAreas)
	// Fixed header, the platform header, then 24 bytes per area.
	off := int64(igvm.FixedHeaderV1Size + 24 + 24*igvm.MaxParameterAreas)
	if !errors.As(err, &fe) || fe.Header != name || fe.Offset != off || !strings.Contains(err.Error(), "more than 65536 parameter areas") {
		t.Fatalf("got %v, want %s at %#x refused", err, name, off)
	}
}

// GPA ranges that go past 2^64 and reserved PAGE_DATA flags are refused
// with the directive and its offset; ranges that end at 2^64 are fine.
func TestGPARangesAndFlags(t *testing.T) {
	const top4K, top2M = 0xFFFFFFFFFFFFF000, 0xFFFFFFFFFFE00000
	// The fixed header, the platform header and directive[0] take 80 bytes.
	const second, third = 80, 80 + 24
	tests := []struct {
		name  string
		build func(*igvmtest.Builder)
		want  string // empty: accepted
		hdr   string
		off   int64
	}{
		{"2 MiB page that wraps", func(b *igvmtest.Builder) { b.Page(top2M+0x1000, 1, igvm.FlagLargePage, igvm.DataNormal, nil) },
			"a 0x200000-byte page at GPA 0xffffffffffe01000 goes past the top", "directive[1] PAGE_DATA", second},
		{"2 MiB page at the top", func(b *igvmtest.Builder) { b.Page(top2M, 1, igvm.FlagLargePage, igvm.DataNormal, nil) }, "", "", 0},
		{"4 KiB page at the top", func(b *igvmtest.Builder) { b.Page(top4K, 1, 0, igvm.DataNormal, []byte{1}) }, "", "", 0},
		{"area inserted across the top", func(b *igvmtest.Builder) {
			b.Add(igvm.ParameterArea{NumberOfBytes: 0x2000, Index: 3}, nil)
			b.Add(igvm.ParameterInsert{GPA: top4K, CompatibilityMask: 1, Index: 3}, nil)
		}, "parameter area 3 of 0x2000 bytes at GPA 0xfffffffffffff000 goes past the top", "directive[2] PARAMETER_INSERT", third},
		{"area inserted at the top", func(b *igvmtest.Builder) {
			b.Add(igvm.ParameterArea{NumberOfBytes: 0x1000, Index: 3}, nil)
			b.Add(igvm.ParameterInsert{GPA: top4K, CompatibilityMask: 1, Index: 3}, nil)
		}, "", "", 0},
		{"required memory across the top", func(b *igvmtest.Builder) {
			b.Add(igvm.RequiredMemory{GPA: top4K, CompatibilityMask: 1, NumberOfBytes: 0x2000}, nil)
		}, "0x2000 bytes at GPA 0xfffffffffffff000 go past the top", "directive[1] REQUIRED_MEMORY", second},
		{"error range across the top", func(b *igvmtest.Builder) {
			b.Add(igvm.ErrorRange{GPA: top4K, CompatibilityMask: 1, SizeBytes: 0x2000}, nil)
		}, "0x2000 bytes at GPA 0xfffffffffffff000 go past the top", "directive[1] ERROR_RANGE", second},
		{"reserved flag bit 31", func(b *igvmtest.Builder) { b.Page(0x1000, 1, 0x80000000, igvm.DataNormal, nil) },
			"flags 0x80000000: bits 0x80000000 are reserved", "directive[1] PAGE_DATA", second},
		{"reserved flag bit 3", func(b *igvmtest.Builder) { b.Page(0x1000, 1, igvm.FlagShared|8, igvm.DataNormal, nil) },
			"flags 0xc: bits 0x8 are reserved", "directive[1] PAGE_DATA", second},
		{"shared and unmeasured", func(b *igvmtest.Builder) {
			b.Page(0x1000, 1, igvm.FlagShared|igvm.FlagUnmeasured, igvm.DataNormal, nil)
		}, "", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &igvmtest.Builder{}
			b.Platform(1, igvm.PlatformSEVSNP)
			b.Add(igvm.PageData{GPA: 0x10000, CompatibilityMask: 1}, nil)
			tc.build(b)
			_, _, err := igvm.Parse(b.Bytes())
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var fe *igvm.FormatError
			if !errors.As(err, &fe) || !errors.Is(err, igvm.ErrInvalid) || !strings.Contains(err.Error(), tc.want) ||
				fe.Header != tc.hdr || fe.Offset != tc.off {
				t.Fatalf("got %v, want %s at %#x: %s", err, tc.hdr, tc.off, tc.want)
			}
		})
	}
}

// More than MaxRelocationRegions relocation headers are refused, with
// and without a mask (each would be checked against the others, and a
// relocation header is looked up by every VBS VP context).
func TestRelocationRegionBound(t *testing.T) {
	for _, mask := range []uint32{0, 1} {
		b := &igvmtest.Builder{}
		b.Platform(1, igvm.PlatformSEVSNP)
		for i := range igvm.MaxRelocationRegions + 1 {
			r := igvm.RelocatableRegion{CompatibilityMask: mask, RelocationAlignment: igvm.PageSize}
			if mask != 0 {
				r.RelocationRegionGPA, r.RelocationRegionSize = uint64(i)*igvm.PageSize, igvm.PageSize
				r.MaximumRelocationGPA = 1 << 40
			}
			b.Add(r, nil)
		}
		_, _, err := igvm.Parse(b.Bytes())
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("more than %d relocation regions", igvm.MaxRelocationRegions)) {
			t.Errorf("mask %#x: %v", mask, err)
		}
	}
}
