package verity

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// HashStore is the hash file a tree is written to and read back from while
// the upper levels are computed (an *os.File).
type HashStore interface {
	io.ReaderAt
	io.WriterAt
}

// Result describes a formatted or verified hash tree.
type Result struct {
	// Params are the parameters used, DataBlocks filled in.
	Params Params
	// Layout is where the tree is in the hash file.
	Layout *Layout
	// RootHash is the digest of the top hash block (of the single data
	// block when there is no tree).
	RootHash []byte
}

// RootHashHex returns the root hash as lower-case hex, as veritysetup prints it.
func (r *Result) RootHashHex() string { return hex.EncodeToString(r.RootHash) }

// SaltHex returns the salt as hex, or "-" for no salt (the kernel table form).
func (r *Result) SaltHex() string {
	if len(r.Params.Salt) == 0 {
		return "-"
	}
	return hex.EncodeToString(r.Params.Salt)
}

// HashOffset is the byte offset of the tree in the hash file.
func (r *Result) HashOffset() int64 { return r.Layout.HashOffset(&r.Params) }

// dataBlocks resolves p.DataBlocks against the data size.
func dataBlocks(p *Params, dataSize int64) (uint64, error) {
	if err := p.Validate(); err != nil {
		return 0, err
	}
	if dataSize < 0 {
		return 0, &ParamError{"data size", fmt.Sprintf("%d is negative", dataSize)}
	}
	have := uint64(dataSize) / uint64(p.DataBlockSize)
	if p.DataBlocks == 0 {
		if have == 0 {
			return 0, &ParamError{"data", fmt.Sprintf("%d bytes is smaller than one %d-byte data block", dataSize, p.DataBlockSize)}
		}
		return have, nil
	}
	if p.DataBlocks > have {
		return 0, &ParamError{"data blocks", fmt.Sprintf("%d blocks requested but the data holds only %d whole %d-byte blocks", p.DataBlocks, have, p.DataBlockSize)}
	}
	return p.DataBlocks, nil
}

// Superblock returns the superblock for p.
func (p *Params) Superblock() *Superblock {
	return &Superblock{
		Version:       SuperblockVersion,
		HashType:      p.HashType,
		UUID:          p.UUID,
		Algorithm:     p.Algorithm,
		DataBlockSize: p.DataBlockSize,
		HashBlockSize: p.HashBlockSize,
		DataBlocks:    p.DataBlocks,
		Salt:          p.Salt,
	}
}

// Format reads the data (dataSize bytes are available from data; only whole
// data blocks count) and writes the superblock and hash tree to store from
// offset 0, exactly as `veritysetup format` does. Exactly
// Result.Layout.HashFileSize bytes are written.
func Format(data io.Reader, dataSize int64, store HashStore, p Params) (*Result, error) {
	res, err := plan(p, dataSize)
	if err != nil {
		return nil, err
	}
	p, l := res.Params, res.Layout
	if err := checkRoom(store, l.HashFileSize); err != nil {
		return nil, err
	}
	hbs := int64(p.HashBlockSize)
	if !p.NoSuperblock {
		sb, err := p.Superblock().MarshalBinary()
		if err != nil {
			return nil, err
		}
		head := make([]byte, int64(l.HashStartBlock)*hbs)
		copy(head, sb)
		if _, err := store.WriteAt(head, 0); err != nil {
			return nil, fmt.Errorf("writing the superblock: %w", err)
		}
	}
	bh := newBlockHasher(&p)
	if l.Levels == 0 {
		block := make([]byte, p.DataBlockSize)
		if _, err := io.ReadFull(data, block); err != nil {
			return nil, &ReadError{Source: SourceData, Offset: 0, Err: err}
		}
		res.RootHash = bh.digest(block)
		return res, nil
	}
	for i := 0; i < l.Levels; i++ {
		bw := bufio.NewWriterSize(io.NewOffsetWriter(store, int64(l.LevelBlock[i])*hbs), 1<<20)
		if err := hashLevelFrom(bh, data, store, &p, l, i, bw); err != nil {
			return nil, err
		}
		if err := bw.Flush(); err != nil {
			return nil, fmt.Errorf("writing tree level %d: %w", i, err)
		}
	}
	root, err := topDigest(bh, store, &p, l)
	if err != nil {
		return nil, err
	}
	res.RootHash = root
	return res, nil
}

// ErrNoRoom is returned by Format when a block device cannot hold the tree.
var ErrNoRoom = errors.New("no room for the hash tree")

// checkRoom refuses a block device too small for the tree before anything
// is written to it (a file grows; a device would be left half-written).
func checkRoom(store HashStore, need int64) error {
	f, ok := store.(*os.File)
	if !ok {
		return nil
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeDevice == 0 || st.Mode()&os.ModeCharDevice != 0 {
		return nil
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if size < need {
		return fmt.Errorf("the device has %d bytes, the hash tree needs %d: %w", size, need, ErrNoRoom)
	}
	return nil
}

// hashLevelFrom computes level i (from the data for level 0, else from level
// i-1 in store) into w.
func hashLevelFrom(bh *blockHasher, data io.Reader, store io.ReaderAt, p *Params, l *Layout, i int, w io.Writer) error {
	hbs := int(p.HashBlockSize)
	if i == 0 {
		return bh.hashLevel(data, SourceData, 0, int(p.DataBlockSize), l.DataBlocks, l, hbs, w)
	}
	off := int64(l.LevelBlock[i-1]) * int64(hbs)
	src := io.NewSectionReader(store, off, int64(l.LevelBlocks[i-1])*int64(hbs))
	return bh.hashLevel(src, SourceHash, off, hbs, l.LevelBlocks[i-1], l, hbs, w)
}

// topDigest hashes the single top hash block.
func topDigest(bh *blockHasher, store io.ReaderAt, p *Params, l *Layout) ([]byte, error) {
	top := make([]byte, p.HashBlockSize)
	off := int64(l.LevelBlock[l.Levels-1]) * int64(p.HashBlockSize)
	if _, err := store.ReadAt(top, off); err != nil {
		return nil, hashReadError(off, l, err)
	}
	return bh.digest(top), nil
}

// hashReadError describes a failed read of the stored tree.
func hashReadError(off int64, l *Layout, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("the hash file ends before the tree does (it needs %d bytes)", l.HashFileSize)
	}
	return &ReadError{Source: SourceHash, Offset: off, Err: err}
}

// MismatchError reports a hash tree that does not match its data or root hash.
type MismatchError struct {
	// Root is true when the tree is consistent but its root hash differs
	// from the expected one.
	Root bool
	// Level is the tree level whose stored hash block differs from the
	// recomputed one; HashOffset is that block's offset in the hash file.
	Level      int
	HashOffset int64
	// Block is the index of the first block (a data block for level 0, a
	// hash block of level Level-1 otherwise) whose digest differs.
	Block uint64
	// Want is the expected root hash, Got the computed one (Root only).
	Want, Got []byte
}

func (e *MismatchError) Error() string {
	if e.Root {
		return fmt.Sprintf("root hash mismatch: computed %x, expected %x", e.Got, e.Want)
	}
	if e.Level == 0 {
		return fmt.Sprintf("hash file offset %#x: tree level 0 does not match data block %d", e.HashOffset, e.Block)
	}
	return fmt.Sprintf("hash file offset %#x: tree level %d does not match hash block %d of level %d", e.HashOffset, e.Level, e.Block, e.Level-1)
}

// compareWriter compares what is written with the bytes already in a file.
type compareWriter struct {
	store io.ReaderAt
	off   int64 // file offset of the next write
	level int
	l     *Layout
	start int64 // offset of the level
	hbs   int
	buf   []byte
}

func (c *compareWriter) Write(p []byte) (int, error) {
	if cap(c.buf) < len(p) {
		c.buf = make([]byte, len(p))
	}
	have := c.buf[:len(p)]
	if _, err := c.store.ReadAt(have, c.off); err != nil {
		return 0, hashReadError(c.off, c.l, err)
	}
	if !bytes.Equal(have, p) {
		i := 0
		for have[i] == p[i] {
			i++
		}
		pos := c.off + int64(i) - c.start
		hashBlock := uint64(pos) / uint64(c.hbs)
		entry := uint64(pos%int64(c.hbs)) / uint64(c.l.entrySize)
		if entry >= uint64(c.l.perBlock) {
			entry = uint64(c.l.perBlock) - 1 // the zero padding differs
		}
		return 0, &MismatchError{
			Level:      c.level,
			HashOffset: c.off + int64(i) - int64(i)%int64(c.hbs),
			Block:      hashBlock*uint64(c.l.perBlock) + entry,
		}
	}
	c.off += int64(len(p))
	return len(p), nil
}

// plan fixes the number of data blocks covered and the tree layout.
func plan(p Params, dataSize int64) (*Result, error) {
	n, err := dataBlocks(&p, dataSize)
	if err != nil {
		return nil, err
	}
	p.DataBlocks = n
	l, err := ComputeLayout(&p, n)
	if err != nil {
		return nil, err
	}
	return &Result{Params: p, Layout: l}, nil
}

// Verify recomputes the tree of data (dataSize bytes, whole blocks only) with
// parameters p and checks it against the tree stored in store and against
// rootHash. A difference is reported as a *MismatchError, returned with the
// Result (its RootHash set only when the tree itself matches); anything else
// (unreadable or short input) as another error, with a nil Result.
func Verify(data io.Reader, dataSize int64, store io.ReaderAt, p Params, rootHash []byte) (*Result, error) {
	res, err := plan(p, dataSize)
	if err != nil {
		return nil, err
	}
	p, l := res.Params, res.Layout
	bh := newBlockHasher(&p)
	hbs := int64(p.HashBlockSize)
	if l.Levels == 0 {
		block := make([]byte, p.DataBlockSize)
		if _, err := io.ReadFull(data, block); err != nil {
			return nil, &ReadError{Source: SourceData, Offset: 0, Err: err}
		}
		res.RootHash = bh.digest(block)
	} else {
		for i := 0; i < l.Levels; i++ {
			start := int64(l.LevelBlock[i]) * hbs
			cw := &compareWriter{store: store, off: start, start: start, level: i, l: l, hbs: int(hbs)}
			if err := hashLevelFrom(bh, data, store, &p, l, i, cw); err != nil {
				var me *MismatchError
				if errors.As(err, &me) {
					return res, err
				}
				return nil, err
			}
		}
		root, err := topDigest(bh, store, &p, l)
		if err != nil {
			return nil, err
		}
		res.RootHash = root
	}
	if !bytes.Equal(res.RootHash, rootHash) {
		return res, &MismatchError{Root: true, Want: append([]byte(nil), rootHash...), Got: res.RootHash}
	}
	return res, nil
}
