package report

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/snpmeasure/snpmeasure/idblock"
	"github.com/snpmeasure/snpmeasure/internal/pyarg"
)

// Config is a verification in text form, as a command line or a
// configuration file gives it: each field is named as its flag of
// `snpmeasure verify` (HostData is --host-data) and empty means "not
// given". Options turns it into Options, reading the files it names.
type Config struct {
	// Byte fields: hex (optionally 0x-prefixed), or base64; text that is
	// all hex digits is read as hex whatever its length.
	Measurement, HostData, ReportData, FamilyID, ImageID string
	IDKeyDigest, AuthorKeyDigest, ReportID, ReportIDMA   string
	// ChipID is CHIP_ID (64 bytes) or a Turin hardware ID (8 bytes).
	ChipID string
	// Numbers: 0x-hex or decimal. MinTCB and MinLaunchTCB also take
	// components (bl=N,tee=N,... see ParseTCBMinimum), MinVersion is
	// MAJOR.MINOR, PlatformInfo names bits or VALUE/MASK.
	Policy, VMPL, MinGuestSVN, MinTCB, MinLaunchTCB, MinBuild, MinVersion, PlatformInfo string

	AllowDebug, AllowMigrationAgent, NoProvisional, RequireIDBlock bool
	// TrustedIDKeys and TrustedAuthorKeys are PEM files (public key,
	// certificate or private key) or 48-byte key digests in hex.
	TrustedIDKeys, TrustedAuthorKeys []string

	// Certificate files (DER, PEM, bundles): VCEK is the endorsement key
	// (maybe with its ASK and ARK), CertChains more intermediates, ASK and
	// ARK one certificate of that role each. None is trusted for being
	// given: they must chain to a trusted ARK.
	VCEK, ASK, ARK string
	CertChains     []string
	// TrustARKs replace AMD's built-in roots; CRLs are files from AMD's KDS.
	TrustARKs, CRLs []string
	// Product is Milan, Genoa or Turin; At an RFC 3339 time.
	Product, At string
}

// ConfigError is a Config field that does not parse: a usage error. It
// reads "--FIELD" followed by Msg (": what is wrong" or " VALUE: ...").
type ConfigError struct {
	Field string // the flag name: "host-data"
	Msg   string
}

func (e *ConfigError) Error() string { return "--" + e.Field + e.Msg }

func configErr(field, format string, args ...any) error {
	return &ConfigError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Options parses c and reads the certificate, key and CRL files it names.
// Errors in c's text are *ConfigError; errors reading a file name it.
func (c *Config) Options() (*Options, error) {
	o := &Options{}
	if err := c.expectations(&o.Expect); err != nil {
		return nil, err
	}
	var err error
	if c.Product != "" {
		if o.Trust.Product, err = ParseProduct(c.Product); err != nil {
			return nil, configErr("product", ": %v", err)
		}
	}
	if c.At != "" {
		if o.Trust.At, err = time.Parse(time.RFC3339, strings.TrimSpace(c.At)); err != nil {
			return nil, configErr("at", " %q: want an RFC 3339 time such as 2025-06-01T00:00:00Z", c.At)
		}
		if o.Trust.At.Before(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)) {
			// (The zero time would mean "now".) No SEV certificate is that old.
			return nil, configErr("at", " %q: before 2000, older than any AMD SEV certificate", c.At)
		}
	}
	if err := c.trust(&o.Trust); err != nil {
		return nil, err
	}
	if o.Expect.TrustedIDKeys, err = keyDigests("trusted-id-key", c.TrustedIDKeys); err != nil {
		return nil, err
	}
	if o.Expect.TrustedAuthorKeys, err = keyDigests("trusted-author-key", c.TrustedAuthorKeys); err != nil {
		return nil, err
	}
	return o, nil
}

// expectations parses the field checks.
func (c *Config) expectations(e *Expectations) error {
	var err error
	for _, f := range []struct {
		name, val string
		dst       *[]byte
	}{
		{"measurement", c.Measurement, &e.Measurement}, {"host-data", c.HostData, &e.HostData},
		{"report-data", c.ReportData, &e.ReportData}, {"family-id", c.FamilyID, &e.FamilyID},
		{"image-id", c.ImageID, &e.ImageID}, {"id-key-digest", c.IDKeyDigest, &e.IDKeyDigest},
		{"author-key-digest", c.AuthorKeyDigest, &e.AuthorKeyDigest}, {"report-id", c.ReportID, &e.ReportID},
		{"report-id-ma", c.ReportIDMA, &e.ReportIDMA},
	} {
		if f.val != "" {
			if *f.dst, err = ParseField(f.name, f.val); err != nil {
				return err
			}
		}
	}
	if c.ChipID != "" {
		if e.ChipID, err = parseBytes("chip-id", c.ChipID, ChipIDSize, 8); err != nil {
			return err
		}
	}
	// Numbers as the measure flags take them: decimal or 0x-hex.
	num := func(field, s string, max uint64, why string) (uint64, error) {
		v, err := pyarg.Uint(s)
		if err != nil {
			return 0, configErr(field, " %s: %v", s, err)
		}
		if v > max {
			return 0, configErr(field, " %s: %s", s, why)
		}
		return v, nil
	}
	if c.Policy != "" {
		v, err := num("policy", c.Policy, 1<<64-1, "")
		if err != nil {
			return err
		}
		e.Policy = &v
		if c.AllowDebug || c.AllowMigrationAgent {
			flag := "allow-debug"
			if !c.AllowDebug {
				flag = "allow-migration-agent"
			}
			return configErr(flag, " and --policy: the exact --policy already decides the policy bits")
		}
	}
	e.AllowDebug, e.AllowMigrationAgent, e.NoProvisional = c.AllowDebug, c.AllowMigrationAgent, c.NoProvisional
	if c.VMPL != "" {
		v, err := num("vmpl", c.VMPL, 3, "want 0, 1, 2 or 3")
		if err != nil {
			return err
		}
		vm := uint32(v)
		e.VMPL = &vm
	}
	if c.MinGuestSVN != "" {
		v, err := num("min-guest-svn", c.MinGuestSVN, 1<<32-1, "GUEST_SVN has 32 bits")
		if err != nil {
			return err
		}
		s := uint32(v)
		e.MinGuestSVN = &s
	}
	for _, f := range []struct {
		name, val string
		dst       **TCBMinimum
	}{{"min-tcb", c.MinTCB, &e.MinTCB}, {"min-launch-tcb", c.MinLaunchTCB, &e.MinLaunchTCB}} {
		if f.val != "" {
			if *f.dst, err = ParseTCBMinimum(f.val); err != nil {
				return configErr(f.name, ": %v", err)
			}
		}
	}
	if c.MinBuild != "" {
		v, err := num("min-build", c.MinBuild, 255, "the build number has 8 bits (0-255)")
		if err != nil {
			return err
		}
		b := uint8(v)
		e.MinBuild = &b
	}
	if c.MinVersion != "" {
		maj, min, ok := strings.Cut(strings.TrimSpace(c.MinVersion), ".")
		a, err1 := strconv.ParseUint(maj, 10, 8)
		b, err2 := strconv.ParseUint(min, 10, 8)
		if !ok || err1 != nil || err2 != nil {
			return configErr("min-version", " %q: want MAJOR.MINOR, each 0-255 (1.55)", c.MinVersion)
		}
		e.MinVersion = &FirmwareVersion{Major: uint8(a), Minor: uint8(b)}
	}
	if c.PlatformInfo != "" {
		if e.PlatformInfo, err = ParsePlatformInfoRequirement(c.PlatformInfo); err != nil {
			return configErr("platform-info", ": %v", err)
		}
	}
	if c.RequireIDBlock && len(c.TrustedIDKeys) == 0 && len(c.TrustedAuthorKeys) == 0 {
		return configErr("require-id-block", " needs --trusted-id-key or --trusted-author-key: anyone can sign an ID block with their own key")
	}
	e.RequireIDBlock = c.RequireIDBlock
	return nil
}

// ParseField parses a byte field of the report named as in Check.Name
// ("host-data", FieldSize): hex (optionally 0x-prefixed) or base64. Text
// that is all hex digits is hex, whatever its length: a wrong length is an
// error, never a base64 reading.
func ParseField(name, s string) ([]byte, error) {
	return parseBytes(name, s, FieldSize(name))
}

// parseBytes parses a byte field of one of the sizes (the first is the usual).
func parseBytes(name, s string, sizes ...int) ([]byte, error) {
	t := strings.Join(strings.Fields(s), "")
	h := strings.TrimPrefix(strings.TrimPrefix(t, "0x"), "0X")
	want := fmt.Sprintf("%d bytes (%d hex digits)", sizes[0], 2*sizes[0])
	if len(sizes) > 1 {
		want = fmt.Sprintf("%d or %d bytes (%d or %d hex digits)", sizes[0], sizes[1], 2*sizes[0], 2*sizes[1])
	}
	fits := func(b []byte) bool {
		for _, n := range sizes {
			if len(b) == n {
				return true
			}
		}
		return false
	}
	if isHexText(h) {
		b, err := hex.DecodeString(h)
		if err != nil {
			return nil, configErr(name, ": %d hex digits, want %s", len(h), want)
		}
		if !fits(b) {
			return nil, configErr(name, ": %d bytes, want %s", len(b), want)
		}
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(t); err == nil {
			if !fits(b) {
				return nil, configErr(name, ": base64 of %d bytes, want %s", len(b), want)
			}
			return b, nil
		}
	}
	return nil, configErr(name, " %q: want %s, or base64", s, want)
}

// isHexText reports whether s is all hex digits (after an optional 0x).
func isHexText(s string) bool {
	return s != "" && Detect([]byte(s)) == FormatHex && !strings.ContainsAny(s, " \t\r\n")
}

// trust reads the certificate and CRL files.
func (c *Config) trust(t *TrustOptions) error {
	add := func(flag, path string, want func(Role) bool, what string) error {
		certs, err := ReadCertificates(path)
		if err != nil {
			return err
		}
		for _, cert := range certs {
			if want != nil && !want(RoleOf(cert)) {
				return fmt.Errorf("%s: %q is not %s", path, cert.Subject.CommonName, what)
			}
		}
		t.Certificates = append(t.Certificates, CertSource{Name: "--" + flag + " " + path, Certs: certs})
		return nil
	}
	if c.VCEK != "" { // a bundle may hold the ASK and ARK too: intermediates like any other
		if err := add("vcek", c.VCEK, nil, ""); err != nil {
			return err
		}
	}
	for _, p := range c.CertChains {
		if err := add("cert-chain", p, nil, ""); err != nil {
			return err
		}
	}
	if c.ASK != "" {
		isICA := func(r Role) bool { return r == RoleASK || r == RoleASVK }
		if err := add("ask", c.ASK, isICA, "an ASK or ASVK (an intermediate, not self-signed and not a VCEK or VLEK)"); err != nil {
			return err
		}
	}
	if c.ARK != "" {
		if err := add("ark", c.ARK, func(r Role) bool { return r == RoleARK }, "an ARK (a self-signed AMD root certificate)"); err != nil {
			return err
		}
	}
	for _, path := range c.TrustARKs {
		certs, err := ReadCertificates(path)
		if err != nil {
			return err
		}
		for _, cert := range certs {
			if RoleOf(cert) != RoleARK {
				return fmt.Errorf("%s: %q is not a root: --trust-ark takes self-signed ARK certificates only (give intermediates with --cert-chain)", path, cert.Subject.CommonName)
			}
		}
		t.Roots = append(t.Roots, certs...)
	}
	if len(c.TrustARKs) > 0 {
		t.RootsSource = "--trust-ark " + strings.Join(c.TrustARKs, ", ")
	}
	for _, path := range c.CRLs {
		crl, err := ReadCRL(path)
		if err != nil {
			return err
		}
		t.CRLs = append(t.CRLs, CRLSource{Name: "--crl " + path, CRL: crl})
	}
	return nil
}

// keyDigests reads trusted ID or author keys: each a 48-byte digest in hex,
// or a PEM file with a P-384 public key, certificate or private key.
func keyDigests(field string, vals []string) ([][]byte, error) {
	var out [][]byte
	for _, s := range vals {
		t := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0X")
		if isHexText(t) && len(t) == 2*idblock.DigestSize {
			d, _ := hex.DecodeString(t)
			out = append(out, d)
			continue
		}
		if isHexText(t) && len(t) >= 64 {
			return nil, configErr(field, ": %d hex digits, want %d (a SHA-384 key digest) or a PEM key file", len(t), 2*idblock.DigestSize)
		}
		pub, err := ReadPublicKey(s)
		if err != nil {
			return nil, err
		}
		d, err := idblock.KeyDigest(pub)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s, err)
		}
		out = append(out, d[:])
	}
	return out, nil
}

// ReadPublicKey reads an ECDSA public key from a PEM file: PUBLIC KEY,
// CERTIFICATE, EC PRIVATE KEY or PRIVATE KEY. Errors name the file.
func ReadPublicKey(path string) (*ecdsa.PublicKey, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, pathError(path, err)
	}
	defer fh.Close()
	// A PEM key is a few hundred bytes: do not read a device or a huge file whole.
	data, err := io.ReadAll(io.LimitReader(fh, 1<<20))
	if err != nil {
		return nil, pathError(path, err)
	}
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		key, err := pemPublicKey(b)
		if errors.Is(err, errSkip) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, b.Type, err)
		}
		pub, ok := key.(*ecdsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%s: not an ECDSA P-384 key", path)
		}
		return pub, nil
	}
	return nil, fmt.Errorf("%s: no PEM public key, certificate or private key (or give the key's 96-hex-digit digest)", path)
}

var errSkip = errors.New("not a key block")

// pemPublicKey returns the public key a PEM block holds.
func pemPublicKey(b *pem.Block) (any, error) {
	switch b.Type {
	case "PUBLIC KEY":
		return x509.ParsePKIXPublicKey(b.Bytes)
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		return c.PublicKey, nil
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(b.Bytes)
		if err != nil {
			return nil, err
		}
		return &k.PublicKey, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, err
		}
		if ek, ok := k.(*ecdsa.PrivateKey); ok {
			return &ek.PublicKey, nil
		}
		return k, nil
	}
	return nil, errSkip
}
