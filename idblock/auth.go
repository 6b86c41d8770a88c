package idblock

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
)

// Auth is the ID authentication information structure.
type Auth struct {
	IDKeyAlgo      uint32
	AuthorKeyAlgo  uint32
	BlockSignature [SignatureSize]byte
	IDKey          [PublicKeySize]byte
	IDKeySignature [SignatureSize]byte
	AuthorKey      [PublicKeySize]byte
}

// Marshal returns the 4096-byte ID auth structure; reserved bytes are zero.
func (a *Auth) Marshal() []byte {
	out := make([]byte, AuthSize)
	binary.LittleEndian.PutUint32(out[OffAuthIDKeyAlgo:], a.IDKeyAlgo)
	binary.LittleEndian.PutUint32(out[OffAuthAuthorKeyAlgo:], a.AuthorKeyAlgo)
	copy(out[OffAuthBlockSignature:], a.BlockSignature[:])
	copy(out[OffAuthIDKey:], a.IDKey[:])
	copy(out[OffAuthIDKeySignature:], a.IDKeySignature[:])
	copy(out[OffAuthAuthorKey:], a.AuthorKey[:])
	return out
}

// HasAuthorKey reports whether the structure carries an author key
// (AUTH_KEY_ALGO is not 0); QEMU then needs author-key-enabled=on.
func (a *Auth) HasAuthorKey() bool { return a.AuthorKeyAlgo != AlgoNone }

// ParseAuth parses a 4096-byte ID auth structure. It checks the algorithm
// fields and that the keys it holds are P-384 points; reserved bytes are
// ignored, as the firmware ignores them.
func ParseAuth(data []byte) (*Auth, error) {
	const st = "ID auth"
	if len(data) != AuthSize {
		return nil, formatErr(st, 0, "%d bytes, want %d", len(data), AuthSize)
	}
	a := &Auth{
		IDKeyAlgo:     binary.LittleEndian.Uint32(data[OffAuthIDKeyAlgo:]),
		AuthorKeyAlgo: binary.LittleEndian.Uint32(data[OffAuthAuthorKeyAlgo:]),
	}
	copy(a.BlockSignature[:], data[OffAuthBlockSignature:])
	copy(a.IDKey[:], data[OffAuthIDKey:])
	copy(a.IDKeySignature[:], data[OffAuthIDKeySignature:])
	copy(a.AuthorKey[:], data[OffAuthAuthorKey:])
	if a.IDKeyAlgo != AlgoECDSAP384SHA384 {
		return nil, formatErr(st, OffAuthIDKeyAlgo, "ID_KEY_ALGO %d, want %d (ECDSA P-384 with SHA-384)",
			a.IDKeyAlgo, AlgoECDSAP384SHA384)
	}
	if a.AuthorKeyAlgo != AlgoECDSAP384SHA384 && a.AuthorKeyAlgo != AlgoNone {
		return nil, formatErr(st, OffAuthAuthorKeyAlgo, "AUTH_KEY_ALGO %d, want %d (ECDSA P-384 with SHA-384) or 0 (no author key)",
			a.AuthorKeyAlgo, AlgoECDSAP384SHA384)
	}
	if _, err := ParsePublicKey(a.IDKey[:]); err != nil {
		return nil, fmt.Errorf("%s ID_KEY at offset %#x: %w", st, OffAuthIDKey, err)
	}
	if a.HasAuthorKey() {
		if _, err := ParsePublicKey(a.AuthorKey[:]); err != nil {
			return nil, fmt.Errorf("%s AUTHOR_KEY at offset %#x: %w", st, OffAuthAuthorKey, err)
		}
	}
	return a, nil
}

// NewAuth signs the ID block with idKey and, when authorKey is not nil, the ID
// public key with authorKey. Without an author key, AUTH_KEY_ALGO, ID_KEY_SIG
// and AUTHOR_KEY stay zero and the launch must not enable the author key.
func NewAuth(rand io.Reader, b *Block, idKey, authorKey *ecdsa.PrivateKey) (*Auth, error) {
	if idKey == nil {
		return nil, errors.New("no ID key")
	}
	a := &Auth{IDKeyAlgo: AlgoECDSAP384SHA384}
	sig, err := Sign(rand, idKey, b.Marshal())
	if err != nil {
		return nil, fmt.Errorf("ID key: %w", err)
	}
	copy(a.BlockSignature[:], sig)
	idPub, err := MarshalPublicKey(&idKey.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("ID key: %w", err)
	}
	copy(a.IDKey[:], idPub)
	if authorKey == nil {
		return a, nil
	}
	a.AuthorKeyAlgo = AlgoECDSAP384SHA384
	sig, err = Sign(rand, authorKey, idPub)
	if err != nil {
		return nil, fmt.Errorf("author key: %w", err)
	}
	copy(a.IDKeySignature[:], sig)
	authorPub, err := MarshalPublicKey(&authorKey.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("author key: %w", err)
	}
	copy(a.AuthorKey[:], authorPub)
	return a, nil
}

// Verification is the outcome of checking an ID auth structure against an ID block.
type Verification struct {
	// IDKeyDigest is the SHA-384 of the ID_KEY structure (the report's ID_KEY_DIGEST).
	IDKeyDigest [DigestSize]byte
	// BlockSignatureValid reports whether ID_BLOCK_SIG verifies with ID_KEY.
	BlockSignatureValid bool
	// HasAuthorKey reports whether AUTH_KEY_ALGO is set.
	HasAuthorKey bool
	// AuthorKeyDigest is the SHA-384 of the AUTHOR_KEY structure, when there is one.
	AuthorKeyDigest [DigestSize]byte
	// IDKeySignatureValid reports whether ID_KEY_SIG verifies with AUTHOR_KEY
	// (false when there is no author key).
	IDKeySignatureValid bool
}

// Err returns nil when every signature present verifies, or an error
// wrapping ErrSignature that names the ones that do not.
func (v *Verification) Err() error {
	switch {
	case !v.BlockSignatureValid && v.HasAuthorKey && !v.IDKeySignatureValid:
		return fmt.Errorf("ID block signature (ID key) and ID key signature (author key): %w", ErrSignature)
	case !v.BlockSignatureValid:
		return fmt.Errorf("ID block signature (ID key): %w", ErrSignature)
	case v.HasAuthorKey && !v.IDKeySignatureValid:
		return fmt.Errorf("ID key signature (author key): %w", ErrSignature)
	}
	return nil
}

// Verify checks the signatures of a against the ID block b. The error is
// only for malformed keys; signature results are in the Verification.
func (a *Auth) Verify(b *Block) (*Verification, error) {
	idPub, err := ParsePublicKey(a.IDKey[:])
	if err != nil {
		return nil, fmt.Errorf("ID_KEY: %w", err)
	}
	v := &Verification{
		IDKeyDigest:         sha512.Sum384(a.IDKey[:]),
		BlockSignatureValid: VerifySignature(idPub, b.Marshal(), a.BlockSignature[:]),
		HasAuthorKey:        a.HasAuthorKey(),
	}
	if !v.HasAuthorKey {
		return v, nil
	}
	authorPub, err := ParsePublicKey(a.AuthorKey[:])
	if err != nil {
		return nil, fmt.Errorf("AUTHOR_KEY: %w", err)
	}
	v.AuthorKeyDigest = sha512.Sum384(a.AuthorKey[:])
	v.IDKeySignatureValid = VerifySignature(authorPub, a.IDKey[:], a.IDKeySignature[:])
	return v, nil
}

// Verify parses a 96-byte ID block and a 4096-byte ID auth structure and
// checks the signatures. The error is only for malformed input.
func Verify(block, auth []byte) (*Verification, error) {
	b, err := ParseBlock(block)
	if err != nil {
		return nil, err
	}
	a, err := ParseAuth(auth)
	if err != nil {
		return nil, err
	}
	return a.Verify(b)
}

// ParsePrivateKeyPEM parses an unencrypted P-384 private key in PEM: SEC 1
// ("EC PRIVATE KEY", as openssl ecparam -genkey writes it, with or without
// a leading "EC PARAMETERS" block) or PKCS #8 ("PRIVATE KEY").
func ParsePrivateKeyPEM(data []byte) (*ecdsa.PrivateKey, error) {
	rest := data
	for {
		blk, r := pem.Decode(rest)
		if blk == nil {
			if bytes.Equal(rest, data) {
				return nil, errors.New("no PEM data (want an EC P-384 private key in PEM)")
			}
			return nil, errors.New("no private key in the PEM data")
		}
		rest = r
		if _, encrypted := blk.Headers["DEK-Info"]; encrypted || blk.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, errors.New("encrypted PEM private keys are not supported (decrypt it with openssl first)")
		}
		var key any
		var err error
		switch blk.Type {
		case "EC PARAMETERS":
			continue
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(blk.Bytes)
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
		default:
			return nil, fmt.Errorf("PEM block %q: want \"EC PRIVATE KEY\" or \"PRIVATE KEY\"", blk.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("PEM block %q: %w", blk.Type, err)
		}
		k, ok := key.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("PEM block %q: %T key, want an EC P-384 key", blk.Type, key)
		}
		if err := checkP384(&k.PublicKey); err != nil {
			return nil, err
		}
		return k, nil
	}
}

// ReadPrivateKey reads a PEM file holding an EC P-384 private key (see
// ParsePrivateKeyPEM). Errors name the file.
func ReadPrivateKey(path string) (*ecdsa.PrivateKey, error) {
	unwrap := func(err error) error {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return pe.Err
		}
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, unwrap(err))
	}
	defer f.Close()
	// A PEM key is a few hundred bytes: never read a device or a huge file whole.
	data, err := io.ReadAll(io.LimitReader(f, 1<<20+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, unwrap(err))
	}
	if len(data) > 1<<20 {
		return nil, fmt.Errorf("%s: larger than 1 MiB: not a PEM private key", path)
	}
	k, err := ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}
