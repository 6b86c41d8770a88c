package vmsa

import (
	"fmt"
	"strings"
)

// CPUType is a QEMU -cpu model name with the family, model and stepping it reports.
type CPUType struct {
	Name     string
	Family   int
	Model    int
	Stepping int
}

// Signature returns the CPUID Fn0000_0001_EAX value of the type.
func (c CPUType) Signature() uint64 { return Signature(c.Family, c.Model, c.Stepping) }

// CPUTypes is the vCPU type table, in QEMU's order.
var CPUTypes = []CPUType{
	{"EPYC", 23, 1, 2},
	{"EPYC-v1", 23, 1, 2},
	{"EPYC-v2", 23, 1, 2},
	{"EPYC-IBPB", 23, 1, 2},
	{"EPYC-v3", 23, 1, 2},
	{"EPYC-v4", 23, 1, 2},
	{"EPYC-Rome", 23, 49, 0},
	{"EPYC-Rome-v1", 23, 49, 0},
	{"EPYC-Rome-v2", 23, 49, 0},
	{"EPYC-Rome-v3", 23, 49, 0},
	{"EPYC-Milan", 25, 1, 1},
	{"EPYC-Milan-v1", 25, 1, 1},
	{"EPYC-Milan-v2", 25, 1, 1},
	{"EPYC-Genoa", 25, 17, 0},
	{"EPYC-Genoa-v1", 25, 17, 0},
	{"EPYC-Turin", 26, 0, 0},
}

// LookupCPUType finds a vCPU type by its exact (case-sensitive) name: one
// of CPUTypes, or a later QEMU version of one of them (EPYC-v5,
// EPYC-Rome-v4 and -v5, EPYC-Milan-v3 and -v4, EPYC-Genoa-v2 and -v3,
// EPYC-Turin-v1 and -v2), which has its base model's signature and keeps
// its own name.
func LookupCPUType(name string) (CPUType, error) {
	base := name
	if b, ok := qemuVersionedModels[name]; ok {
		base = b
	}
	for _, c := range CPUTypes {
		if c.Name == base {
			c.Name = name
			return c, nil
		}
	}
	names := make([]string, len(CPUTypes))
	for i, c := range CPUTypes {
		names[i] = c.Name
	}
	return CPUType{}, fmt.Errorf("unknown vCPU type %q (want one of %s)", name, strings.Join(names, ", "))
}

// qemuVersionedModels are the later versions of QEMU's EPYC models (QEMU
// 8.1 to 11.1) that sev-snp-measure does not name, with the model each is a
// version of. A version changes CPUID feature bits, never family, model or
// stepping, so it measures as its base model; LookupCPUType accepts them.
var qemuVersionedModels = map[string]string{
	"EPYC-v5": "EPYC", "EPYC-Rome-v4": "EPYC-Rome", "EPYC-Rome-v5": "EPYC-Rome",
	"EPYC-Milan-v3": "EPYC-Milan", "EPYC-Milan-v4": "EPYC-Milan",
	"EPYC-Genoa-v2": "EPYC-Genoa", "EPYC-Genoa-v3": "EPYC-Genoa",
	"EPYC-Turin-v1": "EPYC-Turin", "EPYC-Turin-v2": "EPYC-Turin",
}

// Signature computes the CPUID Fn0000_0001_EAX layout from family, model and
// stepping: families above 0xf use the extended family field.
func Signature(family, model, stepping int) uint64 {
	famLow, famHigh := family, 0
	if family > 0xf {
		famLow, famHigh = 0xf, (family-0xf)&0xff
	}
	return uint64(famHigh)<<20 | uint64((model>>4)&0xf)<<16 | uint64(famLow)<<8 |
		uint64(model&0xf)<<4 | uint64(stepping&0xf)
}

// DecodeSignature splits a CPUID Fn0000_0001_EAX value into display family,
// model and stepping.
func DecodeSignature(sig uint64) (family, model, stepping int) {
	base := int(sig>>8) & 0xf
	family = base
	if base == 0xf {
		family += int(sig>>20) & 0xff
	}
	model = int(sig>>4) & 0xf
	if base == 0xf || base == 0x6 {
		model |= int(sig>>16) & 0xf << 4
	}
	return family, model, int(sig) & 0xf
}

// Product is an AMD EPYC generation that runs SEV-SNP guests.
type Product int

// Products, oldest first. Unknown covers signatures this table does not know.
const (
	Unknown Product = iota
	Naples
	Rome
	Milan
	Genoa
	Turin
)

// String returns AMD's product name.
func (p Product) String() string {
	return [...]string{"unknown", "Naples", "Rome", "Milan", "Genoa", "Turin"}[p]
}

// ProductOf classifies a vCPU signature: family 17h is Naples or Rome, 19h
// models 00h-0Fh Milan and 10h-1Fh or A0h-AFh Genoa (Zen 4), 1Ah Turin.
func ProductOf(sig uint64) Product {
	fam, model, _ := DecodeSignature(sig)
	switch {
	case fam == 0x17 && model < 0x30:
		return Naples
	case fam == 0x17:
		return Rome
	case fam == 0x19 && model < 0x10:
		return Milan
	case fam == 0x19 && (model < 0x20 || (model >= 0xa0 && model < 0xb0)):
		return Genoa
	case fam == 0x1a:
		return Turin
	}
	return Unknown
}
