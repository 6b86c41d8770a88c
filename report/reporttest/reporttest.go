package reporttest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"sync"
	"testing"
	"time"

	sevtest "github.com/google/go-sev-guest/testing"

	"github.com/snpmeasure/snpmeasure/report"
)

// Keys are go-sev-guest's test-only AMD keys (ARK, ASK, ASVK: RSA; VCEK,
// VLEK: ECDSA P-384).
func Keys() *sevtest.AmdKeys { return sevtest.DefaultAmdKeys() }

// PKI is a test ARK → ASK → VCEK and ARK → ASVK → VLEK hierarchy named as
// AMD names its certificates.
type PKI struct {
	Product                    report.Product
	ARK, ASK, ASVK, VCEK, VLEK *x509.Certificate
	// Keys sign; ARKKey etc. are the ones used (an Options override, or
	// go-sev-guest's test keys).
	ARKKey, ASKKey, ASVKKey *rsa.PrivateKey
	VCEKKey, VLEKKey        *ecdsa.PrivateKey
}

// Options configure a PKI. The zero value is a Milan hierarchy valid from
// an hour ago for seven years, certifying TCB 0 with an all-zero hardware ID.
type Options struct {
	Product report.Product
	// TCB is the TCB the VCEK and VLEK certify.
	TCB report.TCB
	// HWID is the VCEK's hardware ID (64 bytes, 8 for Turin); nil is zero.
	HWID []byte
	// RawHWID stores the hardware ID as raw bytes rather than a DER OCTET
	// STRING (KDS has used both).
	RawHWID bool
	// ProductName overrides the productName extension ("" derives it).
	ProductName string
	// NotBefore and NotAfter bound every certificate, unless the
	// per-certificate overrides are set.
	NotBefore, NotAfter            time.Time
	ASKNotAfter, VCEKNotAfter      time.Time
	ARKKey, ASKKey, ASVKKey        *rsa.PrivateKey
	VCEKKey, VLEKKey               *ecdsa.PrivateKey
	OmitExtensions                 []string // SPL keys ("bl", "fmc", ...) or "hwid" to leave out
	ARKCommonName, ASKCommonName   string
	VCEKCommonName, VLEKIssuerCN   string
	ARKSerial, ASKSerial, EKSerial int64
}

var (
	serial     int64 = 0x1000
	serialLock sync.Mutex
)

func nextSerial() *big.Int {
	serialLock.Lock()
	defer serialLock.Unlock()
	serial++
	return big.NewInt(serial)
}

func amdName(cn string) pkix.Name {
	return pkix.Name{
		OrganizationalUnit: []string{"Engineering"}, Country: []string{"US"}, Locality: []string{"Santa Clara"},
		Province: []string{"CA"}, Organization: []string{"Advanced Micro Devices"}, CommonName: cn,
	}
}

// OIDs of the KDS extensions.
var (
	oidProductName = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 2}
	oidHWID        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 4}
	oidCSPID       = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 5}
	oidSPL         = map[string]asn1.ObjectIdentifier{
		"bl": {1, 3, 6, 1, 4, 1, 3704, 1, 3, 1}, "tee": {1, 3, 6, 1, 4, 1, 3704, 1, 3, 2},
		"snp": {1, 3, 6, 1, 4, 1, 3704, 1, 3, 3}, "ucode": {1, 3, 6, 1, 4, 1, 3704, 1, 3, 8},
		"fmc": {1, 3, 6, 1, 4, 1, 3704, 1, 3, 9},
	}
)

func omitted(o *Options, key string) bool {
	for _, k := range o.OmitExtensions {
		if k == key {
			return true
		}
	}
	return false
}

// kdsExtensions returns the AMD extensions of a VCEK (hwid != nil) or VLEK.
func kdsExtensions(o *Options, p report.Product, vlek bool) []pkix.Extension {
	name := o.ProductName
	if name == "" {
		name = p.String() + "-B0"
		if vlek || p == report.Turin {
			name = p.String()
		}
	}
	ia5 := func(s string) []byte { b, _ := asn1.MarshalWithParams(s, "ia5"); return b }
	exts := []pkix.Extension{{Id: oidProductName, Value: ia5(name)}}
	parts := o.TCB.Parts(p)
	vals := map[string]uint8{"bl": parts.BootLoader, "tee": parts.TEE, "snp": parts.SNP, "ucode": parts.Microcode, "fmc": parts.FMC}
	for _, k := range []string{"fmc", "bl", "tee", "snp", "ucode"} {
		if k == "fmc" && p != report.Turin || omitted(o, k) {
			continue
		}
		v, _ := asn1.Marshal(int(vals[k]))
		exts = append(exts, pkix.Extension{Id: oidSPL[k], Value: v})
	}
	if vlek {
		return append(exts, pkix.Extension{Id: oidCSPID, Value: ia5("CN=reporttest")})
	}
	if !omitted(o, "hwid") {
		hw := o.HWID
		if hw == nil {
			hw = make([]byte, report.ChipIDSize)
			if p == report.Turin {
				hw = make([]byte, 8)
			}
		}
		v, _ := asn1.Marshal(hw)
		if o.RawHWID {
			v = hw
		}
		exts = append(exts, pkix.Extension{Id: oidHWID, Value: v})
	}
	return exts
}

// NewPKI builds a test hierarchy.
func NewPKI(t testing.TB, o Options) *PKI {
	t.Helper()
	if o.Product == report.ProductUnknown {
		o.Product = report.Milan
	}
	k := Keys()
	pick := func(a, b *rsa.PrivateKey) *rsa.PrivateKey {
		if a != nil {
			return a
		}
		return b
	}
	pickEC := func(a, b *ecdsa.PrivateKey) *ecdsa.PrivateKey {
		if a != nil {
			return a
		}
		return b
	}
	pki := &PKI{Product: o.Product, ARKKey: pick(o.ARKKey, k.Ark), ASKKey: pick(o.ASKKey, k.Ask), ASVKKey: pick(o.ASVKKey, k.Asvk),
		VCEKKey: pickEC(o.VCEKKey, k.Vcek), VLEKKey: pickEC(o.VLEKKey, k.Vlek)}
	nb, na := o.NotBefore, o.NotAfter
	if nb.IsZero() {
		nb = time.Now().Add(-time.Hour)
	}
	if na.IsZero() {
		na = nb.Add(7 * 365 * 24 * time.Hour)
	}
	or := func(t, def time.Time) time.Time {
		if t.IsZero() {
			return def
		}
		return t
	}
	or2 := func(s, def string) string {
		if s == "" {
			return def
		}
		return s
	}
	ser := func(n int64) *big.Int {
		if n != 0 {
			return big.NewInt(n)
		}
		return nextSerial()
	}
	p := o.Product.String()
	create := func(tmpl, parent *x509.Certificate, pub any, key crypto.Signer) *x509.Certificate {
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
		if err != nil {
			t.Fatalf("reporttest: %v", err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatalf("reporttest: %v", err)
		}
		return c
	}
	ca := func(cn string, serial *big.Int, notAfter time.Time) *x509.Certificate {
		return &x509.Certificate{SerialNumber: serial, Subject: amdName(cn), NotBefore: nb, NotAfter: notAfter,
			SignatureAlgorithm: x509.SHA384WithRSAPSS, IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	}
	arkT := ca(or2(o.ARKCommonName, "ARK-"+p), ser(o.ARKSerial), na)
	pki.ARK = create(arkT, arkT, &pki.ARKKey.PublicKey, pki.ARKKey)
	pki.ASK = create(ca(or2(o.ASKCommonName, "SEV-"+p), ser(o.ASKSerial), or(o.ASKNotAfter, na)), pki.ARK, &pki.ASKKey.PublicKey, pki.ARKKey)
	pki.ASVK = create(ca("SEV-VLEK-"+p, nextSerial(), or(o.ASKNotAfter, na)), pki.ARK, &pki.ASVKKey.PublicKey, pki.ARKKey)
	leaf := func(cn string, vlek bool) *x509.Certificate {
		return &x509.Certificate{SerialNumber: ser(o.EKSerial), Subject: amdName(cn), NotBefore: nb, NotAfter: or(o.VCEKNotAfter, na),
			SignatureAlgorithm: x509.SHA384WithRSAPSS, ExtraExtensions: kdsExtensions(&o, o.Product, vlek)}
	}
	pki.VCEK = create(leaf(or2(o.VCEKCommonName, "SEV-VCEK"), false), pki.ASK, &pki.VCEKKey.PublicKey, pki.ASKKey)
	pki.VLEK = create(leaf("SEV-VLEK", true), pki.ASVK, &pki.VLEKKey.PublicKey, pki.ASVKKey)
	return pki
}

// PEM encodes certificates as one PEM bundle.
func PEM(certs ...*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

// Fields are the values a test report gets.
type Fields struct {
	Version     uint32
	Product     report.Product // for the CPUID of VERSION 3+ and the TCB layout
	Policy      uint64
	VMPL        uint32
	SigningKey  report.SigningKey
	TCB         report.TCB // CURRENT, REPORTED, COMMITTED and LAUNCH_TCB
	Measurement []byte
	ChipID      []byte
}

// DefaultMeasurement is the MEASUREMENT of test reports unless set.
var DefaultMeasurement = bytes.Repeat([]byte{0x4d}, report.MeasurementSize)

// NewReport returns an unsigned report: VERSION f.Version (default 3),
// POLICY 0x30000, HOST_DATA 32 × 0x11, REPORT_DATA 64 × 0xaa, FAMILY_ID
// 16 × 0x0f, IMAGE_ID 16 × 0x1d, REPORT_ID 32 × 0x22, REPORT_ID_MA all
// ones, firmware 1.55 build 21, PLATFORM_INFO 0x1 (SMT on).
func NewReport(f Fields) []byte {
	if f.Version == 0 {
		f.Version = 3
	}
	if f.Product == report.ProductUnknown {
		f.Product = report.Milan
	}
	if f.Policy == 0 {
		f.Policy = 0x30000
	}
	if f.Measurement == nil {
		f.Measurement = DefaultMeasurement
	}
	b := make([]byte, report.Size)
	le := binary.LittleEndian
	le.PutUint32(b[report.OffVersion:], f.Version)
	le.PutUint64(b[report.OffPolicy:], f.Policy)
	fill := func(off, n int, c byte) { copy(b[off:off+n], bytes.Repeat([]byte{c}, n)) }
	fill(report.OffFamilyID, report.FamilyIDSize, 0x0f)
	fill(report.OffImageID, report.ImageIDSize, 0x1d)
	le.PutUint32(b[report.OffVMPL:], f.VMPL)
	le.PutUint32(b[report.OffSignatureAlgo:], report.SignatureAlgoECDSAP384SHA384)
	le.PutUint64(b[report.OffPlatformInfo:], 1)
	le.PutUint32(b[report.OffSignerInfo:], uint32(f.SigningKey)<<2)
	fill(report.OffReportData, report.ReportDataSize, 0xaa)
	copy(b[report.OffMeasurement:], f.Measurement)
	fill(report.OffHostData, report.HostDataSize, 0x11)
	fill(report.OffReportID, report.ReportIDSize, 0x22)
	fill(report.OffReportIDMA, report.ReportIDMASize, 0xff)
	for _, off := range []int{report.OffCurrentTCB, report.OffReportedTCB, report.OffCommittedTCB, report.OffLaunchTCB} {
		le.PutUint64(b[off:], uint64(f.TCB))
	}
	if f.Version >= 3 {
		// Family and model of a Milan, Genoa and Turin chip.
		cpu := map[report.Product][2]byte{report.Milan: {0x19, 0x01}, report.Genoa: {0x19, 0x11}, report.Turin: {0x1a, 0x02}}[f.Product]
		b[report.OffCPUIDFamily], b[report.OffCPUIDModel], b[report.OffCPUIDStepping] = cpu[0], cpu[1], 1
	}
	copy(b[report.OffChipID:], f.ChipID)
	for _, off := range []int{report.OffCurrentBuild, report.OffCommittedBuild} {
		b[off], b[off+1], b[off+2] = 21, 55, 1
	}
	return b
}

// Sign signs raw's first 0x2A0 bytes with key and stores R and S.
func Sign(t testing.TB, raw []byte, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	h := sha512.Sum384(raw[:report.SignedSize])
	r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	out := bytes.Clone(raw)
	clear(out[report.OffSignature:])
	putLE(out[report.OffSignatureR:report.OffSignatureR+report.SignatureComponentSize], r)
	putLE(out[report.OffSignatureS:report.OffSignatureS+report.SignatureComponentSize], s)
	return out
}

func putLE(dst []byte, v *big.Int) {
	be := v.Bytes()
	for i, c := range be {
		dst[len(be)-1-i] = c
	}
}

// Entry is one certificate table entry: a GUID (RFC 4122 text) and data.
type Entry struct {
	GUID string
	Data []byte
}

// GUIDs of the certificate table.
const (
	GUIDVCEK = "63da758d-e664-4564-adc5-f4b93be8accd"
	GUIDVLEK = "a8074bc2-a25a-483e-aae6-39c045a0b8a1"
	GUIDASK  = "4ab7b379-bbac-4fe4-a02f-05aef327c782"
	GUIDARK  = "c0b406a4-a803-4952-9743-3fb6014cd0ae"
)

// Table builds a certificate table: the headers, an all-zero entry, then
// the data of each entry in order.
func Table(entries ...Entry) []byte {
	const n = report.CertTableEntrySize
	hdr := make([]byte, (len(entries)+1)*n)
	var data []byte
	for i, e := range entries {
		g, err := hex.DecodeString(stripDashes(e.GUID))
		if err != nil || len(g) != 16 {
			panic("reporttest: bad GUID " + e.GUID)
		}
		copy(hdr[i*n:], g)
		binary.LittleEndian.PutUint32(hdr[i*n+16:], uint32(len(hdr)+len(data)))
		binary.LittleEndian.PutUint32(hdr[i*n+20:], uint32(len(e.Data)))
		data = append(data, e.Data...)
	}
	return append(hdr, data...)
}

func stripDashes(s string) string {
	return string(bytes.ReplaceAll([]byte(s), []byte("-"), nil))
}

// StandardTable is the table a host gives with a VCEK-signed report: ARK,
// ASK and VCEK, DER.
func (p *PKI) StandardTable() []byte {
	return Table(Entry{GUIDARK, p.ARK.Raw}, Entry{GUIDASK, p.ASK.Raw}, Entry{GUIDVCEK, p.VCEK.Raw})
}
