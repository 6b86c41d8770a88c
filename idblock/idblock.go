package idblock

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
)

// Sizes of the structures, in bytes.
const (
	// BlockSize is the size of the ID block.
	BlockSize = 96
	// AuthSize is the size of the ID authentication information structure.
	AuthSize = 4096
	// PublicKeySize is the size of an AMD public key structure.
	PublicKeySize = 1028
	// SignatureSize is the size of an AMD signature structure.
	SignatureSize = 512
	// MeasurementSize is the size of the launch digest in the ID block.
	MeasurementSize = 48
	// IDSize is the size of FAMILY_ID and of IMAGE_ID.
	IDSize = 16
	// DigestSize is the size of a key digest (SHA-384).
	DigestSize = sha512.Size384
	// ComponentSize is the size of one little-endian coordinate or signature
	// component field (R, S, QX, QY).
	ComponentSize = 72
)

// Offsets of the ID block fields.
const (
	OffBlockMeasurement = 0x00
	OffBlockFamilyID    = 0x30
	OffBlockImageID     = 0x40
	OffBlockVersion     = 0x50
	OffBlockGuestSVN    = 0x54
	OffBlockPolicy      = 0x58
)

// Offsets of the ID authentication information fields.
const (
	OffAuthIDKeyAlgo      = 0x000
	OffAuthAuthorKeyAlgo  = 0x004
	OffAuthBlockSignature = 0x040
	OffAuthIDKey          = 0x240
	OffAuthIDKeySignature = 0x680
	OffAuthAuthorKey      = 0x880
)

// Offsets inside a public key and a signature structure.
const (
	OffKeyCurve = 0x000
	OffKeyQX    = 0x004
	OffKeyQY    = OffKeyQX + ComponentSize
	OffSigR     = 0x000
	OffSigS     = OffSigR + ComponentSize
)

// Algorithm and curve numbers of the SNP ABI.
const (
	// AlgoECDSAP384SHA384 is ID_KEY_ALGO / AUTH_KEY_ALGO for ECDSA P-384 with SHA-384.
	AlgoECDSAP384SHA384 = 1
	// AlgoNone is AUTH_KEY_ALGO when the ID auth structure has no author key.
	AlgoNone = 0
	// CurveP384 is the CURVE field of a P-384 public key.
	CurveP384 = 2
)

// Defaults of snp-create-id-block.
const (
	DefaultPolicy  = 0x30000
	DefaultVersion = 1
)

// p384Len is the size of a P-384 field element or scalar.
const p384Len = 48

// ErrSignature is wrapped by the errors of signatures that do not verify.
var ErrSignature = errors.New("signature does not verify")

// FormatError is a malformed structure: Offset is the byte offset at fault
// within the structure named by Struct.
type FormatError struct {
	Struct string
	Offset int
	Msg    string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%s offset %#x: %s", e.Struct, e.Offset, e.Msg)
}

func formatErr(st string, off int, format string, args ...any) error {
	return &FormatError{Struct: st, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// Block is the ID block.
type Block struct {
	Measurement [MeasurementSize]byte
	FamilyID    [IDSize]byte
	ImageID     [IDSize]byte
	Version     uint32
	GuestSVN    uint32
	Policy      uint64
}

// NewBlock returns the ID block snp-create-id-block makes for a measurement:
// version 1, guest SVN 0, zero family and image IDs, policy 0x30000.
func NewBlock(measurement [MeasurementSize]byte) *Block {
	return &Block{Measurement: measurement, Version: DefaultVersion, Policy: DefaultPolicy}
}

// Marshal returns the 96-byte ID block.
func (b *Block) Marshal() []byte {
	out := make([]byte, BlockSize)
	copy(out[OffBlockMeasurement:], b.Measurement[:])
	copy(out[OffBlockFamilyID:], b.FamilyID[:])
	copy(out[OffBlockImageID:], b.ImageID[:])
	binary.LittleEndian.PutUint32(out[OffBlockVersion:], b.Version)
	binary.LittleEndian.PutUint32(out[OffBlockGuestSVN:], b.GuestSVN)
	binary.LittleEndian.PutUint64(out[OffBlockPolicy:], b.Policy)
	return out
}

// ParseBlock parses a 96-byte ID block. Every byte pattern of the right size
// is a valid ID block.
func ParseBlock(data []byte) (*Block, error) {
	if len(data) != BlockSize {
		return nil, formatErr("ID block", 0, "%d bytes, want %d", len(data), BlockSize)
	}
	b := &Block{
		Version:  binary.LittleEndian.Uint32(data[OffBlockVersion:]),
		GuestSVN: binary.LittleEndian.Uint32(data[OffBlockGuestSVN:]),
		Policy:   binary.LittleEndian.Uint64(data[OffBlockPolicy:]),
	}
	copy(b.Measurement[:], data[OffBlockMeasurement:])
	copy(b.FamilyID[:], data[OffBlockFamilyID:])
	copy(b.ImageID[:], data[OffBlockImageID:])
	return b, nil
}

// Validate reports what SNP_LAUNCH_FINISH would refuse in the block: a
// VERSION other than 1, or a policy without its must-be-one bit 17.
func (b *Block) Validate() error {
	switch {
	case b.Version != DefaultVersion:
		return fmt.Errorf("ID block VERSION %d: the SEV-SNP ABI defines version %d only", b.Version, DefaultVersion)
	case b.Policy&(1<<17) == 0:
		return fmt.Errorf("ID block POLICY %#x: bit 17 is reserved and must be 1", b.Policy)
	}
	return nil
}

// putLE writes the big-endian p384Len-byte value be into a ComponentSize
// little-endian field.
func putLE(dst []byte, be []byte) {
	for i := range be {
		dst[i] = be[len(be)-1-i]
	}
}

// getLE returns the big-endian form of a ComponentSize little-endian field.
func getLE(src []byte) []byte {
	be := make([]byte, len(src))
	for i := range src {
		be[i] = src[len(src)-1-i]
	}
	return be
}

func checkP384(pub *ecdsa.PublicKey) error {
	if pub == nil || pub.Curve == nil {
		return errors.New("no public key")
	}
	if name := pub.Curve.Params().Name; name != "P-384" {
		return fmt.Errorf("key is on curve %s, want P-384", name)
	}
	return nil
}

// MarshalPublicKey returns the 1028-byte AMD public key structure of a P-384 key.
func MarshalPublicKey(pub *ecdsa.PublicKey) ([]byte, error) {
	if err := checkP384(pub); err != nil {
		return nil, err
	}
	ek, err := pub.ECDH()
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	pt := ek.Bytes() // 0x04 || X || Y
	out := make([]byte, PublicKeySize)
	binary.LittleEndian.PutUint32(out[OffKeyCurve:], CurveP384)
	putLE(out[OffKeyQX:], pt[1:1+p384Len])
	putLE(out[OffKeyQY:], pt[1+p384Len:])
	return out, nil
}

// ParsePublicKey parses a 1028-byte AMD public key structure. The curve must
// be P-384 and the point must lie on it; reserved bytes are not checked (they
// are covered by the key's digest).
func ParsePublicKey(data []byte) (*ecdsa.PublicKey, error) {
	const st = "public key"
	if len(data) != PublicKeySize {
		return nil, formatErr(st, 0, "%d bytes, want %d", len(data), PublicKeySize)
	}
	if c := binary.LittleEndian.Uint32(data[OffKeyCurve:]); c != CurveP384 {
		return nil, formatErr(st, OffKeyCurve, "curve %d, want %d (P-384)", c, CurveP384)
	}
	x := getLE(data[OffKeyQX : OffKeyQX+ComponentSize])
	y := getLE(data[OffKeyQY : OffKeyQY+ComponentSize])
	for i, c := range [][]byte{x, y} {
		for _, v := range c[:ComponentSize-p384Len] {
			if v != 0 {
				return nil, formatErr(st, OffKeyQX+i*ComponentSize, "coordinate does not fit in 384 bits")
			}
		}
	}
	pt := make([]byte, 0, 1+2*p384Len)
	pt = append(pt, 4)
	pt = append(pt, x[ComponentSize-p384Len:]...)
	pt = append(pt, y[ComponentSize-p384Len:]...)
	if _, err := ecdh.P384().NewPublicKey(pt); err != nil {
		return nil, formatErr(st, OffKeyQX, "not a point on P-384")
	}
	return &ecdsa.PublicKey{
		Curve: elliptic.P384(),
		X:     new(big.Int).SetBytes(pt[1 : 1+p384Len]),
		Y:     new(big.Int).SetBytes(pt[1+p384Len:]),
	}, nil
}

// KeyDigest returns the SHA-384 of a key's 1028-byte public key structure:
// the ID_KEY_DIGEST or AUTHOR_KEY_DIGEST of the attestation report.
func KeyDigest(pub *ecdsa.PublicKey) ([DigestSize]byte, error) {
	k, err := MarshalPublicKey(pub)
	if err != nil {
		return [DigestSize]byte{}, err
	}
	return sha512.Sum384(k), nil
}

// MarshalSignature returns the 512-byte AMD signature structure of (r, s).
func MarshalSignature(r, s *big.Int) ([]byte, error) {
	out := make([]byte, SignatureSize)
	for i, v := range []*big.Int{r, s} {
		if v == nil || v.Sign() < 0 || v.BitLen() > 8*p384Len {
			return nil, errors.New("signature component out of range")
		}
		be := make([]byte, p384Len)
		v.FillBytes(be)
		putLE(out[OffSigR+i*ComponentSize:], be)
	}
	return out, nil
}

// ParseSignature returns the R and S of a 512-byte AMD signature structure.
func ParseSignature(data []byte) (r, s *big.Int, err error) {
	if len(data) != SignatureSize {
		return nil, nil, formatErr("signature", 0, "%d bytes, want %d", len(data), SignatureSize)
	}
	r = new(big.Int).SetBytes(getLE(data[OffSigR : OffSigR+ComponentSize]))
	s = new(big.Int).SetBytes(getLE(data[OffSigS : OffSigS+ComponentSize]))
	return r, s, nil
}

// Sign signs msg with ECDSA P-384 and SHA-384 and returns the AMD signature structure.
func Sign(rand io.Reader, key *ecdsa.PrivateKey, msg []byte) ([]byte, error) {
	if key == nil {
		return nil, errors.New("no private key")
	}
	if err := checkP384(&key.PublicKey); err != nil {
		return nil, err
	}
	h := sha512.Sum384(msg)
	r, s, err := ecdsa.Sign(rand, key, h[:])
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return MarshalSignature(r, s)
}

// VerifySignature reports whether sig, an AMD signature structure, is a valid
// ECDSA P-384 SHA-384 signature of msg by pub.
func VerifySignature(pub *ecdsa.PublicKey, msg, sig []byte) bool {
	if checkP384(pub) != nil {
		return false
	}
	r, s, err := ParseSignature(sig)
	if err != nil {
		return false
	}
	h := sha512.Sum384(msg)
	return ecdsa.Verify(pub, h[:], r, s)
}
