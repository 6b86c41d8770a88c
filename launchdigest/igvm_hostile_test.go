package launchdigest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/snpmeasure/snpmeasure/igvm"
	"github.com/snpmeasure/snpmeasure/internal/igvmtest"
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
			if !errors.As(err, &de) || !errors.Is(err, ErrIGVMTooManyUpdates) || de.Directive != fmt.Sprintf("directive[%d] PAGE_DATA", MaxIGVMUpdates/large) {
				t.Fatalf("one more page: %v", err)
			}
		})
	}
	if _, err := IGVMMeasure(areas(64), IGVMMeasureOptions{}); err != nil {
		t.Fatalf("igvmmeasure, 64 areas of 4 GiB: %v", err)
	}
	// The qemu loader measures a whole 4 GiB area (2^20 pages) per insert.
	fit := MaxIGVMUpdates / (4 << 30 / PageSize)
	if _, err := IGVMQEMU(areas(fit), QEMUOptions{VCPUs: 1}); err != nil {
		t.Fatalf("qemu, %d areas of 4 GiB: %v", fit, err)
	}
	_, err := IGVMQEMU(areas(fit+1), QEMUOptions{VCPUs: 1})
	var de *DirectiveError
	if !errors.As(err, &de) || !errors.Is(err, ErrIGVMTooManyUpdates) || de.Directive != fmt.Sprintf("directive[%d] PARAMETER_INSERT", 2*(fit+1)-1) {
		t.Fatalf("qemu, %d areas of 4 GiB: %v", fit+1, err)
	}
}

// CompareIGVMLaunches replays each launch once: it reads what measuring
// both reads, gives the digests Measure gives, and finds the divergence
// CompareIGVMLoaders reports, whichever launch is longer.
func TestCompareIGVMLaunchesOnce(t *testing.T) {
	for _, tc := range []struct {
		file  string
		vcpus int
	}{{"11_snp_firmware_image.igvm", 1}, {"01_snp_basic.igvm", 1}, {"01_snp_basic.igvm", 3}, {"07_multi_platform.igvm", 1}, {"06_snp_params.igvm", 1}} {
		t.Run(fmt.Sprintf("%s %d", tc.file, tc.vcpus), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(igvmConformanceDir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			r := &igvmtest.CountingReaderAt{R: bytes.NewReader(data)}
			f, err := igvm.Open(r, int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			qo := QEMUOptions{VCPUs: tc.vcpus, Signature: testSig}
			m, err := IGVMMeasure(f, IGVMMeasureOptions{})
			if err != nil {
				t.Fatal(err)
			}
			q, err := IGVMQEMU(f, qo)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			r.Bytes.Store(0)
			dm, err1 := m.Measure(ctx, nil)
			dq, err2 := q.Measure(ctx, nil)
			measured := r.Bytes.Swap(0)
			c, err := CompareIGVMLaunches(ctx, m, q)
			if err := errors.Join(err, err1, err2); err != nil {
				t.Fatal(err)
			}
			if read := r.Bytes.Load(); read != measured {
				t.Errorf("the comparison read %d bytes, measuring both %d", read, measured)
			}
			if c.IGVMMeasure != dm || c.QEMU != dq {
				t.Errorf("digests %s %s, Measure %s %s", c.IGVMMeasure, c.QEMU, dm, dq)
			}
			div, err := CompareIGVMLoaders(ctx, f, IGVMMeasureOptions{}, qo)
			if err != nil {
				t.Fatal(err)
			}
			if (div == nil) != (c.Divergence == nil) || (div != nil && div.String() != c.Divergence.String()) || (div == nil) != (dm == dq) {
				t.Errorf("divergence %v, CompareIGVMLoaders %v", c.Divergence, div)
			}
		})
	}
}

// ResetVCPU names the first vCPU without a VP context.
func TestResetVCPU(t *testing.T) {
	b := snpBuilder()
	b.Page(0x1000, maskSNP, 0, igvm.DataNormal, nil)
	b.VMSA(KVMVMSAGPA, maskSNP, 0, fileVMSA(1))
	b.VMSA(KVMVMSAGPA, maskSNP, 2, fileVMSA(1))
	l, err := IGVMQEMU(openBytes(t, b.Bytes()), QEMUOptions{VCPUs: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ n, want int }{{1, -1}, {2, 1}, {3, 1}, {4, 1}} {
		i, ok := l.VCPUs.ResetVCPU(tc.n)
		if !ok {
			i = -1
		}
		if i != tc.want {
			t.Errorf("%d vCPUs: vCPU %d, want %d", tc.n, i, tc.want)
		}
	}
	b = snpBuilder()
	b.Page(0x1000, maskSNP, 0, igvm.DataNormal, nil)
	l, err = IGVMQEMU(openBytes(t, b.Bytes()), QEMUOptions{VCPUs: 1})
	if err != nil {
		t.Fatal(err)
	}
	if i, ok := l.VCPUs.ResetVCPU(1); !ok || i != 0 {
		t.Errorf("no VP context: %d %v", i, ok)
	}
}
