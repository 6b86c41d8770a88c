package report

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

// FuzzParseReport feeds arbitrary bytes through format detection and
// parsing, in every format. Nothing may panic; a parsed report must have
// Size raw bytes and re-parse to the same report.
func FuzzParseReport(f *testing.F) {
	raw, err := readSeed("testdata/milan-attestation.bin")
	if err != nil {
		f.Fatal(err)
	}
	h := hex.EncodeToString(raw)
	b64 := base64.StdEncoding.EncodeToString(raw)
	f.Add(raw, uint8(FormatAuto))
	f.Add([]byte(h), uint8(FormatAuto))
	f.Add([]byte("0x"+strings.ToUpper(h)+"\n"), uint8(FormatHex))
	f.Add([]byte(b64), uint8(FormatAuto))
	f.Add([]byte(base64.RawURLEncoding.EncodeToString(raw)), uint8(FormatBase64))
	f.Add(raw[:100], uint8(FormatAuto))
	f.Add([]byte{}, uint8(FormatBinary))
	// An extended report whose certificate table points past its end.
	ext := append(bytes.Clone(raw), make([]byte, 48)...)
	copy(ext[Size:], bytes.Repeat([]byte{1}, 16))
	ext[Size+16], ext[Size+20] = 0xff, 0xff
	f.Add(ext, uint8(FormatAuto))
	f.Fuzz(func(t *testing.T, data []byte, format uint8) {
		fm := Format(format % 4)
		Detect(data)
		r, err := ParseEncoded(data, fm)
		if err != nil {
			if r != nil {
				t.Fatal("report and error")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if len(r.Raw) != Size || r.Proto == nil {
			t.Fatalf("parsed report has %d raw bytes", len(r.Raw))
		}
		for _, c := range r.Certs {
			_ = c.Data[:len(c.Data)]
		}
		r.Summary()
		r.CheckFields(&Expectations{Measurement: make([]byte, 48)})
		again, err := Parse(r.Raw)
		if err != nil || !bytes.Equal(again.Raw, r.Raw) {
			t.Fatalf("re-parse: %v", err)
		}
	})
}

func readSeed(path string) ([]byte, error) { return readLimited(path, MaxFileSize) }
