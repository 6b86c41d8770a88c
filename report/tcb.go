package report

import (
	"fmt"
	"strconv"
	"strings"
)

// Product is an AMD EPYC product line with SEV-SNP.
type Product int

// Product lines. ProductUnknown is the zero value: not determined.
const (
	ProductUnknown Product = iota
	Milan
	Genoa
	Turin
)

// Products returns the product lines with built-in AMD roots.
func Products() []Product { return []Product{Milan, Genoa, Turin} }

func (p Product) String() string {
	switch p {
	case Milan:
		return "Milan"
	case Genoa:
		return "Genoa"
	case Turin:
		return "Turin"
	}
	return "unknown product line"
}

// ParseProduct parses a product line name, as AMD's KDS spells it in any
// case ("milan", "Genoa"), optionally with a stepping ("Milan-B0").
func ParseProduct(s string) (Product, error) {
	name, _, _ := strings.Cut(strings.TrimSpace(s), "-")
	for _, p := range Products() {
		if strings.EqualFold(name, p.String()) {
			return p, nil
		}
	}
	return ProductUnknown, fmt.Errorf("unknown product line %q (want Milan, Genoa or Turin)", s)
}

// ProductFromCPUID maps the CPUID family and model of a VERSION 3+ report to
// its product line: family 19h models 00h-0Fh are Milan, 10h-1Fh and
// A0h-AFh Genoa (A0h-AFh are the Zen 4c parts, Bergamo and Siena, which AMD's
// KDS serves as Genoa), family 1Ah models 00h-1Fh Turin (Zen 5 and Zen 5c).
func ProductFromCPUID(c CPUID) (Product, error) {
	switch {
	case c.Family == 0x19 && c.Model <= 0x0F:
		return Milan, nil
	case c.Family == 0x19 && (c.Model >= 0x10 && c.Model <= 0x1F || c.Model >= 0xA0 && c.Model <= 0xAF):
		return Genoa, nil
	case c.Family == 0x1A && c.Model <= 0x1F:
		return Turin, nil
	}
	return ProductUnknown, fmt.Errorf("CPUID %s is not a product line with SEV-SNP roots built in (Milan, Genoa, Turin)", c)
}

// TCB is a TCB_VERSION (ABI table "TCB_VERSION Structure"): eight SVNs of
// the firmware components, whose byte positions depend on the product line.
// It is written as its 64-bit little-endian value, as go-sev-guest and AMD's
// tools print it (0xdb18000000000004: microcode 0xdb in the top byte).
type TCB uint64

// TCBParts are the components of a TCB_VERSION.
type TCBParts struct {
	FMC        uint8 // Turin and later: AMD-SP first mutable code
	BootLoader uint8
	TEE        uint8
	SNP        uint8
	Microcode  uint8
}

// tcbComponent is a component's name and byte of TCB_VERSION.
type tcbComponent struct {
	key  string
	byte int
	get  func(*TCBParts) *uint8
}

var (
	fmcPart   = func(p *TCBParts) *uint8 { return &p.FMC }
	blPart    = func(p *TCBParts) *uint8 { return &p.BootLoader }
	teePart   = func(p *TCBParts) *uint8 { return &p.TEE }
	snpPart   = func(p *TCBParts) *uint8 { return &p.SNP }
	ucodePart = func(p *TCBParts) *uint8 { return &p.Microcode }

	// Milan and Genoa: BOOT_LOADER byte 0, TEE byte 1, bytes 2-5 reserved,
	// SNP byte 6, MICROCODE byte 7.
	layoutMilanGenoa = []tcbComponent{{"bl", 0, blPart}, {"tee", 1, teePart}, {"snp", 6, snpPart}, {"ucode", 7, ucodePart}}
	// Turin: FMC byte 0, BOOT_LOADER byte 1, TEE byte 2, SNP byte 3, bytes
	// 4-6 reserved, MICROCODE byte 7.
	layoutTurin = []tcbComponent{{"fmc", 0, fmcPart}, {"bl", 1, blPart}, {"tee", 2, teePart}, {"snp", 3, snpPart}, {"ucode", 7, ucodePart}}
)

// tcbLayout returns the components of the product's TCB_VERSION, or nil for
// an unknown product.
func tcbLayout(p Product) []tcbComponent {
	switch p {
	case Milan, Genoa:
		return layoutMilanGenoa
	case Turin:
		return layoutTurin
	}
	return nil
}

// Parts decodes the TCB with the product line's layout.
func (t TCB) Parts(p Product) TCBParts {
	var out TCBParts
	for _, c := range tcbLayout(p) {
		*c.get(&out) = uint8(uint64(t) >> (8 * c.byte))
	}
	return out
}

// ComposeTCB encodes components with the product line's layout.
func ComposeTCB(p Product, parts TCBParts) TCB {
	var t uint64
	for _, c := range tcbLayout(p) {
		t |= uint64(*c.get(&parts)) << (8 * c.byte)
	}
	return TCB(t)
}

// Format formats components with the product's names: "bl=3 tee=0
// snp=8 ucode=115" (Turin: "fmc=0 bl=1 ...").
func (parts TCBParts) Format(p Product) string {
	var s []string
	for _, c := range tcbLayout(p) {
		s = append(s, fmt.Sprintf("%s=%d", c.key, *c.get(&parts)))
	}
	return strings.Join(s, " ")
}

// Format prints the TCB as hex with its components for the product:
// "0x7308000000000003 (bl=3 tee=0 snp=8 ucode=115)".
func (t TCB) Format(p Product) string {
	if tcbLayout(p) == nil {
		return fmt.Sprintf("%#016x", uint64(t))
	}
	s := fmt.Sprintf("%#016x (%s", uint64(t), t.Parts(p).Format(p))
	if r := t.reserved(p); r != 0 {
		s += fmt.Sprintf(", reserved bytes %#x", r)
	}
	return s + ")"
}

// reserved returns the TCB with its components cleared.
func (t TCB) reserved(p Product) uint64 {
	return uint64(t) &^ uint64(ComposeTCB(p, TCBParts{0xff, 0xff, 0xff, 0xff, 0xff}))
}

// AtLeast reports whether every component of the product's layout is at
// least that of min, and names those that are lower.
func (parts TCBParts) AtLeast(min TCBParts, p Product) (bool, []string) {
	var low []string
	for _, c := range tcbLayout(p) {
		if *c.get(&parts) < *c.get(&min) {
			low = append(low, c.key)
		}
	}
	return len(low) == 0, low
}

// TCBMinimum is a lowest acceptable TCB as given on a command line, before
// the product line is known: a raw TCB_VERSION or named components.
type TCBMinimum struct {
	raw    *TCB
	fields map[string]uint8
	text   string
}

// tcbKeys maps the accepted component names to the canonical ones.
var tcbKeys = map[string]string{
	"fmc": "fmc", "bl": "bl", "bootloader": "bl", "boot-loader": "bl", "tee": "tee", "snp": "snp",
	"ucode": "ucode", "microcode": "ucode",
}

// ParseTCBMinimum parses a minimum TCB: a 64-bit TCB_VERSION (0x-hex or
// decimal), read with the report's product layout, or components
// "bl=3,tee=0,snp=8,ucode=115" (Milan, Genoa) or "fmc=0,bl=1,tee=0,snp=2,ucode=71"
// (Turin); components not given are 0.
func ParseTCBMinimum(s string) (*TCBMinimum, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("empty TCB")
	}
	m := &TCBMinimum{text: s}
	if !strings.Contains(s, "=") {
		v, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			return nil, fmt.Errorf("TCB %q: want a 64-bit number or components such as bl=3,tee=0,snp=8,ucode=115", s)
		}
		t := TCB(v)
		m.raw = &t
		return m, nil
	}
	m.fields = map[string]uint8{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		key, known := tcbKeys[strings.ToLower(strings.TrimSpace(k))]
		if !ok || !known {
			return nil, fmt.Errorf("TCB component %q: want fmc=N, bl=N, tee=N, snp=N or ucode=N", kv)
		}
		if _, dup := m.fields[key]; dup {
			return nil, fmt.Errorf("TCB component %q given twice", key)
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 0, 8)
		if err != nil {
			return nil, fmt.Errorf("TCB component %q: want a number 0-255", kv)
		}
		m.fields[key] = uint8(n)
	}
	return m, nil
}

// String returns the minimum as it was given.
func (m *TCBMinimum) String() string { return m.text }

// Resolve returns the components for the product line. Components that
// the product does not have (fmc on Milan) are an error.
func (m *TCBMinimum) Resolve(p Product) (TCBParts, error) {
	layout := tcbLayout(p)
	if layout == nil {
		return TCBParts{}, fmt.Errorf("the product line is not known, so the TCB components cannot be told apart")
	}
	if m.raw != nil {
		if r := m.raw.reserved(p); r != 0 {
			return TCBParts{}, fmt.Errorf("%#016x sets reserved bytes of the %s TCB_VERSION (%#x)", uint64(*m.raw), p, r)
		}
		return m.raw.Parts(p), nil
	}
	var parts TCBParts
	for key, v := range m.fields {
		found := false
		for _, c := range layout {
			if c.key == key {
				*c.get(&parts) = v
				found = true
			}
		}
		if !found {
			return TCBParts{}, fmt.Errorf("%s has no %s component in its TCB (it has %s)", p, key, layoutKeys(layout))
		}
	}
	return parts, nil
}

func layoutKeys(layout []tcbComponent) string {
	k := make([]string, len(layout))
	for i, c := range layout {
		k[i] = c.key
	}
	return strings.Join(k, ", ")
}

// reservedTCBs describes the TCB_VERSION fields of the report that set
// bytes the product's layout reserves; nil when the product is not known.
func (r *Report) reservedTCBs(p Product) []string {
	if tcbLayout(p) == nil {
		return nil
	}
	var out []string
	for _, f := range []struct {
		name string
		tcb  TCB
	}{{"CURRENT_TCB", r.CurrentTCB}, {"REPORTED_TCB", r.ReportedTCB}, {"COMMITTED_TCB", r.CommittedTCB}, {"LAUNCH_TCB", r.LaunchTCB}} {
		if v := f.tcb.reserved(p); v != 0 {
			out = append(out, fmt.Sprintf("%s %#016x sets reserved bytes of the %s TCB_VERSION (%#x)", f.name, uint64(f.tcb), p, v))
		}
	}
	return out
}
