package measure

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/snpmeasure/snpmeasure/igvm"
	"github.com/snpmeasure/snpmeasure/internal/igvmtest"
	"github.com/snpmeasure/snpmeasure/launchdigest"
)

// igvm show replays each loader's launch once: it reads the file's page
// data no more than building and measuring both launches does, plus one
// walk of the directives of its own.
func TestDescribeIGVMReadsOnce(t *testing.T) {
	for _, tc := range []struct {
		file string
		// qemuBuilds is how many times the qemu loader's launch is built:
		// twice for a file QEMU 10.2 refuses for its parameters.
		qemuBuilds int64
	}{{"11_snp_firmware_image.igvm", 1}, {"30_ib_qemu_sorted_ovmf.igvm", 2}, {"06_snp_params.igvm", 1}} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("..", "igvm", "testdata", "conformance", tc.file)
			fh, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			st, err := fh.Stat()
			if err != nil {
				t.Fatal(err)
			}
			r := &igvmtest.CountingReaderAt{R: fh}
			f, err := igvm.Open(r, st.Size())
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			// What each part costs on its own.
			r.Bytes.Store(0)
			for _, err := range f.Directives() {
				if err != nil {
					t.Fatal(err)
				}
			}
			walk := r.Bytes.Swap(0)
			m, err := launchdigest.IGVMMeasure(f, launchdigest.IGVMMeasureOptions{})
			if err != nil {
				t.Fatal(err)
			}
			buildM := r.Bytes.Swap(0)
			q, err := launchdigest.IGVMQEMU(f, launchdigest.QEMUOptions{VCPUs: 1, IgnoreUnhandledParameters: true})
			if err != nil {
				t.Fatal(err)
			}
			buildQ := r.Bytes.Swap(0)
			if _, err := m.Measure(ctx, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := q.Measure(ctx, nil); err != nil {
				t.Fatal(err)
			}
			measured := r.Bytes.Swap(0)
			d, err := describeIGVM(ctx, &igvmFile{path: path, fh: fh, f: f})
			if err != nil {
				t.Fatal(err)
			}
			want := walk + buildM + tc.qemuBuilds*buildQ + measured
			if got := r.Bytes.Load(); got > want {
				t.Errorf("read %d bytes, want at most %d (one replay of each launch: %d)", got, want, measured)
			}
			if d.Measurement == "" || (d.QEMUMeasurement == "") == (d.QEMUIgnoringParameters == "") {
				t.Errorf("measurements %q, qemu %q, ignoring parameters %q", d.Measurement, d.QEMUMeasurement, d.QEMUIgnoringParameters)
			}
		})
	}
}
