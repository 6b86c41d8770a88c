package report

import (
	"encoding/binary"
	"fmt"
)

// The layout of ATTESTATION_REPORT follows the SEV Secure Nested Paging
// Firmware ABI Specification (AMD publication 56860), table
// "ATTESTATION_REPORT Structure" (revision 1.58 for version 5). Offsets are
// in bytes from the start of the report; multi-byte fields are
// little-endian.
//
// Versions differ only in what some reserved bytes hold:
//   - VERSION 2: 0x188-0x19F and 0x1F8-0x29F are reserved.
//   - VERSION 3 (firmware 1.55) adds CPUID_FAM_ID, CPUID_MOD_ID and
//     CPUID_STEP at 0x188-0x18A.
//   - VERSION 4 (firmware 1.55.31) has the version 3 layout.
//   - VERSION 5 (revision 1.58) adds LAUNCH_MIT_VECTOR at 0x1F8 and
//     CURRENT_MIT_VECTOR at 0x200.
const (
	// Size is the size of ATTESTATION_REPORT.
	Size = 0x4A0
	// SignedSize is the size of the signed part, bytes 0x000-0x29F.
	SignedSize = 0x2A0

	OffVersion         = 0x000 // VERSION, uint32
	OffGuestSVN        = 0x004 // GUEST_SVN, uint32
	OffPolicy          = 0x008 // POLICY, uint64 (see Policy)
	OffFamilyID        = 0x010 // FAMILY_ID, 16 bytes
	OffImageID         = 0x020 // IMAGE_ID, 16 bytes
	OffVMPL            = 0x030 // VMPL, uint32
	OffSignatureAlgo   = 0x034 // SIGNATURE_ALGO, uint32
	OffCurrentTCB      = 0x038 // CURRENT_TCB, TCB_VERSION
	OffPlatformInfo    = 0x040 // PLATFORM_INFO, uint64 (see PlatformInfo)
	OffSignerInfo      = 0x048 // AUTHOR_KEY_EN, MASK_CHIP_KEY, SIGNING_KEY: uint32 (see SignerInfo)
	OffReserved0       = 0x04C // reserved, 4 bytes
	OffReportData      = 0x050 // REPORT_DATA, 64 bytes
	OffMeasurement     = 0x090 // MEASUREMENT, 48 bytes
	OffHostData        = 0x0C0 // HOST_DATA, 32 bytes
	OffIDKeyDigest     = 0x0E0 // ID_KEY_DIGEST, 48 bytes
	OffAuthorKeyDigest = 0x110 // AUTHOR_KEY_DIGEST, 48 bytes
	OffReportID        = 0x140 // REPORT_ID, 32 bytes
	OffReportIDMA      = 0x160 // REPORT_ID_MA, 32 bytes
	OffReportedTCB     = 0x180 // REPORTED_TCB, TCB_VERSION
	OffCPUIDFamily     = 0x188 // CPUID_FAM_ID, 1 byte (version 3+; reserved in version 2)
	OffCPUIDModel      = 0x189 // CPUID_MOD_ID, 1 byte (version 3+)
	OffCPUIDStepping   = 0x18A // CPUID_STEP, 1 byte (version 3+)
	OffChipID          = 0x1A0 // CHIP_ID, 64 bytes
	OffCommittedTCB    = 0x1E0 // COMMITTED_TCB, TCB_VERSION
	OffCurrentBuild    = 0x1E8 // CURRENT_BUILD, 1 byte
	OffCurrentMinor    = 0x1E9 // CURRENT_MINOR, 1 byte
	OffCurrentMajor    = 0x1EA // CURRENT_MAJOR, 1 byte (0x1EB reserved)
	OffCommittedBuild  = 0x1EC // COMMITTED_BUILD, 1 byte
	OffCommittedMinor  = 0x1ED // COMMITTED_MINOR, 1 byte
	OffCommittedMajor  = 0x1EE // COMMITTED_MAJOR, 1 byte (0x1EF reserved)
	OffLaunchTCB       = 0x1F0 // LAUNCH_TCB, TCB_VERSION
	OffLaunchMitVector = 0x1F8 // LAUNCH_MIT_VECTOR, uint64 (version 5+; reserved before)
	OffCurrentMitVec   = 0x200 // CURRENT_MIT_VECTOR, uint64 (version 5+; reserved before)
	OffSignature       = 0x2A0 // SIGNATURE, 512 bytes (see below)

	// The ECDSA P-384 signature (SIGNATURE_ALGO 1; table "ECDSA P-384
	// with SHA-384 Signature"): R and S, each a 72-byte little-endian
	// integer, then reserved bytes up to the end of the report.
	OffSignatureR        = OffSignature
	OffSignatureS        = OffSignature + SignatureComponentSize
	OffSignatureReserved = OffSignature + 2*SignatureComponentSize

	SignatureComponentSize = 72

	FamilyIDSize        = 16
	ImageIDSize         = 16
	ReportDataSize      = 64
	MeasurementSize     = 48
	HostDataSize        = 32
	IDKeyDigestSize     = 48
	AuthorKeyDigestSize = 48
	ReportIDSize        = 32
	ReportIDMASize      = 32
	ChipIDSize          = 64
)

// Report versions this package reads.
const (
	MinVersion = 2
	MaxVersion = 5
)

// SignatureAlgoECDSAP384SHA384 is SIGNATURE_ALGO 1, the only algorithm the
// ABI defines.
const SignatureAlgoECDSAP384SHA384 = 1

// FirmwareVersion is a firmware version as the report gives it:
// CURRENT_MAJOR.CURRENT_MINOR and CURRENT_BUILD (or the COMMITTED ones).
type FirmwareVersion struct {
	Major, Minor, Build uint8
}

// String formats the version as "1.55 build 21".
func (v FirmwareVersion) String() string {
	return fmt.Sprintf("%d.%d build %d", v.Major, v.Minor, v.Build)
}

// API returns the firmware API version major.minor as one number to compare.
func (v FirmwareVersion) API() uint16 { return uint16(v.Major)<<8 | uint16(v.Minor) }

// CPUID is the CPU the report was made on (VERSION 3 and later).
type CPUID struct {
	// Family is the combined extended family and family (19h for Milan and
	// Genoa, 1Ah for Turin).
	Family uint8
	// Model is the combined extended model and model.
	Model    uint8
	Stepping uint8
}

// String formats the CPUID as "family 19h model 01h stepping 1".
func (c CPUID) String() string {
	return fmt.Sprintf("family %02Xh model %02Xh stepping %d", c.Family, c.Model, c.Stepping)
}

// Report is a parsed SEV-SNP attestation report. Field names follow the
// ABI; the TCB fields are raw TCB_VERSION values, decoded per product line
// with TCB.Parts.
type Report struct {
	// Raw is the Size-byte report as signed.
	Raw []byte

	Version         uint32
	GuestSVN        uint32
	Policy          Policy
	FamilyID        [FamilyIDSize]byte
	ImageID         [ImageIDSize]byte
	VMPL            uint32
	SignatureAlgo   uint32
	CurrentTCB      TCB
	PlatformInfo    PlatformInfo
	SignerInfo      SignerInfo
	ReportData      [ReportDataSize]byte
	Measurement     [MeasurementSize]byte
	HostData        [HostDataSize]byte
	IDKeyDigest     [IDKeyDigestSize]byte
	AuthorKeyDigest [AuthorKeyDigestSize]byte
	ReportID        [ReportIDSize]byte
	ReportIDMA      [ReportIDMASize]byte
	ReportedTCB     TCB
	// CPUID is nil for VERSION 2 reports, which do not have it.
	CPUID            *CPUID
	ChipID           [ChipIDSize]byte
	CommittedTCB     TCB
	CurrentVersion   FirmwareVersion
	CommittedVersion FirmwareVersion
	LaunchTCB        TCB
	// LaunchMitVector and CurrentMitVector are nil before VERSION 5.
	LaunchMitVector  *uint64
	CurrentMitVector *uint64
	// SignatureR and SignatureS are the ECDSA signature, little-endian.
	SignatureR, SignatureS [SignatureComponentSize]byte

	// Certs is the certificate table that followed the report, if any (an
	// extended report, as SNP_GET_EXT_REPORT or configfs-tsm's auxblob
	// give it).
	Certs []CertEntry
	// Format is the encoding the report was read from.
	Format Format
	// Container names the structure the report was found in ("" for a bare
	// report, "MSG_REPORT_RSP" or "Azure HCL report").
	Container string
}

// ParseError is input that is not an attestation report.
type ParseError struct {
	// Offset is the byte offset of the problem in the decoded input, or -1.
	Offset int
	Err    error
}

func (e *ParseError) Error() string {
	if e.Offset < 0 {
		return e.Err.Error()
	}
	return fmt.Sprintf("offset %#x: %v", e.Offset, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// TooShortError is input shorter than an attestation report.
type TooShortError struct{ Len int }

func (e *TooShortError) Error() string {
	return fmt.Sprintf("%d bytes, want at least %d", e.Len, Size)
}

// Parse parses a binary report, optionally followed by the certificate
// table of an extended report. It accepts a report wrapped in the
// MSG_REPORT_RSP of the guest request (status 0, REPORT_SIZE 0x4A0) or in an
// Azure vTPM HCL report ("HCLA" header), and then ignores what follows.
//
// Parse reads the fields; it does not judge them (reserved bytes, policy
// bits and the like are checked by Validate). Only a VERSION outside
// MinVersion-MaxVersion is refused: its fields could lie elsewhere.
func Parse(data []byte) (*Report, error) {
	base, container, err := findReport(data)
	if err != nil {
		return nil, err
	}
	r, err := parseReport(data[base:base+Size], base)
	if err != nil {
		return nil, err
	}
	r.Container = container
	if container == "" && len(data) > Size {
		certs, err := parseCertTable(data[Size:], Size)
		if err != nil {
			return nil, err
		}
		r.Certs = certs
	}
	return r, nil
}

// Headers of the structures a report can come in.
const (
	msgReportRspHeader = 0x20 // MSG_REPORT_RSP: STATUS, REPORT_SIZE, reserved
	hclHeader          = 0x20 // Azure HCL report: "HCLA", version, size, type, status, reserved
)

// findReport returns where the report starts in data.
func findReport(data []byte) (int, string, error) {
	if len(data) < 8 {
		return 0, "", &ParseError{Offset: -1, Err: &TooShortError{Len: len(data)}}
	}
	switch {
	case string(data[:4]) == "HCLA":
		if len(data) < hclHeader+Size {
			return 0, "", &ParseError{Offset: -1, Err: fmt.Errorf("Azure HCL report of %d bytes, want at least %d", len(data), hclHeader+Size)}
		}
		return hclHeader, "Azure HCL report", nil
	case binary.LittleEndian.Uint32(data) == 0 && binary.LittleEndian.Uint32(data[4:]) == Size && len(data) >= msgReportRspHeader+Size &&
		allZero(data[8:msgReportRspHeader]):
		// VERSION 0 is no report; STATUS 0 with REPORT_SIZE 0x4A0 is the
		// response of SNP_GUEST_REQUEST (table "MSG_REPORT_RSP").
		return msgReportRspHeader, "MSG_REPORT_RSP", nil
	}
	if len(data) < Size {
		return 0, "", &ParseError{Offset: -1, Err: &TooShortError{Len: len(data)}}
	}
	return 0, "", nil
}

// parseReport parses the Size bytes of a report found at base.
func parseReport(b []byte, base int) (*Report, error) {
	le := binary.LittleEndian
	r := &Report{Raw: make([]byte, Size), Format: FormatBinary}
	copy(r.Raw, b)
	b = r.Raw
	r.Version = le.Uint32(b[OffVersion:])
	if r.Version < MinVersion || r.Version > MaxVersion {
		return nil, &ParseError{Offset: base + OffVersion, Err: fmt.Errorf("not a supported SEV-SNP attestation report: VERSION %d, want %d to %d",
			r.Version, MinVersion, MaxVersion)}
	}
	r.GuestSVN = le.Uint32(b[OffGuestSVN:])
	r.Policy = Policy(le.Uint64(b[OffPolicy:]))
	copy(r.FamilyID[:], b[OffFamilyID:])
	copy(r.ImageID[:], b[OffImageID:])
	r.VMPL = le.Uint32(b[OffVMPL:])
	r.SignatureAlgo = le.Uint32(b[OffSignatureAlgo:])
	r.CurrentTCB = TCB(le.Uint64(b[OffCurrentTCB:]))
	r.PlatformInfo = PlatformInfo(le.Uint64(b[OffPlatformInfo:]))
	r.SignerInfo = SignerInfo(le.Uint32(b[OffSignerInfo:]))
	copy(r.ReportData[:], b[OffReportData:])
	copy(r.Measurement[:], b[OffMeasurement:])
	copy(r.HostData[:], b[OffHostData:])
	copy(r.IDKeyDigest[:], b[OffIDKeyDigest:])
	copy(r.AuthorKeyDigest[:], b[OffAuthorKeyDigest:])
	copy(r.ReportID[:], b[OffReportID:])
	copy(r.ReportIDMA[:], b[OffReportIDMA:])
	r.ReportedTCB = TCB(le.Uint64(b[OffReportedTCB:]))
	if r.Version >= 3 {
		r.CPUID = &CPUID{Family: b[OffCPUIDFamily], Model: b[OffCPUIDModel], Stepping: b[OffCPUIDStepping]}
	}
	copy(r.ChipID[:], b[OffChipID:])
	r.CommittedTCB = TCB(le.Uint64(b[OffCommittedTCB:]))
	r.CurrentVersion = FirmwareVersion{Major: b[OffCurrentMajor], Minor: b[OffCurrentMinor], Build: b[OffCurrentBuild]}
	r.CommittedVersion = FirmwareVersion{Major: b[OffCommittedMajor], Minor: b[OffCommittedMinor], Build: b[OffCommittedBuild]}
	r.LaunchTCB = TCB(le.Uint64(b[OffLaunchTCB:]))
	if r.Version >= 5 {
		l, c := le.Uint64(b[OffLaunchMitVector:]), le.Uint64(b[OffCurrentMitVec:])
		r.LaunchMitVector, r.CurrentMitVector = &l, &c
	}
	copy(r.SignatureR[:], b[OffSignatureR:])
	copy(r.SignatureS[:], b[OffSignatureS:])
	return r, nil
}

// ByteRange is a half-open range [Lo, Hi) of report bytes.
type ByteRange struct{ Lo, Hi int }

// reservedRanges returns the byte ranges the report's version reserves
// (must be zero). The reserved bytes after R and S in SIGNATURE belong to
// the ECDSA P-384 signature format.
func reservedRanges(version uint32) []ByteRange {
	rs := []ByteRange{{OffReserved0, OffReportData}}
	if version >= 3 {
		rs = append(rs, ByteRange{OffCPUIDStepping + 1, OffChipID})
	} else {
		rs = append(rs, ByteRange{OffCPUIDFamily, OffChipID})
	}
	rs = append(rs, ByteRange{OffCurrentMajor + 1, OffCommittedBuild}, ByteRange{OffCommittedMajor + 1, OffLaunchTCB})
	if version >= 5 {
		rs = append(rs, ByteRange{OffCurrentMitVec + 8, OffSignature})
	} else {
		rs = append(rs, ByteRange{OffLaunchMitVector, OffSignature})
	}
	return append(rs, ByteRange{OffSignatureReserved, Size})
}

// NonZeroReserved returns the reserved byte ranges of the report's version
// that are not all zero.
func (r *Report) NonZeroReserved() []ByteRange {
	var out []ByteRange
	for _, rg := range reservedRanges(r.Version) {
		if !allZero(r.Raw[rg.Lo:rg.Hi]) {
			out = append(out, rg)
		}
	}
	return out
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// SignedBytes returns the part of the report the signature covers.
func (r *Report) SignedBytes() []byte { return r.Raw[:SignedSize] }
