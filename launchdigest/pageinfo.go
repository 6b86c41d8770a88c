package launchdigest

import (
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// Sizes of the SNP launch digest structures (SEV-SNP ABI, PAGE_INFO).
const (
	// DigestSize is the size of the SNP launch digest (SHA-384).
	DigestSize = sha512.Size384
	// PageInfoSize is the size of the PAGE_INFO structure hashed per update.
	PageInfoSize = 0x70
	// PageSize is the granularity of SNP_LAUNCH_UPDATE.
	PageSize = 4096
)

// Byte offsets within PAGE_INFO.
const (
	offDigest   = 0x00
	offContents = 0x30
	offLength   = 0x60
	offPageType = 0x62
	offIMIPage  = 0x63
	offGPA      = 0x68
)

// Digest is an SNP launch digest or a page contents digest (SHA-384).
type Digest [DigestSize]byte

// String returns the digest as lower-case hex.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// ParseDigest parses 96 hex digits.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	b, err := hex.DecodeString(s)
	if err != nil {
		return d, fmt.Errorf("launch digest %q is not hex: %w", s, err)
	}
	if len(b) != DigestSize {
		return d, fmt.Errorf("launch digest has %d bytes, want %d", len(b), DigestSize)
	}
	copy(d[:], b)
	return d, nil
}

// PageType is the PAGE_TYPE of an SNP_LAUNCH_UPDATE.
type PageType uint8

// Page types of SNP_LAUNCH_UPDATE (SEV-SNP ABI, table "Page Types").
const (
	PageNormal     PageType = 1
	PageVMSA       PageType = 2
	PageZero       PageType = 3
	PageUnmeasured PageType = 4
	PageSecrets    PageType = 5
	PageCPUID      PageType = 6
)

// String returns the ABI name of the page type.
func (t PageType) String() string {
	switch t {
	case PageNormal:
		return "NORMAL"
	case PageVMSA:
		return "VMSA"
	case PageZero:
		return "ZERO"
	case PageUnmeasured:
		return "UNMEASURED"
	case PageSecrets:
		return "SECRETS"
	case PageCPUID:
		return "CPUID"
	}
	return fmt.Sprintf("PageType(%d)", uint8(t))
}

// Measured reports whether the page's contents enter the digest (NORMAL and
// VMSA); for the other types CONTENTS is zero.
func (t PageType) Measured() bool { return t == PageNormal || t == PageVMSA }

// PageInfo is the structure the AMD Secure Processor hashes for each update.
type PageInfo struct {
	Digest   Digest
	Contents Digest
	Type     PageType
	IMIPage  bool
	GPA      uint64
}

// Marshal returns the 0x70-byte PAGE_INFO encoding. VMPL permissions are zero.
func (p *PageInfo) Marshal() [PageInfoSize]byte {
	var b [PageInfoSize]byte
	copy(b[offDigest:], p.Digest[:])
	copy(b[offContents:], p.Contents[:])
	binary.LittleEndian.PutUint16(b[offLength:], PageInfoSize)
	b[offPageType] = byte(p.Type)
	if p.IMIPage {
		b[offIMIPage] = 1
	}
	binary.LittleEndian.PutUint64(b[offGPA:], p.GPA)
	return b
}

// Extend returns the launch digest after one SNP_LAUNCH_UPDATE of a page of
// type t at gpa whose contents digest is contents (zero for types that are
// not measured).
func Extend(ld Digest, t PageType, gpa uint64, contents *Digest) Digest {
	pi := PageInfo{Digest: ld, Type: t, GPA: gpa}
	if contents != nil {
		pi.Contents = *contents
	}
	b := pi.Marshal()
	return sha512.Sum384(b[:])
}

// PageDigest returns the SHA-384 of a 4 KiB page, the CONTENTS of NORMAL and VMSA updates.
func PageDigest(page []byte) Digest { return sha512.Sum384(page) }
