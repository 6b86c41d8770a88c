package report

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// errNoCertificate is wrapped by errors for PEM data without a certificate.
var errNoCertificate = errors.New("no certificate")

// maxCertFileSize bounds certificate files: a PEM chain is a few KiB.
const maxCertFileSize = 1 << 20

// ParseCertificates parses one DER certificate, or every CERTIFICATE block
// of PEM data (other blocks are skipped).
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	trimmed := bytes.TrimSpace(data)
	if !bytes.HasPrefix(trimmed, []byte("-----BEGIN")) {
		c, err := x509.ParseCertificate(data)
		if err != nil {
			return nil, fmt.Errorf("not a DER or PEM X.509 certificate: %w", err)
		}
		return []*x509.Certificate{c}, nil
	}
	var out []*x509.Certificate
	rest := trimmed
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

// ReadCertificates reads a certificate file (DER, or PEM with one or more
// certificates). Errors name the file.
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

// ReadCertificate reads a file that holds exactly one certificate.
func ReadCertificate(path string) (*x509.Certificate, error) {
	certs, err := ReadCertificates(path)
	if err != nil {
		return nil, err
	}
	if len(certs) != 1 {
		return nil, fmt.Errorf("%s: %d certificates, want one", path, len(certs))
	}
	return certs[0], nil
}

// Chain is a set of AMD certificates sorted by role.
type Chain struct {
	Endorsement *x509.Certificate // VCEK or VLEK
	ASK         *x509.Certificate // ASK or ASVK
	ARK         *x509.Certificate
}

// Classify sorts certificates by role: the endorsement key has the common
// name SEV-VCEK or SEV-VLEK, the ARK is self-signed, the ASK is the rest.
func Classify(certs []*x509.Certificate) (*Chain, error) {
	ch := &Chain{}
	for i, c := range certs {
		var slot **x509.Certificate
		role := ""
		switch {
		case c.Subject.CommonName == "SEV-VCEK" || c.Subject.CommonName == "SEV-VLEK":
			slot, role = &ch.Endorsement, c.Subject.CommonName[4:]
		case bytes.Equal(c.RawSubject, c.RawIssuer) && c.CheckSignatureFrom(c) == nil:
			slot, role = &ch.ARK, "ARK"
		default:
			slot, role = &ch.ASK, "ASK"
		}
		if *slot != nil {
			return nil, fmt.Errorf("certificate %d (%q) is a second %s", i+1, c.Subject.CommonName, role)
		}
		*slot = c
	}
	return ch, nil
}
