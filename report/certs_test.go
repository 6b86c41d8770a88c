package report

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"path/filepath"
	"strings"
	"testing"
)

// builtinFingerprints are the SHA-256 digests of AMD's certificates that
// roots/README.md lists (the same bytes virtee/sev, go-sev-guest, Trustee
// and AMD's KDS have).
var builtinFingerprints = map[Product][3]string{
	Milan: {"69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd",
		"67d303bd3905fd38db8b20e0793699870e7fa612eaad5dec358293fd8c0bac1b",
		"c5e081f59b7efab1fe2f8b505e159704e72f29cab7ef7cf628a05a42439082f5"},
	Genoa: {"4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1",
		"5464738c1546aed5f2cecf1dc98c5c960a92e8913238a61711bc90ec6e828521",
		"197e610743a917d6b9bb982a5a9226ccc0a15b611be0619e626aca9151457372"},
	Turin: {"1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a",
		"5b77ef5fe7a7a004fd9032668fba9d0fda22f88c4442069a479636a6ae3b3185",
		"104e10a8bd060a3c20a434261a57d0588fd65a88915b4f65b08bdecaf8df1a3c"},
}

func TestBuiltinRoots(t *testing.T) {
	for _, p := range Products() {
		r, err := BuiltinRoots(p)
		if err != nil {
			t.Fatal(err)
		}
		want := builtinFingerprints[p]
		got := [3]string{Fingerprint(r.ARK), Fingerprint(r.ASK), Fingerprint(r.ASVK)}
		if got != want {
			t.Errorf("%s: fingerprints %v, want %v", p, got, want)
		}
		if r.ARK.Subject.CommonName != "ARK-"+p.String() || r.ASK.Subject.CommonName != "SEV-"+p.String() ||
			r.ASVK.Subject.CommonName != "SEV-VLEK-"+p.String() {
			t.Errorf("%s: names %q %q %q", p, r.ARK.Subject.CommonName, r.ASK.Subject.CommonName, r.ASVK.Subject.CommonName)
		}
	}
	// The copies in the genuine corpus (KDS cert_chain, virtee's built-ins)
	// are the same certificates.
	for _, f := range []string{"trustee-snp/milan_ask_ark_asvk.pem", "virtee-sev-milan/cert_chain_milan.pem", "veraison-tsm-genoa/aux_ark.pem",
		"go-sev-guest/trust_ask_ark_turin_vcek.pem"} {
		certs, err := ReadCertificates(filepath.Join(genuineDir, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range certs {
			found := false
			for _, fp := range builtinFingerprints {
				found = found || fp[0] == Fingerprint(c) || fp[1] == Fingerprint(c) || fp[2] == Fingerprint(c)
			}
			if !found {
				t.Errorf("%s: %q is not a built-in certificate", f, c.Subject.CommonName)
			}
		}
	}
	if _, err := BuiltinRoots(ProductUnknown); err == nil {
		t.Error("roots for an unknown product")
	}
}

func TestParseCertificates(t *testing.T) {
	vcek := readTestFile(t, filepath.Join(genuineDir, "virtee-sev-milan/vcek_milan.der"))
	chain := readTestFile(t, filepath.Join(genuineDir, "virtee-sev-milan/cert_chain_milan.pem"))
	vcekPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: vcek})
	thim, _ := json.Marshal(map[string]string{"vcekCert": string(vcekPEM), "certificateChain": string(chain), "tcbm": "7308000000000003"})
	crlf := bytes.ReplaceAll(append(bytes.Clone(vcekPEM), chain...), []byte("\n"), []byte("\r\n"))
	ask, _ := pem.Decode(chain)
	tests := []struct {
		name  string
		in    []byte
		roles string
		err   string
	}{
		{"DER", vcek, "VCEK", ""},
		{"DER with zero padding", append(bytes.Clone(vcek), make([]byte, 100)...), "VCEK", ""},
		{"DER with a line end", append(bytes.Clone(vcek), '\r', '\n'), "VCEK", ""},
		{"DER certificates back to back", append(bytes.Clone(vcek), ask.Bytes...), "VCEK ASK", ""},
		{"PEM", vcekPEM, "VCEK", ""},
		{"PEM bundle VCEK ASK ARK (Azure, KDS)", append(bytes.Clone(vcekPEM), chain...), "VCEK ASK ARK", ""},
		{"PEM with text before", append([]byte("subject=SEV-VCEK\n"), vcekPEM...), "VCEK", ""},
		{"PEM with CRLF", crlf, "VCEK ASK ARK", ""},
		{"PEM with a key block", append([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), vcekPEM...), "VCEK", ""},
		{"Azure THIM JSON", thim, "VCEK ASK ARK", ""},
		{"THIM JSON without a VCEK", []byte(`{"certificateChain": ""}`), "", "JSON without a vcekCert"},
		{"JSON of something else", []byte(`{"a": 1`), "", "not Azure THIM certificates"},
		{"key only", []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "", "no PEM CERTIFICATE block"},
		{"broken PEM certificate", []byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"), "", "PEM block 1"},
		{"junk", []byte("junk"), "", "not a DER or PEM X.509 certificate"},
		{"truncated DER", vcek[:500], "", "not a DER or PEM X.509 certificate"},
		{"DER then junk", append(bytes.Clone(vcek), 0x30, 0x03, 1, 2, 3), "", "DER certificate 2"},
		{"empty", nil, "", "no certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			certs, err := ParseCertificates(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var roles []string
			for _, c := range certs {
				roles = append(roles, RoleOf(c).String())
			}
			if strings.Join(roles, " ") != tc.roles {
				t.Errorf("roles %v, want %s", roles, tc.roles)
			}
		})
	}
	if _, err := ReadCertificates(filepath.Join(genuineDir, "nope.pem")); err == nil || !strings.Contains(err.Error(), "nope.pem: no such file") {
		t.Errorf("missing file: %v", err)
	}
}

// TestKDSExtensions reads the AMD extensions of real VCEKs and VLEKs: the
// hwID raw (as KDS issues it) and as a DER OCTET STRING (Trustee's
// "new"-format test certificate), the 8-byte Turin hwID, the VLEK's CSP_ID.
func TestKDSExtensions(t *testing.T) {
	for _, tc := range []struct {
		file, product, cspid string
		hwidLen              int
		hwidPrefix           string
		tcb                  TCBParts
		p                    Product
	}{
		{"trustee-snp/test-vcek.der", "Milan-B0", "", 64, "c38427a3", TCBParts{BootLoader: 3, SNP: 8, Microcode: 115}, Milan},
		// ucodeSPL 0xA9 is the two-byte DER INTEGER 02 02 00 A9.
		{"trustee-snp/test-vcek-invalid-legacy.der", "Milan-B0", "", 64, "00010203", TCBParts{BootLoader: 3, SNP: 10, Microcode: 169}, Milan},
		{"trustee-snp/test-vcek-invalid-new.der", "Milan-B0", "", 64, "00010203", TCBParts{Microcode: 30}, Milan},
		{"trustee-snp/test-vlek.der", "Milan", "CN=cc-us-east-2.amazonaws.com", 0, "", TCBParts{BootLoader: 4, SNP: 24, Microcode: 217}, Milan},
		{"oak/turin_oc_endorsements.vcek.der", "Turin", "", 8, "3b42092f", TCBParts{BootLoader: 1, SNP: 2, Microcode: 71}, Turin},
		{"veraison-tsm-genoa/aux_vcek.pem", "Genoa", "", 64, "7b1584c9", TCBParts{BootLoader: 10, SNP: 23, Microcode: 84}, Genoa},
	} {
		t.Run(tc.file, func(t *testing.T) {
			certs, err := ReadCertificates(filepath.Join(genuineDir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			ext, err := ParseKDSExtensions(certs[0])
			if err != nil {
				t.Fatal(err)
			}
			if ext.ProductName != tc.product || ext.CSPID != tc.cspid || len(ext.HWID) != tc.hwidLen ||
				!strings.HasPrefix(strings.ToLower(hexs(ext.HWID)), tc.hwidPrefix) {
				t.Errorf("product %q cspid %q hwid %x", ext.ProductName, ext.CSPID, ext.HWID)
			}
			parts, missing := ext.TCBParts(tc.p)
			if len(missing) > 0 || parts != tc.tcb {
				t.Errorf("TCB %+v missing %v, want %+v", parts, missing, tc.tcb)
			}
			if p, _ := productOf(certs[0], ext); p != tc.p {
				t.Errorf("product line %v", p)
			}
		})
	}
}

func hexs(b []byte) string {
	const d = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, d[c>>4], d[c&15])
	}
	return string(out)
}

func TestParseCRLErrors(t *testing.T) {
	for _, tc := range []struct {
		in  string
		err string
	}{
		{"junk", "not a DER or PEM certificate revocation list"},
		{"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n", "no PEM X509 CRL block"},
		{"-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n", "not a DER or PEM certificate revocation list"},
	} {
		if _, err := ParseCRL([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ParseCRL(%q) = %v, want %q", tc.in, err, tc.err)
		}
	}
}

func TestRoles(t *testing.T) {
	r, err := BuiltinRoots(Genoa)
	if err != nil {
		t.Fatal(err)
	}
	for c, want := range map[*x509.Certificate]Role{r.ARK: RoleARK, r.ASK: RoleASK, r.ASVK: RoleASVK} {
		if got := RoleOf(c); got != want {
			t.Errorf("%q: %v, want %v", c.Subject.CommonName, got, want)
		}
	}
}
