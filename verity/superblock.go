package verity

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Sizes and limits of the veritysetup on-disk format.
const (
	// SuperblockSize is the size of the veritysetup superblock at the start
	// of a hash file.
	SuperblockSize = 512
	// Signature is the superblock's magic value.
	Signature = "verity\x00\x00"
	// SuperblockVersion is the only superblock version veritysetup writes.
	SuperblockVersion = 1

	// DefaultBlockSize is veritysetup's default data and hash block size.
	DefaultBlockSize = 4096
	// MinBlockSize and MaxBlockSize bound the block sizes veritysetup
	// accepts; the kernel further requires them not to exceed the page size.
	MinBlockSize = 512
	MaxBlockSize = 512 * 1024

	// MaxSaltSize is the room for the salt in the superblock.
	MaxSaltSize = 256
	// DefaultSaltSize is the size of the random salt veritysetup generates.
	DefaultSaltSize = 32

	// MaxLevels is the deepest tree the kernel and veritysetup accept.
	MaxLevels = 63

	// UUIDSize is the size of the binary UUID in the superblock.
	UUIDSize = 16
)

// Hash types (the "format" of veritysetup and the kernel table).
const (
	// HashTypeChromeOS is the original Chrome OS format: packed digests,
	// block digest H(block || salt).
	HashTypeChromeOS = 0
	// HashTypeNormal is the current format: digests padded to a power of
	// two, block digest H(salt || block). veritysetup's default.
	HashTypeNormal = 1
)

// Byte offsets of the superblock fields (all integers little-endian).
const (
	sbOffSignature     = 0   // [8]byte
	sbOffVersion       = 8   // uint32
	sbOffHashType      = 12  // uint32
	sbOffUUID          = 16  // [16]byte
	sbOffAlgorithm     = 32  // [32]byte, NUL padded
	sbOffDataBlockSize = 64  // uint32
	sbOffHashBlockSize = 68  // uint32
	sbOffDataBlocks    = 72  // uint64
	sbOffSaltSize      = 80  // uint16, then 6 bytes padding
	sbOffSalt          = 88  // [256]byte
	sbOffPad2          = 344 // 168 bytes padding up to 512
	sbAlgorithmSize    = 32
)

// ErrNoSuperblock reports a hash file that does not start with a veritysetup
// superblock.
var ErrNoSuperblock = errors.New("no verity superblock (signature \"verity\\0\\0\" missing)")

// UUID is the binary form of a superblock UUID.
type UUID [UUIDSize]byte

// String formats u as 8-4-4-4-12 lower-case hex digits, as veritysetup prints it.
func (u UUID) String() string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// IsZero reports whether u is all zero (no UUID).
func (u UUID) IsZero() bool { return u == UUID{} }

// ParseUUID parses a UUID in 8-4-4-4-12 form or as 32 hex digits.
func ParseUUID(s string) (UUID, error) {
	var u UUID
	t := s
	if len(t) == 36 {
		if t[8] != '-' || t[13] != '-' || t[18] != '-' || t[23] != '-' {
			return u, fmt.Errorf("UUID %q: want the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", s)
		}
		t = strings.ReplaceAll(t, "-", "")
	}
	if len(t) != 2*UUIDSize {
		return u, fmt.Errorf("UUID %q: want 32 hex digits", s)
	}
	if _, err := hex.Decode(u[:], []byte(t)); err != nil {
		return u, fmt.Errorf("UUID %q: not hex", s)
	}
	return u, nil
}

// NewUUID returns a random (version 4) UUID, as veritysetup generates.
func NewUUID() (UUID, error) {
	var u UUID
	if _, err := io.ReadFull(rand.Reader, u[:]); err != nil {
		return u, fmt.Errorf("random UUID: %w", err)
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u, nil
}

// NewSalt returns n random bytes from crypto/rand.
func NewSalt(n int) ([]byte, error) {
	s := make([]byte, n)
	if _, err := io.ReadFull(rand.Reader, s); err != nil {
		return nil, fmt.Errorf("random salt: %w", err)
	}
	return s, nil
}

// Superblock is the veritysetup superblock (struct verity_sb).
type Superblock struct {
	Version       uint32
	HashType      uint32
	UUID          UUID
	Algorithm     string
	DataBlockSize uint32
	HashBlockSize uint32
	DataBlocks    uint64
	Salt          []byte
}

// MarshalBinary encodes s into its SuperblockSize bytes.
func (s *Superblock) MarshalBinary() ([]byte, error) {
	if len(s.Salt) > MaxSaltSize {
		return nil, fmt.Errorf("salt of %d bytes exceeds the superblock's %d", len(s.Salt), MaxSaltSize)
	}
	if len(s.Algorithm) >= sbAlgorithmSize {
		return nil, fmt.Errorf("hash algorithm name %q is too long", s.Algorithm)
	}
	b := make([]byte, SuperblockSize)
	copy(b[sbOffSignature:], Signature)
	binary.LittleEndian.PutUint32(b[sbOffVersion:], s.Version)
	binary.LittleEndian.PutUint32(b[sbOffHashType:], s.HashType)
	copy(b[sbOffUUID:], s.UUID[:])
	copy(b[sbOffAlgorithm:sbOffAlgorithm+sbAlgorithmSize], s.Algorithm)
	binary.LittleEndian.PutUint32(b[sbOffDataBlockSize:], s.DataBlockSize)
	binary.LittleEndian.PutUint32(b[sbOffHashBlockSize:], s.HashBlockSize)
	binary.LittleEndian.PutUint64(b[sbOffDataBlocks:], s.DataBlocks)
	binary.LittleEndian.PutUint16(b[sbOffSaltSize:], uint16(len(s.Salt)))
	copy(b[sbOffSalt:], s.Salt)
	return b, nil
}

// UnmarshalBinary decodes a superblock from the first SuperblockSize bytes of
// b. It checks the signature, the version and the salt size; Params checks
// the rest.
func (s *Superblock) UnmarshalBinary(b []byte) error {
	if len(b) < SuperblockSize {
		return fmt.Errorf("superblock: %d bytes, want %d", len(b), SuperblockSize)
	}
	if string(b[sbOffSignature:sbOffSignature+len(Signature)]) != Signature {
		return ErrNoSuperblock
	}
	s.Version = binary.LittleEndian.Uint32(b[sbOffVersion:])
	if s.Version != SuperblockVersion {
		return fmt.Errorf("offset %#x: unsupported superblock version %d", sbOffVersion, s.Version)
	}
	s.HashType = binary.LittleEndian.Uint32(b[sbOffHashType:])
	copy(s.UUID[:], b[sbOffUUID:])
	alg := b[sbOffAlgorithm : sbOffAlgorithm+sbAlgorithmSize]
	if i := bytes.IndexByte(alg, 0); i >= 0 {
		alg = alg[:i]
	}
	s.Algorithm = string(alg)
	s.DataBlockSize = binary.LittleEndian.Uint32(b[sbOffDataBlockSize:])
	s.HashBlockSize = binary.LittleEndian.Uint32(b[sbOffHashBlockSize:])
	s.DataBlocks = binary.LittleEndian.Uint64(b[sbOffDataBlocks:])
	n := int(binary.LittleEndian.Uint16(b[sbOffSaltSize:]))
	if n > MaxSaltSize {
		return fmt.Errorf("offset %#x: salt size %d exceeds %d", sbOffSaltSize, n, MaxSaltSize)
	}
	s.Salt = append([]byte(nil), b[sbOffSalt:sbOffSalt+n]...)
	return nil
}

// ReadSuperblock reads and decodes the superblock at the start of r.
func ReadSuperblock(r io.ReaderAt) (*Superblock, error) {
	b := make([]byte, SuperblockSize)
	if n, err := r.ReadAt(b, 0); n < SuperblockSize {
		if err == nil || err == io.EOF {
			return nil, fmt.Errorf("%w: only %d bytes", ErrNoSuperblock, n)
		}
		return nil, err
	}
	s := new(Superblock)
	if err := s.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return s, nil
}

// Params returns the hash tree parameters the superblock describes.
func (s *Superblock) Params() Params {
	return Params{
		HashType:      s.HashType,
		Algorithm:     s.Algorithm,
		DataBlockSize: s.DataBlockSize,
		HashBlockSize: s.HashBlockSize,
		DataBlocks:    s.DataBlocks,
		Salt:          append([]byte(nil), s.Salt...),
		UUID:          s.UUID,
	}
}
