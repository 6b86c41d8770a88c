package trace

import (
	"testing"
)

// FuzzParseTraceLine feeds arbitrary lines to the trace reader: it
// must accept or reject each one without panicking, and what it accepts must
// carry the expected index.
func FuzzParseTraceLine(f *testing.F) {
	f.Add([]byte(`{"index":0,"gpa":"0xffc00000","page_type":"NORMAL","source":"ovmf+0x0","contents":"00","digest":"dc"}`), uint64(0))
	f.Add([]byte(`{"index":3,"gpa":"0xfffffffff000","page_type":"VMSA","source":"vmsa[2]"}`), uint64(3))
	f.Add([]byte(`[1,2]`), uint64(0))
	f.Add([]byte(`{"index":"3"}`), uint64(3))
	f.Fuzz(func(t *testing.T, line []byte, want uint64) {
		u, err := ParseLine(line, want)
		if err == nil && u.Index != want {
			t.Errorf("accepted index %d, want %d", u.Index, want)
		}
		if err == nil {
			// What is accepted writes back to a line that reads the same.
			v, err := ParseLine(u.AppendJSON(nil), want)
			if err != nil || *v != *u {
				t.Errorf("round trip of %q: %+v, %v", line, v, err)
			}
		}
	})
}
