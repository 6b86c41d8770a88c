package launchdigest

import (
	"context"
	"fmt"
	"iter"
	"sync/atomic"
)

// Step is a run of consecutive SNP_LAUNCH_UPDATE page updates of one type
// from one source: the pages of a firmware file, a metadata section, or the
// VMSAs of a group of vCPUs.
type Step struct {
	// Source names where the pages come from: "ovmf", "svsm",
	// "metadata[2] SNP_SECRETS", "kernel-hashes", "vmsa".
	Source string
	Type   PageType
	// GPA is the guest physical address of the first page.
	GPA uint64
	// Pages is the number of page updates.
	Pages uint64
	// Stride is the GPA increment from one page to the next: PageSize for
	// memory ranges, 0 for VMSAs (every VMSA is reported at the same GPA).
	Stride uint64
	// Contents holds the CONTENTS digest of each page (len Pages), or one
	// digest shared by every page (len 1), or nothing for unmeasured types.
	Contents []Digest
	// FirstIndex numbers the pages of VMSA steps: vmsa[FirstIndex+i].
	FirstIndex uint64
	// Data, when set, replaces Contents: the pages are read from a file and
	// hashed when the launch is replayed (measured types only).
	Data *PageData
	// Directives, when Per is not 0, names each page after the IGVM
	// directive it comes from (PageSource).
	Directives StepDirectives
}

// StepDirectives names the pages of a step after IGVM directives: page i
// of the step is page (Page+i) mod Per of directive[First+(Page+i)/Per],
// Per being the pages each directive covers (1 for 4 KiB pages, 512 for
// 2 MiB pages, the area's pages for a parameter insert).
type StepDirectives struct {
	First, Page, Per uint64
}

// contents returns the CONTENTS digest of page i.
func (s *Step) contents(i uint64) *Digest {
	switch len(s.Contents) {
	case 0:
		return nil
	case 1:
		return &s.Contents[0]
	}
	return &s.Contents[i]
}

// PageSource names page i of the step, e.g. "ovmf+0x1000" or "vmsa[3]".
func (s *Step) PageSource(i uint64) string {
	if d := s.Directives; d.Per > 0 {
		p := d.Page + i
		name := fmt.Sprintf("directive[%d] %s", d.First+p/d.Per, s.Source)
		if d.Per > 1 {
			name += fmt.Sprintf("+%#x", p%d.Per*PageSize)
		}
		return name
	}
	switch {
	case s.Type == PageVMSA:
		return fmt.Sprintf("vmsa[%d]", s.FirstIndex+i)
	case s.Pages == 1 && (s.Source != "ovmf" && s.Source != "svsm"):
		return s.Source
	}
	return fmt.Sprintf("%s+%#x", s.Source, i*PageSize)
}

// Update is one SNP_LAUNCH_UPDATE page update.
type Update struct {
	Index    uint64
	Type     PageType
	GPA      uint64
	Contents Digest
	Source   string
}

// Launch is an SNP launch: a starting digest (zero, or a firmware digest
// given with --snp-ovmf-hash) and the ordered updates that extend it.
type Launch struct {
	Start Digest
	Steps []Step

	lastErr atomic.Pointer[error]
}

// NumUpdates returns the number of page updates.
func (l *Launch) NumUpdates() uint64 {
	var n uint64
	for i := range l.Steps {
		n += l.Steps[i].Pages
	}
	return n
}

// Digest computes the launch digest: the MEASUREMENT of the attestation report.
// The pages of Data steps are read and hashed on all CPUs while extending;
// if one cannot be read, Digest returns the zero digest and Err the error
// (Measure returns it directly).
func (l *Launch) Digest() Digest {
	if !hasData(l.Steps) {
		return extendSteps(l.Start, l.Steps)
	}
	d, err := l.Measure(context.Background(), nil)
	if err != nil {
		return Digest{}
	}
	return d
}

func extendSteps(ld Digest, steps []Step) Digest {
	for si := range steps {
		s := &steps[si]
		gpa := s.GPA
		for i := uint64(0); i < s.Pages; i++ {
			ld = Extend(ld, s.Type, gpa, s.contents(i))
			gpa += s.Stride
		}
	}
	return ld
}

// Updates yields every page update in launch order with the digest after it.
func (l *Launch) Updates() iter.Seq2[Update, Digest] {
	if hasData(l.Steps) {
		return l.updatesLazy()
	}
	return func(yield func(Update, Digest) bool) {
		ld := l.Start
		var idx uint64
		for si := range l.Steps {
			s := &l.Steps[si]
			gpa := s.GPA
			for i := uint64(0); i < s.Pages; i++ {
				c := s.contents(i)
				ld = Extend(ld, s.Type, gpa, c)
				u := Update{Index: idx, Type: s.Type, GPA: gpa, Source: s.PageSource(i)}
				if c != nil {
					u.Contents = *c
				}
				if !yield(u, ld) {
					return
				}
				idx++
				gpa += s.Stride
			}
		}
	}
}

// SplitVMSAs returns the launch without its trailing VMSA steps, and those steps.
// The digest of the prefix is shared by every vCPU count of a configuration.
func (l *Launch) SplitVMSAs() (prefix *Launch, vmsas []Step) {
	n := len(l.Steps)
	for n > 0 && l.Steps[n-1].Type == PageVMSA {
		n--
	}
	return &Launch{Start: l.Start, Steps: l.Steps[:n:n]}, l.Steps[n:]
}

// VMSASeries extends a prefix digest one vCPU at a time: yield receives the
// vCPU count and the launch digest for that many vCPUs, for 1..max.
// bsp and ap are the VMSA page digests and gpa the VMSA GPA.
func VMSASeries(prefix Digest, bsp, ap Digest, gpa uint64, max int) iter.Seq2[int, Digest] {
	return func(yield func(int, Digest) bool) {
		ld := prefix
		for n := 1; n <= max; n++ {
			c := &ap
			if n == 1 {
				c = &bsp
			}
			ld = Extend(ld, PageVMSA, gpa, c)
			if !yield(n, ld) {
				return
			}
		}
	}
}
