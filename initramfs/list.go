package initramfs

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Walk reads every entry of the initramfs in r and calls fn with it, in
// archive order. Regular files carry the SHA-256 of their data in
// Entry.SHA256 (hard links are not resolved; see List).
func Walk(r io.Reader, fn func(*Entry) error) error {
	rd := NewReader(r)
	h := sha256.New()
	for {
		e, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if e.IsRegular() {
			h.Reset()
			if _, err := io.Copy(h, rd); err != nil {
				return err
			}
			e.SHA256 = h.Sum(nil)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
}

// List returns the entries of the initramfs in r in archive order, with the
// SHA-256 of every regular file and hard links resolved: every name of a
// hard-linked file carries the size and digest of the data stored with one
// of them (newc stores it once), and every name but the first carries the
// first name in HardLink. Only metadata is kept in memory.
func List(r io.Reader) ([]Entry, error) {
	var out []Entry
	err := Walk(r, func(e *Entry) error {
		out = append(out, *e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	resolveHardLinks(out)
	return out, nil
}

// resolveHardLinks applies the kernel's view of hard links: within one
// archive, regular files with nlink > 1 and the same device and inode
// numbers are one file, whose data is the last non-empty data stored.
func resolveHardLinks(es []Entry) {
	type key struct {
		archive           int
		major, minor, ino uint32
	}
	groups := map[key][]int{}
	for i := range es {
		e := &es[i]
		if !e.IsRegular() || e.NLink < 2 {
			continue
		}
		k := key{e.Segment.Archive, e.DevMajor, e.DevMinor, e.Ino}
		groups[k] = append(groups[k], i)
	}
	for _, idx := range groups {
		if len(idx) < 2 {
			continue
		}
		data := idx[0]
		for _, i := range idx {
			if es[i].Size > 0 {
				data = i
			}
		}
		first := es[idx[0]].Name
		for n, i := range idx {
			es[i].Size = es[data].Size
			es[i].SHA256 = es[data].SHA256
			if n > 0 {
				es[i].HardLink = first
			}
		}
	}
}

// Change is one difference between two initramfs trees.
type Change struct {
	// Path is the cleaned absolute path.
	Path string
	// Kind is '+' (only in the new tree), '-' (only in the old one) or
	// '~' (in both, different).
	Kind byte
	// Old and New are the entries (nil when absent).
	Old, New *Entry
	// Details lists what changed, e.g. "mode 0644 -> 0755" (Kind '~').
	Details []string
}

func (c Change) String() string {
	switch c.Kind {
	case '+':
		return "+ " + c.Path + " (" + Describe(c.New) + ")"
	case '-':
		return "- " + c.Path + " (" + Describe(c.Old) + ")"
	}
	return "~ " + c.Path + ": " + strings.Join(c.Details, ", ")
}

// Describe summarises an entry: type, permissions, owner and content.
func Describe(e *Entry) string {
	s := fmt.Sprintf("%s %04o %d:%d", e.TypeName(), e.Mode&ModePerm, e.UID, e.GID)
	if c := content(e); c != "" {
		s += " " + c
	}
	return s
}

// content describes what an entry holds besides metadata.
func content(e *Entry) string {
	switch {
	case e.IsRegular():
		return fmt.Sprintf("%d bytes sha256:%x", e.Size, e.SHA256)
	case e.IsSymlink():
		return "-> " + e.Linkname
	case e.IsDevice():
		return fmt.Sprintf("%d,%d", e.RDevMajor, e.RDevMinor)
	}
	return ""
}

// DiffOptions select what Diff compares.
type DiffOptions struct {
	// MTime also compares modification times.
	MTime bool
}

// Diff compares the trees two entry lists unpack to: entries are matched by
// cleaned path, a later entry with the same path replaces an earlier one
// (as when the kernel unpacks them), and archive order, inode numbers and
// link counts are ignored. Changes are sorted by path.
func Diff(a, b []Entry, o DiffOptions) []Change {
	ma, mb := byPath(a), byPath(b)
	paths := make([]string, 0, len(ma)+len(mb))
	for p := range ma {
		paths = append(paths, p)
	}
	for p := range mb {
		if _, ok := ma[p]; !ok {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	var out []Change
	for _, p := range paths {
		ea, eb := ma[p], mb[p]
		switch {
		case ea == nil:
			out = append(out, Change{Path: p, Kind: '+', New: eb})
		case eb == nil:
			out = append(out, Change{Path: p, Kind: '-', Old: ea})
		default:
			if d := compare(ea, eb, o); len(d) > 0 {
				out = append(out, Change{Path: p, Kind: '~', Old: ea, New: eb, Details: d})
			}
		}
	}
	return out
}

func byPath(es []Entry) map[string]*Entry {
	m := make(map[string]*Entry, len(es))
	for i := range es {
		m[es[i].Path()] = &es[i]
	}
	return m
}

func compare(a, b *Entry, o DiffOptions) []string {
	var d []string
	if a.Type() != b.Type() {
		return []string{fmt.Sprintf("type %s -> %s (%s -> %s)", a.TypeName(), b.TypeName(), Describe(a), Describe(b))}
	}
	if a.Mode&ModePerm != b.Mode&ModePerm {
		d = append(d, fmt.Sprintf("mode %04o -> %04o", a.Mode&ModePerm, b.Mode&ModePerm))
	}
	if a.UID != b.UID || a.GID != b.GID {
		d = append(d, fmt.Sprintf("owner %d:%d -> %d:%d", a.UID, a.GID, b.UID, b.GID))
	}
	switch {
	case a.IsRegular():
		if a.Size != b.Size || string(a.SHA256) != string(b.SHA256) {
			d = append(d, fmt.Sprintf("content %s -> %s", content(a), content(b)))
		}
	case a.IsSymlink():
		if a.Linkname != b.Linkname {
			d = append(d, fmt.Sprintf("target %s -> %s", a.Linkname, b.Linkname))
		}
	case a.IsDevice():
		if a.RDevMajor != b.RDevMajor || a.RDevMinor != b.RDevMinor {
			d = append(d, fmt.Sprintf("device %d,%d -> %d,%d", a.RDevMajor, a.RDevMinor, b.RDevMajor, b.RDevMinor))
		}
	}
	if o.MTime && a.MTime != b.MTime {
		d = append(d, fmt.Sprintf("mtime %d -> %d", a.MTime, b.MTime))
	}
	return d
}
