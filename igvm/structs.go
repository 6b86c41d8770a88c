package igvm

import "encoding/binary"

var le = binary.LittleEndian

// FixedHeader is the header at the start of every IGVM file (version 1:
// the first 24 bytes; version 2 adds the architecture and the page size).
//
//	0x00 magic                   u32  "IGVM"
//	0x04 format_version          u32  1 or 2
//	0x08 variable_header_offset  u32
//	0x0C variable_header_size    u32
//	0x10 total_file_size         u32
//	0x14 checksum                u32  CRC-32 of the fixed and variable headers, this field zero
//	0x18 architecture            u32  version 2: 0 x64, 1 AArch64
//	0x1C page_size               u32  version 2: must be 4096
type FixedHeader struct {
	Magic                uint32
	FormatVersion        uint32
	VariableHeaderOffset uint32
	VariableHeaderSize   uint32
	TotalFileSize        uint32
	Checksum             uint32
	Architecture         uint32
	PageSize             uint32
}

// Size returns the size of the fixed header of the format version.
func (h *FixedHeader) Size() int {
	if h.FormatVersion >= Version2 {
		return FixedHeaderV2Size
	}
	return FixedHeaderV1Size
}

// Marshal returns the fixed header's bytes (24 or 32, by format version).
func (h *FixedHeader) Marshal() []byte {
	b := make([]byte, h.Size())
	le.PutUint32(b[0x00:], h.Magic)
	le.PutUint32(b[0x04:], h.FormatVersion)
	le.PutUint32(b[0x08:], h.VariableHeaderOffset)
	le.PutUint32(b[0x0C:], h.VariableHeaderSize)
	le.PutUint32(b[0x10:], h.TotalFileSize)
	le.PutUint32(b[0x14:], h.Checksum)
	if len(b) == FixedHeaderV2Size {
		le.PutUint32(b[0x18:], h.Architecture)
		le.PutUint32(b[0x1C:], h.PageSize)
	}
	return b
}

func parseFixedHeader(b []byte) FixedHeader {
	h := FixedHeader{
		Magic:                le.Uint32(b[0x00:]),
		FormatVersion:        le.Uint32(b[0x04:]),
		VariableHeaderOffset: le.Uint32(b[0x08:]),
		VariableHeaderSize:   le.Uint32(b[0x0C:]),
		TotalFileSize:        le.Uint32(b[0x10:]),
		Checksum:             le.Uint32(b[0x14:]),
		PageSize:             PageSize,
	}
	if len(b) >= FixedHeaderV2Size {
		h.Architecture = le.Uint32(b[0x18:])
		h.PageSize = le.Uint32(b[0x1C:])
	}
	return h
}

// Body is the decoded body of a variable header: one of the types below.
type Body interface {
	// Type returns the variable header type of the body.
	Type() HeaderType
	// Marshal returns the body's bytes, without the type and length.
	Marshal() []byte
}

// SupportedPlatform is IGVM_VHS_SUPPORTED_PLATFORM.
//
//	0x00 compatibility_mask u32, 0x04 highest_vtl u8, 0x05 platform_type u8,
//	0x06 platform_version u16, 0x08 shared_gpa_boundary u64
type SupportedPlatform struct {
	CompatibilityMask uint32
	HighestVTL        uint8
	PlatformType      PlatformType
	PlatformVersion   uint16
	SharedGPABoundary uint64
}

func (SupportedPlatform) Type() HeaderType { return TypeSupportedPlatform }

func (p SupportedPlatform) Marshal() []byte {
	b := make([]byte, SupportedPlatformSize)
	le.PutUint32(b[0x0:], p.CompatibilityMask)
	b[0x4] = p.HighestVTL
	b[0x5] = byte(p.PlatformType)
	le.PutUint16(b[0x6:], p.PlatformVersion)
	le.PutUint64(b[0x8:], p.SharedGPABoundary)
	return b
}

func parseSupportedPlatform(b []byte) SupportedPlatform {
	return SupportedPlatform{
		CompatibilityMask: le.Uint32(b[0x0:]), HighestVTL: b[0x4], PlatformType: PlatformType(b[0x5]),
		PlatformVersion: le.Uint16(b[0x6:]), SharedGPABoundary: le.Uint64(b[0x8:]),
	}
}

// GuestPolicy is IGVM_VHS_GUEST_POLICY: 0x00 policy u64, 0x08 compatibility_mask u32, 0x0C reserved u32.
type GuestPolicy struct {
	Policy            uint64
	CompatibilityMask uint32
	Reserved          uint32
}

func (GuestPolicy) Type() HeaderType { return TypeGuestPolicy }

func (p GuestPolicy) Marshal() []byte {
	b := make([]byte, GuestPolicySize)
	le.PutUint64(b[0x0:], p.Policy)
	le.PutUint32(b[0x8:], p.CompatibilityMask)
	le.PutUint32(b[0xC:], p.Reserved)
	return b
}

func parseGuestPolicy(b []byte) GuestPolicy {
	return GuestPolicy{Policy: le.Uint64(b[0x0:]), CompatibilityMask: le.Uint32(b[0x8:]), Reserved: le.Uint32(b[0xC:])}
}

// RelocatableRegion is IGVM_VHS_RELOCATABLE_REGION.
//
//	0x00 compatibility_mask u32, 0x04 vp_index u16, 0x06 vtl u8, 0x07 flags u8,
//	0x08 relocation_alignment u64, 0x10 relocation_region_gpa u64,
//	0x18 relocation_region_size u64, 0x20 minimum_relocation_gpa u64,
//	0x28 maximum_relocation_gpa u64
type RelocatableRegion struct {
	CompatibilityMask    uint32
	VPIndex              uint16
	VTL                  uint8
	Flags                uint8
	RelocationAlignment  uint64
	RelocationRegionGPA  uint64
	RelocationRegionSize uint64
	MinimumRelocationGPA uint64
	MaximumRelocationGPA uint64
}

func (RelocatableRegion) Type() HeaderType { return TypeRelocatableRegion }

func (r RelocatableRegion) Marshal() []byte {
	b := make([]byte, RelocatableRegionSize)
	le.PutUint32(b[0x00:], r.CompatibilityMask)
	le.PutUint16(b[0x04:], r.VPIndex)
	b[0x06] = r.VTL
	b[0x07] = r.Flags
	le.PutUint64(b[0x08:], r.RelocationAlignment)
	le.PutUint64(b[0x10:], r.RelocationRegionGPA)
	le.PutUint64(b[0x18:], r.RelocationRegionSize)
	le.PutUint64(b[0x20:], r.MinimumRelocationGPA)
	le.PutUint64(b[0x28:], r.MaximumRelocationGPA)
	return b
}

func parseRelocatableRegion(b []byte) RelocatableRegion {
	return RelocatableRegion{
		CompatibilityMask: le.Uint32(b[0x00:]), VPIndex: le.Uint16(b[0x04:]), VTL: b[0x06], Flags: b[0x07],
		RelocationAlignment: le.Uint64(b[0x08:]), RelocationRegionGPA: le.Uint64(b[0x10:]),
		RelocationRegionSize: le.Uint64(b[0x18:]), MinimumRelocationGPA: le.Uint64(b[0x20:]),
		MaximumRelocationGPA: le.Uint64(b[0x28:]),
	}
}

// PageTableRelocation is IGVM_VHS_PAGE_TABLE_RELOCATION.
//
//	0x00 compatibility_mask u32, 0x04 vp_index u16, 0x06 vtl u8, 0x07 reserved u8,
//	0x08 gpa u64, 0x10 size u64, 0x18 used_size u64
type PageTableRelocation struct {
	CompatibilityMask uint32
	VPIndex           uint16
	VTL               uint8
	Reserved          uint8
	GPA               uint64
	Size              uint64
	UsedSize          uint64
}

func (PageTableRelocation) Type() HeaderType { return TypePageTableRelocation }

func (r PageTableRelocation) Marshal() []byte {
	b := make([]byte, PageTableRelocationSize)
	le.PutUint32(b[0x00:], r.CompatibilityMask)
	le.PutUint16(b[0x04:], r.VPIndex)
	b[0x06] = r.VTL
	b[0x07] = r.Reserved
	le.PutUint64(b[0x08:], r.GPA)
	le.PutUint64(b[0x10:], r.Size)
	le.PutUint64(b[0x18:], r.UsedSize)
	return b
}

func parsePageTableRelocation(b []byte) PageTableRelocation {
	return PageTableRelocation{
		CompatibilityMask: le.Uint32(b[0x00:]), VPIndex: le.Uint16(b[0x04:]), VTL: b[0x06], Reserved: b[0x07],
		GPA: le.Uint64(b[0x08:]), Size: le.Uint64(b[0x10:]), UsedSize: le.Uint64(b[0x18:]),
	}
}

// ParameterArea is IGVM_VHS_PARAMETER_AREA: 0x00 number_of_bytes u64,
// 0x08 parameter_area_index u32, 0x0C file_offset u32 (0: no initial data).
type ParameterArea struct {
	NumberOfBytes uint64
	Index         uint32
	FileOffset    uint32
}

func (ParameterArea) Type() HeaderType { return TypeParameterArea }

func (p ParameterArea) Marshal() []byte {
	b := make([]byte, ParameterAreaSize)
	le.PutUint64(b[0x0:], p.NumberOfBytes)
	le.PutUint32(b[0x8:], p.Index)
	le.PutUint32(b[0xC:], p.FileOffset)
	return b
}

func parseParameterArea(b []byte) ParameterArea {
	return ParameterArea{NumberOfBytes: le.Uint64(b[0x0:]), Index: le.Uint32(b[0x8:]), FileOffset: le.Uint32(b[0xC:])}
}

// PageData is IGVM_VHS_PAGE_DATA.
//
//	0x00 gpa u64, 0x08 compatibility_mask u32, 0x0C file_offset u32 (0: no data),
//	0x10 flags u32, 0x14 data_type u16, 0x16 reserved u16
type PageData struct {
	GPA               uint64
	CompatibilityMask uint32
	FileOffset        uint32
	Flags             PageDataFlags
	DataType          PageDataType
	Reserved          uint16
}

func (PageData) Type() HeaderType { return TypePageData }

func (p PageData) Marshal() []byte {
	b := make([]byte, PageDataSize)
	le.PutUint64(b[0x00:], p.GPA)
	le.PutUint32(b[0x08:], p.CompatibilityMask)
	le.PutUint32(b[0x0C:], p.FileOffset)
	le.PutUint32(b[0x10:], uint32(p.Flags))
	le.PutUint16(b[0x14:], uint16(p.DataType))
	le.PutUint16(b[0x16:], p.Reserved)
	return b
}

func parsePageData(b []byte) PageData {
	return PageData{
		GPA: le.Uint64(b[0x00:]), CompatibilityMask: le.Uint32(b[0x08:]), FileOffset: le.Uint32(b[0x0C:]),
		Flags: PageDataFlags(le.Uint32(b[0x10:])), DataType: PageDataType(le.Uint16(b[0x14:])), Reserved: le.Uint16(b[0x16:]),
	}
}

// PageSize returns the size the directive covers: 4 KiB or, with the 2 MiB flag, 2 MiB.
func (p PageData) PageSize() uint64 {
	if p.Flags.Large() {
		return LargePageSize
	}
	return PageSize
}

// HasData reports whether the directive has file data (file_offset is not 0).
func (p PageData) HasData() bool { return p.FileOffset != 0 }

// ParameterInsert is IGVM_VHS_PARAMETER_INSERT: 0x00 gpa u64,
// 0x08 compatibility_mask u32, 0x0C parameter_area_index u32.
type ParameterInsert struct {
	GPA               uint64
	CompatibilityMask uint32
	Index             uint32
}

func (ParameterInsert) Type() HeaderType { return TypeParameterInsert }

func (p ParameterInsert) Marshal() []byte {
	b := make([]byte, ParameterInsertSize)
	le.PutUint64(b[0x0:], p.GPA)
	le.PutUint32(b[0x8:], p.CompatibilityMask)
	le.PutUint32(b[0xC:], p.Index)
	return b
}

func parseParameterInsert(b []byte) ParameterInsert {
	return ParameterInsert{GPA: le.Uint64(b[0x0:]), CompatibilityMask: le.Uint32(b[0x8:]), Index: le.Uint32(b[0xC:])}
}

// VPContextKind is how the igvm crate decodes a VP_CONTEXT's file data: by the
// platform whose compatibility mask equals the directive's.
type VPContextKind int

// VP context kinds.
const (
	VPContextVMSA   VPContextKind = iota + 1 // SEV-SNP or SEV-ES: an SEV VMSA
	VPContextNative                          // NATIVE or SEV: IgvmNativeVpContextX64
	VPContextVBS                             // VSM: a VBS register list
)

// String names the kind.
func (k VPContextKind) String() string {
	switch k {
	case VPContextVMSA:
		return "VMSA"
	case VPContextNative:
		return "native"
	case VPContextVBS:
		return "VBS"
	}
	return "unknown"
}

// VPContext is IGVM_VHS_VP_CONTEXT (20 bytes, padded to 24 in the file).
//
//	0x00 gpa u64, 0x08 compatibility_mask u32, 0x0C file_offset u32,
//	0x10 vp_index u16, 0x12 reserved u16
type VPContext struct {
	GPA               uint64
	CompatibilityMask uint32
	FileOffset        uint32
	VPIndex           uint16
	Reserved          uint16
	// Kind is how the context's file data was decoded (set by the parser).
	Kind VPContextKind
	// VBSVTL is the VTL of a VBS context's registers (set by the parser).
	VBSVTL uint8
}

func (VPContext) Type() HeaderType { return TypeVPContext }

func (v VPContext) Marshal() []byte {
	b := make([]byte, VPContextSize)
	le.PutUint64(b[0x00:], v.GPA)
	le.PutUint32(b[0x08:], v.CompatibilityMask)
	le.PutUint32(b[0x0C:], v.FileOffset)
	le.PutUint16(b[0x10:], v.VPIndex)
	le.PutUint16(b[0x12:], v.Reserved)
	return b
}

func parseVPContext(b []byte) VPContext {
	return VPContext{
		GPA: le.Uint64(b[0x00:]), CompatibilityMask: le.Uint32(b[0x08:]), FileOffset: le.Uint32(b[0x0C:]),
		VPIndex: le.Uint16(b[0x10:]), Reserved: le.Uint16(b[0x12:]),
	}
}

// RequiredMemory is IGVM_VHS_REQUIRED_MEMORY: 0x00 gpa u64,
// 0x08 compatibility_mask u32, 0x0C number_of_bytes u32, 0x10 flags u32
// (bit 0 vtl2_protectable), 0x14 reserved u32.
type RequiredMemory struct {
	GPA               uint64
	CompatibilityMask uint32
	NumberOfBytes     uint32
	Flags             uint32
	Reserved          uint32
}

func (RequiredMemory) Type() HeaderType { return TypeRequiredMemory }

func (r RequiredMemory) Marshal() []byte {
	b := make([]byte, RequiredMemorySize)
	le.PutUint64(b[0x00:], r.GPA)
	le.PutUint32(b[0x08:], r.CompatibilityMask)
	le.PutUint32(b[0x0C:], r.NumberOfBytes)
	le.PutUint32(b[0x10:], r.Flags)
	le.PutUint32(b[0x14:], r.Reserved)
	return b
}

func parseRequiredMemory(b []byte) RequiredMemory {
	return RequiredMemory{
		GPA: le.Uint64(b[0x00:]), CompatibilityMask: le.Uint32(b[0x08:]), NumberOfBytes: le.Uint32(b[0x0C:]),
		Flags: le.Uint32(b[0x10:]), Reserved: le.Uint32(b[0x14:]),
	}
}

// Parameter is IGVM_VHS_PARAMETER, the body of every parameter usage
// (VP_COUNT, SRAT, MADT, MMIO_RANGES, MEMORY_MAP, COMMAND_LINE, SLIT, PPTT,
// DEVICE_TREE, ENVIRONMENT_INFO): 0x00 parameter_area_index u32, 0x04 byte_offset u32.
type Parameter struct {
	Usage      HeaderType
	Index      uint32
	ByteOffset uint32
}

func (p Parameter) Type() HeaderType { return p.Usage }

func (p Parameter) Marshal() []byte {
	b := make([]byte, ParameterSize)
	le.PutUint32(b[0x0:], p.Index)
	le.PutUint32(b[0x4:], p.ByteOffset)
	return b
}

func parseParameter(t HeaderType, b []byte) Parameter {
	return Parameter{Usage: t, Index: le.Uint32(b[0x0:]), ByteOffset: le.Uint32(b[0x4:])}
}

// ErrorRange is IGVM_VHS_ERROR_RANGE: 0x00 gpa u64, 0x08 compatibility_mask u32, 0x0C size_bytes u32.
type ErrorRange struct {
	GPA               uint64
	CompatibilityMask uint32
	SizeBytes         uint32
}

func (ErrorRange) Type() HeaderType { return TypeErrorRange }

func (e ErrorRange) Marshal() []byte {
	b := make([]byte, ErrorRangeSize)
	le.PutUint64(b[0x0:], e.GPA)
	le.PutUint32(b[0x8:], e.CompatibilityMask)
	le.PutUint32(b[0xC:], e.SizeBytes)
	return b
}

func parseErrorRange(b []byte) ErrorRange {
	return ErrorRange{GPA: le.Uint64(b[0x0:]), CompatibilityMask: le.Uint32(b[0x8:]), SizeBytes: le.Uint32(b[0xC:])}
}

// IDBlockSignature is IGVM_VHS_SNP_ID_BLOCK_SIGNATURE: r_comp and s_comp,
// 72 bytes each, little-endian.
type IDBlockSignature struct {
	R [72]byte
	S [72]byte
}

// IDBlockPublicKey is IGVM_VHS_SNP_ID_BLOCK_PUBLIC_KEY: 0x00 curve u32,
// 0x04 reserved u32, 0x08 qx [72], 0x50 qy [72]. Unlike the SEV-SNP ABI's
// public key structure it has a reserved word after the curve.
type IDBlockPublicKey struct {
	Curve    uint32
	Reserved uint32
	QX       [72]byte
	QY       [72]byte
}

// SNPIDBlock is IGVM_VHS_SNP_ID_BLOCK (696 bytes).
//
//	0x000 compatibility_mask u32     0x004 author_key_enabled u8    0x005 reserved [3]
//	0x008 ld [48]                    0x038 family_id [16]           0x048 image_id [16]
//	0x058 version u32                0x05C guest_svn u32
//	0x060 id_key_algorithm u32       0x064 author_key_algorithm u32
//	0x068 id_key_signature (144)     0x0F8 id_public_key (152)
//	0x190 author_key_signature (144) 0x220 author_public_key (152)
type SNPIDBlock struct {
	CompatibilityMask  uint32
	AuthorKeyEnabled   uint8
	Reserved           [3]byte
	LD                 [48]byte
	FamilyID           [16]byte
	ImageID            [16]byte
	Version            uint32
	GuestSVN           uint32
	IDKeyAlgorithm     uint32
	AuthorKeyAlgorithm uint32
	IDKeySignature     IDBlockSignature
	IDPublicKey        IDBlockPublicKey
	AuthorKeySignature IDBlockSignature
	AuthorPublicKey    IDBlockPublicKey
}

// Offsets inside SNPIDBlock.
const (
	offIDBlockLD          = 0x008
	offIDBlockFamilyID    = 0x038
	offIDBlockImageID     = 0x048
	offIDBlockVersion     = 0x058
	offIDBlockGuestSVN    = 0x05C
	offIDBlockIDKeyAlgo   = 0x060
	offIDBlockAuthKeyAlgo = 0x064
	offIDBlockIDKeySig    = 0x068
	offIDBlockIDKey       = 0x0F8
	offIDBlockAuthKeySig  = 0x190
	offIDBlockAuthKey     = 0x220
)

func (SNPIDBlock) Type() HeaderType { return TypeSNPIDBlock }

func putSig(b []byte, s *IDBlockSignature) {
	copy(b[0:], s.R[:])
	copy(b[72:], s.S[:])
}

func putKey(b []byte, k *IDBlockPublicKey) {
	le.PutUint32(b[0:], k.Curve)
	le.PutUint32(b[4:], k.Reserved)
	copy(b[8:], k.QX[:])
	copy(b[80:], k.QY[:])
}

func (s SNPIDBlock) Marshal() []byte {
	b := make([]byte, SNPIDBlockSize)
	le.PutUint32(b[0x000:], s.CompatibilityMask)
	b[0x004] = s.AuthorKeyEnabled
	copy(b[0x005:], s.Reserved[:])
	copy(b[offIDBlockLD:], s.LD[:])
	copy(b[offIDBlockFamilyID:], s.FamilyID[:])
	copy(b[offIDBlockImageID:], s.ImageID[:])
	le.PutUint32(b[offIDBlockVersion:], s.Version)
	le.PutUint32(b[offIDBlockGuestSVN:], s.GuestSVN)
	le.PutUint32(b[offIDBlockIDKeyAlgo:], s.IDKeyAlgorithm)
	le.PutUint32(b[offIDBlockAuthKeyAlgo:], s.AuthorKeyAlgorithm)
	putSig(b[offIDBlockIDKeySig:], &s.IDKeySignature)
	putKey(b[offIDBlockIDKey:], &s.IDPublicKey)
	putSig(b[offIDBlockAuthKeySig:], &s.AuthorKeySignature)
	putKey(b[offIDBlockAuthKey:], &s.AuthorPublicKey)
	return b
}

func getSig(b []byte) (s IDBlockSignature) {
	copy(s.R[:], b[0:])
	copy(s.S[:], b[72:])
	return s
}

func getKey(b []byte) (k IDBlockPublicKey) {
	k.Curve = le.Uint32(b[0:])
	k.Reserved = le.Uint32(b[4:])
	copy(k.QX[:], b[8:])
	copy(k.QY[:], b[80:])
	return k
}

func parseSNPIDBlock(b []byte) SNPIDBlock {
	s := SNPIDBlock{
		CompatibilityMask:  le.Uint32(b[0x000:]),
		AuthorKeyEnabled:   b[0x004],
		Version:            le.Uint32(b[offIDBlockVersion:]),
		GuestSVN:           le.Uint32(b[offIDBlockGuestSVN:]),
		IDKeyAlgorithm:     le.Uint32(b[offIDBlockIDKeyAlgo:]),
		AuthorKeyAlgorithm: le.Uint32(b[offIDBlockAuthKeyAlgo:]),
		IDKeySignature:     getSig(b[offIDBlockIDKeySig:]),
		IDPublicKey:        getKey(b[offIDBlockIDKey:]),
		AuthorKeySignature: getSig(b[offIDBlockAuthKeySig:]),
		AuthorPublicKey:    getKey(b[offIDBlockAuthKey:]),
	}
	copy(s.Reserved[:], b[0x005:])
	copy(s.LD[:], b[offIDBlockLD:])
	copy(s.FamilyID[:], b[offIDBlockFamilyID:])
	copy(s.ImageID[:], b[offIDBlockImageID:])
	return s
}

// VBSMeasurement is IGVM_VHS_VBS_MEASUREMENT (864 bytes).
//
//	0x000 compatibility_mask, version, product_id, module_id, security_version,
//	      policy_flags, boot_digest_algo, signing_algo (u32 each)
//	0x020 boot_measurement_digest [64]   0x060 signature [256]   0x160 public_key [512]
type VBSMeasurement struct {
	CompatibilityMask     uint32
	Version               uint32
	ProductID             uint32
	ModuleID              uint32
	SecurityVersion       uint32
	PolicyFlags           uint32
	BootDigestAlgo        uint32
	SigningAlgo           uint32
	BootMeasurementDigest [64]byte
	Signature             [256]byte
	PublicKey             [512]byte
}

func (VBSMeasurement) Type() HeaderType { return TypeVBSMeasurement }

func (v VBSMeasurement) Marshal() []byte {
	b := make([]byte, VBSMeasurementSize)
	for i, x := range []uint32{v.CompatibilityMask, v.Version, v.ProductID, v.ModuleID, v.SecurityVersion,
		v.PolicyFlags, v.BootDigestAlgo, v.SigningAlgo} {
		le.PutUint32(b[4*i:], x)
	}
	copy(b[0x020:], v.BootMeasurementDigest[:])
	copy(b[0x060:], v.Signature[:])
	copy(b[0x160:], v.PublicKey[:])
	return b
}

func parseVBSMeasurement(b []byte) VBSMeasurement {
	v := VBSMeasurement{}
	for i, p := range []*uint32{&v.CompatibilityMask, &v.Version, &v.ProductID, &v.ModuleID, &v.SecurityVersion,
		&v.PolicyFlags, &v.BootDigestAlgo, &v.SigningAlgo} {
		*p = le.Uint32(b[4*i:])
	}
	copy(v.BootMeasurementDigest[:], b[0x020:])
	copy(v.Signature[:], b[0x060:])
	copy(v.PublicKey[:], b[0x160:])
	return v
}

// Unknown is the body of a header whose type igvm_defs 0.4.0 does not
// define (or the reserved 0x306), kept as raw bytes.
type Unknown struct {
	HeaderType HeaderType
	Data       []byte
}

func (u Unknown) Type() HeaderType { return u.HeaderType }

func (u Unknown) Marshal() []byte { return append([]byte(nil), u.Data...) }

// bodySize returns the exact body length igvm_defs defines for t, or -1.
func bodySize(t HeaderType) int {
	switch t {
	case TypeSupportedPlatform:
		return SupportedPlatformSize
	case TypeGuestPolicy:
		return GuestPolicySize
	case TypeRelocatableRegion:
		return RelocatableRegionSize
	case TypePageTableRelocation:
		return PageTableRelocationSize
	case TypeParameterArea:
		return ParameterAreaSize
	case TypePageData:
		return PageDataSize
	case TypeParameterInsert:
		return ParameterInsertSize
	case TypeVPContext:
		return VPContextSize
	case TypeRequiredMemory:
		return RequiredMemorySize
	case TypeSNPIDBlock:
		return SNPIDBlockSize
	case TypeVBSMeasurement:
		return VBSMeasurementSize
	case TypeErrorRange:
		return ErrorRangeSize
	}
	if t.IsParameter() {
		return ParameterSize
	}
	return -1
}

// decodeBody decodes a body of the right length (checked by the caller).
func decodeBody(t HeaderType, b []byte) Body {
	switch t {
	case TypeSupportedPlatform:
		return parseSupportedPlatform(b)
	case TypeGuestPolicy:
		return parseGuestPolicy(b)
	case TypeRelocatableRegion:
		return parseRelocatableRegion(b)
	case TypePageTableRelocation:
		return parsePageTableRelocation(b)
	case TypeParameterArea:
		return parseParameterArea(b)
	case TypePageData:
		return parsePageData(b)
	case TypeParameterInsert:
		return parseParameterInsert(b)
	case TypeVPContext:
		return parseVPContext(b)
	case TypeRequiredMemory:
		return parseRequiredMemory(b)
	case TypeSNPIDBlock:
		return parseSNPIDBlock(b)
	case TypeVBSMeasurement:
		return parseVBSMeasurement(b)
	case TypeErrorRange:
		return parseErrorRange(b)
	}
	if t.IsParameter() {
		return parseParameter(t, b)
	}
	return Unknown{HeaderType: t, Data: append([]byte(nil), b...)}
}

// CompatibilityMask returns the compatibility mask of a body that has one.
func CompatibilityMask(b Body) (uint32, bool) {
	switch v := b.(type) {
	case SupportedPlatform:
		return v.CompatibilityMask, true
	case GuestPolicy:
		return v.CompatibilityMask, true
	case RelocatableRegion:
		return v.CompatibilityMask, true
	case PageTableRelocation:
		return v.CompatibilityMask, true
	case PageData:
		return v.CompatibilityMask, true
	case ParameterInsert:
		return v.CompatibilityMask, true
	case VPContext:
		return v.CompatibilityMask, true
	case RequiredMemory:
		return v.CompatibilityMask, true
	case SNPIDBlock:
		return v.CompatibilityMask, true
	case VBSMeasurement:
		return v.CompatibilityMask, true
	case ErrorRange:
		return v.CompatibilityMask, true
	}
	return 0, false
}
