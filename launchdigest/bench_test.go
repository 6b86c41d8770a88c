package launchdigest

import (
	"bytes"
	"crypto/sha256"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/snpmeasure/snpmeasure/ovmf"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

// Benchmarks of the engine. Run them with
//
//	go test ./launchdigest -run '^$' -bench . -benchmem
//
// The numbers are recorded in the README ("Performance and robustness").

// benchData returns n pseudo-random bytes (fixed seed: every run hashes the same data).
func benchData(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// benchFile writes data to a file in a temporary directory and opens it; the
// page cache is warm afterwards, as for a firmware that was just installed.
func benchFile(tb testing.TB, data []byte) *os.File {
	tb.Helper()
	name := filepath.Join(tb.TempDir(), "data")
	if err := os.WriteFile(name, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	return f
}

// BenchmarkHashPages4MiB hashes the 1024 pages of a 4 MiB firmware (SHA-384 each),
// from memory and from a file.
func BenchmarkHashPages4MiB(b *testing.B) {
	data := benchData(4 << 20)
	b.Run("mem", func(b *testing.B) {
		r := bytes.NewReader(data)
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := HashPages(r, int64(len(data)), nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("file", func(b *testing.B) {
		f := benchFile(b, data)
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := HashPages(f, int64(len(data)), nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSHA256Stream hashes a 64 MiB initrd, from memory and from a file,
// against plain sha256.Sum256 of the bytes in memory (the lower bound).
func BenchmarkSHA256Stream(b *testing.B) {
	data := benchData(64 << 20)
	b.Run("sum256", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			sha256.Sum256(data)
		}
	})
	b.Run("mem", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := SHA256Stream(bytes.NewReader(data), nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("file", func(b *testing.B) {
		f := benchFile(b, data)
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := f.Seek(0, 0); err != nil {
				b.Fatal(err)
			}
			if _, err := SHA256Stream(f, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkExtend is one SNP_LAUNCH_UPDATE: SHA-384 of a PAGE_INFO.
func BenchmarkExtend(b *testing.B) {
	var ld, c Digest
	c[0] = 1
	b.ReportAllocs()
	for b.Loop() {
		ld = Extend(ld, PageNormal, 0xffc00000, &c)
	}
	_ = ld
}

// BenchmarkSNPDigest is the launch digest of the real 4 MiB AmdSev OVMF with a
// kernel and 4 vCPUs, once the page digests are known: 1024 firmware pages,
// the metadata sections (about 60 pages) and the VMSAs.
func BenchmarkSNPDigest(b *testing.B) {
	data, err := os.ReadFile("../testdata/inputs/sid-OVMF.amdsev.fd")
	if err != nil {
		b.Fatal(err)
	}
	fw, err := ovmf.Parse(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		b.Fatal(err)
	}
	pages, err := HashPages(bytes.NewReader(data), int64(len(data)), nil)
	if err != nil {
		b.Fatal(err)
	}
	cfg := SNPConfig{
		VCPUs:  VCPUs{Count: 4, VMM: vmsa.QEMU, Signature: 0xa00f11, GuestFeatures: 1},
		Kernel: &KernelHashes{Initrd: EmptyHash, Cmdline: CmdlineHash("console=ttyS0")},
	}
	b.ReportAllocs()
	for b.Loop() {
		l, err := SNP(fw, pages, cfg)
		if err != nil {
			b.Fatal(err)
		}
		l.Digest()
	}
}

// BenchmarkSHA256StreamSparse hashes sparse files of 64 MiB and 1 GiB and
// reports the bytes allocated per hash and the peak heap growth: both stay
// flat as the file grows (issue 2). The 1 GiB case is skipped with -short.
func BenchmarkSHA256StreamSparse(b *testing.B) {
	for _, size := range []int64{64 << 20, 1 << 30} {
		b.Run(sizeName(size), func(b *testing.B) {
			if testing.Short() && size > 64<<20 {
				b.Skip("1 GiB file skipped with -short")
			}
			f := sparseFile(b, size)
			b.SetBytes(size)
			var peak, alloc uint64
			for b.Loop() {
				m := measureHeap(func() {
					if _, err := f.Seek(0, 0); err != nil {
						b.Fatal(err)
					}
					if _, err := SHA256Stream(f, nil); err != nil {
						b.Fatal(err)
					}
				})
				peak, alloc = max(peak, m.peakGrowth), max(alloc, m.allocated)
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(alloc)/(1<<20), "alloc-MiB")
		})
	}
}

// BenchmarkHashPagesOVMF hashes the pages of the bundled AmdSevX64 build,
// 82% of which are 0xff padding.
func BenchmarkHashPagesOVMF(b *testing.B) {
	data, err := os.ReadFile("../testdata/inputs/sid-OVMF.amdsev.fd")
	if err != nil {
		b.Fatal(err)
	}
	r := bytes.NewReader(data)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := HashPages(r, int64(len(data)), nil); err != nil {
			b.Fatal(err)
		}
	}
}
