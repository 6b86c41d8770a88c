package report

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// errNoCertificate is wrapped by errors for data without a certificate.
var errNoCertificate = errors.New("no certificate")

// maxCertFileSize bounds certificate and CRL files: a PEM chain is a few KiB.
const maxCertFileSize = 1 << 20

// ParseCertificates parses certificates in any form AMD's KDS, cloud
// services and host tools hand them out: DER (one certificate, or several
// back to back, trailing zero padding allowed), PEM with one or more
// CERTIFICATE blocks (other blocks are skipped), or the JSON of Azure's
// THIM service ({"vcekCert": PEM, "certificateChain": PEM}).
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	trimmed := bytes.TrimSpace(data)
	switch {
	case bytes.HasPrefix(trimmed, []byte("{")):
		return parseTHIM(trimmed)
	case bytes.Contains(trimmed, []byte("-----BEGIN")):
		return parsePEMCertificates(trimmed)
	}
	return parseDERCertificates(data)
}

func parsePEMCertificates(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := data
	for n := 1; ; n++ {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", n, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no PEM CERTIFICATE block: %w", errNoCertificate)
	}
	return out, nil
}

func parseDERCertificates(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := data
	for len(rest) > 0 && !allZero(rest) && !blank(rest) { // padding or a line end after the last
		var raw asn1.RawValue
		next, err := asn1.Unmarshal(rest, &raw)
		if err != nil {
			if len(out) == 0 {
				return nil, fmt.Errorf("not a DER or PEM X.509 certificate: %w", err)
			}
			return nil, fmt.Errorf("DER certificate %d: %w", len(out)+1, err)
		}
		c, err := x509.ParseCertificate(rest[:len(rest)-len(next)])
		if err != nil {
			if len(out) == 0 {
				return nil, fmt.Errorf("not a DER or PEM X.509 certificate: %w", err)
			}
			return nil, fmt.Errorf("DER certificate %d: %w", len(out)+1, err)
		}
		out = append(out, c)
		rest = next
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("not a DER or PEM X.509 certificate: %w", errNoCertificate)
	}
	return out, nil
}

// parseTHIM parses Azure's THIM answer (GET /metadata/THIM/amd/certification).
func parseTHIM(data []byte) ([]*x509.Certificate, error) {
	var v struct {
		VcekCert         string `json:"vcekCert"`
		CertificateChain string `json:"certificateChain"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("JSON, but not Azure THIM certificates: %w", err)
	}
	if v.VcekCert == "" {
		return nil, fmt.Errorf("JSON without a vcekCert: %w", errNoCertificate)
	}
	return parsePEMCertificates([]byte(v.VcekCert + "\n" + v.CertificateChain))
}

// ReadCertificates reads a certificate file (see ParseCertificates). Errors
// name the file.
func ReadCertificates(path string) ([]*x509.Certificate, error) {
	data, err := readLimited(path, maxCertFileSize)
	if err != nil {
		return nil, err
	}
	certs, err := ParseCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return certs, nil
}

// Role is what a certificate is in AMD's SEV-SNP hierarchy.
type Role int

// Certificate roles. The ARK (AMD root key) certifies the ASK (AMD SEV
// key), which certifies VCEKs, and the ASVK (AMD SEV VLEK key), which
// certifies VLEKs.
const (
	RoleOther Role = iota
	RoleVCEK
	RoleVLEK
	RoleASK
	RoleASVK
	RoleARK
)

func (r Role) String() string {
	return [...]string{"certificate", "VCEK", "VLEK", "ASK", "ASVK", "ARK"}[r]
}

// RoleOf classifies a certificate by its subject as AMD names them:
// SEV-VCEK and SEV-VLEK are endorsement keys, a self-signed certificate is
// an ARK, SEV-VLEK-<product> an ASVK and SEV-<product> an ASK. The role
// says where a certificate may appear in a chain; it grants no trust.
func RoleOf(c *x509.Certificate) Role {
	cn := c.Subject.CommonName
	switch {
	case cn == "SEV-VCEK":
		return RoleVCEK
	case cn == "SEV-VLEK":
		return RoleVLEK
	case bytes.Equal(c.RawSubject, c.RawIssuer) && c.CheckSignatureFrom(c) == nil:
		return RoleARK
	case strings.HasPrefix(cn, "SEV-VLEK-"):
		return RoleASVK
	case strings.HasPrefix(cn, "SEV-"):
		return RoleASK
	}
	return RoleOther
}

// endorsementRole is the role of the key SIGNING_KEY names.
func endorsementRole(k SigningKey) Role {
	if k == SigningKeyVLEK {
		return RoleVLEK
	}
	return RoleVCEK
}

// The X.509 extensions of VCEK and VLEK certificates (AMD's "Versioned Chip
// Endorsement Key (VCEK) Certificate and KDS Interface Specification",
// publication 57230, and its VLEK counterpart 58369), under
// 1.3.6.1.4.1.3704.1.
var (
	oidStructVersion = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 1}
	oidProductName   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 2}
	oidBlSPL         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 3, 1}
	oidTeeSPL        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 3, 2}
	oidSnpSPL        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 3, 3}
	oidUcodeSPL      = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 3, 8}
	oidFmcSPL        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 3, 9}
	oidHWID          = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 4}
	oidCSPID         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 5}
)

// KDSExtensions are the AMD extensions of a VCEK or VLEK certificate.
type KDSExtensions struct {
	// ProductName is "Milan-B0", "Genoa", "Turin", ... (VLEKs carry no
	// stepping).
	ProductName string
	// SPLs are the TCB components the key was derived for; a component
	// whose extension is absent is missing from Has.
	BlSPL, TeeSPL, SnpSPL, UcodeSPL, FmcSPL uint8
	Has                                     map[string]bool
	// HWID is the chip's hardware ID (VCEK only): 64 bytes, 8 on Turin.
	HWID []byte
	// CSPID names the cloud provider a VLEK was issued to.
	CSPID string
}

// ParseKDSExtensions reads the AMD extensions of an endorsement key
// certificate. SPLs are DER INTEGERs 0-255; the product name and CSP ID DER
// strings; the hardware ID raw bytes or a DER OCTET STRING (KDS has used
// both).
func ParseKDSExtensions(c *x509.Certificate) (*KDSExtensions, error) {
	k := &KDSExtensions{Has: map[string]bool{}}
	spls := []struct {
		oid asn1.ObjectIdentifier
		key string
		dst *uint8
	}{
		{oidBlSPL, "bl", &k.BlSPL}, {oidTeeSPL, "tee", &k.TeeSPL}, {oidSnpSPL, "snp", &k.SnpSPL},
		{oidUcodeSPL, "ucode", &k.UcodeSPL}, {oidFmcSPL, "fmc", &k.FmcSPL},
	}
	for _, e := range c.Extensions {
		switch {
		case e.Id.Equal(oidProductName):
			s, err := derString(e.Value)
			if err != nil {
				return nil, fmt.Errorf("productName extension: %w", err)
			}
			k.ProductName = s
		case e.Id.Equal(oidCSPID):
			s, err := derString(e.Value)
			if err != nil {
				return nil, fmt.Errorf("CSP_ID extension: %w", err)
			}
			k.CSPID = s
		case e.Id.Equal(oidHWID):
			k.HWID = hwidValue(e.Value)
		}
		for _, s := range spls {
			if e.Id.Equal(s.oid) {
				var n *big.Int
				rest, err := asn1.Unmarshal(e.Value, &n)
				if err != nil || len(rest) != 0 || n.Sign() < 0 || n.BitLen() > 8 {
					return nil, fmt.Errorf("%s SPL extension %s: want a DER INTEGER 0-255", s.key, e.Id)
				}
				*s.dst = uint8(n.Uint64())
				k.Has[s.key] = true
			}
		}
	}
	return k, nil
}

// derString decodes a DER IA5String, UTF8String or PrintableString.
func derString(b []byte) (string, error) {
	var raw asn1.RawValue
	rest, err := asn1.Unmarshal(b, &raw)
	if err != nil || len(rest) != 0 {
		return "", fmt.Errorf("not a DER string")
	}
	switch raw.Tag {
	case asn1.TagIA5String, asn1.TagUTF8String, asn1.TagPrintableString:
		return string(raw.Bytes), nil
	}
	return "", fmt.Errorf("DER tag %d, want a string", raw.Tag)
}

// hwidValue returns the hardware ID: the content of a DER OCTET STRING of 8
// or 64 bytes, else the raw extension value.
func hwidValue(b []byte) []byte {
	var inner []byte
	if rest, err := asn1.Unmarshal(b, &inner); err == nil && len(rest) == 0 && (len(inner) == 8 || len(inner) == ChipIDSize) {
		return inner
	}
	return b
}

// TCBParts returns the certified TCB components, and the names of the ones
// the product has but the certificate lacks.
func (k *KDSExtensions) TCBParts(p Product) (TCBParts, []string) {
	parts := TCBParts{FMC: k.FmcSPL, BootLoader: k.BlSPL, TEE: k.TeeSPL, SNP: k.SnpSPL, Microcode: k.UcodeSPL}
	var missing []string
	for _, c := range tcbLayout(p) {
		if !k.Has[c.key] {
			missing = append(missing, c.key)
		}
	}
	return parts, missing
}

// productOf returns the product line a VCEK or VLEK names: its productName
// extension, else its issuer (SEV-Milan, SEV-VLEK-Genoa).
func productOf(c *x509.Certificate, ext *KDSExtensions) (Product, string) {
	if ext != nil && ext.ProductName != "" {
		if p, err := ParseProduct(ext.ProductName); err == nil {
			return p, "productName " + ext.ProductName
		}
	}
	cn := c.Issuer.CommonName
	name := strings.TrimPrefix(strings.TrimPrefix(cn, "SEV-VLEK-"), "SEV-")
	if p, err := ParseProduct(name); err == nil && name != cn {
		return p, "issuer " + cn
	}
	return ProductUnknown, ""
}

// blank reports whether b holds only ASCII white space.
func blank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}
