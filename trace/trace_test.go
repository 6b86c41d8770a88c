package trace

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/snpmeasure/snpmeasure/launchdigest"
)

func testLaunch(contents byte, vmsas uint64) *launchdigest.Launch {
	return &launchdigest.Launch{Steps: []launchdigest.Step{
		{Source: "ovmf", Type: launchdigest.PageNormal, GPA: 0xffffc000, Pages: 4, Stride: launchdigest.PageSize,
			Contents: []launchdigest.Digest{{1}, {2}, {contents}, {4}}},
		{Source: "metadata[0] SNP_SECRETS", Type: launchdigest.PageSecrets, GPA: 0x800000, Pages: 1},
		{Source: "vmsa", Type: launchdigest.PageVMSA, GPA: 0xfffffffff000, Pages: vmsas, Contents: []launchdigest.Digest{{7}}},
	}}
}

func written(t *testing.T, l *launchdigest.Launch) string {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, l); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestRoundTrip: what Write writes reads back as the launch's updates, and
// the last digest is the launch digest.
func TestRoundTrip(t *testing.T) {
	l := testLaunch(3, 2)
	r := NewReader(strings.NewReader(written(t, l)), "t")
	var n uint64
	for u, d := range l.Updates() {
		rec, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if rec.Index != u.Index || rec.GPA != u.GPA || rec.Source != u.Source || rec.Contents != u.Contents || rec.Digest != d ||
			rec.PageType != u.Type.String() {
			t.Errorf("record %+v, update %+v", rec, u)
		}
		n++
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("after the last record: %v", err)
	}
	if r.N != n || r.Last.Digest != l.Digest() {
		t.Errorf("N %d, last %s; want %d, %s", r.N, r.Last.Digest, n, l.Digest())
	}
}

func TestDiff(t *testing.T) {
	base := written(t, testLaunch(3, 2))
	for _, tc := range []struct {
		name    string
		b       string
		summary string
		how     []string
	}{
		{"identical", base, "", nil},
		{"contents", written(t, testLaunch(9, 2)), "first difference at update 2 (ovmf+0x2000): contents differ", []string{HowContents}},
		{"more in B", written(t, testLaunch(3, 3)), "first difference at update 7: B has 1 more updates than A", []string{HowExtra}},
		{"fewer in B", written(t, testLaunch(3, 1)), "first difference at update 6: A has 1 more updates than B", []string{HowExtra}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := DiffReaders(NewReader(strings.NewReader(base), "a"), NewReader(strings.NewReader(tc.b), "b"))
			if err != nil {
				t.Fatal(err)
			}
			if d.Identical != (tc.summary == "") || !strings.HasPrefix(d.String(), tc.summary) {
				t.Errorf("identical %v, %q; want %q", d.Identical, d, tc.summary)
			}
			if tc.how != nil && (d.First == nil || strings.Join(d.First.How, ",") != strings.Join(tc.how, ",")) {
				t.Errorf("first %+v, want how %v", d.First, tc.how)
			}
		})
	}
	// The same inputs from another start digest.
	l := testLaunch(3, 2)
	l.Start = launchdigest.Digest{0xaa}
	d, err := DiffReaders(NewReader(strings.NewReader(base), "a"), NewReader(strings.NewReader(written(t, l)), "b"))
	if err != nil || d.Identical || d.First != nil || d.DigestsDifferFrom == nil || *d.DigestsDifferFrom != 0 {
		t.Errorf("start digest: %+v, %v", d, err)
	}
	// An empty trace is no launch.
	if _, err := DiffReaders(NewReader(strings.NewReader(""), "empty"), NewReader(strings.NewReader(base), "b")); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: %v", err)
	}
}

func TestParseLineErrors(t *testing.T) {
	good := strings.SplitN(written(t, testLaunch(3, 1)), "\n", 2)[0]
	for _, tc := range []struct {
		name, line, want string
		index            uint64
	}{
		{"good", good, "", 0},
		{"wrong index", good, "index 0, want 1", 1},
		{"array", "[1]", "want an object", 0},
		{"missing key", `{"index":0}`, `missing key "gpa"`, 0},
		{"bad gpa", strings.Replace(good, `"0xffffc000"`, `"ffffc000"`, 1), "want 0x-hex", 0},
		{"bad type", strings.Replace(good, "NORMAL", "SPECIAL", 1), "page_type", 0},
		{"short digest", strings.Replace(good, `"digest":"`, `"digest":"00`, 1), "digest: 98 characters", 0},
		{"string index", strings.Replace(good, `"index":0`, `"index":"0"`, 1), "a non-negative integer", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseLine([]byte(tc.line), tc.index)
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("ParseLine: %v, want %q", err, tc.want)
			}
		})
	}
	long := NewReader(strings.NewReader(strings.Repeat(" ", MaxLineSize+1)+"\n"), "long")
	var le *LineError
	if _, err := long.Next(); !errors.As(err, &le) || le.Line != 1 {
		t.Errorf("long line: %v", err)
	}
}

// TestSourceEscaping: a source name that needs escaping still round trips.
func TestSourceEscaping(t *testing.T) {
	r := &Record{Source: "weird \"name\"\n\xff", PageType: "ZERO"}
	got, err := ParseLine(r.AppendJSON(nil), 0)
	if err != nil || got.Source != strings.ToValidUTF8(r.Source, "\ufffd") {
		t.Errorf("%q: %v", got.Source, err)
	}
}
