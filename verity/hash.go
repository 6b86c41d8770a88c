package verity

import (
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime"
)

// chunkBytes is roughly how much data one hashing job covers.
const chunkBytes = 1 << 20

// blockHasher computes block digests with the salt placement of a hash type.
type blockHasher struct {
	newHash  func() hash.Hash
	salt     []byte
	hashType uint32
	ds       int
}

func newBlockHasher(p *Params) *blockHasher {
	nh, ds, _ := newHash(p.Algorithm)
	return &blockHasher{newHash: nh, salt: p.Salt, hashType: p.HashType, ds: ds}
}

// sum appends the digest of one block to dst using h.
func (b *blockHasher) sum(h hash.Hash, dst, block []byte) []byte {
	h.Reset()
	if b.hashType == HashTypeNormal {
		h.Write(b.salt)
		h.Write(block)
	} else {
		h.Write(block)
		h.Write(b.salt)
	}
	return h.Sum(dst)
}

// digest returns the digest of one block.
func (b *blockHasher) digest(block []byte) []byte {
	return b.sum(b.newHash(), make([]byte, 0, b.ds), block)
}

// ReadError reports a failure to read the input of a tree level.
type ReadError struct {
	// Source is SourceData or SourceHash.
	Source string
	// Offset is the byte offset in the source of the block that could not
	// be read.
	Offset int64
	Err    error
}

// Sources of a ReadError.
const (
	SourceData = "data"
	SourceHash = "hash file"
)

func (e *ReadError) Error() string {
	return fmt.Sprintf("%s: offset %#x: %v", e.Source, e.Offset, e.Err)
}

func (e *ReadError) Unwrap() error { return e.Err }

type hashJob struct {
	buf     []byte
	n       int // blocks in buf
	digests []byte
	done    chan struct{}
}

// hashLevel reads nblocks blocks of blockSize bytes from r and writes the
// hash blocks of the next level (digests laid out per l, each hash block
// zero padded) to w. source and base (the offset of r's first byte in it)
// locate read errors. Reading and hashing run concurrently on all CPUs.
func (b *blockHasher) hashLevel(r io.Reader, source string, base int64, blockSize int, nblocks uint64, l *Layout, hbs int, w io.Writer) error {
	perChunk := chunkBytes / blockSize
	if perChunk < 1 {
		perChunk = 1
	}
	if uint64(perChunk) > nblocks {
		perChunk = int(nblocks)
	}
	workers := runtime.GOMAXPROCS(0)
	if workers > 16 {
		workers = 16
	}
	nbuf := 2*workers + 1

	free := make(chan *hashJob, nbuf)
	for i := 0; i < nbuf; i++ {
		free <- &hashJob{
			buf:     make([]byte, perChunk*blockSize),
			digests: make([]byte, 0, perChunk*b.ds),
		}
	}
	jobs := make(chan *hashJob, nbuf)
	order := make(chan *hashJob, nbuf)
	quit := make(chan struct{})
	var readErr error

	// Reader: fills buffers in order.
	go func() {
		defer close(order)
		defer close(jobs)
		off := base
		for left := nblocks; left > 0; {
			var j *hashJob
			select {
			case j = <-free:
			case <-quit:
				return
			}
			n := perChunk
			if uint64(n) > left {
				n = int(left)
			}
			got, err := io.ReadFull(r, j.buf[:n*blockSize])
			if err != nil {
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					idx := uint64(off-base)/uint64(blockSize) + uint64(got/blockSize)
					err = fmt.Errorf("input ends inside block %d of %d (%d of its %d bytes present)", idx, nblocks, got%blockSize, blockSize)
				}
				readErr = &ReadError{Source: source, Offset: off + int64(got/blockSize*blockSize), Err: err}
				return
			}
			off += int64(n * blockSize)
			left -= uint64(n)
			j.n = n
			j.done = make(chan struct{})
			jobs <- j
			order <- j
		}
	}()
	// Hashers.
	for i := 0; i < workers; i++ {
		go func() {
			h := b.newHash()
			for j := range jobs {
				d := j.digests[:0]
				for k := 0; k < j.n; k++ {
					d = b.sum(h, d, j.buf[k*blockSize:(k+1)*blockSize])
				}
				j.digests = d
				close(j.done)
			}
		}()
	}

	// Writer: assembles hash blocks in order.
	out := make([]byte, hbs)
	inBlock := 0
	var werr error
	for j := range order {
		<-j.done
		if werr == nil {
			for k := 0; k < j.n; k++ {
				copy(out[inBlock*l.entrySize:], j.digests[k*b.ds:(k+1)*b.ds])
				inBlock++
				if inBlock == l.perBlock {
					if _, err := w.Write(out); err != nil {
						werr = err
						close(quit)
						break
					}
					clear(out)
					inBlock = 0
				}
			}
		}
		free <- j
	}
	if werr != nil {
		return werr
	}
	if readErr != nil {
		return readErr
	}
	if inBlock > 0 {
		if _, err := w.Write(out); err != nil {
			return err
		}
	}
	return nil
}
