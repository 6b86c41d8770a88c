package report

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Expectations are what Validate compares the report with. Nil fields are
// not compared; the defaults (DEBUG 0, MIGRATE_MA 0, VMPL 0, reserved
// fields zero, provisional firmware accepted) always apply unless relaxed.
type Expectations struct {
	Measurement     []byte // MEASUREMENT, 48 bytes
	HostData        []byte // HOST_DATA, 32 bytes
	ReportData      []byte // REPORT_DATA, 64 bytes
	FamilyID        []byte // FAMILY_ID, 16 bytes
	ImageID         []byte // IMAGE_ID, 16 bytes
	IDKeyDigest     []byte // ID_KEY_DIGEST, 48 bytes
	AuthorKeyDigest []byte // AUTHOR_KEY_DIGEST, 48 bytes
	ReportID        []byte // REPORT_ID, 32 bytes
	ReportIDMA      []byte // REPORT_ID_MA, 32 bytes
	// ChipID is CHIP_ID, 64 bytes, or the 8-byte hardware ID of a Turin
	// chip (CHIP_ID is then those 8 bytes and 56 zero bytes).
	ChipID []byte
	// Policy is POLICY, compared exactly. It replaces the debug and
	// migrate-ma defaults.
	Policy *uint64
	// VMPL is the VMPL the report must have been requested at; nil means 0.
	VMPL *uint32
	// AllowDebug and AllowMigrationAgent relax the defaults DEBUG = 0 and
	// MIGRATE_MA = 0 (without an exact Policy).
	AllowDebug, AllowMigrationAgent bool
	// NoProvisional requires COMMITTED_TCB and the committed firmware
	// version to equal the current ones.
	NoProvisional bool
	// MinGuestSVN is the lowest acceptable GUEST_SVN.
	MinGuestSVN *uint32
	// MinTCB is the lowest acceptable TCB for REPORTED_TCB, COMMITTED_TCB
	// and CURRENT_TCB, component by component; MinLaunchTCB for LAUNCH_TCB.
	MinTCB, MinLaunchTCB *TCBMinimum
	// MinBuild is the lowest acceptable CURRENT_BUILD.
	MinBuild *uint8
	// MinVersion is the lowest acceptable firmware API version,
	// CURRENT_MAJOR.CURRENT_MINOR (Build is ignored).
	MinVersion *FirmwareVersion
	// PlatformInfo are required PLATFORM_INFO bits.
	PlatformInfo *PlatformInfoRequirement
	// RequireIDBlock requires the guest to have been launched with an ID
	// block signed by a trusted ID key, or by an ID key a trusted author key
	// certified. TrustedIDKeys and TrustedAuthorKeys are 48-byte SHA-384
	// digests of the keys (as ID_KEY_DIGEST and AUTHOR_KEY_DIGEST hold
	// them); giving any implies RequireIDBlock.
	RequireIDBlock                   bool
	TrustedIDKeys, TrustedAuthorKeys [][]byte
}

// Check names of Validate (the byte fields use FieldSize's names).
const (
	CheckPolicy       = "policy"
	CheckDebug        = "debug"
	CheckMigrateMA    = "migrate-ma"
	CheckVMPL         = "vmpl"
	CheckIDBlock      = "id-block"
	CheckGuestSVN     = "min-guest-svn"
	CheckMinTCB       = "min-tcb"
	CheckMinLaunchTCB = "min-launch-tcb"
	CheckMinBuild     = "min-build"
	CheckMinVersion   = "min-version"
	CheckPlatformInfo = "platform-info"
	CheckReportedTCB  = "reported tcb"
	CheckProvisional  = "provisional firmware"
	CheckReserved     = "reserved"
)

// fieldSizes are the sizes of the byte fields by check name.
var fieldSizes = map[string]int{
	"measurement":       MeasurementSize,
	"host-data":         HostDataSize,
	"report-data":       ReportDataSize,
	"family-id":         FamilyIDSize,
	"image-id":          ImageIDSize,
	"id-key-digest":     IDKeyDigestSize,
	"author-key-digest": AuthorKeyDigestSize,
	"report-id":         ReportIDSize,
	"report-id-ma":      ReportIDMASize,
	"chip-id":           ChipIDSize,
}

// FieldSize returns the size in bytes of a byte field named as in
// Check.Name ("measurement", "host-data", ...), or 0.
func FieldSize(name string) int { return fieldSizes[name] }

// Validate compares the report with e and applies the secure defaults. It
// trusts the report's fields as they are: it means something only for a
// report whose signature VerifySignature verified. p is the product line
// (from VerifySignature), which the TCB checks need.
func (r *Report) Validate(e *Expectations, p Product) []Check {
	if e == nil {
		e = &Expectations{}
	}
	if r == nil || len(r.Raw) < Size {
		return []Check{{Name: CheckReserved, Expected: "a parsed attestation report", Actual: "no report bytes (use Parse or Read)"}}
	}
	var out []Check
	add := func(c Check) { out = append(out, c) }
	bytesCheck := func(name string, want, got []byte) {
		if want != nil {
			add(Check{Name: name, Expected: hex.EncodeToString(want), Actual: hex.EncodeToString(got), OK: bytes.Equal(want, got)})
		}
	}
	bytesCheck("measurement", e.Measurement, r.Measurement[:])
	bytesCheck("host-data", e.HostData, r.HostData[:])
	bytesCheck("report-data", e.ReportData, r.ReportData[:])
	if e.Policy != nil {
		add(Check{Name: CheckPolicy, Expected: fmt.Sprintf("%#x", *e.Policy), Actual: fmt.Sprintf("%#x", uint64(r.Policy)),
			OK: *e.Policy == uint64(r.Policy)})
	} else {
		add(policyBitCheck(CheckDebug, r.Policy.Debug(), e.AllowDebug, "--allow-debug"))
		add(policyBitCheck(CheckMigrateMA, r.Policy.MigrateMA(), e.AllowMigrationAgent, "--allow-migration-agent"))
	}
	vmpl := uint32(0)
	if e.VMPL != nil {
		vmpl = *e.VMPL
	}
	add(Check{Name: CheckVMPL, Expected: strconv.FormatUint(uint64(vmpl), 10), Actual: strconv.FormatUint(uint64(r.VMPL), 10), OK: vmpl == r.VMPL})
	bytesCheck("family-id", e.FamilyID, r.FamilyID[:])
	bytesCheck("image-id", e.ImageID, r.ImageID[:])
	bytesCheck("id-key-digest", e.IDKeyDigest, r.IDKeyDigest[:])
	bytesCheck("author-key-digest", e.AuthorKeyDigest, r.AuthorKeyDigest[:])
	if e.RequireIDBlock || len(e.TrustedIDKeys) > 0 || len(e.TrustedAuthorKeys) > 0 {
		add(r.idBlockCheck(e))
	}
	bytesCheck("report-id", e.ReportID, r.ReportID[:])
	bytesCheck("report-id-ma", e.ReportIDMA, r.ReportIDMA[:])
	if e.ChipID != nil {
		want := make([]byte, ChipIDSize)
		copy(want, e.ChipID) // an 8-byte Turin hardware ID, zero-padded
		c := Check{Name: "chip-id", Expected: hex.EncodeToString(want), Actual: hex.EncodeToString(r.ChipID[:]),
			OK: len(e.ChipID) <= ChipIDSize && bytes.Equal(want, r.ChipID[:])}
		add(c)
	}
	if e.MinGuestSVN != nil {
		add(Check{Name: CheckGuestSVN, Expected: fmt.Sprintf(">= %d", *e.MinGuestSVN), Actual: strconv.FormatUint(uint64(r.GuestSVN), 10),
			OK: r.GuestSVN >= *e.MinGuestSVN})
	}
	if e.MinTCB != nil {
		add(minTCBCheck(CheckMinTCB, e.MinTCB, p, []namedTCB{{"REPORTED_TCB", r.ReportedTCB}, {"COMMITTED_TCB", r.CommittedTCB}, {"CURRENT_TCB", r.CurrentTCB}}))
	}
	if e.MinLaunchTCB != nil {
		add(minTCBCheck(CheckMinLaunchTCB, e.MinLaunchTCB, p, []namedTCB{{"LAUNCH_TCB", r.LaunchTCB}}))
	}
	if e.MinBuild != nil {
		add(Check{Name: CheckMinBuild, Expected: fmt.Sprintf("CURRENT_BUILD >= %d", *e.MinBuild),
			Actual: strconv.Itoa(int(r.CurrentVersion.Build)), OK: r.CurrentVersion.Build >= *e.MinBuild})
	}
	if e.MinVersion != nil {
		add(Check{Name: CheckMinVersion, Expected: fmt.Sprintf("firmware API >= %d.%d", e.MinVersion.Major, e.MinVersion.Minor),
			Actual: fmt.Sprintf("%d.%d", r.CurrentVersion.Major, r.CurrentVersion.Minor), OK: r.CurrentVersion.API() >= e.MinVersion.API()})
	}
	if q := e.PlatformInfo; q != nil {
		add(Check{Name: CheckPlatformInfo, Expected: q.String(), Actual: fmt.Sprintf("%s (PLATFORM_INFO %#x)", r.PlatformInfo.Describe(q.Mask), uint64(r.PlatformInfo)),
			OK: uint64(r.PlatformInfo)&q.Mask == q.Value})
	}
	add(r.reportedTCBCheck(p))
	add(r.provisionalCheck(e.NoProvisional, p))
	add(r.reservedCheck(p))
	return out
}

func policyBitCheck(name string, set, allowed bool, flag string) Check {
	c := Check{Name: name, Expected: "0 (" + flag + " accepts 1)", Actual: "0", OK: !set || allowed}
	if allowed {
		c.Expected = "0 or 1 (" + flag + ")"
	}
	if set {
		c.Actual = "1"
	}
	return c
}

// idBlockCheck requires a trusted ID key, or a trusted author key that
// certified the ID key.
func (r *Report) idBlockCheck(e *Expectations) Check {
	c := Check{Name: CheckIDBlock, Expected: "launched with an ID block signed by a trusted ID key or one a trusted author key certified"}
	contains := func(keys [][]byte, d []byte) bool {
		for _, k := range keys {
			if bytes.Equal(k, d) {
				return true
			}
		}
		return false
	}
	id, author := r.IDKeyDigest[:], r.AuthorKeyDigest[:]
	switch {
	case len(e.TrustedIDKeys) == 0 && len(e.TrustedAuthorKeys) == 0:
		c.Actual = "no trusted ID key or author key given: anyone can sign an ID block"
	case allZero(id):
		c.Actual = "no ID block: ID_KEY_DIGEST is zero"
	case contains(e.TrustedIDKeys, id):
		c.Actual, c.OK = "ID key "+hex.EncodeToString(id)+" is trusted", true
	case r.SignerInfo.AuthorKeyEn() && contains(e.TrustedAuthorKeys, author):
		c.Actual, c.OK = "author key "+hex.EncodeToString(author)+" is trusted", true
	case r.SignerInfo.AuthorKeyEn():
		c.Actual = fmt.Sprintf("neither ID key %x nor author key %x is trusted", id, author)
	default:
		c.Actual = fmt.Sprintf("ID key %x is not trusted, and there is no author key (AUTHOR_KEY_EN 0)", id)
	}
	return c
}

type namedTCB struct {
	name string
	tcb  TCB
}

func minTCBCheck(name string, min *TCBMinimum, p Product, tcbs []namedTCB) Check {
	c := Check{Name: name, Expected: ">= " + min.String()}
	want, err := min.Resolve(p)
	if err != nil {
		// The flag, not the report, is at fault; the check still fails.
		c.Actual = fmt.Sprintf("not compared: --%s cannot apply to a %s report: %v", name, p, err)
		return c
	}
	c.Expected = ">= " + want.Format(p)
	var got, low []string
	for _, t := range tcbs {
		parts := t.tcb.Parts(p)
		got = append(got, t.name+" "+parts.Format(p))
		if ok, l := parts.AtLeast(want, p); !ok {
			low = append(low, t.name+" "+strings.Join(l, ","))
		}
	}
	c.Actual = strings.Join(got, "; ")
	if len(low) > 0 {
		c.Actual += " (too low: " + strings.Join(low, "; ") + ")"
	} else {
		c.OK = true
	}
	return c
}

// reportedTCBCheck: the host may report a lower TCB than the current one
// (to use an older VCEK), never a higher one.
func (r *Report) reportedTCBCheck(p Product) Check {
	c := Check{Name: CheckReportedTCB, Expected: "REPORTED_TCB <= CURRENT_TCB"}
	if tcbLayout(p) == nil {
		c.Actual = "the product line is not known, so the TCBs cannot be compared"
		return c
	}
	rep, cur := r.ReportedTCB.Parts(p), r.CurrentTCB.Parts(p)
	c.Actual = fmt.Sprintf("reported %s, current %s", rep.Format(p), cur.Format(p))
	if rep == cur {
		c.Actual = "reported = current: " + cur.Format(p)
	}
	if ok, _ := cur.AtLeast(rep, p); ok {
		c.OK = true
	}
	return c
}

// provisionalCheck: committed firmware is never newer than the current one;
// with noProvisional it must be the same.
func (r *Report) provisionalCheck(noProvisional bool, p Product) Check {
	c := Check{Name: CheckProvisional, Expected: "COMMITTED <= CURRENT (provisional firmware accepted)"}
	if noProvisional {
		c.Expected = "COMMITTED = CURRENT (--no-provisional)"
	}
	if tcbLayout(p) == nil {
		c.Actual = "the product line is not known, so the TCBs cannot be compared"
		return c
	}
	com, cur := r.CommittedTCB.Parts(p), r.CurrentTCB.Parts(p)
	cv, uv := r.CommittedVersion, r.CurrentVersion
	c.Actual = fmt.Sprintf("committed %s %s; current %s %s", cv, com.Format(p), uv, cur.Format(p))
	if com == cur && cv == uv {
		c.Actual = fmt.Sprintf("committed = current: %s %s", uv, cur.Format(p))
	}
	tcbLE, _ := cur.AtLeast(com, p)
	verCmp := compareVersions(cv, uv)
	provisional := com != cur || verCmp != 0
	switch {
	case !tcbLE || verCmp > 0:
		c.Actual += ": committed is newer than current"
	case provisional && noProvisional:
		c.Actual += ": provisional firmware"
	case provisional:
		c.Actual += ": provisional firmware"
		c.OK = true
	default:
		c.OK = true
	}
	return c
}

func compareVersions(a, b FirmwareVersion) int {
	for _, d := range [][2]uint8{{a.Major, b.Major}, {a.Minor, b.Minor}, {a.Build, b.Build}} {
		switch {
		case d[0] < d[1]:
			return -1
		case d[0] > d[1]:
			return 1
		}
	}
	return 0
}

// reservedCheck: the bytes and bits the report's version reserves are zero
// (POLICY bit 17 is one), and so are the bytes the product's TCB_VERSION
// layout reserves: a component the layout does not know would escape every
// TCB comparison.
func (r *Report) reservedCheck(p Product) Check {
	c := Check{Name: CheckReserved, Expected: fmt.Sprintf("reserved fields of a VERSION %d report are zero", r.Version)}
	var problems []string
	for _, rg := range r.NonZeroReserved() {
		problems = append(problems, fmt.Sprintf("bytes %#x-%#x are %x", rg.Lo, rg.Hi-1, r.Raw[rg.Lo:rg.Hi]))
	}
	problems = append(problems, r.reservedTCBs(p)...)
	if s := r.Policy.ReservedProblems(); s != "" {
		problems = append(problems, s)
	}
	if v := r.SignerInfo.Reserved(); v != 0 {
		problems = append(problems, fmt.Sprintf("reserved bits %#x of the signer info word at 0x48 are set", v))
	}
	if len(problems) > 0 {
		c.Actual = strings.Join(problems, "; ")
		return c
	}
	c.Actual, c.OK = "zero", true
	return c
}
