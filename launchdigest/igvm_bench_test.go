package launchdigest

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/snpmeasure/snpmeasure/igvm"
)

// writeSyntheticIGVM writes an IGVM file of size bytes of page data in
// dir: one PAGE_DATA directive per 4 KiB page, the data laid out in order
// (sparse: the page cache holds zeros), then a VMSA.
func writeSyntheticIGVM(tb testing.TB, dir string, size int64) string {
	tb.Helper()
	pages := size / PageSize
	var vh []byte
	vh = igvm.AppendHeader(vh, igvm.SupportedPlatform{CompatibilityMask: 1, PlatformType: igvm.PlatformSEVSNP, PlatformVersion: 1})
	perHeader := int64(igvm.VariableHeaderSize + igvm.PageDataSize)
	varSize := int64(len(vh)) + pages*perHeader + igvm.VariableHeaderSize + 24
	dataStart := (int64(igvm.FixedHeaderV1Size) + varSize + PageSize - 1) &^ (PageSize - 1)
	for i := int64(0); i < pages; i++ {
		vh = igvm.AppendHeader(vh, igvm.PageData{GPA: uint64(i) * PageSize, CompatibilityMask: 1, FileOffset: uint32(dataStart + i*PageSize)})
	}
	vmsaOff := dataStart + pages*PageSize
	vh = igvm.AppendHeader(vh, igvm.VPContext{GPA: KVMVMSAGPA, CompatibilityMask: 1, FileOffset: uint32(vmsaOff)})
	total := vmsaOff + PageSize
	fixed := igvm.FixedHeader{Magic: igvm.Magic, FormatVersion: 1, VariableHeaderOffset: igvm.FixedHeaderV1Size,
		VariableHeaderSize: uint32(len(vh)), TotalFileSize: uint32(total)}
	// The gap between the headers and the data is part of the file data.
	fixed.VariableHeaderSize = uint32(len(vh))
	fixed.Checksum = igvm.Checksum(fixed, vh)
	name := filepath.Join(dir, "synthetic.igvm")
	fh, err := os.Create(name)
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.Write(append(fixed.Marshal(), vh...)); err != nil {
		tb.Fatal(err)
	}
	if err := fh.Truncate(total); err != nil {
		tb.Fatal(err)
	}
	return name
}

// peakHeap samples the live heap while f runs and returns its maximum.
func peakHeap(f func()) uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			mu.Lock()
			peak = max(peak, sample[0].Value.Uint64())
			mu.Unlock()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(done)
	mu.Lock()
	defer mu.Unlock()
	return peak
}

// BenchmarkIGVMSynthetic measures synthetic IGVM files of 64 MiB and 1 GiB
// (262,144 PAGE_DATA directives) with the igvmmeasure loader, from opening
// the file to the digest, and reports the peak live heap: it does not grow
// with the file. Run with -benchtime 1x; the file is removed afterwards.
func BenchmarkIGVMSynthetic(b *testing.B) {
	for _, size := range []int64{64 << 20, 1 << 30} {
		b.Run(byteSize(size), func(b *testing.B) {
			name := writeSyntheticIGVM(b, b.TempDir(), size)
			b.SetBytes(size)
			var peak uint64
			for b.Loop() {
				runtime.GC()
				peak = max(peak, peakHeap(func() {
					fh, err := os.Open(name)
					if err != nil {
						b.Fatal(err)
					}
					defer fh.Close()
					st, _ := fh.Stat()
					f, err := igvm.Open(fh, st.Size())
					if err != nil {
						b.Fatal(err)
					}
					l, err := IGVMMeasure(f, IGVMMeasureOptions{})
					if err != nil {
						b.Fatal(err)
					}
					if _, err := l.Measure(context.Background(), nil); err != nil {
						b.Fatal(err)
					}
				}))
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}

func byteSize(n int64) string {
	if n >= 1<<30 {
		return "1GiB"
	}
	return "64MiB"
}

// BenchmarkIGVMConformance30 measures the largest conformance file (2.7 MB,
// igvmbuilder's SVSM+OVMF layout) with each loader, from open to digest.
func BenchmarkIGVMConformance30(b *testing.B) {
	path := filepath.Join(igvmConformanceDir, "30_ib_qemu_sorted_ovmf.igvm")
	for _, loader := range []IGVMLoader{LoaderIGVMMeasure, LoaderQEMU} {
		b.Run(loader.String(), func(b *testing.B) {
			st, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(st.Size())
			for b.Loop() {
				fh, _ := os.Open(path)
				f, err := igvm.Open(fh, st.Size())
				if err != nil {
					b.Fatal(err)
				}
				var l *IGVMLaunch
				if loader == LoaderQEMU {
					l, err = IGVMQEMU(f, QEMUOptions{VCPUs: 1, IgnoreUnhandledParameters: true})
				} else {
					l, err = IGVMMeasure(f, IGVMMeasureOptions{})
				}
				if err != nil {
					b.Fatal(err)
				}
				if _, err := l.Measure(context.Background(), nil); err != nil {
					b.Fatal(err)
				}
				fh.Close()
			}
		})
	}
}
