package launchdigest

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"
)

// sizeName names a byte count for subtests: "64MiB", "1GiB", "12345B".
func sizeName(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dB", n)
}

// sparseFile creates a file of size zero bytes that takes no disk space and opens it.
func sparseFile(tb testing.TB, size int64) *os.File {
	tb.Helper()
	name := filepath.Join(tb.TempDir(), "sparse-"+sizeName(size))
	f, err := os.Create(name)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	if err := f.Truncate(size); err != nil {
		tb.Fatal(err)
	}
	return f
}

// heapUse is what measureHeap observed.
type heapUse struct {
	// allocated is the number of bytes allocated while fn ran (all
	// goroutines; TotalAlloc difference). It bounds the heap growth from
	// above and does not depend on when the garbage collector runs.
	allocated uint64
	// peakGrowth is the largest HeapAlloc seen while fn ran, sampled every
	// millisecond, minus HeapAlloc before.
	peakGrowth uint64
}

// measureHeap runs fn and reports its heap use.
func measureHeap(fn func()) heapUse {
	runtime.GC()
	var before, m runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	peak.Store(before.HeapAlloc)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		var s runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				runtime.ReadMemStats(&s)
				if s.HeapAlloc > peak.Load() {
					peak.Store(s.HeapAlloc)
				}
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	runtime.ReadMemStats(&m)
	if m.HeapAlloc > peak.Load() {
		peak.Store(m.HeapAlloc)
	}
	return heapUse{allocated: m.TotalAlloc - before.TotalAlloc, peakGrowth: peak.Load() - before.HeapAlloc}
}

// failAfter yields n bytes of data, then fails with err.
type failAfter struct {
	data []byte
	err  error
}

func (r *failAfter) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// streamSizes are lengths around the read block size.
var streamSizes = []int{0, 1, 4095, 4096, streamBufSize - 1, streamBufSize, streamBufSize + 1, 3*streamBufSize + 17}

func TestSHA256StreamMatchesSum256(t *testing.T) {
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"plain", func(r io.Reader) io.Reader { return r }},
		{"half", iotest.HalfReader},
		{"dataerr", iotest.DataErrReader},
		{"onebyte", iotest.OneByteReader},
	}
	for _, n := range streamSizes {
		data := benchData(n)
		want := sha256.Sum256(data)
		for _, rd := range readers {
			if rd.name == "onebyte" && n > streamBufSize {
				continue // one byte per Read: slow and adds nothing over the smaller sizes
			}
			t.Run(fmt.Sprintf("%s/%d", rd.name, n), func(t *testing.T) {
				var progressed int64
				got, err := SHA256Stream(rd.wrap(bytes.NewReader(data)), func(k int) {
					if k <= 0 {
						t.Errorf("progress(%d): want a positive block size", k)
					}
					progressed += int64(k)
				})
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("hash %x, want %x", got, want)
				}
				if progressed != int64(n) {
					t.Errorf("progress reported %d bytes, want %d", progressed, n)
				}
			})
		}
	}
}

func TestHashStreamOtherHash(t *testing.T) {
	data := benchData(2*streamBufSize + 5)
	h := sha512.New384()
	n, err := HashStream(h, bytes.NewReader(data), nil)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("HashStream = %d, %v; want %d, nil", n, err, len(data))
	}
	want := sha512.Sum384(data)
	if !bytes.Equal(h.Sum(nil), want[:]) {
		t.Error("SHA-384 through HashStream differs from sha512.Sum384")
	}
}

func TestHashStreamReadError(t *testing.T) {
	boom := errors.New("boom")
	for _, n := range []int{0, 10, streamBufSize, 5*streamBufSize + 3} {
		t.Run(sizeName(int64(n)), func(t *testing.T) {
			_, err := SHA256Stream(&failAfter{data: benchData(n), err: boom}, nil)
			if !errors.Is(err, boom) {
				t.Errorf("err %v, want %v", err, boom)
			}
		})
	}
}

// TestHashStreamReleasesReader checks that no goroutine keeps reading after
// HashStream returns, whatever way the stream ended.
func TestHashStreamReleasesReader(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 20 {
		SHA256Stream(&failAfter{data: benchData(3 * streamBufSize), err: io.ErrClosedPipe}, nil)
		SHA256Stream(bytes.NewReader(benchData(streamBufSize+1)), nil)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Errorf("%d goroutines left running, had %d", g, before)
	}
}

func TestHashPagesMatchesSum384(t *testing.T) {
	for _, pages := range []int{0, 1, pageChunk - 1, pageChunk, pageChunk + 1, 5*pageChunk + 3} {
		t.Run(fmt.Sprint(pages), func(t *testing.T) {
			data := benchData(pages * PageSize)
			var progressed atomic.Int64
			got, err := HashPages(bytes.NewReader(data), int64(len(data)), func(n int) { progressed.Add(int64(n)) })
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != pages {
				t.Fatalf("%d digests, want %d", len(got), pages)
			}
			for i := range got {
				if got[i] != Digest(sha512.Sum384(data[i*PageSize:(i+1)*PageSize])) {
					t.Fatalf("page %d: wrong digest", i)
				}
			}
			if progressed.Load() != int64(len(data)) {
				t.Errorf("progress reported %d bytes, want %d", progressed.Load(), len(data))
			}
		})
	}
}

// errAt fails reads that reach offset bad.
type errAt struct {
	r   io.ReaderAt
	bad int64
}

func (e errAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > e.bad {
		return 0, errors.New("I/O error")
	}
	return e.r.ReadAt(p, off)
}

func TestHashPagesErrors(t *testing.T) {
	data := benchData(10 * pageChunk * PageSize)
	if _, err := HashPages(bytes.NewReader(data), PageSize+1, nil); err == nil {
		t.Error("size not a multiple of the page: no error")
	}
	// The file is shorter than the size given (truncated while open).
	if _, err := HashPages(bytes.NewReader(data[:3*PageSize]), 4*PageSize, nil); err == nil {
		t.Error("short file: no error")
	}
	bad := int64(7*pageChunk*PageSize + 5)
	_, err := HashPages(errAt{bytes.NewReader(data), bad}, int64(len(data)), nil)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("I/O error")) ||
		!bytes.Contains([]byte(err.Error()), []byte("offset 0x")) {
		t.Errorf("err %v: want the I/O error with its offset", err)
	}
}

// TestSHA256StreamMemoryFlat hashes sparse files of 64 MiB and 1 GiB: the
// bytes allocated (an upper bound of the heap growth) stay below the two
// read buffers whatever the size. 1 GiB is skipped with -short.
func TestSHA256StreamMemoryFlat(t *testing.T) {
	limit := uint64(2*streamBufSize + 256<<10)
	var allocs []uint64
	for _, size := range []int64{64 << 20, 1 << 30} {
		if testing.Short() && size > 64<<20 {
			t.Logf("%s skipped with -short", sizeName(size))
			continue
		}
		f := sparseFile(t, size)
		var sum [sha256.Size]byte
		var err error
		m := measureHeap(func() { sum, err = SHA256Stream(f, nil) })
		if err != nil {
			t.Fatal(err)
		}
		zero := sha256.New()
		if _, err := io.CopyN(zero, zeroReader{}, size); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(sum[:], zero.Sum(nil)) {
			t.Fatalf("%s: wrong hash", sizeName(size))
		}
		t.Logf("%s: allocated %d bytes, peak heap growth %d bytes", sizeName(size), m.allocated, m.peakGrowth)
		if m.allocated > limit {
			t.Errorf("%s: allocated %d bytes while hashing, want at most %d", sizeName(size), m.allocated, limit)
		}
		allocs = append(allocs, m.allocated)
	}
	if len(allocs) == 2 && allocs[1] > allocs[0]+64<<10 {
		t.Errorf("allocation grows with the file: %d bytes for 64 MiB, %d for 1 GiB", allocs[0], allocs[1])
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestHashPagesMemory checks that hashing a firmware's pages allocates the
// digests and the workers' buffers, nothing that grows with more.
func TestHashPagesMemory(t *testing.T) {
	const size = 64 << 20
	f := sparseFile(t, size)
	m := measureHeap(func() {
		if _, err := HashPages(f, size, nil); err != nil {
			t.Fatal(err)
		}
	})
	limit := uint64(size/PageSize*DigestSize + runtime.GOMAXPROCS(0)*pageChunk*PageSize + 256<<10)
	t.Logf("allocated %d bytes, peak heap growth %d bytes", m.allocated, m.peakGrowth)
	if m.allocated > limit {
		t.Errorf("allocated %d bytes, want at most %d", m.allocated, limit)
	}
}
