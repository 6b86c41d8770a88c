package report

import (
	"bytes"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-sev-guest/abi"
	"github.com/google/go-sev-guest/kds"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
	sevtest "github.com/google/go-sev-guest/testing"
)

// Verification is offline: any HTTP request through the default transport
// (what go-sev-guest's getters use) fails the test run.
func init() { http.DefaultTransport = noNetwork{} }

type noNetwork struct{}

func (noNetwork) RoundTrip(r *http.Request) (*http.Response, error) {
	panic("report tests must not use the network: " + r.URL.String())
}

// testTCB is the TCB of the test VCEK and of the reports it signs.
var testTCB = kds.TCBParts{BlSpl: 3, TeeSpl: 0, SnpSpl: 8, UcodeSpl: 115}

func testTCBVersion() uint64 {
	v, _ := kds.ComposeTCBParts(testTCB)
	return uint64(v)
}

var (
	signerOnce sync.Once
	signer     *sevtest.AmdSigner
	signerErr  error
	// signMu serialises signing: the test signer shares one math/rand source.
	signMu sync.Mutex
)

// testSigner returns go-sev-guest's test-only ARK/ASK/VCEK chain for a
// Milan-B1 chip whose VCEK certifies testTCB.
func testSigner(t testing.TB) *sevtest.AmdSigner {
	t.Helper()
	signerOnce.Do(func() {
		now := time.Now().Add(-time.Hour)
		b := &sevtest.AmdSignerBuilder{
			Keys:             sevtest.DefaultAmdKeys(),
			ProductName:      "Milan-B1",
			CSPID:            "go-sev-guest",
			ArkCreationTime:  now,
			AskCreationTime:  now,
			AsvkCreationTime: now,
			VcekCreationTime: now,
			VlekCreationTime: now,
			VcekCustom: sevtest.CertOverride{
				Extensions: sevtest.CustomExtensions(testTCB, make([]byte, abi.ChipIDSize), "", "Milan-B1"),
			},
		}
		signer, signerErr = b.TestOnlyCertChain()
	})
	if signerErr != nil {
		t.Fatalf("test signer: %v", signerErr)
	}
	return signer
}

// baseReport returns report fields that validate against the test VCEK.
func baseReport(measurement []byte) *spb.Report {
	tcb := testTCBVersion()
	fill := func(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }
	return &spb.Report{
		Version:         2,
		GuestSvn:        0,
		Policy:          0x30000,
		FamilyId:        fill(abi.FamilyIDSize, 0),
		ImageId:         fill(abi.ImageIDSize, 0),
		Vmpl:            0,
		SignatureAlgo:   abi.SignEcdsaP384Sha384,
		CurrentTcb:      tcb,
		PlatformInfo:    1,
		SignerInfo:      0,
		ReportData:      fill(abi.ReportDataSize, 0xaa),
		Measurement:     measurement,
		HostData:        fill(abi.HostDataSize, 0x11),
		IdKeyDigest:     fill(abi.IDKeyDigestSize, 0),
		AuthorKeyDigest: fill(abi.AuthorKeyDigestSize, 0),
		ReportId:        fill(abi.ReportIDSize, 0x22),
		ReportIdMa:      fill(abi.ReportIDMASize, 0xff),
		ReportedTcb:     tcb,
		ChipId:          fill(abi.ChipIDSize, 0),
		CommittedTcb:    tcb,
		CurrentBuild:    21,
		CurrentMinor:    55,
		CurrentMajor:    1,
		CommittedBuild:  21,
		CommittedMinor:  55,
		CommittedMajor:  1,
		LaunchTcb:       tcb,
		Signature:       fill(abi.SignatureSize, 0),
	}
}

// signReport serialises and signs the report with the test VCEK.
func signReport(t testing.TB, r *spb.Report) []byte {
	t.Helper()
	s := testSigner(t)
	raw, err := abi.ReportToAbiBytes(r)
	if err != nil {
		t.Fatal(err)
	}
	signMu.Lock()
	R, S, err := s.Sign(abi.SignedComponent(raw))
	signMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if err := abi.SetSignature(R, S, raw); err != nil {
		t.Fatal(err)
	}
	return raw
}

// extendedReport appends the test signer's certificate table.
func extendedReport(t testing.TB, raw []byte) []byte {
	t.Helper()
	table, err := testSigner(t).CertTableBytes()
	if err != nil {
		t.Fatal(err)
	}
	return append(append([]byte(nil), raw...), table...)
}

// testRoots returns the test ASK and ARK as Roots.
func testRoots(t testing.TB) *Roots {
	s := testSigner(t)
	return &Roots{ASK: s.Ask, ARK: s.Ark, Source: "test roots"}
}

// writePEM writes DER certificates as one PEM file.
func writePEM(t testing.TB, dir, name string, ders ...[]byte) string {
	t.Helper()
	var b bytes.Buffer
	for _, d := range ders {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: d})
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
