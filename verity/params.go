package verity

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"math/bits"
	"strings"
)

// Params are the dm-verity parameters of one hash tree.
type Params struct {
	// HashType is HashTypeNormal (1, veritysetup's default) or
	// HashTypeChromeOS (0).
	HashType uint32
	// Algorithm is the digest: "sha256", "sha1" or "sha512".
	Algorithm string
	// DataBlockSize and HashBlockSize are powers of two from MinBlockSize
	// to MaxBlockSize.
	DataBlockSize uint32
	HashBlockSize uint32
	// DataBlocks is the number of data blocks covered; 0 means every whole
	// block of the data.
	DataBlocks uint64
	// Salt is hashed with every block; at most MaxSaltSize bytes, may be empty.
	Salt []byte
	// UUID is stored in the superblock.
	UUID UUID
	// NoSuperblock leaves the superblock out: the tree starts at offset 0
	// of the hash file and the parameters must be given at activation.
	NoSuperblock bool
}

// DefaultParams returns veritysetup's defaults: format 1, sha256, 4096-byte
// blocks, a random 32-byte salt and a random UUID.
func DefaultParams() (Params, error) {
	salt, err := NewSalt(DefaultSaltSize)
	if err != nil {
		return Params{}, err
	}
	uuid, err := NewUUID()
	if err != nil {
		return Params{}, err
	}
	return Params{
		HashType:      HashTypeNormal,
		Algorithm:     "sha256",
		DataBlockSize: DefaultBlockSize,
		HashBlockSize: DefaultBlockSize,
		Salt:          salt,
		UUID:          uuid,
	}, nil
}

// ParamError reports invalid Params.
type ParamError struct {
	Field string
	Msg   string
}

func (e *ParamError) Error() string { return e.Field + ": " + e.Msg }

// newHash returns the constructor and digest size of a supported algorithm.
func newHash(alg string) (func() hash.Hash, int, bool) {
	switch strings.ToLower(alg) {
	case "sha256":
		return sha256.New, sha256.Size, true
	case "sha1":
		return sha1.New, sha1.Size, true
	case "sha512":
		return sha512.New, sha512.Size, true
	}
	return nil, 0, false
}

// DigestSize returns the digest size of a supported algorithm.
func DigestSize(alg string) (int, bool) {
	_, n, ok := newHash(alg)
	return n, ok
}

// Algorithms lists the supported digest algorithms.
func Algorithms() []string { return []string{"sha256", "sha1", "sha512"} }

func validBlockSize(n uint32) bool {
	return n >= MinBlockSize && n <= MaxBlockSize && n&(n-1) == 0
}

// Validate checks p without looking at any data.
func (p *Params) Validate() error {
	if p.HashType != HashTypeNormal && p.HashType != HashTypeChromeOS {
		return &ParamError{"hash type", fmt.Sprintf("%d is not 0 or 1", p.HashType)}
	}
	if _, _, ok := newHash(p.Algorithm); !ok {
		return &ParamError{"hash algorithm", fmt.Sprintf("%q is not one of %s", p.Algorithm, strings.Join(Algorithms(), ", "))}
	}
	if !validBlockSize(p.DataBlockSize) {
		return &ParamError{"data block size", fmt.Sprintf("%d is not a power of two from %d to %d", p.DataBlockSize, MinBlockSize, MaxBlockSize)}
	}
	if !validBlockSize(p.HashBlockSize) {
		return &ParamError{"hash block size", fmt.Sprintf("%d is not a power of two from %d to %d", p.HashBlockSize, MinBlockSize, MaxBlockSize)}
	}
	if len(p.Salt) > MaxSaltSize {
		return &ParamError{"salt", fmt.Sprintf("%d bytes exceed the maximum of %d", len(p.Salt), MaxSaltSize)}
	}
	return nil
}

// Layout is where a hash tree lives in the hash file.
type Layout struct {
	// DataBlocks is the number of data blocks the tree covers.
	DataBlocks uint64
	// Levels is the number of tree levels; 0 when there is one data block.
	Levels int
	// HashStartBlock is the first block of the tree in hash blocks (1 with
	// a superblock and hash blocks of 512 bytes or more, else 0).
	HashStartBlock uint64
	// LevelBlock[i] is the position of level i (0 = the data block
	// digests) in hash blocks from the start of the hash file.
	LevelBlock []uint64
	// LevelBlocks[i] is the number of hash blocks of level i.
	LevelBlocks []uint64
	// HashBlocks is the number of hash blocks of the tree.
	HashBlocks uint64
	// HashFileSize is the size in bytes of the hash file Format writes.
	HashFileSize int64

	digestSize int // bytes of one digest
	entrySize  int // bytes one digest occupies in a hash block
	perBlock   int // digests per hash block
}

// HashOffset is the byte offset of the tree in the hash file.
func (l *Layout) HashOffset(p *Params) int64 { return int64(l.HashStartBlock) * int64(p.HashBlockSize) }

// ComputeLayout returns the tree layout for dataBlocks data blocks, with the
// level arithmetic of veritysetup (lib/verity/verity_hash.c).
func ComputeLayout(p *Params, dataBlocks uint64) (*Layout, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if dataBlocks == 0 {
		return nil, &ParamError{"data blocks", "data is smaller than one data block"}
	}
	_, ds, _ := newHash(p.Algorithm)
	hbs := uint64(p.HashBlockSize)
	l := &Layout{DataBlocks: dataBlocks, digestSize: ds}
	hashPerBlockBits := bits.Len64(hbs/uint64(ds)) - 1 // floor(log2)
	if hashPerBlockBits <= 0 {
		return nil, &ParamError{"hash block size", fmt.Sprintf("%d holds fewer than two %d-byte digests", hbs, ds)}
	}
	l.perBlock = 1 << hashPerBlockBits
	if p.HashType == HashTypeNormal {
		l.entrySize = 1 << bits.Len(uint(ds-1)) // next power of two
	} else {
		l.entrySize = ds
	}
	if !p.NoSuperblock {
		l.HashStartBlock = (SuperblockSize + hbs - 1) / hbs
	}
	for hashPerBlockBits*l.Levels < 64 && (dataBlocks-1)>>(hashPerBlockBits*l.Levels) != 0 {
		l.Levels++
	}
	if l.Levels > MaxLevels {
		return nil, &ParamError{"data blocks", fmt.Sprintf("%d blocks need %d tree levels, more than %d", dataBlocks, l.Levels, MaxLevels)}
	}
	l.LevelBlock = make([]uint64, l.Levels)
	l.LevelBlocks = make([]uint64, l.Levels)
	pos := l.HashStartBlock
	for i := l.Levels - 1; i >= 0; i-- {
		shift := (i + 1) * hashPerBlockBits
		var s uint64 = 1
		if shift < 64 {
			s = (dataBlocks-1)>>shift + 1
		}
		l.LevelBlock[i] = pos
		l.LevelBlocks[i] = s
		if pos+s < pos || pos+s > (1<<63-1)/hbs {
			return nil, &ParamError{"data blocks", "hash area overflow"}
		}
		pos += s
		l.HashBlocks += s
	}
	l.HashFileSize = int64(pos * hbs)
	return l, nil
}
