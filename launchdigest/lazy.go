package launchdigest

import (
	"context"
	"crypto/sha512"
	"errors"
	"fmt"
	"io"
	"iter"
	"runtime"
	"sync"
)

// PageData is a file region that holds the pages of a step, hashed when the
// launch is replayed rather than when it is built: page i of the step is the
// PageSize bytes at Offset + i*Stride of R. Stride is PageSize for pages laid
// out one after the other, or 0 when every page of the step is the same
// stored page. A launch built on PageData costs memory for its steps only,
// however large the file.
type PageData struct {
	R      io.ReaderAt
	Offset int64
	Stride int64
}

// dataChunk is the number of pages hashed together by one worker.
const dataChunk = 64

type chunk struct {
	step    int
	first   uint64
	n       uint64
	digests []Digest
	err     error
	done    chan struct{}
}

// pipeline hashes the pages of a launch's Data steps ahead of the
// extension, on all CPUs, keeping a bounded number of chunks in flight.
type pipeline struct {
	ordered chan *chunk
	quit    chan struct{}
	wg      sync.WaitGroup
	cur     *chunk
	// progress is called from the walking goroutine, never concurrently.
	progress func(int)
	// steps and buf serve the synchronous mode (ordered nil).
	steps []Step
	buf   []byte
}

func hasData(steps []Step) bool { return dataPages(steps) > 0 }

// dataPages counts the pages of the Data steps.
func dataPages(steps []Step) uint64 {
	var n uint64
	for i := range steps {
		if steps[i].Data != nil {
			n += steps[i].Pages
		}
	}
	return n
}

// syncDataPages is the most data pages hashed without the pipeline: for
// fewer, starting goroutines costs more than it saves.
const syncDataPages = 256

func startPipeline(steps []Step, progress func(int)) *pipeline {
	workers := runtime.GOMAXPROCS(0)
	window := 4 * workers
	p := &pipeline{ordered: make(chan *chunk, window), quit: make(chan struct{}), progress: progress}
	work := make(chan *chunk, window)
	p.wg.Add(1)
	go func() { // producer: chunks in launch order
		defer p.wg.Done()
		defer close(work)
		defer close(p.ordered)
		for si := range steps {
			s := &steps[si]
			if s.Data == nil {
				continue
			}
			for first := uint64(0); first < s.Pages; first += dataChunk {
				c := &chunk{step: si, first: first, n: min(dataChunk, s.Pages-first), done: make(chan struct{})}
				select {
				case p.ordered <- c:
				case <-p.quit:
					return
				}
				select {
				case work <- c:
				case <-p.quit:
					c.err = context.Canceled // never reaches a worker
					close(c.done)
					return
				}
			}
		}
	}()
	for range workers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			buf := make([]byte, dataChunk*PageSize)
			for c := range work {
				select {
				case <-p.quit:
					c.err = context.Canceled
				default:
					c.digests, c.err = hashChunk(&steps[c.step], c.first, c.n, buf)
				}
				close(c.done)
			}
		}()
	}
	return p
}

func hashChunk(s *Step, first, n uint64, buf []byte) ([]Digest, error) {
	d := s.Data
	out := make([]Digest, n)
	off := d.Offset + int64(first)*d.Stride
	if d.Stride == 0 {
		if _, err := d.R.ReadAt(buf[:PageSize], off); err != nil {
			return nil, fmt.Errorf("%s: reading the page at %#x: %w", s.Source, off, err)
		}
		out[0] = sha512.Sum384(buf[:PageSize])
		for i := range out {
			out[i] = out[0]
		}
		return out, nil
	}
	if d.Stride != PageSize {
		return nil, fmt.Errorf("%s: page data stride %d, want 0 or %d", s.Source, d.Stride, PageSize)
	}
	b := buf[:n*PageSize]
	if _, err := d.R.ReadAt(b, off); err != nil {
		return nil, fmt.Errorf("%s: reading %d pages at %#x: %w", s.Source, n, off, err)
	}
	for i := range out {
		out[i] = sha512.Sum384(b[i*PageSize : (i+1)*PageSize])
	}
	return out, nil
}

// page returns the CONTENTS digest of page i of Data step si; pages are
// asked for in launch order.
func (p *pipeline) page(si int, i uint64) (*Digest, error) {
	if p.ordered == nil { // synchronous: one chunk at a time, in this goroutine
		if p.cur == nil || p.cur.step != si || i >= p.cur.first+p.cur.n {
			s := &p.steps[si]
			c := &chunk{step: si, first: i, n: min(dataChunk, s.Pages-i)}
			if c.digests, c.err = hashChunk(s, c.first, c.n, p.buf); c.err != nil {
				return nil, c.err
			}
			p.cur = c
			if p.progress != nil {
				p.progress(int(c.n) * PageSize)
			}
		}
		return &p.cur.digests[i-p.cur.first], nil
	}
	if p.cur == nil || p.cur.step != si || i >= p.cur.first+p.cur.n {
		c, ok := <-p.ordered
		if !ok {
			return nil, errors.New("launch replay: page data pipeline ended early")
		}
		<-c.done
		if c.err != nil {
			return nil, c.err
		}
		p.cur = c
		if p.progress != nil {
			p.progress(int(c.n) * PageSize)
		}
	}
	return &p.cur.digests[i-p.cur.first], nil
}

func (p *pipeline) stop() {
	close(p.quit)
	for c := range p.ordered { // unblock the producer
		<-c.done
	}
	p.wg.Wait()
}

// walk extends ld over every update of steps in order, calling fn (when not
// nil) with each update and the digest after it; fn returning false stops
// the walk. Pages of Data steps are hashed on all CPUs ahead of the walk.
func walk(ctx context.Context, ld Digest, steps []Step, progress func(int), fn func(si int, i uint64, gpa uint64, c *Digest, ld Digest) bool) (Digest, error) {
	var p *pipeline
	switch n := dataPages(steps); {
	case n > syncDataPages:
		p = startPipeline(steps, progress)
		defer p.stop()
	case n > 0:
		p = &pipeline{steps: steps, buf: make([]byte, dataChunk*PageSize), progress: progress}
	}
	for si := range steps {
		s := &steps[si]
		if err := ctx.Err(); err != nil {
			return Digest{}, err
		}
		gpa := s.GPA
		for i := uint64(0); i < s.Pages; i++ {
			var c *Digest
			if s.Data != nil {
				var err error
				if c, err = p.page(si, i); err != nil {
					return Digest{}, err
				}
				if !s.Type.Measured() {
					c = nil
				}
			} else {
				c = s.contents(i)
			}
			ld = Extend(ld, s.Type, gpa, c)
			if fn != nil && !fn(si, i, gpa, c, ld) {
				return ld, nil
			}
			gpa += s.Stride
			if i%4096 == 4095 {
				if err := ctx.Err(); err != nil {
					return Digest{}, err
				}
			}
		}
	}
	return ld, nil
}

// Measure computes the launch digest like Digest, reporting errors reading
// the page data of Data steps and stopping when ctx is done. progress, when
// not nil, is called with the bytes of page data hashed.
func (l *Launch) Measure(ctx context.Context, progress func(int)) (Digest, error) {
	d, err := walk(ctx, l.Start, l.Steps, progress, nil)
	l.setErr(err)
	return d, err
}

// Walk calls fn with every update in launch order and the digest after it,
// like Updates, and returns fn's first error or an error reading page data.
func (l *Launch) Walk(ctx context.Context, fn func(Update, Digest) error) error {
	var idx uint64
	var ferr error
	_, err := walk(ctx, l.Start, l.Steps, nil, func(si int, i, gpa uint64, c *Digest, ld Digest) bool {
		s := &l.Steps[si]
		u := Update{Index: idx, Type: s.Type, GPA: gpa, Source: s.PageSource(i)}
		if c != nil {
			u.Contents = *c
		}
		idx++
		ferr = fn(u, ld)
		return ferr == nil
	})
	l.setErr(err)
	if err != nil {
		return err
	}
	return ferr
}

// Err returns the error that stopped the last Digest or Updates of a launch
// with Data steps (a page that could not be read), or nil. Digest then
// returns the zero digest and Updates stops early; Measure and Walk return
// the error directly.
func (l *Launch) Err() error {
	if e := l.lastErr.Load(); e != nil {
		return *e
	}
	return nil
}

func (l *Launch) setErr(err error) {
	if err == nil {
		l.lastErr.Store(nil)
		return
	}
	l.lastErr.Store(&err)
}

func (l *Launch) updatesLazy() iter.Seq2[Update, Digest] {
	return func(yield func(Update, Digest) bool) {
		stopped := errors.New("stopped")
		err := l.Walk(context.Background(), func(u Update, d Digest) error {
			if !yield(u, d) {
				return stopped
			}
			return nil
		})
		if err == stopped {
			l.setErr(nil)
		}
	}
}
