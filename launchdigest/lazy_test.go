package launchdigest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"
)

// lazyLaunch returns a launch whose pages come from data through Data steps
// (in runs of uneven length, one step repeating a page), and the same launch
// with the page digests computed up front (Contents).
func lazyLaunch(data []byte) (lazy, eager *Launch) {
	r := bytes.NewReader(data)
	pages := int64(len(data) / PageSize)
	lazy, eager = &Launch{}, &Launch{}
	gpa := uint64(0x100000)
	for off, run := int64(0), int64(1); off < pages; off, run = off+run, run*3%97+1 {
		n := min(run, pages-off)
		lazy.Steps = append(lazy.Steps, Step{Source: "data", Type: PageNormal, GPA: gpa, Pages: uint64(n), Stride: PageSize,
			Data: &PageData{R: r, Offset: off * PageSize, Stride: PageSize}})
		var cs []Digest
		for i := off; i < off+n; i++ {
			cs = append(cs, PageDigest(data[i*PageSize:(i+1)*PageSize]))
		}
		eager.Steps = append(eager.Steps, Step{Source: "data", Type: PageNormal, GPA: gpa, Pages: uint64(n), Stride: PageSize, Contents: cs})
		gpa += uint64(n) * PageSize
		z := Step{Source: "zero", Type: PageZero, GPA: gpa, Pages: 2, Stride: PageSize}
		lazy.Steps, eager.Steps = append(lazy.Steps, z), append(eager.Steps, z)
		gpa += 2 * PageSize
	}
	rep := Step{Source: "rep", Type: PageNormal, GPA: gpa, Pages: 70, Stride: PageSize, Data: &PageData{R: r, Offset: PageSize}}
	lazy.Steps = append(lazy.Steps, rep)
	rep.Data, rep.Contents = nil, []Digest{PageDigest(data[PageSize : 2*PageSize])}
	eager.Steps = append(eager.Steps, rep)
	return lazy, eager
}

func TestLazyPageDataEqualsContents(t *testing.T) {
	data := benchData(700 * PageSize)
	lazy, eager := lazyLaunch(data)
	want := eager.Digest()
	for _, procs := range []int{1, 2, 7} {
		prev := runtime.GOMAXPROCS(procs)
		if got := lazy.Digest(); got != want || lazy.Err() != nil {
			t.Errorf("GOMAXPROCS %d: Digest %s (%v), want %s", procs, got, lazy.Err(), want)
		}
		var n uint64
		var last Digest
		var hashed int
		for u, d := range lazy.Updates() {
			if u.Index != n {
				t.Fatalf("update %d has index %d", n, u.Index)
			}
			n, last = n+1, d
		}
		if n != eager.NumUpdates() || last != want {
			t.Errorf("Updates: %d updates ending %s", n, last)
		}
		d, err := lazy.Measure(context.Background(), func(b int) { hashed += b })
		if d != want || err != nil || hashed != (700+70)*PageSize {
			t.Errorf("Measure: %s %v, %d bytes hashed", d, err, hashed)
		}
		runtime.GOMAXPROCS(prev)
	}
	var eu, lu []Update
	for u := range eager.Updates() {
		eu = append(eu, u)
	}
	for u := range lazy.Updates() {
		lu = append(lu, u)
	}
	for i := range eu {
		if eu[i] != lu[i] {
			t.Fatalf("update %d: %+v, want %+v", i, lu[i], eu[i])
		}
	}
}

// Stopping an iteration early, at any point, ends the pipeline's goroutines.
func TestLazyUpdatesStopEarly(t *testing.T) {
	data := benchData(300 * PageSize)
	lazy, _ := lazyLaunch(data)
	before := runtime.NumGoroutine()
	for stop := 0; stop < 400; stop += 13 {
		i := 0
		for range lazy.Updates() {
			if i == stop {
				break
			}
			i++
		}
		if lazy.Err() != nil {
			t.Fatal(lazy.Err())
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines left, %d before", n, before)
	}
}

type failingReader struct{ at int64 }

func (f failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.at {
		return 0, io.ErrUnexpectedEOF
	}
	return len(p), nil
}

func TestLazyReadError(t *testing.T) {
	l := &Launch{Steps: []Step{{Source: "data", Type: PageNormal, Pages: 500, Stride: PageSize,
		Data: &PageData{R: failingReader{at: 300 * PageSize}, Stride: PageSize}}}}
	if _, err := l.Measure(context.Background(), nil); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Measure: %v", err)
	}
	if d := l.Digest(); d != (Digest{}) || !errors.Is(l.Err(), io.ErrUnexpectedEOF) {
		t.Fatalf("Digest %s, Err %v", d, l.Err())
	}
	n := 0
	for range l.Updates() {
		n++
	}
	if n >= 500 || l.Err() == nil {
		t.Fatalf("Updates yielded %d updates, Err %v", n, l.Err())
	}
	if err := l.Walk(context.Background(), func(Update, Digest) error { return nil }); err == nil {
		t.Fatal("Walk: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Measure(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Measure: %v", err)
	}
}
