package report

import (
	"bytes"
	"crypto/x509"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-sev-guest/abi"
	"github.com/google/go-sev-guest/kds"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
)

// genuineDir holds reports genuine AMD chips signed, with their VCEKs and
// VLEKs (see its README.md for where each comes from).
const genuineDir = "testdata/genuine"

// vlekValidAt is inside the validity of trustee's one-year VLEK.
var vlekValidAt = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// genuineRow is one line of testdata/genuine/reports.tsv.
type genuineRow struct {
	id, report, key, product, version, signingKey, expect string
	policy                                                uint64
	vmpl                                                  uint32
}

func loadGenuine(t testing.TB) []genuineRow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(genuineDir, "reports.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []genuineRow
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n")[1:] {
		f := strings.Split(line, "\t")
		if len(f) != 10 {
			t.Fatalf("reports.tsv: %q", line)
		}
		pol, err1 := strconv.ParseUint(f[6], 0, 64)
		vm, err2 := strconv.ParseUint(f[7], 0, 32)
		if err1 != nil || err2 != nil {
			t.Fatalf("reports.tsv: %q", line)
		}
		rows = append(rows, genuineRow{id: f[0], report: filepath.Join(genuineDir, f[1]), key: filepath.Join(genuineDir, f[2]),
			product: f[3], version: f[4], signingKey: f[5], expect: f[8], policy: pol, vmpl: uint32(vm)})
	}
	if len(rows) < 8 {
		t.Fatalf("only %d genuine reports", len(rows))
	}
	return rows
}

// TestGenuineReports verifies every genuine report against the built-in
// roots, with its policy and VMPL expected (as the README's command line
// does), and fails the must-fail ones.
func TestGenuineReports(t *testing.T) {
	for _, g := range loadGenuine(t) {
		t.Run(g.id, func(t *testing.T) {
			r, err := ReadFile(g.report, FormatAuto)
			if g.expect == "must-fail" {
				if err == nil {
					certs, _ := ReadCertificates(g.key)
					res := r.Verify(&Options{Trust: TrustOptions{Certificates: []CertSource{{Name: g.key, Certs: certs}}}})
					if res.OK {
						t.Fatalf("must-fail report verified: %+v", res.Checks)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			certs, err := ReadCertificates(g.key)
			if err != nil {
				t.Fatal(err)
			}
			o := &Options{
				Trust:  TrustOptions{Certificates: []CertSource{{Name: g.key, Certs: certs}}},
				Expect: Expectations{Policy: &g.policy, VMPL: &g.vmpl},
			}
			if g.signingKey == "VLEK" {
				o.Trust.At = vlekValidAt
			}
			res := r.Verify(o)
			if !res.OK {
				t.Fatalf("genuine report failed: %+v", res.Failed())
			}
			if res.Product != g.product || strconv.Itoa(int(r.Version)) != g.version || r.SignerInfo.SigningKey().String() != g.signingKey {
				t.Errorf("product %s version %d key %s; want %s %s %s", res.Product, r.Version, r.SignerInfo.SigningKey(), g.product, g.version, g.signingKey)
			}
			rows := map[string]bool{}
			for _, c := range res.Checks {
				rows[c.Name] = c.OK
			}
			for _, name := range []string{CheckSignature, CheckChain, CheckProduct, CheckCertTCB, CheckReserved, CheckVMPL, CheckPolicy} {
				if !rows[name] {
					t.Errorf("row %q missing or failed", name)
				}
			}
			// AMD's chains of every product line next to the key (a bundle
			// of all of KDS's cert_chain files) change nothing.
			var every []*x509.Certificate
			for _, p := range []string{"milan", "genoa", "turin"} {
				cs, err := ReadCertificates(filepath.Join(genuineDir, "trustee-snp", p+"_ask_ark_asvk.pem"))
				if err != nil {
					t.Fatal(err)
				}
				every = append(every, cs...)
			}
			withAll := *o
			withAll.Trust.Certificates = append([]CertSource{{Name: "every chain", Certs: every}}, o.Trust.Certificates...)
			if res := r.Verify(&withAll); !res.OK {
				t.Errorf("with every product's AMD chain: failed %q", failedNames(res))
			}
			// Without the policy the defaults apply: go-sev-guest's report
			// allows debugging, so it fails there, and only there.
			res = r.Verify(&Options{Trust: o.Trust, Expect: Expectations{VMPL: &g.vmpl}})
			debug := g.policy&(1<<19) != 0
			if res.OK == debug || (debug && failedNames(res) != CheckDebug) {
				t.Errorf("defaults: OK %v, failed %q (DEBUG %v)", res.OK, failedNames(res), debug)
			}
			// A flipped bit in the signed part breaks only the signature.
			bad, err := Parse(tamper(r.Raw, OffMeasurement, 1))
			if err != nil {
				t.Fatal(err)
			}
			if res := bad.Verify(o); res.OK || failedNames(res) != CheckSignature {
				t.Errorf("tampered report: failed %q, want only the signature", failedNames(res))
			}
		})
	}
}

// TestGenuineVLEKExpired: the VLEK of trustee's AWS report expired on
// 2025-12-10; as of now the chain fails, as of a time inside its validity
// it verifies.
func TestGenuineVLEKExpired(t *testing.T) {
	r, err := ReadFile(filepath.Join(genuineDir, "trustee-snp/test-vlek-report.bin"), FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := ReadCertificates(filepath.Join(genuineDir, "trustee-snp/test-vlek.der"))
	if err != nil {
		t.Fatal(err)
	}
	vmpl := uint32(1)
	for _, tc := range []struct {
		at     time.Time
		ok     bool
		actual string
	}{
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), false, `"SEV-VLEK" expired on 2025-12-10T22:14:21Z`},
		{time.Date(2024, 12, 1, 0, 0, 0, 0, time.UTC), false, `"SEV-VLEK" is not valid before 2024-12-10T22:14:21Z`},
		{vlekValidAt, true, "verified: SEV-VLEK ← SEV-VLEK-Milan ← ARK-Milan as of 2025-06-01T00:00:00Z"},
	} {
		res := r.Verify(&Options{Trust: TrustOptions{Certificates: []CertSource{{Name: "vlek", Certs: certs}}, At: tc.at},
			Expect: Expectations{VMPL: &vmpl}})
		chain := findCheck(res, CheckChain)
		if res.OK != tc.ok || !strings.Contains(chain.Actual, tc.actual) {
			t.Errorf("at %s: OK %v, chain %q; want %v, %q", tc.at, res.OK, chain.Actual, tc.ok, tc.actual)
		}
	}
}

// TestGenuineExtendedReport reads veraison's configfs-tsm report with its
// auxblob (PEM certificates in the table) and verifies it with nothing
// else given.
func TestGenuineExtendedReport(t *testing.T) {
	dir := filepath.Join(genuineDir, "veraison-tsm-genoa")
	rep, aux := readTestFile(t, filepath.Join(dir, "report.bin")), readTestFile(t, filepath.Join(dir, "auxblob.bin"))
	r, err := Parse(append(bytes.Clone(rep), aux...))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Summary(); !strings.Contains(got, "certificate table: ARK ASK VCEK") {
		t.Errorf("summary %q", got)
	}
	res := r.Verify(nil)
	if !res.OK {
		t.Fatalf("extended report: %+v", res.Failed())
	}
	if c := findCheck(res, CheckSignature); !strings.Contains(c.Expected, "certificate table (VCEK entry)") {
		t.Errorf("signature row %+v does not name the table", c)
	}
}

// TestParseMatchesGoSevGuest compares every field this package parses with
// go-sev-guest's abi.ReportToProto on the Milan and Genoa reports (which
// go-sev-guest v0.15.0 reads correctly).
func TestParseMatchesGoSevGuest(t *testing.T) {
	for _, g := range loadGenuine(t) {
		if g.expect != "genuine" || g.product == "Turin" {
			continue
		}
		t.Run(g.id, func(t *testing.T) {
			r, err := ReadFile(g.report, FormatAuto)
			if err != nil {
				t.Fatal(err)
			}
			p, err := abi.ReportToProto(r.Raw)
			if err != nil {
				t.Fatal(err)
			}
			compareProto(t, r, p)
		})
	}
}

// compareProto checks r against go-sev-guest's reading of the same bytes.
func compareProto(t *testing.T, r *Report, p *spb.Report) {
	t.Helper()
	eq := func(name string, a, b any) {
		if !bytesOrEqual(a, b) {
			t.Errorf("%s: ours %v, go-sev-guest %v", name, a, b)
		}
	}
	eq("version", r.Version, p.GetVersion())
	eq("guest svn", r.GuestSVN, p.GetGuestSvn())
	eq("policy", uint64(r.Policy), p.GetPolicy())
	eq("family id", r.FamilyID[:], p.GetFamilyId())
	eq("image id", r.ImageID[:], p.GetImageId())
	eq("vmpl", r.VMPL, p.GetVmpl())
	eq("signature algo", r.SignatureAlgo, p.GetSignatureAlgo())
	eq("current tcb", uint64(r.CurrentTCB), p.GetCurrentTcb())
	eq("platform info", uint64(r.PlatformInfo), p.GetPlatformInfo())
	eq("signer info", uint32(r.SignerInfo), p.GetSignerInfo())
	eq("report data", r.ReportData[:], p.GetReportData())
	eq("measurement", r.Measurement[:], p.GetMeasurement())
	eq("host data", r.HostData[:], p.GetHostData())
	eq("id key digest", r.IDKeyDigest[:], p.GetIdKeyDigest())
	eq("author key digest", r.AuthorKeyDigest[:], p.GetAuthorKeyDigest())
	eq("report id", r.ReportID[:], p.GetReportId())
	eq("report id ma", r.ReportIDMA[:], p.GetReportIdMa())
	eq("reported tcb", uint64(r.ReportedTCB), p.GetReportedTcb())
	eq("chip id", r.ChipID[:], p.GetChipId())
	eq("committed tcb", uint64(r.CommittedTCB), p.GetCommittedTcb())
	eq("current version", [3]uint32{uint32(r.CurrentVersion.Major), uint32(r.CurrentVersion.Minor), uint32(r.CurrentVersion.Build)},
		[3]uint32{p.GetCurrentMajor(), p.GetCurrentMinor(), p.GetCurrentBuild()})
	eq("committed version", [3]uint32{uint32(r.CommittedVersion.Major), uint32(r.CommittedVersion.Minor), uint32(r.CommittedVersion.Build)},
		[3]uint32{p.GetCommittedMajor(), p.GetCommittedMinor(), p.GetCommittedBuild()})
	eq("launch tcb", uint64(r.LaunchTCB), p.GetLaunchTcb())
	eq("signature R", r.SignatureR[:], p.GetSignature()[:SignatureComponentSize])
	eq("signature S", r.SignatureS[:], p.GetSignature()[SignatureComponentSize:2*SignatureComponentSize])
	if r.CPUID != nil {
		fam, model, step := abi.FmsFromCpuid1Eax(p.GetCpuid1EaxFms())
		eq("cpuid", *r.CPUID, CPUID{Family: fam, Model: model, Stepping: step})
	}
	// The TCB components, Milan/Genoa layout.
	if tcbLayout(r.mustProduct(t)) != nil && r.mustProduct(t) != Turin {
		got := r.ReportedTCB.Parts(r.mustProduct(t))
		want := kds.DecomposeTCBVersion(kds.TCBVersion(p.GetReportedTcb()))
		eq("reported tcb parts", [4]uint8{got.BootLoader, got.TEE, got.SNP, got.Microcode}, [4]uint8{want.BlSpl, want.TeeSpl, want.SnpSpl, want.UcodeSpl})
	}
}

func (r *Report) mustProduct(t *testing.T) Product {
	if p, err := r.Product(); err == nil {
		return p
	}
	return Milan // VERSION 2 reports: Milan/Genoa layout
}

func bytesOrEqual(a, b any) bool {
	if x, ok := a.([]byte); ok {
		y, _ := b.([]byte)
		return bytes.Equal(x, y)
	}
	return a == b
}

// TestTurinTCBLayout checks the Turin TCB of oak's genuine Turin report
// against the bytes its provenance gives (00 01 00 02 00 00 00 47:
// fmc 0, bl 1, tee 0, snp 2, ucode 71) and against the VCEK's extensions.
func TestTurinTCBLayout(t *testing.T) {
	r, err := ReadFile(filepath.Join(genuineDir, "oak/turin_oc_evidence.report.bin"), FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(r.ReportedTCB))
	if !bytes.Equal(b[:], []byte{0, 1, 0, 2, 0, 0, 0, 0x47}) {
		t.Fatalf("REPORTED_TCB bytes % x", b)
	}
	if got := r.ReportedTCB.Parts(Turin); got != (TCBParts{FMC: 0, BootLoader: 1, TEE: 0, SNP: 2, Microcode: 71}) {
		t.Errorf("Turin parts %+v", got)
	}
	// Read with the Milan layout, the same bytes are another TCB: tee=1
	// where Turin has bl=1. This is the misreading the product check
	// prevents.
	if got := r.ReportedTCB.Parts(Milan); got.TEE != 1 || got.SNP != 0 {
		t.Errorf("Milan reading %+v", got)
	}
	certs, err := ReadCertificates(filepath.Join(genuineDir, "oak/turin_oc_endorsements.vcek.der"))
	if err != nil {
		t.Fatal(err)
	}
	ext, err := ParseKDSExtensions(certs[0])
	if err != nil {
		t.Fatal(err)
	}
	if parts, missing := ext.TCBParts(Turin); len(missing) > 0 || parts != r.ReportedTCB.Parts(Turin) {
		t.Errorf("VCEK TCB %+v (missing %v)", parts, missing)
	}
	if len(ext.HWID) != 8 || !bytes.Equal(ext.HWID, r.ChipID[:8]) || ext.ProductName != "Turin" {
		t.Errorf("hwID %x, product %q", ext.HWID, ext.ProductName)
	}
}
