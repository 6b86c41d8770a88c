package launchdigest

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/snpmeasure/snpmeasure/igvm"
)

// LoaderDivergence is where the igvmmeasure and qemu loaders part on a file.
type LoaderDivergence struct {
	// Index is the first update that differs.
	Index uint64
	// IGVMMeasure and QEMU are that update in each launch; nil when that
	// launch has no more updates.
	IGVMMeasure, QEMU *Update
	// Reason says how they differ: "page type", "GPA", "contents", or
	// "length" when one launch ends first.
	Reason string
	// QEMUErr is set, and the other fields are zero, when QEMU refuses the file.
	QEMUErr error
}

// String describes the divergence in one line, naming the directives.
func (d *LoaderDivergence) String() string {
	if d.QEMUErr != nil {
		if errors.Is(d.QEMUErr, ErrIGVMTooManyUpdates) {
			return fmt.Sprintf("the qemu loader does not measure the file: %v", d.QEMUErr)
		}
		return fmt.Sprintf("QEMU refuses the file: %v", d.QEMUErr)
	}
	name := func(u *Update) string {
		if u == nil {
			return "(no more updates)"
		}
		return fmt.Sprintf("%s %s at GPA %#x", u.Source, u.Type, u.GPA)
	}
	return fmt.Sprintf("update %d, %s differs: igvmmeasure %s, qemu %s", d.Index, d.Reason, name(d.IGVMMeasure), name(d.QEMU))
}

// CompareIGVMLoaders measures f with both loaders (SEV-SNP) and returns nil
// when they perform the same page updates (type, GPA and contents: the
// digests are then equal), or the first update where they part. An error of
// the igvmmeasure loader is returned as the error; a refusal of the qemu
// loader is a divergence (QEMUErr).
func CompareIGVMLoaders(ctx context.Context, f *igvm.File, mo IGVMMeasureOptions, qo QEMUOptions) (*LoaderDivergence, error) {
	a, err := IGVMMeasure(f, mo)
	if err != nil {
		return nil, err
	}
	b, err := IGVMQEMU(f, qo)
	if err != nil {
		if IsIGVMRefusal(err) {
			return &LoaderDivergence{QEMUErr: err}, nil
		}
		return nil, err
	}
	c, err := CompareIGVMLaunches(ctx, a, b)
	if err != nil {
		return nil, err
	}
	return c.Divergence, nil
}

// IsIGVMRefusal reports whether err, from IGVMMeasure or IGVMQEMU, is the
// loader refusing the file (a directive it cannot or will not measure, a
// launch QEMU would not start, a missing platform) rather than a failure
// to read it.
func IsIGVMRefusal(err error) bool {
	var de *DirectiveError
	var ke *KVMCheckError
	return errors.As(err, &de) || errors.As(err, &ke) || errors.Is(err, ErrQEMURefuses) || errors.Is(err, ErrIGVMPlatform)
}

// IGVMComparison is both loaders' launches of a file, walked once each.
type IGVMComparison struct {
	// IGVMMeasure and QEMU are the launch digests.
	IGVMMeasure, QEMU Digest
	// Divergence is the first update where the launches part, nil when
	// they perform the same updates.
	Divergence *LoaderDivergence
}

// CompareIGVMLaunches walks the igvmmeasure loader's launch m and the qemu
// loader's launch q of one file side by side, once, and returns both
// digests and the first update where they part: comparing and measuring
// cost one replay of each launch.
func CompareIGVMLaunches(ctx context.Context, m, q *IGVMLaunch) (*IGVMComparison, error) {
	return compareLaunches(ctx, m.Launch, q.Launch)
}

// walked is one update of a walk: page i of step si, and the digest after it.
type walked struct {
	si      int
	i, gpa  uint64
	c       *Digest
	measure Digest
}

func update(l *Launch, idx uint64, w walked) *Update {
	s := &l.Steps[w.si]
	u := &Update{Index: idx, Type: s.Type, GPA: w.gpa, Source: s.PageSource(w.i)}
	if w.c != nil {
		u.Contents = *w.c
	}
	return u
}

func compareLaunches(ctx context.Context, a, b *Launch) (*IGVMComparison, error) {
	var errB error
	nextB, stopB := iter.Pull(func(yield func(walked) bool) {
		_, errB = walk(ctx, b.Start, b.Steps, nil, func(si int, i, gpa uint64, c *Digest, ld Digest) bool {
			return yield(walked{si, i, gpa, c, ld})
		})
	})
	defer stopB()
	out := &IGVMComparison{IGVMMeasure: a.Start, QEMU: b.Start}
	moreB := true
	var idx uint64
	da, err := walk(ctx, a.Start, a.Steps, nil, func(si int, i, gpa uint64, c *Digest, ld Digest) bool {
		defer func() { idx++ }()
		if !moreB {
			return true
		}
		wb, ok := nextB()
		if !ok {
			moreB = false
			if out.Divergence == nil {
				out.Divergence = &LoaderDivergence{Index: idx, Reason: "length", IGVMMeasure: update(a, idx, walked{si, i, gpa, c, ld})}
			}
			return true
		}
		out.QEMU = wb.measure
		if out.Divergence != nil {
			return true
		}
		var ca, cb Digest
		if c != nil {
			ca = *c
		}
		if wb.c != nil {
			cb = *wb.c
		}
		sa, sb := &a.Steps[si], &b.Steps[wb.si]
		reason := ""
		switch {
		case sa.Type != sb.Type:
			reason = "page type"
		case gpa != wb.gpa:
			reason = "GPA"
		case ca != cb:
			reason = "contents"
		}
		if reason != "" {
			out.Divergence = &LoaderDivergence{Index: idx, Reason: reason,
				IGVMMeasure: update(a, idx, walked{si, i, gpa, c, ld}), QEMU: update(b, idx, wb)}
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	out.IGVMMeasure = da
	for moreB {
		wb, ok := nextB()
		if !ok {
			break
		}
		out.QEMU = wb.measure
		if out.Divergence == nil {
			out.Divergence = &LoaderDivergence{Index: idx, Reason: "length", QEMU: update(b, idx, wb)}
		}
		idx++
	}
	if errB != nil {
		return nil, errB
	}
	return out, nil
}
