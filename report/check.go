package report

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/go-sev-guest/abi"
	"github.com/google/go-sev-guest/kds"
)

// Expectations are the report fields to check. Nil fields are not checked.
type Expectations struct {
	Measurement     []byte  // MEASUREMENT, 48 bytes
	HostData        []byte  // HOST_DATA, 32 bytes
	ReportData      []byte  // REPORT_DATA, 64 bytes
	FamilyID        []byte  // FAMILY_ID, 16 bytes
	ImageID         []byte  // IMAGE_ID, 16 bytes
	IDKeyDigest     []byte  // ID_KEY_DIGEST, 48 bytes
	AuthorKeyDigest []byte  // AUTHOR_KEY_DIGEST, 48 bytes
	Policy          *uint64 // POLICY, compared exactly
	VMPL            *uint32 // VMPL
	// MinTCB is the lowest acceptable REPORTED_TCB: every component
	// (boot loader, TEE, SNP, microcode SPL) must be at least as high.
	MinTCB *uint64
}

// Field sizes of the byte fields.
var fieldSizes = map[string]int{
	"measurement":       abi.MeasurementSize,
	"host-data":         abi.HostDataSize,
	"report-data":       abi.ReportDataSize,
	"family-id":         abi.FamilyIDSize,
	"image-id":          abi.ImageIDSize,
	"id-key-digest":     abi.IDKeyDigestSize,
	"author-key-digest": abi.AuthorKeyDigestSize,
}

// FieldSize returns the size in bytes of a byte field named as in Check.Name
// ("measurement", "host-data", ...), or 0.
func FieldSize(name string) int { return fieldSizes[name] }

// Check is one checked item: a report field, the signature or the chain.
type Check struct {
	Name     string `json:"name"`
	Expected string `json:"expected"`
	Actual   string `json:"actual"`
	OK       bool   `json:"ok"`
}

// Empty reports whether nothing is expected.
func (e *Expectations) Empty() bool {
	return e.Measurement == nil && e.HostData == nil && e.ReportData == nil && e.FamilyID == nil &&
		e.ImageID == nil && e.IDKeyDigest == nil && e.AuthorKeyDigest == nil && e.Policy == nil &&
		e.VMPL == nil && e.MinTCB == nil
}

// CheckFields compares the report with e, one Check per expected field, in
// the order of the report layout (measurement first).
func (r *Report) CheckFields(e *Expectations) []Check {
	p := r.Proto
	var out []Check
	bytesCheck := func(name string, want, got []byte) {
		if want != nil {
			out = append(out, Check{Name: name, Expected: hexString(want), Actual: hexString(got), OK: bytes.Equal(want, got)})
		}
	}
	bytesCheck("measurement", e.Measurement, p.GetMeasurement())
	bytesCheck("host-data", e.HostData, p.GetHostData())
	bytesCheck("report-data", e.ReportData, p.GetReportData())
	if e.Policy != nil {
		out = append(out, Check{Name: "policy", Expected: fmt.Sprintf("%#x", *e.Policy),
			Actual: fmt.Sprintf("%#x", p.GetPolicy()), OK: *e.Policy == p.GetPolicy()})
	}
	if e.VMPL != nil {
		out = append(out, Check{Name: "vmpl", Expected: strconv.FormatUint(uint64(*e.VMPL), 10),
			Actual: strconv.FormatUint(uint64(p.GetVmpl()), 10), OK: *e.VMPL == p.GetVmpl()})
	}
	bytesCheck("family-id", e.FamilyID, p.GetFamilyId())
	bytesCheck("image-id", e.ImageID, p.GetImageId())
	bytesCheck("id-key-digest", e.IDKeyDigest, p.GetIdKeyDigest())
	bytesCheck("author-key-digest", e.AuthorKeyDigest, p.GetAuthorKeyDigest())
	if e.MinTCB != nil {
		min := kds.DecomposeTCBVersion(kds.TCBVersion(*e.MinTCB))
		got := kds.DecomposeTCBVersion(kds.TCBVersion(p.GetReportedTcb()))
		out = append(out, Check{Name: "min-tcb", Expected: ">= " + FormatTCB(*e.MinTCB),
			Actual: "reported " + FormatTCB(p.GetReportedTcb()), OK: kds.TCBPartsLE(min, got)})
	}
	return out
}

// FormatTCB prints a TCB_VERSION as hex with its components.
func FormatTCB(tcb uint64) string {
	p := kds.DecomposeTCBVersion(kds.TCBVersion(tcb))
	s := fmt.Sprintf("%#x (bl=%d,tee=%d,snp=%d,ucode=%d", tcb, p.BlSpl, p.TeeSpl, p.SnpSpl, p.UcodeSpl)
	for i, v := range []uint8{p.Spl4, p.Spl5, p.Spl6, p.Spl7} {
		if v != 0 {
			s += fmt.Sprintf(",spl%d=%d", i+4, v)
		}
	}
	return s + ")"
}

// ParseTCB parses a minimum TCB: a 64-bit TCB_VERSION (0x-hex or decimal)
// or its components, "bl=2,tee=0,snp=5,ucode=68" (missing components are 0;
// spl4..spl7 name the reserved bytes). The layout is that of Milan and
// Genoa; Turin reorders the components.
func ParseTCB(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty TCB")
	}
	if !strings.Contains(s, "=") {
		base := 10
		t := s
		if len(t) > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') {
			base, t = 16, t[2:]
		}
		v, err := strconv.ParseUint(t, base, 64)
		if err != nil {
			return 0, fmt.Errorf("TCB %q: want a 64-bit number or bl=N,tee=N,snp=N,ucode=N", s)
		}
		return v, nil
	}
	var p kds.TCBParts
	fields := map[string]*uint8{
		"bl": &p.BlSpl, "tee": &p.TeeSpl, "snp": &p.SnpSpl, "ucode": &p.UcodeSpl, "microcode": &p.UcodeSpl,
		"spl4": &p.Spl4, "spl5": &p.Spl5, "spl6": &p.Spl6, "spl7": &p.Spl7,
	}
	seen := map[*uint8]bool{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		dst, known := fields[strings.ToLower(strings.TrimSpace(k))]
		if !ok || !known {
			return 0, fmt.Errorf("TCB component %q: want bl=N, tee=N, snp=N or ucode=N", kv)
		}
		if seen[dst] {
			return 0, fmt.Errorf("TCB component %q given twice", k)
		}
		seen[dst] = true
		n, err := strconv.ParseUint(strings.TrimSpace(v), 0, 8)
		if err != nil {
			return 0, fmt.Errorf("TCB component %q: want a number 0-255", kv)
		}
		*dst = uint8(n)
	}
	// Compose directly: go-sev-guest's ComposeTCBParts caps parts at 127.
	return uint64(p.UcodeSpl)<<56 | uint64(p.SnpSpl)<<48 | uint64(p.Spl7)<<40 | uint64(p.Spl6)<<32 |
		uint64(p.Spl5)<<24 | uint64(p.Spl4)<<16 | uint64(p.TeeSpl)<<8 | uint64(p.BlSpl), nil
}

// MismatchError lists the checks that failed.
type MismatchError struct {
	Failed []Check
}

func (e *MismatchError) Error() string {
	if len(e.Failed) == 1 {
		c := e.Failed[0]
		switch c.Name {
		case CheckSignature, CheckChain, CheckValidate:
			return fmt.Sprintf("%s failed: %s", c.Name, c.Actual)
		}
		return fmt.Sprintf("%s does not match: expected %s, report has %s", c.Name, c.Expected, c.Actual)
	}
	names := make([]string, len(e.Failed))
	for i, c := range e.Failed {
		names[i] = c.Name
	}
	return fmt.Sprintf("%d checks failed: %s", len(e.Failed), strings.Join(names, ", "))
}
