package trace

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Ways in which two updates differ (Diff.How, Group.How).
const (
	HowContents = "contents"
	HowGPA      = "gpa"
	HowPageType = "page_type"
	HowSource   = "source"
	// HowExtra: one launch has an update where the other has ended.
	HowExtra = "extra"
)

// Group compares the updates of one source group ("ovmf", "metadata",
// "kernel-hashes", "vmsa", "directive", ...): the i-th update of the group in A with
// the i-th in B, so that a launch with more pages in one group still lines up
// in the others.
type Group struct {
	Source string `json:"source"`
	// A and B count the group's updates in each launch.
	A int `json:"a"`
	B int `json:"b"`
	// Differing counts the paired updates that differ; How, in which way.
	Differing int `json:"differing"`
	How       How `json:"how"`
	// Updates not paired yet; only one side has any at a time.
	pendA, pendB []*Record
}

// How counts differing updates by what differs.
type How struct {
	Contents int `json:"contents"`
	GPA      int `json:"gpa"`
	PageType int `json:"page_type"`
	Source   int `json:"source"`
}

func (h *How) add(kinds []string) {
	for _, k := range kinds {
		switch k {
		case HowContents:
			h.Contents++
		case HowGPA:
			h.GPA++
		case HowPageType:
			h.PageType++
		case HowSource:
			h.Source++
		}
	}
}

func (g *Group) add(u *Record, fromA bool) {
	mine, theirs := &g.pendA, &g.pendB
	if fromA {
		g.A++
	} else {
		g.B++
		mine, theirs = theirs, mine
	}
	if len(*theirs) == 0 {
		*mine = append(*mine, u)
		return
	}
	o := (*theirs)[0]
	(*theirs)[0] = nil
	*theirs = (*theirs)[1:]
	if d := Compare(u, o); len(d) > 0 {
		g.Differing++
		g.How.add(d)
	}
}

// SourceGroup is the part of a source that names where a page comes from:
// "ovmf+0x1000" → "ovmf", "metadata[2] SNP_SECRETS" → "metadata", "vmsa[3]" → "vmsa".
func SourceGroup(s string) string {
	if i := strings.IndexAny(s, "+[ "); i > 0 {
		return s[:i]
	}
	return s
}

// Compare lists how two updates differ: HowContents, HowGPA, HowPageType, HowSource.
func Compare(a, b *Record) []string {
	var d []string
	if a.Contents != b.Contents {
		d = append(d, HowContents)
	}
	if a.GPA != b.GPA {
		d = append(d, HowGPA)
	}
	if a.PageType != b.PageType {
		d = append(d, HowPageType)
	}
	if a.Source != b.Source {
		d = append(d, HowSource)
	}
	return d
}

// Summary describes one launch of a diff.
type Summary struct {
	File    string `json:"file"`
	Updates uint64 `json:"updates"`
	// FinalDigest is the last update's digest, nil for an empty trace.
	FinalDigest *string `json:"final_digest"`
}

// First is the first update, by position, whose inputs differ. A or B is
// nil where that launch has already ended (How is [HowExtra]).
type First struct {
	Index uint64   `json:"index"`
	How   []string `json:"how"`
	A     *Record  `json:"a"`
	B     *Record  `json:"b"`
}

// Diff is the comparison of two launches; it marshals as `diff --json` prints it.
type Diff struct {
	Identical bool    `json:"identical"`
	A         Summary `json:"a"`
	B         Summary `json:"b"`
	// First is nil when every update has the same inputs.
	First *First `json:"first_difference"`
	// DigestsDifferFrom is the first update, before any input differs,
	// whose digest differs anyway: the launches start from different
	// digests (--snp-ovmf-hash of another firmware). Nil when none.
	DigestsDifferFrom *uint64 `json:"digests_differ_from"`
	// BySource lists the groups in the order they were first seen.
	BySource []*Group `json:"by_source"`
}

// DiffReaders streams two traces side by side: updates are compared by
// position for the first divergence, and by position within their source
// group for the per-source counts. Both traces are read to their end.
func DiffReaders(a, b *Reader) (*Diff, error) {
	d := &Diff{A: Summary{File: a.name}, B: Summary{File: b.name}, BySource: []*Group{}}
	groups := map[string]*Group{}
	add := func(u *Record, fromA bool) {
		name := SourceGroup(u.Source)
		g := groups[name]
		if g == nil {
			g = &Group{Source: name}
			groups[name] = g
			d.BySource = append(d.BySource, g)
		}
		g.add(u, fromA)
	}
	for {
		ua, err := next(a)
		if err != nil {
			return nil, err
		}
		ub, err := next(b)
		if err != nil {
			return nil, err
		}
		if ua == nil && ub == nil {
			break
		}
		if ua != nil {
			add(ua, true)
		}
		if ub != nil {
			add(ub, false)
		}
		if d.First != nil {
			continue
		}
		switch how := Compare(nz(ua), nz(ub)); {
		case ua == nil || ub == nil:
			d.First = &First{How: []string{HowExtra}, A: ua, B: ub}
		case len(how) > 0:
			d.First = &First{How: how, A: ua, B: ub}
		case ua.Digest != ub.Digest && d.DigestsDifferFrom == nil:
			i := ua.Index
			d.DigestsDifferFrom = &i
		}
		if d.First != nil {
			d.First.Index = nz(ua).Index
			if ua == nil {
				d.First.Index = ub.Index
			}
		}
	}
	for _, s := range []struct {
		sum *Summary
		r   *Reader
	}{{&d.A, a}, {&d.B, b}} {
		if s.r.N == 0 {
			return nil, fmt.Errorf("%s: %w", s.r.name, ErrEmpty)
		}
		s.sum.Updates = s.r.N
		if s.r.Last != nil {
			h := s.r.Last.Digest.String()
			s.sum.FinalDigest = &h
		}
	}
	d.Identical = d.First == nil && d.DigestsDifferFrom == nil
	return d, nil
}

// ErrEmpty is returned for a trace without a single update: no launch is empty.
var ErrEmpty = errors.New("no launch updates: not a trace")

// nz returns r, or an empty record for nil.
func nz(r *Record) *Record {
	if r == nil {
		return &Record{}
	}
	return r
}

// next returns the next record, nil at the end.
func next(r *Reader) (*Record, error) {
	u, err := r.Next()
	if err == io.EOF {
		return nil, nil
	}
	return u, err
}

// Describe describes an update in a few words, for messages.
func Describe(u *Record) string {
	return fmt.Sprintf("%s %s at GPA %#x, contents %s…", u.Source, u.PageType, u.GPA, u.Contents.String()[:16])
}

// String is the one-line description of the first difference, or "" when
// the launches are identical.
func (d *Diff) String() string {
	f := d.First
	switch {
	case d.Identical:
		return ""
	case f == nil:
		return fmt.Sprintf("every update is the same, but the digests differ from update %d: "+
			"the launches start from different digests (--snp-ovmf-hash?)", *d.DigestsDifferFrom)
	case f.How[0] == HowExtra && f.A != nil:
		return fmt.Sprintf("first difference at update %d: A has %d more updates than B, starting with %s",
			f.Index, d.A.Updates-d.B.Updates, Describe(f.A))
	case f.How[0] == HowExtra:
		return fmt.Sprintf("first difference at update %d: B has %d more updates than A, starting with %s",
			f.Index, d.B.Updates-d.A.Updates, Describe(f.B))
	}
	words := make([]string, len(f.How))
	for i, k := range f.How {
		words[i] = strings.NewReplacer("gpa", "GPA", "page_type", "page type").Replace(k)
	}
	verb := "differ"
	if len(f.How) == 1 && f.How[0] != HowContents {
		verb = "differs"
	}
	return fmt.Sprintf("first difference at update %d (%s): %s %s", f.Index, f.A.Source, strings.Join(words, " and "), verb)
}
