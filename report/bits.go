package report

import (
	"fmt"
	"strconv"
	"strings"
)

// Bit names one bit of a bit field.
type Bit struct {
	// Bit is the bit number.
	Bit uint
	// Name is the ABI's name (DEBUG, SMT_EN, ...).
	Name string
	// Key is the short name used on command lines and in JSON (debug, smt).
	Key string
}

// Policy is the guest POLICY (ABI table "Guest Policy Structure"): bits 7:0
// ABI_MINOR, 15:8 ABI_MAJOR, then the bits of PolicyBits; bit 17 is
// reserved and must be 1, bits 63:26 are reserved and must be 0.
type Policy uint64

// PolicyBits are the flag bits of the guest policy, as of ABI revision 1.58.
var PolicyBits = []Bit{
	{16, "SMT", "smt"},
	{18, "MIGRATE_MA", "migrate-ma"},
	{19, "DEBUG", "debug"},
	{20, "SINGLE_SOCKET", "single-socket"},
	{21, "CXL_ALLOW", "cxl-allow"},
	{22, "MEM_AES_256_XTS", "mem-aes-256-xts"},
	{23, "RAPL_DIS", "rapl-dis"},
	{24, "CIPHERTEXT_HIDING_DRAM", "ciphertext-hiding"},
	{25, "PAGE_SWAP_DISABLE", "page-swap-disable"},
}

// Guest policy bits the default checks look at.
const (
	PolicyBitReservedOne = 17
	PolicyBitMigrateMA   = 18
	PolicyBitDebug       = 19
	policyReservedFrom   = 26
)

// ABIMinor returns the lowest firmware ABI minor version the guest accepts.
func (p Policy) ABIMinor() uint8 { return uint8(p) }

// ABIMajor returns the lowest firmware ABI major version the guest accepts.
func (p Policy) ABIMajor() uint8 { return uint8(p >> 8) }

// Has reports whether bit n is set.
func (p Policy) Has(n uint) bool { return uint64(p)>>n&1 != 0 }

// Debug reports whether the policy allows debugging the guest.
func (p Policy) Debug() bool { return p.Has(PolicyBitDebug) }

// MigrateMA reports whether the policy allows a migration agent.
func (p Policy) MigrateMA() bool { return p.Has(PolicyBitMigrateMA) }

// ReservedProblems describes the reserved bits that do not have their
// required value, or returns "".
func (p Policy) ReservedProblems() string {
	var s []string
	if !p.Has(PolicyBitReservedOne) {
		s = append(s, "POLICY bit 17 (must be 1) is 0")
	}
	if r := uint64(p) >> policyReservedFrom << policyReservedFrom; r != 0 {
		s = append(s, fmt.Sprintf("POLICY reserved bits %#x set", r))
	}
	return strings.Join(s, ", ")
}

// PlatformInfo is PLATFORM_INFO (ABI table "PLATFORM_INFO Field"): the bits
// of PlatformInfoBits; bit 6 and bits 63:8 are reserved.
type PlatformInfo uint64

// PlatformInfoBits are the bits of PLATFORM_INFO, as of ABI revision 1.58
// (ALIAS_CHECK_COMPLETE since report version 3, TIO_EN since version 5).
var PlatformInfoBits = []Bit{
	{0, "SMT_EN", "smt"},
	{1, "TSME_EN", "tsme"},
	{2, "ECC_EN", "ecc"},
	{3, "RAPL_DIS", "rapl-dis"},
	{4, "CIPHERTEXT_HIDING_DRAM_EN", "ciphertext-hiding"},
	{5, "ALIAS_CHECK_COMPLETE", "alias-check-complete"},
	{7, "TIO_EN", "tio"},
}

// Has reports whether bit n is set.
func (p PlatformInfo) Has(n uint) bool { return uint64(p)>>n&1 != 0 }

// PlatformInfoRequirement requires PLATFORM_INFO & Mask == Value.
type PlatformInfoRequirement struct {
	Value, Mask uint64
}

// ParsePlatformInfoRequirement parses required PLATFORM_INFO bits: a list
// of NAME=0|1 with the keys of PlatformInfoBits ("smt=0,ecc=1"), or
// VALUE/MASK in hex or decimal ("0x4/0x5": ECC on, SMT off).
func ParsePlatformInfoRequirement(s string) (*PlatformInfoRequirement, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("empty platform info requirement")
	}
	if v, m, ok := strings.Cut(s, "/"); ok {
		value, err1 := strconv.ParseUint(strings.TrimSpace(v), 0, 64)
		mask, err2 := strconv.ParseUint(strings.TrimSpace(m), 0, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("platform info %q: want VALUE/MASK as numbers (0x4/0x5)", s)
		}
		if value&^mask != 0 {
			return nil, fmt.Errorf("platform info %q: VALUE has bits outside MASK", s)
		}
		return &PlatformInfoRequirement{Value: value, Mask: mask}, nil
	}
	req := &PlatformInfoRequirement{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		var bit *Bit
		for i := range PlatformInfoBits {
			if PlatformInfoBits[i].Key == k || strings.EqualFold(PlatformInfoBits[i].Name, k) {
				bit = &PlatformInfoBits[i]
			}
		}
		if !ok || bit == nil || (v != "0" && v != "1") {
			return nil, fmt.Errorf("platform info %q: want NAME=0 or NAME=1 with NAME one of %s, or VALUE/MASK", kv, platformInfoKeys())
		}
		m := uint64(1) << bit.Bit
		if req.Mask&m != 0 {
			return nil, fmt.Errorf("platform info %q: %s given twice", s, bit.Key)
		}
		req.Mask |= m
		if v == "1" {
			req.Value |= m
		}
	}
	return req, nil
}

func platformInfoKeys() string {
	k := make([]string, len(PlatformInfoBits))
	for i, b := range PlatformInfoBits {
		k[i] = b.Key
	}
	return strings.Join(k, ", ")
}

// String formats the requirement with bit names where it has them.
func (q *PlatformInfoRequirement) String() string {
	var parts []string
	rest := q.Mask
	for _, b := range PlatformInfoBits {
		m := uint64(1) << b.Bit
		if q.Mask&m != 0 {
			v := 0
			if q.Value&m != 0 {
				v = 1
			}
			parts = append(parts, fmt.Sprintf("%s=%d", b.Key, v))
			rest &^= m
		}
	}
	if rest != 0 {
		parts = append(parts, fmt.Sprintf("%#x/%#x", q.Value&rest, rest))
	}
	return strings.Join(parts, ",")
}

// Describe formats PLATFORM_INFO's bits selected by mask as NAME=0|1.
func (p PlatformInfo) Describe(mask uint64) string {
	q := &PlatformInfoRequirement{Value: uint64(p) & mask, Mask: mask}
	return q.String()
}

// SignerInfo is the word at 0x048 (ABI table "ATTESTATION_REPORT
// Structure"): bit 0 AUTHOR_KEY_EN, bit 1 MASK_CHIP_KEY, bits 4:2
// SIGNING_KEY, bits 31:5 reserved.
type SignerInfo uint32

// AuthorKeyEn reports whether AUTHOR_KEY_DIGEST holds the digest of an
// author key.
func (s SignerInfo) AuthorKeyEn() bool { return s&1 != 0 }

// MaskChipKey reports whether MASK_CHIP_KEY is set: the firmware wrote zeros
// instead of a signature.
func (s SignerInfo) MaskChipKey() bool { return s&2 != 0 }

// SigningKey returns SIGNING_KEY.
func (s SignerInfo) SigningKey() SigningKey { return SigningKey(s >> 2 & 7) }

// Reserved returns bits 31:5, which must be zero.
func (s SignerInfo) Reserved() uint32 { return uint32(s) >> 5 << 5 }

// SigningKey is SIGNING_KEY: which key signed the report.
type SigningKey uint8

// SIGNING_KEY values; 2-6 are reserved.
const (
	SigningKeyVCEK SigningKey = 0
	SigningKeyVLEK SigningKey = 1
	SigningKeyNone SigningKey = 7
)

func (k SigningKey) String() string {
	switch k {
	case SigningKeyVCEK:
		return "VCEK"
	case SigningKeyVLEK:
		return "VLEK"
	case SigningKeyNone:
		return "None"
	}
	return fmt.Sprintf("reserved value %d", uint8(k))
}

// intermediate names the certificate that certifies the key: ASK or ASVK.
func (k SigningKey) intermediate() string {
	if k == SigningKeyVLEK {
		return "ASVK"
	}
	return "ASK"
}
