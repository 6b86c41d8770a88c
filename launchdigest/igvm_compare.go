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
		var de *DirectiveError
		if errors.As(err, &de) || errors.Is(err, ErrQEMURefuses) || errors.Is(err, ErrIGVMPlatform) {
			return &LoaderDivergence{QEMUErr: err}, nil
		}
		return nil, err
	}
	return compareLaunches(ctx, a.Launch, b.Launch)
}

func compareLaunches(ctx context.Context, a, b *Launch) (*LoaderDivergence, error) {
	na, stopA := iter.Pull2(a.Updates())
	defer stopA()
	nb, stopB := iter.Pull2(b.Updates())
	defer stopB()
	for idx := uint64(0); ; idx++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ua, _, okA := na()
		ub, _, okB := nb()
		if !okA || !okB {
			if err := errors.Join(a.Err(), b.Err()); err != nil {
				return nil, err
			}
			if okA == okB {
				return nil, nil
			}
			d := &LoaderDivergence{Index: idx, Reason: "length"}
			if okA {
				d.IGVMMeasure = &ua
			} else {
				d.QEMU = &ub
			}
			return d, nil
		}
		reason := ""
		switch {
		case ua.Type != ub.Type:
			reason = "page type"
		case ua.GPA != ub.GPA:
			reason = "GPA"
		case ua.Contents != ub.Contents:
			reason = "contents"
		}
		if reason != "" {
			return &LoaderDivergence{Index: idx, IGVMMeasure: &ua, QEMU: &ub, Reason: reason}, nil
		}
	}
}
