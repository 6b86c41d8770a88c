package launchdigest

import (
	"fmt"
	"io"
	"runtime"
	"sync"
)

// pageChunk is the number of pages a worker reads and hashes at a time.
const pageChunk = 64

// HashPages returns the SHA-384 of every 4 KiB page of the size bytes of r,
// computed across all CPUs. size must be a multiple of PageSize.
// Memory use is one 256 KiB buffer per worker plus the result.
func HashPages(r io.ReaderAt, size int64, progress func(int)) ([]Digest, error) {
	if size%PageSize != 0 {
		return nil, fmt.Errorf("size %d is not a multiple of the %d-byte page", size, PageSize)
	}
	n := size / PageSize
	out := make([]Digest, n)
	chunks := (n + pageChunk - 1) / pageChunk
	workers := min(int64(runtime.GOMAXPROCS(0)), chunks)
	var (
		uniform uniformPages
		wg      sync.WaitGroup
		mu      sync.Mutex
		firstEr error
		next    = make(chan int64, chunks)
	)
	for c := range chunks {
		next <- c
	}
	close(next)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, pageChunk*PageSize)
			for c := range next {
				first := c * pageChunk
				cnt := min(pageChunk, n-first)
				b := buf[:cnt*PageSize]
				if _, err := r.ReadAt(b, first*PageSize); err != nil {
					mu.Lock()
					if firstEr == nil {
						firstEr = fmt.Errorf("reading offset %#x: %w", first*PageSize, err)
					}
					mu.Unlock()
					return
				}
				for i := range cnt {
					out[first+i] = uniform.digest(b[i*PageSize : (i+1)*PageSize])
				}
				if progress != nil {
					progress(len(b))
				}
			}
		}()
	}
	wg.Wait()
	if firstEr != nil {
		return nil, firstEr
	}
	return out, nil
}
