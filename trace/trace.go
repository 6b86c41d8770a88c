package trace

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/snpmeasure/snpmeasure/launchdigest"
)

// MaxLineSize bounds one line of a trace; real lines are about 330 bytes.
const MaxLineSize = 64 << 10

// Record is one line of a trace: one SNP_LAUNCH_UPDATE.
type Record struct {
	// Index numbers the updates from 0.
	Index uint64
	// GPA is the guest physical address of the page.
	GPA uint64
	// PageType is the ABI name of the page type: NORMAL, VMSA, ZERO,
	// UNMEASURED, SECRETS or CPUID.
	PageType string
	// Source names where the page comes from: "ovmf+0x1000",
	// "metadata[2] SNP_SECRETS", "kernel-hashes", "vmsa[3]", ...
	Source string
	// Contents is the CONTENTS of PAGE_INFO: the SHA-384 of the page for
	// NORMAL and VMSA pages, zero for the others.
	Contents launchdigest.Digest
	// Digest is the launch digest after this update.
	Digest launchdigest.Digest
}

// AppendJSON appends the record as one trace line, without the new line:
// {"index":0,"gpa":"0xffc00000","page_type":"NORMAL","source":"ovmf+0x0","contents":"…","digest":"…"}.
func (r *Record) AppendJSON(b []byte) []byte {
	b = append(b, `{"index":`...)
	b = strconv.AppendUint(b, r.Index, 10)
	b = append(b, `,"gpa":"0x`...)
	b = strconv.AppendUint(b, r.GPA, 16)
	b = append(b, `","page_type":`...)
	b = appendJSONString(b, r.PageType)
	b = append(b, `,"source":`...)
	b = appendJSONString(b, r.Source)
	b = append(b, `,"contents":"`...)
	b = hex.AppendEncode(b, r.Contents[:])
	b = append(b, `","digest":"`...)
	b = hex.AppendEncode(b, r.Digest[:])
	return append(b, `"}`...)
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// MarshalJSON returns the record as a trace line has it.
func (r *Record) MarshalJSON() ([]byte, error) { return r.AppendJSON(nil), nil }

// Write writes every update of l as JSON Lines; an error reading the
// launch's pages (an IGVM file's) is returned.
func Write(w io.Writer, l *launchdigest.Launch) error {
	if l == nil {
		return errors.New("trace: no launch to write")
	}
	bw := bufio.NewWriter(w)
	var line []byte
	err := l.Walk(context.Background(), func(u launchdigest.Update, d launchdigest.Digest) error {
		rec := Record{Index: u.Index, GPA: u.GPA, PageType: u.Type.String(), Source: u.Source, Contents: u.Contents, Digest: d}
		line = append(rec.AppendJSON(line[:0]), '\n')
		_, err := bw.Write(line)
		return err
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// Reader reads a trace record by record, checking each line.
type Reader struct {
	name string
	sc   *bufio.Scanner
	line int
	// N is the number of records read; Last the last one (nil before the first).
	N    uint64
	Last *Record
}

// NewReader returns a Reader of r; name is used in errors.
func NewReader(r io.Reader, name string) *Reader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), MaxLineSize)
	return &Reader{name: name, sc: sc}
}

// LineError is a malformed trace line.
type LineError struct {
	Name string
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s: line %d: %v", e.Name, e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// Next returns the next record, or io.EOF after the last. Blank lines are skipped.
func (t *Reader) Next() (*Record, error) {
	for t.sc.Scan() {
		t.line++
		b := bytes.TrimSpace(t.sc.Bytes())
		if len(b) == 0 {
			continue
		}
		r, err := ParseLine(b, t.N)
		if err != nil {
			return nil, &LineError{Name: t.name, Line: t.line, Err: err}
		}
		t.N++
		t.Last = r
		return r, nil
	}
	if err := t.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &LineError{Name: t.name, Line: t.line + 1, Err: fmt.Errorf("longer than %d bytes: not a trace", MaxLineSize)}
		}
		return nil, fmt.Errorf("%s: %w", t.name, err)
	}
	return nil, io.EOF
}

// ParseLine decodes and checks one trace line; want is its expected index.
func ParseLine(b []byte, want uint64) (*Record, error) {
	var rec struct {
		Index    *uint64 `json:"index"`
		GPA      *string `json:"gpa"`
		PageType *string `json:"page_type"`
		Source   *string `json:"source"`
		Contents *string `json:"contents"`
		Digest   *string `json:"digest"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if te.Field == "" {
				return nil, fmt.Errorf("not a trace record: a JSON %s, want an object", te.Value)
			}
			want := "a string"
			if te.Field == "index" {
				want = "a non-negative integer"
			}
			return nil, fmt.Errorf("not a trace record: key %q is a JSON %s, want %s", te.Field, te.Value, want)
		}
		return nil, fmt.Errorf("not a trace record: %w", err)
	}
	for _, f := range []struct {
		name string
		ok   bool
	}{
		{"index", rec.Index != nil}, {"gpa", rec.GPA != nil}, {"page_type", rec.PageType != nil},
		{"source", rec.Source != nil}, {"contents", rec.Contents != nil}, {"digest", rec.Digest != nil},
	} {
		if !f.ok {
			return nil, fmt.Errorf("missing key %q", f.name)
		}
	}
	if *rec.Index != want {
		return nil, fmt.Errorf("index %d, want %d: updates missing or out of order", *rec.Index, want)
	}
	r := &Record{Index: *rec.Index, PageType: *rec.PageType, Source: *rec.Source}
	gs, ok := strings.CutPrefix(*rec.GPA, "0x")
	gpa, err := strconv.ParseUint(gs, 16, 64)
	if !ok || err != nil {
		return nil, fmt.Errorf("gpa %q: want 0x-hex", *rec.GPA)
	}
	r.GPA = gpa
	switch r.PageType {
	case "NORMAL", "VMSA", "ZERO", "UNMEASURED", "SECRETS", "CPUID":
	default:
		return nil, fmt.Errorf("page_type %q: want NORMAL, VMSA, ZERO, UNMEASURED, SECRETS or CPUID", r.PageType)
	}
	for _, h := range []struct {
		name, v string
		dst     *launchdigest.Digest
	}{{"contents", *rec.Contents, &r.Contents}, {"digest", *rec.Digest, &r.Digest}} {
		if len(h.v) != 2*launchdigest.DigestSize {
			return nil, fmt.Errorf("%s: %d characters, want %d hex digits", h.name, len(h.v), 2*launchdigest.DigestSize)
		}
		if _, err := hex.Decode(h.dst[:], []byte(h.v)); err != nil {
			return nil, fmt.Errorf("%s: not hex", h.name)
		}
	}
	return r, nil
}
