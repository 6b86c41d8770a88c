package report

import (
	"crypto/sha256"
	"crypto/x509"
	"embed"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
)

// rootFiles are AMD's certificates for each product line: the ARK, the ASK
// and the ASVK, as AMD's KDS serves them (roots/README.md gives their
// provenance and SHA-256 digests).
//
//go:embed roots/*.pem
var rootFiles embed.FS

// AMDRoots are the pinned certificates of one product line.
type AMDRoots struct {
	Product Product
	// ARK is the root; ASK certifies VCEKs, ASVK VLEKs.
	ARK, ASK, ASVK *x509.Certificate
}

// builtinRoots parses the embedded roots on first use, not at start-up.
var builtinRoots = sync.OnceValues(parseBuiltinRoots)

func parseBuiltinRoots() (map[Product]*AMDRoots, error) {
	out := map[Product]*AMDRoots{}
	for _, p := range Products() {
		name := "roots/" + strings.ToLower(p.String()) + ".pem"
		data, err := rootFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		certs, err := ParseCertificates(data)
		if err != nil {
			return nil, fmt.Errorf("built-in %s: %w", name, err)
		}
		r := &AMDRoots{Product: p}
		for _, c := range certs {
			switch RoleOf(c) {
			case RoleARK:
				r.ARK = c
			case RoleASK:
				r.ASK = c
			case RoleASVK:
				r.ASVK = c
			}
		}
		if r.ARK == nil || r.ASK == nil || r.ASVK == nil || len(certs) != 3 {
			return nil, fmt.Errorf("built-in %s: want an ARK, an ASK and an ASVK", name)
		}
		for _, c := range []*x509.Certificate{r.ASK, r.ASVK} {
			if err := c.CheckSignatureFrom(r.ARK); err != nil {
				return nil, fmt.Errorf("built-in %s: %s is not signed by %s: %w", name, c.Subject.CommonName, r.ARK.Subject.CommonName, err)
			}
		}
		out[p] = r
	}
	return out, nil
}

// BuiltinRoots returns AMD's pinned certificates for a product line.
func BuiltinRoots(p Product) (*AMDRoots, error) {
	all, err := builtinRoots()
	if err != nil {
		return nil, err
	}
	r, ok := all[p]
	if !ok {
		return nil, fmt.Errorf("no built-in AMD roots for %s", p)
	}
	return r, nil
}

// Fingerprint returns the SHA-256 of a certificate's DER, in hex.
func Fingerprint(c *x509.Certificate) string {
	h := sha256.Sum256(c.Raw)
	return hex.EncodeToString(h[:])
}
