package idblock

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
)

// Report is the outcome of checking an ID block and ID auth (and,
// optionally, the launch measurement the block names), as `snpmeasure
// idblock verify --json` prints it.
type Report struct {
	OK               bool          `json:"ok"`
	IDBlock          BlockFields   `json:"id_block"`
	IDBlockSignature bool          `json:"id_block_signature_valid"`
	IDKeyDigest      KeyDigestText `json:"id_key_digest"`
	AuthorKeyEnabled bool          `json:"author_key_enabled"`
	// IDKeySignature and AuthorKeyDigest are nil without an author key.
	IDKeySignature  *bool          `json:"id_key_signature_valid"`
	AuthorKeyDigest *KeyDigestText `json:"author_key_digest"`
	// MeasurementExpected and MeasurementMatches are nil when no
	// measurement was expected.
	MeasurementExpected *string `json:"measurement_expected"`
	MeasurementMatches  *bool   `json:"measurement_matches"`
	// Failures names what did not verify; empty when OK.
	Failures []string `json:"failures"`
}

// BlockFields are the fields of an ID block as text.
type BlockFields struct {
	Measurement string `json:"measurement"`
	FamilyID    string `json:"family_id"`
	ImageID     string `json:"image_id"`
	Version     uint32 `json:"version"`
	GuestSVN    uint32 `json:"guest_svn"`
	Policy      string `json:"policy"`
}

// KeyDigestText is a key digest as the attestation report holds it (hex)
// and as snp-create-id-block prints it (base64).
type KeyDigestText struct {
	Hex    string `json:"hex"`
	Base64 string `json:"base64"`
}

func keyDigestText(d []byte) KeyDigestText {
	return KeyDigestText{Hex: hex.EncodeToString(d), Base64: base64.StdEncoding.EncodeToString(d)}
}

// NewReport describes the verification v of block b; want, when not nil,
// is the launch measurement the block must hold. A block that
// SNP_LAUNCH_FINISH would refuse (Block.Validate) is a failure too.
func NewReport(b *Block, v *Verification, want *[MeasurementSize]byte) *Report {
	r := &Report{
		IDBlock: BlockFields{
			Measurement: hex.EncodeToString(b.Measurement[:]), FamilyID: hex.EncodeToString(b.FamilyID[:]),
			ImageID: hex.EncodeToString(b.ImageID[:]), Version: b.Version, GuestSVN: b.GuestSVN, Policy: fmt.Sprintf("%#x", b.Policy),
		},
		IDBlockSignature: v.BlockSignatureValid,
		IDKeyDigest:      keyDigestText(v.IDKeyDigest[:]),
		AuthorKeyEnabled: v.HasAuthorKey,
		Failures:         []string{},
	}
	if v.HasAuthorKey {
		ok := v.IDKeySignatureValid
		d := keyDigestText(v.AuthorKeyDigest[:])
		r.IDKeySignature, r.AuthorKeyDigest = &ok, &d
	}
	for _, err := range []error{v.Err(), b.Validate()} {
		if err != nil {
			r.Failures = append(r.Failures, err.Error())
		}
	}
	if want != nil {
		w := hex.EncodeToString(want[:])
		ok := *want == b.Measurement
		r.MeasurementExpected, r.MeasurementMatches = &w, &ok
		if !ok {
			r.Failures = append(r.Failures, "the ID block's measurement is not "+w)
		}
	}
	r.OK = len(r.Failures) == 0
	return r
}

// WriteText writes the report as idblock verify prints it: the block's
// fields, each signature's result, the key digests, and the failures.
func (r *Report) WriteText(w io.Writer) error {
	okText := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "FAILED"
	}
	b := &r.IDBlock
	var out bytes.Buffer
	fmt.Fprintf(&out, "measurement: %s\nfamily_id: %s\nimage_id: %s\n", b.Measurement, b.FamilyID, b.ImageID)
	fmt.Fprintf(&out, "version: %d\nguest_svn: %d\npolicy: %s\n", b.Version, b.GuestSVN, b.Policy)
	fmt.Fprintf(&out, "id block signature (ID key): %s\n", okText(r.IDBlockSignature))
	fmt.Fprintf(&out, "id_key_hash: %s\n", r.IDKeyDigest.Base64)
	if r.AuthorKeyEnabled {
		fmt.Fprintf(&out, "id key signature (author key): %s\n", okText(*r.IDKeySignature))
		fmt.Fprintf(&out, "author_key: %s\n", r.AuthorKeyDigest.Base64)
		fmt.Fprintln(&out, "qemu: sev-snp-guest author-key-enabled=on")
	} else {
		fmt.Fprintln(&out, "author_key: none (AUTH_KEY_ALGO 0; launch with author-key-enabled=off, the default)")
	}
	if r.MeasurementMatches != nil {
		result := "ok"
		if !*r.MeasurementMatches {
			result = "FAILED: want " + *r.MeasurementExpected
		}
		fmt.Fprintf(&out, "measurement check: %s\n", result)
	}
	for _, f := range r.Failures {
		fmt.Fprintf(&out, "FAILED: %s\n", f)
	}
	_, err := w.Write(out.Bytes())
	return err
}
