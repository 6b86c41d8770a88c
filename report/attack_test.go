package report_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/binary"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snpmeasure/snpmeasure/report"
	"github.com/snpmeasure/snpmeasure/report/reporttest"
)

// milanTCB is what the test VCEKs certify and the test reports report.
var milanTCB = report.ComposeTCB(report.Milan, report.TCBParts{BootLoader: 3, SNP: 8, Microcode: 115})

// turinTCB: fmc=1 bl=2 tee=0 snp=3 ucode=72. Read with the Milan layout,
// its tee is 2.
var turinTCB = report.ComposeTCB(report.Turin, report.TCBParts{FMC: 1, BootLoader: 2, TEE: 0, SNP: 3, Microcode: 72})

// fixture is a test hierarchy, an evil one with the same names and other
// keys, and a Turin one.
type fixture struct {
	pki, evil, turin *reporttest.PKI
	chipID           []byte
}

var (
	fixtureOnce sync.Once
	fixtureVal  *fixture
)

func newFixture(t *testing.T) *fixture {
	fixtureOnce.Do(func() {
		k := reporttest.Keys()
		chip := bytes.Repeat([]byte{0xc1}, report.ChipIDSize)
		evilEK, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		fixtureVal = &fixture{
			chipID: chip,
			pki:    reporttest.NewPKI(t, reporttest.Options{TCB: milanTCB, HWID: chip}),
			// The evil chain: the same names, keys that are not the test
			// ARK's (the test ASK key plays the evil ARK).
			evil: reporttest.NewPKI(t, reporttest.Options{TCB: milanTCB, HWID: chip, ARKKey: k.Ask, ASKKey: k.Asvk, ASVKKey: k.Ask,
				VCEKKey: evilEK, VLEKKey: evilEK}),
			turin: reporttest.NewPKI(t, reporttest.Options{Product: report.Turin, TCB: turinTCB, HWID: chip[:8]}),
		}
	})
	return fixtureVal
}

// signed returns a VERSION 3 Milan report signed by the test VCEK, after mut.
func (f *fixture) signed(t *testing.T, mut func(b []byte)) []byte {
	b := reporttest.NewReport(reporttest.Fields{TCB: milanTCB, ChipID: f.chipID})
	if mut != nil {
		mut(b)
	}
	key := f.pki.VCEKKey
	if binary.LittleEndian.Uint32(b[report.OffSignerInfo:])>>2&7 == 1 {
		key = f.pki.VLEKKey
	}
	return reporttest.Sign(t, b, key)
}

func setU32(off int, v uint32) func([]byte) {
	return func(b []byte) { binary.LittleEndian.PutUint32(b[off:], v) }
}

func setU64(off int, v uint64) func([]byte) {
	return func(b []byte) { binary.LittleEndian.PutUint64(b[off:], v) }
}

// edit returns a copy of b changed by fn (not signed again).
func edit(b []byte, fn func([]byte)) []byte {
	c := bytes.Clone(b)
	fn(c)
	return c
}

func both(fs ...func([]byte)) func([]byte) {
	return func(b []byte) {
		for _, f := range fs {
			f(b)
		}
	}
}

func source(name string, certs ...*x509.Certificate) report.CertSource {
	return report.CertSource{Name: name, Certs: certs}
}

// trusted are options that trust the test ARK and give the test VCEK.
func (f *fixture) trusted() *report.Options {
	return &report.Options{Trust: report.TrustOptions{
		Roots: []*x509.Certificate{f.pki.ARK}, RootsSource: "--trust-ark test-ark.pem",
		Certificates: []report.CertSource{source("--vcek vcek.pem", f.pki.VCEK), source("--cert-chain chain.pem", f.pki.ASK)},
	}}
}

func failed(res *report.Result) string {
	var n []string
	for _, c := range res.Failed() {
		n = append(n, c.Name)
	}
	return strings.Join(n, ",")
}

// TestAttacks builds forged and altered reports and chains, as an attacker
// who controls the report file, its certificate table and the host would,
// and checks that each one fails (and that the unaltered case passes).
func TestAttacks(t *testing.T) {
	f := newFixture(t)
	p := f.pki
	u32 := func(v uint32) *uint32 { return &v }
	u64 := func(v uint64) *uint64 { return &v }
	now := time.Now()
	evilEK, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k := reporttest.Keys()
	otherChip := reporttest.NewPKI(t, reporttest.Options{TCB: milanTCB, HWID: bytes.Repeat([]byte{0xc2}, 64), VCEKKey: evilEK})
	otherTCB := reporttest.NewPKI(t, reporttest.Options{TCB: milanTCB + 1, HWID: f.chipID})
	expiredASK := reporttest.NewPKI(t, reporttest.Options{TCB: milanTCB, HWID: f.chipID, NotBefore: now.Add(-48 * time.Hour), ASKNotAfter: now.Add(-24 * time.Hour)})
	futurePKI := reporttest.NewPKI(t, reporttest.Options{TCB: milanTCB, HWID: f.chipID, NotBefore: now.Add(24 * time.Hour)})
	// A VCEK-named certificate the ASVK signed, and one with a P-256 key.
	vcekByASVK := reporttest.NewPKI(t, reporttest.Options{TCB: milanTCB, HWID: f.chipID, ASKKey: k.Asvk, ASKCommonName: "SEV-VLEK-Milan"})
	p256PKI := reporttest.NewPKI(t, reporttest.Options{TCB: milanTCB, HWID: f.chipID, VCEKKey: p256})
	noTCBExt := reporttest.NewPKI(t, reporttest.Options{TCB: milanTCB, HWID: f.chipID, OmitExtensions: []string{"ucode", "hwid"}})
	renamedVCEK := reporttest.NewPKI(t, reporttest.Options{TCB: milanTCB, HWID: f.chipID, VCEKCommonName: "SEV-VLEK"})
	good := f.signed(t, nil)
	vlekSigned := f.signed(t, setU32(report.OffSignerInfo, 1<<2))
	turinReport := reporttest.Sign(t, reporttest.NewReport(reporttest.Fields{Version: 5, Product: report.Turin, TCB: turinTCB, ChipID: f.chipID[:8]}), f.turin.VCEKKey)
	turinTrust := func(o *report.Options) {
		o.Trust = report.TrustOptions{Roots: []*x509.Certificate{f.turin.ARK}, Certificates: []report.CertSource{source("turin", f.turin.VCEK, f.turin.ASK)}}
	}
	unsigned := func(b []byte) []byte { // SIGNING_KEY None, zero signature
		c := bytes.Clone(b)
		binary.LittleEndian.PutUint32(c[report.OffSignerInfo:], 7<<2)
		clear(c[report.OffSignature:])
		return c
	}
	noCerts := func(o *report.Options) { o.Trust.Certificates = nil }
	withChain := func(o *report.Options) {
		o.Trust.Certificates = []report.CertSource{source("--cert-chain", p.ASK, p.ARK)}
	}
	tests := []struct {
		name   string
		raw    []byte
		opts   func(o *report.Options)
		failed string // the failed checks; "" for OK
		actual string // in the Actual of the first failed check
	}{
		{name: "genuine (test roots)", raw: good},
		{name: "genuine extended report, table only", raw: append(bytes.Clone(good), p.StandardTable()...), opts: noCerts},

		// An unsigned report never passes, whatever else is given.
		{name: "unsigned, fields only", raw: unsigned(good), opts: noCerts, failed: "signature,certificate chain", actual: "SIGNING_KEY is None"},
		{name: "unsigned, with --cert-chain", raw: unsigned(good), opts: withChain, failed: "signature,certificate chain"},
		{name: "unsigned, with --product", raw: unsigned(good), opts: func(o *report.Options) { noCerts(o); o.Trust.Product = report.Milan },
			failed: "signature,certificate chain"},
		{name: "unsigned, with the VCEK", raw: unsigned(good), failed: "signature", actual: "not signed"},
		{name: "unsigned report, VCEK table", raw: append(unsigned(good), p.StandardTable()...), opts: noCerts, failed: "signature"},
		{name: "signature zeroed", raw: edit(good, func(b []byte) { clear(b[report.OffSignature:]) }), failed: "signature", actual: "invalid"},
		{name: "signature of another report", raw: append(bytes.Clone(good[:report.OffSignature]), f.signed(t, setU32(report.OffGuestSVN, 1))[report.OffSignature:]...),
			failed: "signature", actual: "invalid"},
		{name: "MASK_CHIP_KEY", raw: f.signed(t, setU32(report.OffSignerInfo, 2)), failed: "signature", actual: "MASK_CHIP_KEY"},
		{name: "SIGNING_KEY reserved value", raw: f.signed(t, setU32(report.OffSignerInfo, 3<<2)), failed: "signature", actual: "reserved value 3"},
		{name: "SIGNATURE_ALGO 2", raw: f.signed(t, setU32(report.OffSignatureAlgo, 2)), failed: "signature", actual: "SIGNATURE_ALGO is 2"},

		// SIGNING_KEY never picks what gets checked.
		{name: "SIGNING_KEY VLEK, table keeps the VCEK", raw: append(edit(good, setU32(report.OffSignerInfo, 1<<2)), p.StandardTable()...), opts: noCerts,
			failed: "signature,certificate chain,certificate table", actual: "no VLEK certificate"},
		{name: "SIGNING_KEY VLEK, --vcek holds the VCEK", raw: edit(good, setU32(report.OffSignerInfo, 1<<2)),
			failed: "signature,certificate chain", actual: "holds a VCEK"},
		{name: "VLEK signs a report claiming VCEK", raw: reporttest.Sign(t, bytes.Clone(good), p.VLEKKey),
			opts: func(o *report.Options) {
				o.Trust.Certificates = []report.CertSource{source("--vcek vlek.pem", p.VLEK, p.ASVK)}
			},
			failed: "signature,certificate chain", actual: "holds a VLEK"},
		{name: "VLEK signs a report claiming VCEK, VLEK in the VCEK slot", raw: append(reporttest.Sign(t, bytes.Clone(good), p.VLEKKey),
			reporttest.Table(reporttest.Entry{GUID: reporttest.GUIDVCEK, Data: p.VLEK.Raw})...), opts: noCerts,
			failed: "signature,certificate chain,certificate table", actual: "no VCEK certificate"},
		{name: "VLEK report with VLEK and ASVK", raw: vlekSigned,
			opts: func(o *report.Options) { o.Trust.Certificates = []report.CertSource{source("vlek", p.VLEK, p.ASVK)} }},
		{name: "VLEK report, VLEK with the ASK only", raw: vlekSigned,
			opts:   func(o *report.Options) { o.Trust.Certificates = []report.CertSource{source("vlek", p.VLEK, p.ASK)} },
			failed: "certificate chain", actual: "not signed by an ASVK"},
		{name: "table stripped, no VCEK", raw: good, opts: noCerts, failed: "signature,certificate chain", actual: "no VCEK certificate"},
		{name: "table VCEK truncated", raw: append(bytes.Clone(good), reporttest.Table(reporttest.Entry{GUID: reporttest.GUIDVCEK, Data: p.VCEK.Raw[:200]})...),
			opts: noCerts, failed: "signature,certificate chain,certificate table"},
		{name: "table ARK entry holds the VCEK", raw: append(bytes.Clone(good), reporttest.Table(reporttest.Entry{GUID: reporttest.GUIDARK, Data: p.VCEK.Raw},
			reporttest.Entry{GUID: reporttest.GUIDASK, Data: p.ASK.Raw},
			reporttest.Entry{GUID: reporttest.GUIDVCEK, Data: p.VCEK.Raw})...), opts: noCerts, failed: "certificate table", actual: "the ARK entry holds a VCEK"},
		{name: "table with another chip's VCEK", raw: append(bytes.Clone(good), reporttest.Table(reporttest.Entry{GUID: reporttest.GUIDASK, Data: p.ASK.Raw},
			reporttest.Entry{GUID: reporttest.GUIDVCEK, Data: otherChip.VCEK.Raw})...), opts: noCerts,
			failed: "signature,certificate hwid"},
		{name: "--vcek of another chip", raw: good, opts: func(o *report.Options) {
			o.Trust.Certificates = []report.CertSource{source("--vcek", otherChip.VCEK, p.ASK)}
		}, failed: "signature,certificate hwid", actual: "invalid"},
		{name: "two different VCEKs", raw: good, opts: func(o *report.Options) {
			o.Trust.Certificates = append(o.Trust.Certificates, source("--cert-chain other.pem", otherChip.VCEK))
		}, failed: "signature,certificate chain", actual: "two different VCEK certificates"},
		{name: "table holds only a VLEK, --vcek the VCEK", raw: append(bytes.Clone(good), reporttest.Table(reporttest.Entry{GUID: reporttest.GUIDVLEK, Data: p.VLEK.Raw})...),
			failed: "certificate table", actual: "the table holds no VCEK"},
		{name: "table VCEK entry holds a bundle", raw: append(bytes.Clone(good), reporttest.Table(reporttest.Entry{GUID: reporttest.GUIDVCEK, Data: reporttest.PEM(p.VCEK, p.ASK)})...),
			opts: noCerts, failed: "signature,certificate chain,certificate table", actual: "no VCEK certificate"},
		{name: "table VCEK in PEM", raw: append(bytes.Clone(good), reporttest.Table(reporttest.Entry{GUID: reporttest.GUIDVCEK, Data: reporttest.PEM(p.VCEK)},
			reporttest.Entry{GUID: reporttest.GUIDASK, Data: reporttest.PEM(p.ASK)})...), opts: noCerts},
		{name: "--vcek wins over another chip's VCEK in the table", raw: append(bytes.Clone(good), reporttest.Table(reporttest.Entry{GUID: reporttest.GUIDVCEK, Data: otherChip.VCEK.Raw})...)},
		{name: "the same VCEK twice", raw: append(bytes.Clone(good), p.StandardTable()...), opts: func(o *report.Options) {
			o.Trust.Certificates = append(o.Trust.Certificates, source("again", p.VCEK))
		}},
		{name: "VCEK for another TCB", raw: good, opts: func(o *report.Options) {
			o.Trust.Certificates = []report.CertSource{source("--vcek", otherTCB.VCEK, p.ASK)}
		}, failed: "certificate tcb", actual: "another TCB"},
		{name: "VCEK without ucode SPL and hwID", raw: reporttest.Sign(t, reporttest.NewReport(reporttest.Fields{TCB: milanTCB, ChipID: f.chipID}), noTCBExt.VCEKKey),
			opts: func(o *report.Options) {
				o.Trust = report.TrustOptions{Roots: []*x509.Certificate{noTCBExt.ARK}, Certificates: []report.CertSource{source("x", noTCBExt.VCEK, noTCBExt.ASK)}}
			}, failed: "certificate tcb,certificate hwid", actual: "no ucode SPL"},
		{name: "a VLEK renamed SEV-VCEK's sibling: VCEK named SEV-VLEK", raw: good, opts: func(o *report.Options) {
			o.Trust.Certificates = []report.CertSource{source("--vcek", renamedVCEK.VCEK, renamedVCEK.ASK)}
		}, failed: "signature,certificate chain", actual: "holds a VLEK"},
		{name: "VCEK issued by the ASVK", raw: good, opts: func(o *report.Options) {
			o.Trust = report.TrustOptions{Roots: []*x509.Certificate{vcekByASVK.ARK}, Certificates: []report.CertSource{source("x", vcekByASVK.VCEK, vcekByASVK.ASK)}}
		}, failed: "certificate chain", actual: "not signed by an ASK"},
		{name: "P-256 VCEK", raw: reporttest.Sign(t, reporttest.NewReport(reporttest.Fields{TCB: milanTCB, ChipID: f.chipID}), evilEK), opts: func(o *report.Options) {
			o.Trust = report.TrustOptions{Roots: []*x509.Certificate{p256PKI.ARK}, Certificates: []report.CertSource{source("x", p256PKI.VCEK, p256PKI.ASK)}}
		}, failed: "signature", actual: "ECDSA P-384"},

		// Trust comes from the pinned ARK, never from the inputs.
		{name: "test chain against AMD's roots", raw: good, opts: func(o *report.Options) { o.Trust.Roots = nil },
			failed: "certificate chain", actual: "not signed by a trusted ARK"},
		{name: "evil root in --cert-chain", raw: f.evilSigned(t), opts: func(o *report.Options) {
			o.Trust = report.TrustOptions{Certificates: []report.CertSource{source("--vcek", f.evil.VCEK), source("--cert-chain evil.pem", f.evil.ASK, f.evil.ARK)}}
		}, failed: "certificate chain", actual: "is not signed by an ASK"},
		{name: "evil root in --cert-chain, test ARK trusted", raw: f.evilSigned(t), opts: func(o *report.Options) {
			o.Trust.Certificates = []report.CertSource{source("--vcek", f.evil.VCEK), source("--cert-chain evil.pem", f.evil.ASK, f.evil.ARK)}
		}, failed: "certificate chain", actual: "not signed by an ASK"},
		{name: "evil ARK alongside the good chain", raw: good, opts: func(o *report.Options) {
			o.Trust.Certificates = append(o.Trust.Certificates, source("--ark evil-ark.pem", f.evil.ARK))
		}, failed: "certificate chain", actual: `the ARK "ARK-Milan" from --ark evil-ark.pem is not a trusted one`},
		{name: "evil ASK alongside the good chain", raw: good, opts: func(o *report.Options) {
			o.Trust.Certificates = append(o.Trust.Certificates, source("--ask evil-ask.pem", f.evil.ASK))
		}, failed: "certificate chain", actual: "from --ask evil-ask.pem is not signed by a trusted ARK"},
		{name: "evil ARK in the table", raw: append(bytes.Clone(good), reporttest.Table(reporttest.Entry{GUID: reporttest.GUIDARK, Data: f.evil.ARK.Raw},
			reporttest.Entry{GUID: reporttest.GUIDASK, Data: p.ASK.Raw}, reporttest.Entry{GUID: reporttest.GUIDVCEK, Data: p.VCEK.Raw})...),
			opts: noCerts, failed: "certificate chain", actual: "the report's certificate table (ARK entry) is not a trusted one"},
		{name: "test ASK as the trusted root", raw: good, opts: func(o *report.Options) { o.Trust.Roots = []*x509.Certificate{p.ASK} },
			failed: "certificate chain"},
		{name: "expired ASK", raw: good, opts: func(o *report.Options) {
			o.Trust = report.TrustOptions{Roots: []*x509.Certificate{expiredASK.ARK}, Certificates: []report.CertSource{source("x", expiredASK.VCEK, expiredASK.ASK)}}
		}, failed: "certificate chain", actual: `"SEV-Milan" expired`},
		{name: "expired ASK, --at inside its validity", raw: good, opts: func(o *report.Options) {
			o.Trust = report.TrustOptions{Roots: []*x509.Certificate{expiredASK.ARK}, Certificates: []report.CertSource{source("x", expiredASK.VCEK, expiredASK.ASK)},
				At: now.Add(-36 * time.Hour)}
		}},
		{name: "certificates not yet valid", raw: good, opts: func(o *report.Options) {
			o.Trust = report.TrustOptions{Roots: []*x509.Certificate{futurePKI.ARK}, Certificates: []report.CertSource{source("x", futurePKI.VCEK, futurePKI.ASK)}}
		}, failed: "certificate chain", actual: "is not valid before"},
		{name: "--at before the chain", raw: good, opts: func(o *report.Options) { o.Trust.At = now.Add(-48 * time.Hour) },
			failed: "certificate chain", actual: "is not valid before"},
		{name: "--at after the chain", raw: good, opts: func(o *report.Options) { o.Trust.At = now.Add(8 * 365 * 24 * time.Hour) },
			failed: "certificate chain", actual: "expired"},

		// Product lines.
		{name: "Turin report", raw: turinReport, opts: turinTrust},
		{name: "Turin report read as Milan", raw: turinReport, opts: func(o *report.Options) { turinTrust(o); o.Trust.Product = report.Milan },
			failed: "product", actual: "they disagree"},
		{name: "Turin report, Milan min-tcb names", raw: turinReport, opts: func(o *report.Options) {
			turinTrust(o)
			o.Expect.MinTCB = mustTCBMin(t, "tee=2")
		}, failed: "min-tcb", actual: "too low: REPORTED_TCB tee"},
		{name: "Turin report, Turin min-tcb met", raw: turinReport, opts: func(o *report.Options) {
			turinTrust(o)
			o.Expect.MinTCB = mustTCBMin(t, "fmc=1,bl=2,tee=0,snp=3,ucode=72")
		}},
		{name: "Turin report, Turin min-tcb fmc too high", raw: turinReport, opts: func(o *report.Options) {
			turinTrust(o)
			o.Expect.MinTCB = mustTCBMin(t, "fmc=2")
		}, failed: "min-tcb"},
		{name: "Milan report, fmc component", raw: good, opts: func(o *report.Options) { o.Expect.MinTCB = mustTCBMin(t, "fmc=0") },
			failed: "min-tcb", actual: "Milan has no fmc component"},
		{name: "Turin report signed, Milan VCEK names", raw: reporttest.Sign(t, reporttest.NewReport(reporttest.Fields{Version: 5, Product: report.Turin,
			TCB: milanTCB, ChipID: f.chipID}), p.VCEKKey), failed: "product,certificate tcb,certificate hwid,reserved", actual: "they disagree"},
		// A TCB byte the layout reserves would escape every TCB comparison.
		{name: "CURRENT_TCB reserved byte 4 (Milan)", raw: f.signed(t, func(b []byte) { b[report.OffCurrentTCB+4] = 1 }),
			failed: "reserved", actual: "CURRENT_TCB 0x"},
		{name: "LAUNCH_TCB reserved byte 2 (Milan)", raw: f.signed(t, func(b []byte) { b[report.OffLaunchTCB+2] = 0xff }),
			failed: "reserved", actual: "LAUNCH_TCB 0x"},
		{name: "unknown CPU family 17h", raw: f.signed(t, func(b []byte) { b[report.OffCPUIDFamily] = 0x17 }), failed: "product", actual: "CPUID family 17h"},
		{name: "Venice model of family 1Ah", raw: f.signed(t, func(b []byte) { b[report.OffCPUIDFamily], b[report.OffCPUIDModel] = 0x1a, 0x50 }),
			failed: "product"},
		{name: "Zen 4c Genoa model A0h, Milan VCEK", raw: f.signed(t, func(b []byte) { b[report.OffCPUIDModel] = 0xa0 }), failed: "product", actual: "Genoa from CPUID"},
		{name: "VERSION 2, product from the VCEK", raw: f.signed(t, func(b []byte) { binary.LittleEndian.PutUint32(b, 2); clear(b[report.OffCPUIDFamily:report.OffChipID]) })},
		{name: "VERSION 2, no VCEK, no product", raw: f.signed(t, func(b []byte) { binary.LittleEndian.PutUint32(b, 2); clear(b[report.OffCPUIDFamily:report.OffChipID]) }),
			opts: noCerts, failed: "product,signature,certificate chain,reported tcb,provisional firmware"},

		// The secure defaults, and stating the expectation.
		{name: "debug allowed", raw: f.signed(t, setU64(report.OffPolicy, 0xb0000)), failed: "debug"},
		{name: "debug allowed, --allow-debug", raw: f.signed(t, setU64(report.OffPolicy, 0xb0000)), opts: func(o *report.Options) { o.Expect.AllowDebug = true }},
		{name: "debug allowed, exact --policy", raw: f.signed(t, setU64(report.OffPolicy, 0xb0000)), opts: func(o *report.Options) { o.Expect.Policy = u64(0xb0000) }},
		{name: "migration agent", raw: f.signed(t, setU64(report.OffPolicy, 0x70000)), failed: "migrate-ma"},
		{name: "migration agent, --allow-migration-agent", raw: f.signed(t, setU64(report.OffPolicy, 0x70000)),
			opts: func(o *report.Options) { o.Expect.AllowMigrationAgent = true }},
		{name: "policy exact mismatch", raw: good, opts: func(o *report.Options) { o.Expect.Policy = u64(0x30001) }, failed: "policy"},
		{name: "VMPL 3", raw: f.signed(t, setU32(report.OffVMPL, 3)), failed: "vmpl"},
		{name: "VMPL 3, --vmpl 3", raw: f.signed(t, setU32(report.OffVMPL, 3)), opts: func(o *report.Options) { o.Expect.VMPL = u32(3) }},
		{name: "VMPL 0xffffffff", raw: f.signed(t, setU32(report.OffVMPL, 0xffffffff)), opts: func(o *report.Options) { o.Expect.VMPL = u32(3) }, failed: "vmpl"},
		{name: "reserved byte set", raw: f.signed(t, func(b []byte) { b[0x4c] = 1 }), failed: "reserved", actual: "bytes 0x4c-0x4f"},
		{name: "reserved byte before the CHIP_ID", raw: f.signed(t, func(b []byte) { b[0x19f] = 1 }), failed: "reserved"},
		{name: "mitigation vector in a VERSION 3 report", raw: f.signed(t, func(b []byte) { b[report.OffLaunchMitVector] = 1 }), failed: "reserved"},
		{name: "policy bit 17 clear", raw: f.signed(t, setU64(report.OffPolicy, 0x10000)), failed: "reserved", actual: "bit 17"},
		{name: "policy reserved bit 40", raw: f.signed(t, setU64(report.OffPolicy, 0x30000|1<<40)), failed: "reserved"},
		{name: "signer info reserved bit", raw: f.signed(t, setU32(report.OffSignerInfo, 1<<9)), failed: "reserved"},
		{name: "signature padding not zero", raw: edit(good, func(b []byte) { b[report.Size-1] = 1 }), failed: "reserved"},
		{name: "provisional firmware", raw: f.signed(t, func(b []byte) { b[report.OffCommittedBuild] = 20 })},
		{name: "provisional firmware, --no-provisional", raw: f.signed(t, func(b []byte) { b[report.OffCommittedBuild] = 20 }),
			opts: func(o *report.Options) { o.Expect.NoProvisional = true }, failed: "provisional firmware"},
		{name: "provisional TCB, --no-provisional", raw: f.signed(t, setU64(report.OffCommittedTCB, uint64(milanTCB)-1)),
			opts: func(o *report.Options) { o.Expect.NoProvisional = true }, failed: "provisional firmware"},
		{name: "committed newer than current", raw: f.signed(t, func(b []byte) { b[report.OffCommittedBuild] = 22 }), failed: "provisional firmware", actual: "newer"},
		{name: "reported TCB above current", raw: f.signed(t, setU64(report.OffCurrentTCB, uint64(milanTCB)-1)), failed: "reported tcb,provisional firmware"},

		// Checks that peers have.
		{name: "min-tcb met", raw: good, opts: func(o *report.Options) { o.Expect.MinTCB = mustTCBMin(t, "bl=3,tee=0,snp=8,ucode=115") }},
		{name: "min-tcb hex, raw layout", raw: good, opts: func(o *report.Options) { o.Expect.MinTCB = mustTCBMin(t, "0x7308000000000003") }},
		{name: "min-tcb too high", raw: good, opts: func(o *report.Options) { o.Expect.MinTCB = mustTCBMin(t, "snp=9") }, failed: "min-tcb"},
		{name: "min-tcb hex with reserved bytes", raw: good, opts: func(o *report.Options) { o.Expect.MinTCB = mustTCBMin(t, "0x0000000100000000") },
			failed: "min-tcb", actual: "reserved bytes"},
		{name: "min-launch-tcb too high", raw: good, opts: func(o *report.Options) { o.Expect.MinLaunchTCB = mustTCBMin(t, "ucode=116") }, failed: "min-launch-tcb"},
		{name: "min-build", raw: good, opts: func(o *report.Options) { b := uint8(22); o.Expect.MinBuild = &b }, failed: "min-build"},
		{name: "min-version", raw: good, opts: func(o *report.Options) { o.Expect.MinVersion = &report.FirmwareVersion{Major: 1, Minor: 56} }, failed: "min-version"},
		{name: "min-version met", raw: good, opts: func(o *report.Options) { o.Expect.MinVersion = &report.FirmwareVersion{Major: 1, Minor: 55} }},
		{name: "platform-info smt=0", raw: good, opts: func(o *report.Options) { o.Expect.PlatformInfo = mustPI(t, "smt=0") }, failed: "platform-info"},
		{name: "platform-info smt=1,tsme=0", raw: good, opts: func(o *report.Options) { o.Expect.PlatformInfo = mustPI(t, "smt=1,tsme=0") }},
		{name: "platform-info mask", raw: good, opts: func(o *report.Options) { o.Expect.PlatformInfo = mustPI(t, "0x4/0x4") }, failed: "platform-info"},
		{name: "chip-id", raw: good, opts: func(o *report.Options) { o.Expect.ChipID = f.chipID }},
		{name: "chip-id of another chip", raw: good, opts: func(o *report.Options) { o.Expect.ChipID = bytes.Repeat([]byte{1}, 64) }, failed: "chip-id"},
		{name: "Turin 8-byte chip-id", raw: turinReport, opts: func(o *report.Options) { turinTrust(o); o.Expect.ChipID = f.chipID[:8] }},
		{name: "report-id", raw: good, opts: func(o *report.Options) { o.Expect.ReportID = bytes.Repeat([]byte{0x23}, 32) }, failed: "report-id"},
		{name: "guest svn", raw: good, opts: func(o *report.Options) { o.Expect.MinGuestSVN = u32(1) }, failed: "min-guest-svn"},
		{name: "id block required, none", raw: good, opts: func(o *report.Options) { o.Expect.TrustedIDKeys = [][]byte{bytes.Repeat([]byte{7}, 48)} },
			failed: "id-block", actual: "no ID block"},
		{name: "id block, trusted key", raw: f.signed(t, func(b []byte) { copy(b[report.OffIDKeyDigest:], bytes.Repeat([]byte{7}, 48)) }),
			opts: func(o *report.Options) { o.Expect.TrustedIDKeys = [][]byte{bytes.Repeat([]byte{7}, 48)} }},
		{name: "id block, untrusted key", raw: f.signed(t, func(b []byte) { copy(b[report.OffIDKeyDigest:], bytes.Repeat([]byte{8}, 48)) }),
			opts: func(o *report.Options) { o.Expect.TrustedIDKeys = [][]byte{bytes.Repeat([]byte{7}, 48)} }, failed: "id-block"},
		{name: "id block, trusted author key", raw: f.signed(t, both(func(b []byte) { copy(b[report.OffIDKeyDigest:], bytes.Repeat([]byte{8}, 48)) },
			func(b []byte) { copy(b[report.OffAuthorKeyDigest:], bytes.Repeat([]byte{9}, 48)) }, setU32(report.OffSignerInfo, 1))),
			opts: func(o *report.Options) { o.Expect.TrustedAuthorKeys = [][]byte{bytes.Repeat([]byte{9}, 48)} }},
		{name: "id block, author digest without AUTHOR_KEY_EN", raw: f.signed(t, both(func(b []byte) { copy(b[report.OffIDKeyDigest:], bytes.Repeat([]byte{8}, 48)) },
			func(b []byte) { copy(b[report.OffAuthorKeyDigest:], bytes.Repeat([]byte{9}, 48)) })),
			opts: func(o *report.Options) { o.Expect.TrustedAuthorKeys = [][]byte{bytes.Repeat([]byte{9}, 48)} }, failed: "id-block"},
		{name: "id block required, no trusted keys", raw: good, opts: func(o *report.Options) { o.Expect.RequireIDBlock = true }, failed: "id-block"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := report.Parse(tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			o := f.trusted()
			if tc.opts != nil {
				tc.opts(o)
			}
			res := r.Verify(o)
			if got := failed(res); got != tc.failed {
				t.Fatalf("failed %q, want %q\n%s", got, tc.failed, rows(res))
			}
			if res.OK != (tc.failed == "") {
				t.Fatalf("OK %v with failed %q", res.OK, tc.failed)
			}
			if tc.actual != "" && !strings.Contains(res.Failed()[0].Actual, tc.actual) {
				t.Errorf("first failure %q does not say %q", res.Failed()[0].Actual, tc.actual)
			}
			for _, name := range []string{report.CheckSignature, report.CheckChain} {
				found := false
				for _, c := range res.Checks {
					found = found || c.Name == name
				}
				if !found {
					t.Errorf("no %q row", name)
				}
			}
			if res.OK {
				if err := res.Err(); err != nil {
					t.Errorf("Err() = %v for an OK result", err)
				}
			} else if err := res.Err(); err == nil {
				t.Error("Err() = nil for a failed result")
			}
		})
	}
}

func (f *fixture) evilSigned(t *testing.T) []byte {
	return reporttest.Sign(t, reporttest.NewReport(reporttest.Fields{TCB: milanTCB, ChipID: f.chipID}), f.evil.VCEKKey)
}

func rows(res *report.Result) string {
	var b strings.Builder
	for _, c := range res.Checks {
		b.WriteString(c.Name + " | " + c.Expected + " | " + c.Actual + "\n")
	}
	return b.String()
}

func mustTCBMin(t *testing.T, s string) *report.TCBMinimum {
	m, err := report.ParseTCBMinimum(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustPI(t *testing.T, s string) *report.PlatformInfoRequirement {
	q, err := report.ParsePlatformInfoRequirement(s)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// TestRevocation checks CRLs: one from the trusted ARK passes, one revoking
// the ASK fails, one signed by another key, or out of date, fails; a CRL of
// the ASK revokes VCEKs.
func TestRevocation(t *testing.T) {
	f := newFixture(t)
	p := f.pki
	now := time.Now()
	good := f.signed(t, nil)
	r, err := report.Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	crl := func(name string, signer *x509.Certificate, key *rsa.PrivateKey, revoked []*big.Int, this, next time.Time) report.CRLSource {
		tmpl := &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: this, NextUpdate: next, SignatureAlgorithm: x509.SHA384WithRSAPSS}
		for _, s := range revoked {
			tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: this})
		}
		der, err := x509.CreateRevocationList(rand.Reader, tmpl, signer, key)
		if err != nil {
			t.Fatal(err)
		}
		c, err := report.ParseCRL(der)
		if err != nil {
			t.Fatal(err)
		}
		return report.CRLSource{Name: "--crl " + name, CRL: c}
	}
	day := 24 * time.Hour
	clean := crl("ark.crl", p.ARK, p.ARKKey, []*big.Int{big.NewInt(12345)}, now.Add(-day), now.Add(30*day))
	for _, tc := range []struct {
		name   string
		crls   []report.CRLSource
		at     time.Time
		actual string // "" for not revoked
	}{
		{"clean CRL", []report.CRLSource{clean}, time.Time{}, ""},
		{"ASK revoked", []report.CRLSource{crl("revoked.crl", p.ARK, p.ARKKey, []*big.Int{p.ASK.SerialNumber}, now.Add(-day), now.Add(30*day))}, time.Time{},
			`"SEV-Milan" (serial`},
		{"VCEK revoked by its ASK", []report.CRLSource{clean, crl("ask.crl", p.ASK, p.ASKKey, []*big.Int{p.VCEK.SerialNumber}, now.Add(-day), now.Add(30*day))},
			time.Time{}, `"SEV-VCEK" (serial`},
		{"CRL signed by a non-AMD key", []report.CRLSource{crl("evil.crl", f.evil.ARK, f.evil.ARKKey, nil, now.Add(-day), now.Add(30*day))}, time.Time{},
			"not signed by a trusted ARK"},
		{"forged CRL hides the revoked ASK", []report.CRLSource{clean, crl("evil.crl", f.evil.ARK, f.evil.ARKKey, nil, now.Add(-day), now.Add(30*day))}, time.Time{},
			"not signed by a trusted ARK"},
		{"CRL out of date", []report.CRLSource{crl("old.crl", p.ARK, p.ARKKey, nil, now.Add(-60*day), now.Add(-30*day))}, time.Time{}, "out of date"},
		{"CRL out of date, --at when it was current", []report.CRLSource{crl("old.crl", p.ARK, p.ARKKey, nil, now.Add(-60*day), now.Add(-30*day))},
			now.Add(-45 * day), "not valid before"},
		{"--at before the certificates", []report.CRLSource{clean}, now.Add(-2 * day), "not valid before"},
		// An audit of an old report with a CRL saved since: accepted, and
		// any entry it lists revokes.
		{"CRL issued after --at", []report.CRLSource{crl("later.crl", p.ARK, p.ARKKey, nil, now.Add(-10*time.Minute), now.Add(30*day))},
			now.Add(-30 * time.Minute), ""},
		{"ASK revoked by a CRL issued after --at", []report.CRLSource{crl("later.crl", p.ARK, p.ARKKey, []*big.Int{p.ASK.SerialNumber}, now.Add(-10*time.Minute), now.Add(30*day))},
			now.Add(-30 * time.Minute), `"SEV-Milan" (serial`},
		{"CRL issued in the future", []report.CRLSource{crl("future.crl", p.ARK, p.ARKKey, nil, now.Add(time.Hour), now.Add(30*day))}, time.Time{}, "after"},
		{"only the ASK's CRL", []report.CRLSource{crl("ask.crl", p.ASK, p.ASKKey, nil, now.Add(-day), now.Add(30*day))}, time.Time{}, "no CRL from \"ARK-Milan\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := f.trusted()
			o.Trust.CRLs = tc.crls
			o.Trust.At = tc.at
			res := r.Verify(o)
			c := findRow(res, report.CheckRevocation)
			if c == nil {
				t.Fatalf("no revocation row:\n%s", rows(res))
			}
			if tc.actual == "" {
				if !res.OK || !c.OK {
					t.Fatalf("not OK:\n%s", rows(res))
				}
				return
			}
			if res.OK || !strings.Contains(failedActuals(res), tc.actual) {
				t.Errorf("want a failure saying %q:\n%s", tc.actual, rows(res))
			}
		})
	}
}

func findRow(res *report.Result, name string) *report.Check {
	for i := range res.Checks {
		if res.Checks[i].Name == name {
			return &res.Checks[i]
		}
	}
	return nil
}

func failedActuals(res *report.Result) string {
	var s []string
	for _, c := range res.Failed() {
		s = append(s, c.Actual)
	}
	return strings.Join(s, "; ")
}
