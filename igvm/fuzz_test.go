package igvm_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/snpmeasure/snpmeasure/igvm"
	"github.com/snpmeasure/snpmeasure/internal/igvmtest"
)

// FuzzParse: any input is parsed without a panic and, when accepted,
// re-encodes to the same header bytes.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "conformance", "*.igvm"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	b := &igvmtest.Builder{}
	b.Platform(1, igvm.PlatformSEVSNP)
	b.Add(igvm.ParameterArea{NumberOfBytes: 4096, Index: 0}, nil)
	b.Add(igvm.Parameter{Usage: igvm.TypeVPCount, Index: 0}, nil)
	b.Add(igvm.ParameterInsert{GPA: 0x1000, CompatibilityMask: 1, Index: 0}, nil)
	b.Page(0x2000, 1, igvm.FlagLargePage, igvm.DataNormal, []byte{1})
	f.Add(b.Bytes())
	// Two VP_CONTEXT directives naming one VBS context (read once).
	v := vsmBuilder()
	v.Add(igvm.VPContext{CompatibilityMask: maskVSM}, vbsTable(3, 2))
	v.Add(igvm.VPContext{CompatibilityMask: maskVSM}, vbsTable(3, 2))
	f.Add(v.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		file, hs, err := igvm.Parse(data)
		if err != nil {
			return
		}
		all := append(append(append([]igvm.Header{}, hs.Platforms...), hs.Initializations...), hs.Directives...)
		for _, h := range all {
			body := data[h.Offset+igvm.VariableHeaderSize : h.Offset+igvm.VariableHeaderSize+int64(h.Length)]
			if !bytes.Equal(h.Body.Marshal(), body) {
				t.Fatalf("%s re-encodes differently", h.Name())
			}
		}
		var out bytes.Buffer
		if err := igvm.WithIDBlock(&out, file, igvm.SNPIDBlock{CompatibilityMask: 1}); err == nil {
			if _, _, err := igvm.Parse(out.Bytes()); err != nil {
				t.Fatalf("the file with an ID block does not parse: %v", err)
			}
		}
	})
}
