package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"
)

func init() {
	register("diff", "compare two --trace files: where and how two launches diverge", runDiff)
}

// maxTraceLine bounds one JSON line of a trace; real lines are ~330 bytes.
const maxTraceLine = 64 << 10

func runDiff(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("diff")
	asJSON := fs.Bool("json", false, "print the comparison as a JSON object")
	if err := parseFlags(fs, args, stdout, diffUsage); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("diff takes two trace files, got %s", countArgs(fs.NArg()))
	}
	return diffTraces(fs.Arg(0), fs.Arg(1), stdout, *asJSON)
}

func diffUsage(w io.Writer, fs *pflag.FlagSet) {
	fmt.Fprintln(w, "Usage: snpmeasure diff TRACE_A TRACE_B [--json]")
	fmt.Fprintln(w, "\nCompares two launches written with --trace (JSON Lines, one SNP_LAUNCH_UPDATE a line):")
	fmt.Fprintln(w, "names the first update where they diverge and how (contents, GPA, page type, source,")
	fmt.Fprintln(w, "or one launch has more updates), and counts the differing updates by source.")
	fmt.Fprintln(w, "With --json, prints one object: identical, a and b {file, updates, final_digest},")
	fmt.Fprintln(w, "first_difference {index, how, a, b} (null when none), digests_differ_from (the first")
	fmt.Fprintln(w, "update whose digest differs although its inputs do not, or null) and by_source")
	fmt.Fprintln(w, "[{source, a, b, differing, how}]; how names contents, gpa, page_type, source or extra.")
	fmt.Fprintln(w, "\nFlags:")
	fmt.Fprint(w, fs.FlagUsages())
	fmt.Fprintln(w, "\nExample:")
	fmt.Fprintln(w, "  snpmeasure --mode snp --vcpus 4 --vcpu-type EPYC-Milan --ovmf OVMF.fd --trace good.jsonl")
	fmt.Fprintln(w, "  snpmeasure --mode snp --vcpus 4 --vcpu-type EPYC-Milan --ovmf OVMF.new.fd --trace new.jsonl")
	fmt.Fprintln(w, "  snpmeasure diff good.jsonl new.jsonl")
	fmt.Fprintln(w, "  snpmeasure diff good.jsonl new.jsonl --json | jq .first_difference")
	fmt.Fprintln(w, "\nExit status: 0 identical, 1 bad input, 2 bad usage, 3 the launches differ.")
}

// traceUpdate is one parsed trace line.
type traceUpdate struct {
	index    uint64
	gpa      uint64
	pageType string
	source   string
	contents string
	digest   string
}

// traceReader streams a trace file line by line.
type traceReader struct {
	name string
	sc   *bufio.Scanner
	line int
	n    uint64 // updates read
	last string // digest of the last update
}

func openTrace(name string) (*traceReader, *os.File, error) {
	f, _, err := openInput(name)
	if err != nil {
		return nil, nil, err
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 4096), maxTraceLine)
	return &traceReader{name: name, sc: sc}, f, nil
}

// next returns the next update, or nil at the end of the file.
func (t *traceReader) next() (*traceUpdate, error) {
	for t.sc.Scan() {
		t.line++
		b := bytes.TrimSpace(t.sc.Bytes())
		if len(b) == 0 {
			continue
		}
		u, err := parseTraceLine(b, t.n)
		if err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", t.name, t.line, err)
		}
		t.n++
		t.last = u.digest
		return u, nil
	}
	if err := t.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%s: line %d: longer than %d bytes: not a trace", t.name, t.line+1, maxTraceLine)
		}
		return nil, fmt.Errorf("%s: %w", t.name, unwrapPathErr(err))
	}
	return nil, nil
}

// parseTraceLine decodes and validates one record; want is its expected index.
func parseTraceLine(b []byte, want uint64) (*traceUpdate, error) {
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
	gs := *rec.GPA
	if !strings.HasPrefix(gs, "0x") {
		return nil, fmt.Errorf("gpa %q: want 0x-hex", gs)
	}
	gpa, err := strconv.ParseUint(gs[2:], 16, 64)
	if err != nil {
		return nil, fmt.Errorf("gpa %q: want 0x-hex", gs)
	}
	switch *rec.PageType {
	case "NORMAL", "VMSA", "ZERO", "UNMEASURED", "SECRETS", "CPUID":
	default:
		return nil, fmt.Errorf("page_type %q: want NORMAL, VMSA, ZERO, UNMEASURED, SECRETS or CPUID", *rec.PageType)
	}
	for _, h := range []struct{ name, v string }{{"contents", *rec.Contents}, {"digest", *rec.Digest}} {
		if len(h.v) != 96 {
			return nil, fmt.Errorf("%s: %d characters, want 96 hex digits", h.name, len(h.v))
		}
		if _, err := hex.DecodeString(h.v); err != nil {
			return nil, fmt.Errorf("%s: not hex", h.name)
		}
	}
	return &traceUpdate{index: *rec.Index, gpa: gpa, pageType: *rec.PageType, source: *rec.Source,
		contents: strings.ToLower(*rec.Contents), digest: strings.ToLower(*rec.Digest)}, nil
}

// sourceGroup is the part of a source that names where a page comes from:
// "ovmf+0x1000" → "ovmf", "metadata[2] SNP_SECRETS" → "metadata", "vmsa[3]" → "vmsa".
func sourceGroup(s string) string {
	if i := strings.IndexAny(s, "+[ "); i > 0 {
		return s[:i]
	}
	return s
}

// diffGroup compares the updates of one source group ("ovmf", "metadata",
// "kernel-hashes", "vmsa", ...): the i-th update of the group in A with the
// i-th in B, so that a launch with more pages in one group still lines up
// in the others.
type diffGroup struct {
	name   string
	a, b   int // updates on each side
	differ int // paired updates that differ
	how    map[string]int
	// Updates not paired yet; only one side has any at a time.
	pendA, pendB []*traceUpdate
}

func (g *diffGroup) add(u *traceUpdate, fromA bool) {
	mine, theirs := &g.pendA, &g.pendB
	if fromA {
		g.a++
	} else {
		g.b++
		mine, theirs = theirs, mine
	}
	if len(*theirs) == 0 {
		*mine = append(*mine, u)
		return
	}
	o := (*theirs)[0]
	(*theirs)[0] = nil
	*theirs = (*theirs)[1:]
	if d := updateDiff(u, o); len(d) > 0 {
		g.differ++
		for _, k := range d {
			g.how[k]++
		}
	}
}

// diffStats holds the groups in first-seen order.
type diffStats struct {
	groups []*diffGroup
	byName map[string]*diffGroup
}

func (s *diffStats) add(u *traceUpdate, fromA bool) {
	name := sourceGroup(u.source)
	if s.byName == nil {
		s.byName = map[string]*diffGroup{}
	}
	g := s.byName[name]
	if g == nil {
		g = &diffGroup{name: name, how: map[string]int{}}
		s.byName[name] = g
		s.groups = append(s.groups, g)
	}
	g.add(u, fromA)
}

// updateDiff lists how two updates differ.
func updateDiff(a, b *traceUpdate) []string {
	var d []string
	if a.contents != b.contents {
		d = append(d, "contents")
	}
	if a.gpa != b.gpa {
		d = append(d, "GPA")
	}
	if a.pageType != b.pageType {
		d = append(d, "page type")
	}
	if a.source != b.source {
		d = append(d, "source")
	}
	return d
}

func describeUpdate(u *traceUpdate) string {
	return fmt.Sprintf("%s %s at GPA %#x, contents %s…", u.source, u.pageType, u.gpa, u.contents[:16])
}

// traceDiff is the outcome of comparing two traces.
type traceDiff struct {
	a, b *traceReader
	// first is what differs at the first update (by position) whose inputs
	// differ: contents, GPA, page type, source; or "extra" when one launch
	// ends first. firstA and firstB are the updates there (one may be nil).
	first          []string
	firstA, firstB *traceUpdate
	// firstDigestOnly is the first update, before any input differs, whose
	// digest differs anyway: the launches start from different digests.
	firstDigestOnly int64
	stats           diffStats
}

// compareTraces streams both traces: updates are compared by position for
// the first divergence, and by position within their source group for the
// summary.
func compareTraces(ta, tb *traceReader) (*traceDiff, error) {
	td := &traceDiff{a: ta, b: tb, firstDigestOnly: -1}
	for {
		a, err := ta.next()
		if err != nil {
			return nil, err
		}
		b, err := tb.next()
		if err != nil {
			return nil, err
		}
		if a == nil && b == nil {
			return td, nil
		}
		if a != nil {
			td.stats.add(a, true)
		}
		if b != nil {
			td.stats.add(b, false)
		}
		if td.first != nil {
			continue
		}
		switch {
		case a == nil || b == nil:
			td.first, td.firstA, td.firstB = []string{"extra"}, a, b
		default:
			if d := updateDiff(a, b); len(d) > 0 {
				td.first, td.firstA, td.firstB = d, a, b
			} else if a.digest != b.digest && td.firstDigestOnly < 0 {
				td.firstDigestOnly = int64(a.index)
			}
		}
	}
}

// diffTraces compares two trace files and prints the result, as text or JSON.
func diffTraces(nameA, nameB string, w io.Writer, asJSON bool) error {
	ta, fa, err := openTrace(nameA)
	if err != nil {
		return err
	}
	defer fa.Close()
	tb, fb, err := openTrace(nameB)
	if err != nil {
		return err
	}
	defer fb.Close()
	td, err := compareTraces(ta, tb)
	if err != nil {
		return err
	}
	summary := td.summary()
	if asJSON {
		if err := writeJSON(w, td.toJSON(nameA, nameB)); err != nil {
			return err
		}
	} else {
		printTraceDiff(w, td, nameA, nameB, summary)
	}
	if summary == "" {
		return nil
	}
	return &checkFailedError{msg: fmt.Sprintf("%s and %s differ: %s", nameA, nameB, summary)}
}

// identical reports whether the two launches are the same.
func (td *traceDiff) identical() bool { return td.first == nil && td.firstDigestOnly < 0 }

// summary is the one-line description of the first difference, or "" when
// the launches are identical.
func (td *traceDiff) summary() string {
	switch {
	case td.identical():
		return ""
	case td.first == nil:
		return fmt.Sprintf("every update is the same, but the digests differ from update %d: "+
			"the launches start from different digests (--snp-ovmf-hash?)", td.firstDigestOnly)
	case td.first[0] == "extra":
		if td.firstA != nil {
			return fmt.Sprintf("first difference at update %d: A has %d more updates than B, starting with %s",
				td.firstA.index, td.a.n-td.b.n, describeUpdate(td.firstA))
		}
		return fmt.Sprintf("first difference at update %d: B has %d more updates than A, starting with %s",
			td.firstB.index, td.b.n-td.a.n, describeUpdate(td.firstB))
	default:
		verb := "differ"
		if len(td.first) == 1 && td.first[0] != "contents" {
			verb = "differs"
		}
		return fmt.Sprintf("first difference at update %d (%s): %s %s", td.firstA.index, td.firstA.source,
			strings.Join(td.first, " and "), verb)
	}
}

// printTraceDiff prints the text form of diff.
func printTraceDiff(w io.Writer, td *traceDiff, nameA, nameB, summary string) {
	ta, tb := td.a, td.b
	fmt.Fprintf(w, "A %s: %d updates, final digest %s\n", nameA, ta.n, orNone(ta.last))
	fmt.Fprintf(w, "B %s: %d updates, final digest %s\n", nameB, tb.n, orNone(tb.last))
	if td.identical() {
		fmt.Fprintln(w, "identical launches")
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, summary)
	if td.first != nil && td.first[0] != "extra" {
		fmt.Fprintf(w, "  A: %s\n", describeUpdate(td.firstA))
		fmt.Fprintf(w, "  B: %s\n", describeUpdate(td.firstB))
	}
	if td.first != nil && td.firstDigestOnly >= 0 {
		fmt.Fprintf(w, "note: the digests already differ from update %d, where the inputs are the same: "+
			"the launches start from different digests\n", td.firstDigestOnly)
	}
	if td.first != nil {
		fmt.Fprintln(w, "\ndifferences by source (the i-th update of a source in A against the i-th in B):")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SOURCE\tA\tB\tDIFFERING\tHOW")
		for _, g := range td.stats.groups {
			var how []string
			for _, k := range []string{"contents", "GPA", "page type", "source"} {
				if n := g.how[k]; n > 0 {
					how = append(how, fmt.Sprintf("%s %d", k, n))
				}
			}
			switch {
			case g.b > g.a:
				how = append(how, fmt.Sprintf("%d more in B", g.b-g.a))
			case g.a > g.b:
				how = append(how, fmt.Sprintf("%d more in A", g.a-g.b))
			}
			if len(how) == 0 {
				how = []string{"-"}
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", g.name, g.a, g.b, g.differ, strings.Join(how, ", "))
		}
		tw.Flush()
	}
}

// diffJSON is the output of diff --json.
type diffJSON struct {
	Identical         bool            `json:"identical"`
	A                 diffTraceJSON   `json:"a"`
	B                 diffTraceJSON   `json:"b"`
	FirstDifference   *diffFirstJSON  `json:"first_difference"`
	DigestsDifferFrom *int64          `json:"digests_differ_from"`
	BySource          []diffGroupJSON `json:"by_source"`
}

// diffTraceJSON summarizes one trace.
type diffTraceJSON struct {
	File        string  `json:"file"`
	Updates     uint64  `json:"updates"`
	FinalDigest *string `json:"final_digest"` // null for an empty trace
}

// diffFirstJSON is the first update whose inputs differ. A or B is null
// when that launch has no update there (how is ["extra"]).
type diffFirstJSON struct {
	Index uint64          `json:"index"`
	How   []string        `json:"how"`
	A     *diffUpdateJSON `json:"a"`
	B     *diffUpdateJSON `json:"b"`
}

// diffUpdateJSON is one update, with the keys of a trace record.
type diffUpdateJSON struct {
	Index    uint64 `json:"index"`
	GPA      string `json:"gpa"`
	PageType string `json:"page_type"`
	Source   string `json:"source"`
	Contents string `json:"contents"`
	Digest   string `json:"digest"`
}

// diffGroupJSON is one row of the by-source table; how counts the paired
// updates that differ in each way.
type diffGroupJSON struct {
	Source    string      `json:"source"`
	A         int         `json:"a"`
	B         int         `json:"b"`
	Differing int         `json:"differing"`
	How       diffHowJSON `json:"how"`
}

type diffHowJSON struct {
	Contents int `json:"contents"`
	GPA      int `json:"gpa"`
	PageType int `json:"page_type"`
	Source   int `json:"source"`
}

// jsonDiffKind spells a kind of difference as --json does.
func jsonDiffKind(k string) string {
	switch k {
	case "GPA":
		return "gpa"
	case "page type":
		return "page_type"
	}
	return k
}

func updateJSON(u *traceUpdate) *diffUpdateJSON {
	if u == nil {
		return nil
	}
	return &diffUpdateJSON{Index: u.index, GPA: fmt.Sprintf("%#x", u.gpa), PageType: u.pageType,
		Source: u.source, Contents: u.contents, Digest: u.digest}
}

func traceJSON(name string, t *traceReader) diffTraceJSON {
	j := diffTraceJSON{File: name, Updates: t.n}
	if t.last != "" {
		d := t.last
		j.FinalDigest = &d
	}
	return j
}

func (td *traceDiff) toJSON(nameA, nameB string) *diffJSON {
	j := &diffJSON{Identical: td.identical(), A: traceJSON(nameA, td.a), B: traceJSON(nameB, td.b),
		BySource: make([]diffGroupJSON, 0, len(td.stats.groups))}
	if td.first != nil {
		f := &diffFirstJSON{A: updateJSON(td.firstA), B: updateJSON(td.firstB)}
		if td.firstA != nil {
			f.Index = td.firstA.index
		} else {
			f.Index = td.firstB.index
		}
		for _, k := range td.first {
			f.How = append(f.How, jsonDiffKind(k))
		}
		j.FirstDifference = f
	}
	if td.firstDigestOnly >= 0 {
		n := td.firstDigestOnly
		j.DigestsDifferFrom = &n
	}
	for _, g := range td.stats.groups {
		j.BySource = append(j.BySource, diffGroupJSON{Source: g.name, A: g.a, B: g.b, Differing: g.differ,
			How: diffHowJSON{Contents: g.how["contents"], GPA: g.how["GPA"], PageType: g.how["page type"], Source: g.how["source"]}})
	}
	return j
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
