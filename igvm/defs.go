package igvm

import "fmt"

// Magic is the fixed header's magic value, "IGVM" read as a little-endian u32.
const Magic = 0x4D564749

// Format versions.
const (
	Version1 = 1
	Version2 = 2
)

// Architectures of a version 2 fixed header.
const (
	ArchX64     = 0
	ArchAArch64 = 1
)

// Page sizes.
const (
	PageSize      = 4096
	LargePageSize = 2 << 20
)

// Sizes of the structures, in bytes (igvm_defs 0.4.0).
const (
	FixedHeaderV1Size          = 24
	FixedHeaderV2Size          = 32
	VariableHeaderSize         = 8 // type and length before each body
	SupportedPlatformSize      = 16
	GuestPolicySize            = 16
	RelocatableRegionSize      = 48
	PageTableRelocationSize    = 32
	ParameterAreaSize          = 16
	PageDataSize               = 24
	ParameterInsertSize        = 16
	VPContextSize              = 20 // padded to 24 in the file
	RequiredMemorySize         = 24
	ParameterSize              = 8
	SNPIDBlockSignatureSize    = 144
	SNPIDBlockPublicKeySize    = 152
	SNPIDBlockSize             = 696
	VBSMeasurementSize         = 864
	ErrorRangeSize             = 16
	VBSVPContextHeaderSize     = 4
	VBSVPContextRegisterSize   = 32
	NativeVPContextX64Size     = 0xE8 // IgvmNativeVpContextX64
	VMSASize                   = 0x670
	MemoryMapEntrySize         = 24
	maxPlatformHeaderType      = 0x100
	firstInitializationType    = 0x101
	maxInitializationType      = 0x200
	firstDirectiveType         = 0x301
	maxDirectiveType           = 0x400
	alignment                  = 8
	platformVersion            = 1
	highestVTLMax              = 2
	relocatableRegionIsVTL2    = 0x1
	relocatableRegionApplyRIP  = 0x2
	relocatableRegionApplyGDTR = 0x4
)

// HeaderType is the type of a variable header.
type HeaderType uint32

// Variable header types of igvm_defs 0.4.0.
const (
	TypeInvalid             HeaderType = 0x000
	TypeSupportedPlatform   HeaderType = 0x001
	TypeGuestPolicy         HeaderType = 0x101
	TypeRelocatableRegion   HeaderType = 0x102
	TypePageTableRelocation HeaderType = 0x103
	TypeParameterArea       HeaderType = 0x301
	TypePageData            HeaderType = 0x302
	TypeParameterInsert     HeaderType = 0x303
	TypeVPContext           HeaderType = 0x304
	TypeRequiredMemory      HeaderType = 0x305
	TypeReserved306         HeaderType = 0x306 // formerly SHARED_BOUNDARY_GPA; not to be used
	TypeVPCount             HeaderType = 0x307
	TypeSRAT                HeaderType = 0x308
	TypeMADT                HeaderType = 0x309
	TypeMMIORanges          HeaderType = 0x30A
	TypeSNPIDBlock          HeaderType = 0x30B
	TypeMemoryMap           HeaderType = 0x30C
	TypeErrorRange          HeaderType = 0x30D
	TypeCommandLine         HeaderType = 0x30E
	TypeSLIT                HeaderType = 0x30F
	TypePPTT                HeaderType = 0x310
	TypeVBSMeasurement      HeaderType = 0x311
	TypeDeviceTree          HeaderType = 0x312
	TypeEnvironmentInfo     HeaderType = 0x313
)

var typeNames = map[HeaderType]string{
	TypeInvalid:             "INVALID",
	TypeSupportedPlatform:   "SUPPORTED_PLATFORM",
	TypeGuestPolicy:         "GUEST_POLICY",
	TypeRelocatableRegion:   "RELOCATABLE_REGION",
	TypePageTableRelocation: "PAGE_TABLE_RELOCATION_REGION",
	TypeParameterArea:       "PARAMETER_AREA",
	TypePageData:            "PAGE_DATA",
	TypeParameterInsert:     "PARAMETER_INSERT",
	TypeVPContext:           "VP_CONTEXT",
	TypeRequiredMemory:      "REQUIRED_MEMORY",
	TypeReserved306:         "RESERVED_DO_NOT_USE",
	TypeVPCount:             "VP_COUNT_PARAMETER",
	TypeSRAT:                "SRAT",
	TypeMADT:                "MADT",
	TypeMMIORanges:          "MMIO_RANGES",
	TypeSNPIDBlock:          "SNP_ID_BLOCK",
	TypeMemoryMap:           "MEMORY_MAP",
	TypeErrorRange:          "ERROR_RANGE",
	TypeCommandLine:         "COMMAND_LINE",
	TypeSLIT:                "SLIT",
	TypePPTT:                "PPTT",
	TypeVBSMeasurement:      "VBS_MEASUREMENT",
	TypeDeviceTree:          "DEVICE_TREE",
	TypeEnvironmentInfo:     "ENVIRONMENT_INFO_PARAMETER",
}

// String returns the igvm_defs name without the IGVM_VHT_ prefix, or the
// number of a type igvm_defs 0.4.0 does not define ("type 0x399").
func (t HeaderType) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("type %#x", uint32(t))
}

// Known reports whether igvm_defs 0.4.0 defines the type (0x306 is defined
// but reserved: no file may use it).
func (t HeaderType) Known() bool {
	_, ok := typeNames[t]
	return ok && t != TypeInvalid && t != TypeReserved306
}

// IsParameter reports whether the type is a parameter usage: an
// IGVM_VHS_PARAMETER naming an area and a byte offset.
func (t HeaderType) IsParameter() bool {
	switch t {
	case TypeVPCount, TypeSRAT, TypeMADT, TypeMMIORanges, TypeMemoryMap, TypeCommandLine,
		TypeSLIT, TypePPTT, TypeDeviceTree, TypeEnvironmentInfo:
		return true
	}
	return false
}

// Section is the part of the variable headers a type belongs to.
type Section int

// Sections, in the order they must appear.
const (
	SectionNone Section = iota
	SectionPlatform
	SectionInitialization
	SectionDirective
)

// String returns the section's name.
func (s Section) String() string {
	return [...]string{"none", "platform", "initialization", "directive"}[s]
}

// Section returns the section of the type's range.
func (t HeaderType) Section() Section {
	switch {
	case t >= 0x1 && t <= maxPlatformHeaderType:
		return SectionPlatform
	case t >= firstInitializationType && t <= maxInitializationType:
		return SectionInitialization
	case t >= firstDirectiveType && t <= maxDirectiveType:
		return SectionDirective
	}
	return SectionNone
}

// PlatformType is the isolation platform of a SUPPORTED_PLATFORM header.
type PlatformType uint8

// Platform types.
const (
	PlatformNative PlatformType = 0x00
	PlatformVSM    PlatformType = 0x01
	PlatformSEVSNP PlatformType = 0x02
	PlatformTDX    PlatformType = 0x03
	PlatformSEV    PlatformType = 0x04
	PlatformSEVES  PlatformType = 0x05
)

// String returns the platform's igvm_defs name.
func (p PlatformType) String() string {
	switch p {
	case PlatformNative:
		return "NATIVE"
	case PlatformVSM:
		return "VSM_ISOLATION"
	case PlatformSEVSNP:
		return "SEV_SNP"
	case PlatformTDX:
		return "TDX"
	case PlatformSEV:
		return "SEV"
	case PlatformSEVES:
		return "SEV_ES"
	}
	return fmt.Sprintf("platform %#x", uint8(p))
}

// Known reports whether the platform type is defined.
func (p PlatformType) Known() bool { return p <= PlatformSEVES }

// PageDataType is the data type of a PAGE_DATA directive.
type PageDataType uint16

// Page data types.
const (
	DataNormal  PageDataType = 0
	DataSecrets PageDataType = 1
	DataCPUID   PageDataType = 2
	DataCPUIDXF PageDataType = 3
)

// String returns the data type's igvm_defs name.
func (t PageDataType) String() string {
	switch t {
	case DataNormal:
		return "NORMAL"
	case DataSecrets:
		return "SECRETS"
	case DataCPUID:
		return "CPUID_DATA"
	case DataCPUIDXF:
		return "CPUID_XF"
	}
	return fmt.Sprintf("data type %#x", uint16(t))
}

// PageDataFlags are the flags of a PAGE_DATA directive.
type PageDataFlags uint32

// Page data flags.
const (
	FlagLargePage  PageDataFlags = 1 << 0 // a 2 MiB page
	FlagUnmeasured PageDataFlags = 1 << 1
	FlagShared     PageDataFlags = 1 << 2

	// pageDataFlagsDefined are the bits igvm_defs defines; bits 3 to 31
	// are reserved.
	pageDataFlagsDefined = FlagLargePage | FlagUnmeasured | FlagShared
)

// Large reports the 2 MiB flag.
func (f PageDataFlags) Large() bool { return f&FlagLargePage != 0 }

// Unmeasured reports the unmeasured flag.
func (f PageDataFlags) Unmeasured() bool { return f&FlagUnmeasured != 0 }

// Shared reports the shared flag.
func (f PageDataFlags) Shared() bool { return f&FlagShared != 0 }

// String lists the flags, e.g. "2MB|UNMEASURED", or "0".
func (f PageDataFlags) String() string {
	s := ""
	for _, b := range []struct {
		f    PageDataFlags
		name string
	}{{FlagLargePage, "2MB"}, {FlagUnmeasured, "UNMEASURED"}, {FlagShared, "SHARED"}} {
		if f&b.f != 0 {
			if s != "" {
				s += "|"
			}
			s += b.name
		}
	}
	if rest := f &^ pageDataFlagsDefined; rest != 0 {
		if s != "" {
			s += "|"
		}
		s += fmt.Sprintf("%#x", uint32(rest))
	}
	if s == "" {
		return "0"
	}
	return s
}
