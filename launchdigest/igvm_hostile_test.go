package launchdigest

import (
	"errors"
	"testing"

	"github.com/snpmeasure/snpmeasure/igvm"
)

// Both loaders measure MaxIGVMUpdates page updates and refuse one more,
// naming the directive that goes beyond, before hashing anything.
func TestIGVMUpdateBound(t *testing.T) {
	const large = igvm.LargePageSize / PageSize
	largePages := func(n int) *igvm.File {
		b := snpBuilder()
		for i := range n {
			b.Page(uint64(i)*igvm.LargePageSize, maskSNP, igvm.FlagLargePage, igvm.DataNormal, nil)
		}
		return openBytes(t, b.Bytes())
	}
	// 4 GiB parameter areas: one page each for igvmmeasure, the whole area for QEMU.
	areas := func(n int) *igvm.File {
		b := snpBuilder()
		for i := range n {
			b.Add(igvm.ParameterArea{NumberOfBytes: 1<<32 - PageSize, Index: uint32(i)}, nil)
			b.Add(igvm.ParameterInsert{GPA: uint64(i+1) << 32, CompatibilityMask: maskSNP, Index: uint32(i)}, nil)
		}
		return openBytes(t, b.Bytes())
	}
	loaders := []struct {
		name    string
		measure func(*igvm.File) (*IGVMLaunch, error)
	}{
		{"igvmmeasure", func(f *igvm.File) (*IGVMLaunch, error) { return IGVMMeasure(f, IGVMMeasureOptions{}) }},
		{"qemu", func(f *igvm.File) (*IGVMLaunch, error) { return IGVMQEMU(f, QEMUOptions{VCPUs: 1}) }},
	}
	for _, lo := range loaders {
		t.Run(lo.name, func(t *testing.T) {
			l, err := lo.measure(largePages(MaxIGVMUpdates / large))
			if err != nil {
				t.Fatal(err)
			}
			vmsas := uint64(l.VMSAs)
			if n := l.NumUpdates(); n != MaxIGVMUpdates+vmsas {
				t.Fatalf("%d updates, want %d", n, MaxIGVMUpdates+vmsas)
			}
			_, err = lo.measure(largePages(MaxIGVMUpdates/large + 1))
			var de *DirectiveError
			if !errors.As(err, &de) || !errors.Is(err, ErrIGVMTooManyUpdates) || de.Directive != "directive[8192] PAGE_DATA" {
				t.Fatalf("one more page: %v", err)
			}
		})
	}
	if _, err := IGVMMeasure(areas(64), IGVMMeasureOptions{}); err != nil {
		t.Fatalf("igvmmeasure, 64 areas of 4 GiB: %v", err)
	}
	if _, err := IGVMQEMU(areas(4), QEMUOptions{VCPUs: 1}); err != nil {
		t.Fatalf("qemu, 4 areas of 4 GiB: %v", err)
	}
	_, err := IGVMQEMU(areas(5), QEMUOptions{VCPUs: 1})
	var de *DirectiveError
	if !errors.As(err, &de) || !errors.Is(err, ErrIGVMTooManyUpdates) || de.Directive != "directive[9] PARAMETER_INSERT" {
		t.Fatalf("qemu, 5 areas of 4 GiB: %v", err)
	}
}
