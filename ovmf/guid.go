package ovmf

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// GUIDSize is the size of a GUID in its on-disk encoding.
const GUIDSize = 16

// GUID is a GUID in the EFI mixed-endian byte order used on disk: the first
// three fields little-endian, the last eight bytes as written.
type GUID [GUIDSize]byte

// MustParseGUID parses the canonical text form (8-4-4-4-12 hex digits) and
// panics on malformed input; it is meant for package-level constants.
func MustParseGUID(s string) GUID {
	g, err := ParseGUID(s)
	if err != nil {
		panic(err)
	}
	return g
}

// ParseGUID parses the canonical text form of a GUID into its on-disk bytes.
func ParseGUID(s string) (GUID, error) {
	var g GUID
	parts := strings.Split(s, "-")
	if len(parts) != 5 || len(parts[0]) != 8 || len(parts[1]) != 4 || len(parts[2]) != 4 ||
		len(parts[3]) != 4 || len(parts[4]) != 12 {
		return g, fmt.Errorf("malformed GUID %q", s)
	}
	raw, err := hex.DecodeString(strings.Join(parts, ""))
	if err != nil {
		return g, fmt.Errorf("malformed GUID %q: %w", s, err)
	}
	// Data1 (u32), Data2 (u16), Data3 (u16) are stored little-endian.
	g[0], g[1], g[2], g[3] = raw[3], raw[2], raw[1], raw[0]
	g[4], g[5] = raw[5], raw[4]
	g[6], g[7] = raw[7], raw[6]
	copy(g[8:], raw[8:])
	return g, nil
}

// String returns the canonical lower-case text form.
func (g GUID) String() string {
	return fmt.Sprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%x-%x",
		g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8:10], g[10:])
}

// GUIDs of the OVMF footer table and of the entries snpmeasure reads.
var (
	// FooterGUID marks the GUIDed footer table at the end of an OVMF image.
	FooterGUID = MustParseGUID("96b582de-1fb2-45f7-baea-a366c55a082d")
	// SEVESResetBlockGUID holds the AP reset vector (u32 EIP) for SEV-ES and SNP.
	SEVESResetBlockGUID = MustParseGUID("00f771de-1a7e-4fcb-890e-68c77e2fb44e")
	// SEVHashTableGUID holds the GPA (u32) and size (u32) of the kernel hashes table.
	SEVHashTableGUID = MustParseGUID("7255371f-3a3b-4b04-927b-1da6efa8d454")
	// SEVMetadataGUID holds the offset (u32, from the end of the image) of the SEV metadata.
	SEVMetadataGUID = MustParseGUID("dc886566-984a-4798-a75e-5585a7bf67cc")
	// SEVSecretGUID holds the GPA and size of the SEV launch secret area.
	SEVSecretGUID = MustParseGUID("4c2eb361-7d9b-4cc3-8081-127c90d3d294")
	// SVSMInfoGUID holds the SVSM entry point offset (u32) from the SVSM load address.
	SVSMInfoGUID = MustParseGUID("a789a612-0597-4c4b-a49f-cbb1fe9d1ddd")
	// TDXMetadataGUID holds the offset of the TDX metadata (not used for SEV).
	TDXMetadataGUID = MustParseGUID("e47a6535-984a-4798-865e-4685a7bf8ec2")
	// IGVMParamsGUID marks the IGVM parameter list of newer edk2 images (not used).
	IGVMParamsGUID = MustParseGUID("784fa70e-3176-4677-8a20-04b68699e374")
)

var guidNames = map[GUID]string{
	FooterGUID:          "footer",
	SEVESResetBlockGUID: "SEV-ES reset block",
	SEVHashTableGUID:    "SEV hash table",
	SEVMetadataGUID:     "SEV metadata",
	SEVSecretGUID:       "SEV secret area",
	SVSMInfoGUID:        "SVSM info",
	TDXMetadataGUID:     "TDX metadata",
	IGVMParamsGUID:      "IGVM parameters",
}

// Name returns a human name for the GUIDs this package knows, or "".
func (g GUID) Name() string { return guidNames[g] }
