package report

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// ParseCRL parses a certificate revocation list, DER or PEM ("X509 CRL"),
// as AMD's KDS serves it (GET /vcek/v1/{product}/crl). The signature is
// checked by VerifySignature, against the trusted ARK.
func ParseCRL(data []byte) (*x509.RevocationList, error) {
	der := data
	if t := bytes.TrimSpace(data); bytes.HasPrefix(t, []byte("-----BEGIN")) {
		der = nil
		for rest := t; ; {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			if b.Type == "X509 CRL" {
				der = b.Bytes
				break
			}
		}
		if der == nil {
			return nil, fmt.Errorf("no PEM X509 CRL block")
		}
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("not a DER or PEM certificate revocation list: %w", err)
	}
	return crl, nil
}

// ReadCRL reads a CRL file. Errors name the file.
func ReadCRL(path string) (*x509.RevocationList, error) {
	data, err := readLimited(path, maxCertFileSize)
	if err != nil {
		return nil, err
	}
	crl, err := ParseCRL(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return crl, nil
}
