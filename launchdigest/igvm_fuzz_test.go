package launchdigest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/snpmeasure/snpmeasure/igvm"
)

// FuzzIGVMLoaders: both loaders take any parsed file without a panic, and
// measure it the same way twice.
func FuzzIGVMLoaders(f *testing.F) {
	for _, name := range []string{"01_snp_basic.igvm", "03_snp_special_pages.igvm", "06_snp_params.igvm",
		"07_multi_platform.igvm", "09_snp_2mb.igvm", "14_snp_idblock_signed.igvm"} {
		b, err := os.ReadFile(filepath.Join(igvmConformanceDir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(2))
	}
	f.Fuzz(func(t *testing.T, data []byte, vcpus uint8) {
		file, err := igvm.Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		ctx := context.Background()
		for _, o := range []IGVMMeasureOptions{{}, {NativeZero: true, CheckKVM: true}} {
			if l, err := IGVMMeasure(file, o); err == nil && l.NumUpdates() < 1<<16 {
				d1, err1 := l.Measure(ctx, nil)
				d2, err2 := l.Measure(ctx, nil)
				if d1 != d2 || (err1 == nil) != (err2 == nil) {
					t.Fatal("igvmmeasure loader is not deterministic")
				}
			}
			o.Platform = igvm.PlatformSEVES
			IGVMMeasureSEV(ctx, file, o)
		}
		if l, err := IGVMQEMU(file, QEMUOptions{VCPUs: int(vcpus%8) + 1, IgnoreUnhandledParameters: vcpus&8 != 0}); err == nil && l.NumUpdates() < 1<<16 {
			d, err := l.Measure(ctx, nil)
			if err == nil && l.VCPUs != nil {
				prefix, _ := l.SplitVMSAs()
				for n, s := range l.VCPUs.Series(prefix.Digest(), int(vcpus%8)+1) {
					if n == int(vcpus%8)+1 && s != d {
						t.Fatalf("VCPUs.Series at %d vCPUs differs from the launch", n)
					}
				}
			}
		}
	})
}
