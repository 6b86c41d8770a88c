package refvalues

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"sync"

	"github.com/fxamacker/cbor/v2"
)

// CBOR tags and code points of CoRIM (draft-ietf-rats-corim) and of the AMD
// SEV-SNP CoRIM profile (draft-deeglaze-amd-sev-snp-corim-profile).
const (
	// TagUnsignedCoRIM tags an unsigned-corim-map.
	TagUnsignedCoRIM = 501
	// TagCoMID tags a concise-mid-tag carried as a byte string.
	TagCoMID = 506
	// TagOID tags an object identifier (RFC 9090).
	TagOID = 111
	// TagURI tags a URI text string (RFC 8949).
	TagURI = 32
	// TagBytes tags CoRIM's tagged-bytes (raw values, instance ids).
	TagBytes = 560

	// MkeyPolicy is the mkey of the report's POLICY (raw-value, 8 bytes).
	MkeyPolicy = 2
	// MkeyMeasurement is the mkey of the report's MEASUREMENT
	// (digests: [[7, bytes48]]).
	MkeyMeasurement = 641

	// AlgSHA384 is the named-information hash algorithm number of SHA-384.
	AlgSHA384 = 7
)

// CoRIM profiles. A profile fixes the environments and the byte order of
// the POLICY raw value; DecodeCoRIM reads both.
const (
	// CoRIMProfile2024 is the profile Veraison's SEV-SNP scheme
	// (veraison/services, scheme/sevsnp) registers and ingests: every
	// reference-value environment has an instance, 560(MEASUREMENT), which
	// is how Veraison finds the reference values of a report, and the
	// POLICY is big-endian, as Veraison's evidence decoder writes it.
	CoRIMProfile2024 = "tag:amd.com,2024:snp-corim-profile"
	// CoRIMProfile2025 is the current AMD profile draft's URI: the
	// environment is the class alone (the draft reserves instance for
	// CHIP_ID and CSP_ID) and the POLICY is little-endian, as the report
	// holds it. No verifier registers it yet.
	CoRIMProfile2025 = "tag:amd.com,2025:snp-corim-profile"
	// CoRIMProfile is the default profile: the one Veraison ingests.
	CoRIMProfile = CoRIMProfile2024
)

// CoRIMProfileNames are the short names of the profiles, in the order the
// CLI lists them (--corim-profile); the first is the default.
var CoRIMProfileNames = []string{"2024", "2025"}

// CoRIMProfileURI returns the profile URI of a short name ("2024", "2025")
// or of a profile URI itself.
func CoRIMProfileURI(name string) (string, error) {
	switch name {
	case "2024", CoRIMProfile2024:
		return CoRIMProfile2024, nil
	case "2025", CoRIMProfile2025:
		return CoRIMProfile2025, nil
	}
	return "", fmt.Errorf("unknown CoRIM profile %q (want %s)", name, strings.Join(CoRIMProfileNames, " or "))
}

// CoRIMMediaType is the media type of an unsigned CoRIM of the profile, as
// Veraison's provisioning API takes it (Content-Type of
// /endorsement-provisioning/v1/submit): application/rim+cbor with the
// profile as a parameter, which must equal the CoRIM's own profile.
func CoRIMMediaType(profile string) string {
	return mime.FormatMediaType("application/rim+cbor", map[string]string{"profile": profile})
}

// corimProfile is what a profile changes in the encoding.
type corimProfile struct {
	uri string
	// instance: each environment carries instance 560(MEASUREMENT).
	instance bool
	// policy is the byte order of the POLICY raw value.
	policy binary.ByteOrder
}

func lookupCoRIMProfile(uri string) (corimProfile, bool) {
	switch uri {
	case CoRIMProfile2024:
		return corimProfile{uri: uri, instance: true, policy: binary.BigEndian}, true
	case CoRIMProfile2025:
		return corimProfile{uri: uri, policy: binary.LittleEndian}, true
	}
	return corimProfile{}, false
}

// ClassByChip and ClassByCSP return the environment class IDs of the
// profile: the OIDs 1.3.6.1.4.1.3704.3.1 (report signed by a VCEK, "by
// chip") and 1.3.6.1.4.1.3704.3.2 (signed by a VLEK, "by CSP"), DER-encoded
// without tag and length, as a new slice each call.
func ClassByChip() []byte { return []byte{0x2b, 0x06, 0x01, 0x04, 0x01, 0x9c, 0x78, 0x03, 0x01} }

// ClassByCSP is the "by CSP" class ID (see ClassByChip).
func ClassByCSP() []byte { return []byte{0x2b, 0x06, 0x01, 0x04, 0x01, 0x9c, 0x78, 0x03, 0x02} }

// CoRIM and CoMID role numbers.
const (
	corimRoleManifestCreator = 1
	comidRoleTagCreator      = 0
)

type corimMap struct {
	ID       string        `cbor:"0,keyasint"`
	Tags     []cbor.RawTag `cbor:"1,keyasint"`
	Profile  cbor.Tag      `cbor:"3,keyasint"`
	Entities []entity      `cbor:"5,keyasint,omitempty"`
}

type entity struct {
	Name  string `cbor:"0,keyasint"`
	Roles []int  `cbor:"2,keyasint"`
}

type comid struct {
	TagIdentity tagIdentity `cbor:"1,keyasint"`
	Entities    []entity    `cbor:"2,keyasint,omitempty"`
	Triples     triples     `cbor:"4,keyasint"`
}

type tagIdentity struct {
	TagID string `cbor:"0,keyasint"`
}

type triples struct {
	Reference []referenceTriple `cbor:"0,keyasint,omitempty"`
}

type referenceTriple struct {
	_      struct{} `cbor:",toarray"`
	Env    environment
	Claims []measurementMap
}

type environment struct {
	Class    classMap     `cbor:"0,keyasint"`
	Instance *cbor.RawTag `cbor:"1,keyasint,omitempty"`
}

type classMap struct {
	ClassID cbor.RawTag `cbor:"0,keyasint"`
}

type measurementMap struct {
	// Mkey is a pointer so that a decoded measurement without one is told
	// from mkey 0.
	Mkey *uint64 `cbor:"0,keyasint,omitempty"`
	Mval mval    `cbor:"1,keyasint"`
}

type mval struct {
	Digests  []digest     `cbor:"2,keyasint,omitempty"`
	RawValue *cbor.RawTag `cbor:"4,keyasint,omitempty"`
}

type digest struct {
	_   struct{} `cbor:",toarray"`
	Alg int
	Val []byte
}

// CBOR modes: Core Deterministic Encoding (RFC 8949 section 4.2.1) for
// output, and bounded decoding for input.
var (
	cborEnc = sync.OnceValues(func() (cbor.EncMode, error) { return cbor.CoreDetEncOptions().EncMode() })
	cborDec = sync.OnceValues(func() (cbor.DecMode, error) {
		return cbor.DecOptions{
			DupMapKey:        cbor.DupMapKeyEnforcedAPF,
			MaxNestedLevels:  32,
			MaxArrayElements: 1 << 24,
			MaxMapPairs:      1 << 16,
		}.DecMode()
	})
)

func marshalCBOR(v any) ([]byte, error) {
	em, err := cborEnc()
	if err != nil {
		return nil, err
	}
	return em.Marshal(v)
}

func unmarshalCBOR(data []byte, v any) error {
	dm, err := cborDec()
	if err != nil {
		return err
	}
	return dm.Unmarshal(data, v)
}

func rawTag(num uint64, content any) (cbor.RawTag, error) {
	c, err := marshalCBOR(content)
	if err != nil {
		return cbor.RawTag{}, err
	}
	return cbor.RawTag{Number: num, Content: c}, nil
}

// CoRIM returns the document as an unsigned CoRIM of the default profile
// (CoRIMProfile, the one Veraison ingests); see CoRIMFor.
func (d *Document) CoRIM() ([]byte, error) { return d.CoRIMFor(CoRIMProfile) }

// CoRIMFor returns the document as an unsigned CoRIM of the profile
// (CoRIMProfile2024 or CoRIMProfile2025): tag 501 around a corim-map with
// one CoMID (tag 506). For each environment class (ClassByChip, then
// ClassByCSP) and each distinct measurement, in document order, there is one
// reference triple whose claims are the MEASUREMENT (mkey 641) and, when the
// document has a policy, the POLICY (mkey 2). With CoRIMProfile2024 the
// environment also has the instance 560(MEASUREMENT). The CoRIM and CoMID
// ids are derived from the SHA-256 of the JSON document, so the output
// depends only on the document and the profile.
func (d *Document) CoRIMFor(profile string) ([]byte, error) {
	p, ok := lookupCoRIMProfile(profile)
	if !ok {
		_, err := CoRIMProfileURI(profile)
		return nil, err
	}
	var js bytes.Buffer
	if err := d.EncodeJSON(&js); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(js.Bytes())
	id := "snpmeasure-refvalues-" + hex.EncodeToString(sum[:16])

	var policy *cbor.RawTag
	if d.Policy != nil {
		var b [8]byte
		p.policy.PutUint64(b[:], uint64(*d.Policy))
		t, err := rawTag(TagBytes, b[:])
		if err != nil {
			return nil, err
		}
		policy = &t
	}
	mkeyMeasurement, mkeyPolicy := uint64(MkeyMeasurement), uint64(MkeyPolicy)
	distinct := d.distinctMeasurements()
	refs := make([]referenceTriple, 0, 2*len(distinct))
	for _, class := range [][]byte{ClassByChip(), ClassByCSP()} {
		ct, err := rawTag(TagOID, class)
		if err != nil {
			return nil, err
		}
		for _, m := range distinct {
			env := environment{Class: classMap{ClassID: ct}}
			if p.instance {
				in, err := rawTag(TagBytes, m[:])
				if err != nil {
					return nil, err
				}
				env.Instance = &in
			}
			claims := []measurementMap{{Mkey: &mkeyMeasurement, Mval: mval{Digests: []digest{{Alg: AlgSHA384, Val: m[:]}}}}}
			if policy != nil {
				claims = append(claims, measurementMap{Mkey: &mkeyPolicy, Mval: mval{RawValue: policy}})
			}
			refs = append(refs, referenceTriple{Env: env, Claims: claims})
		}
	}
	tool := d.Tool.Name
	if d.Tool.Version != "" {
		tool += " " + d.Tool.Version
	}
	c := comid{
		TagIdentity: tagIdentity{TagID: id + "-comid"},
		Entities:    []entity{{Name: tool, Roles: []int{comidRoleTagCreator}}},
		Triples:     triples{Reference: refs},
	}
	cb, err := marshalCBOR(&c)
	if err != nil {
		return nil, fmt.Errorf("CoMID: %w", err)
	}
	tag, err := rawTag(TagCoMID, cb)
	if err != nil {
		return nil, err
	}
	cm := corimMap{
		ID:       id,
		Tags:     []cbor.RawTag{tag},
		Profile:  cbor.Tag{Number: TagURI, Content: p.uri},
		Entities: []entity{{Name: tool, Roles: []int{corimRoleManifestCreator}}},
	}
	out, err := marshalCBOR(cbor.Tag{Number: TagUnsignedCoRIM, Content: &cm})
	if err != nil {
		return nil, fmt.Errorf("CoRIM: %w", err)
	}
	return out, nil
}

// EncodeCoRIM writes the unsigned CoRIM of the default profile (binary CBOR).
func (d *Document) EncodeCoRIM(w io.Writer) error { return d.EncodeCoRIMFor(w, CoRIMProfile) }

// EncodeCoRIMFor writes the unsigned CoRIM of the profile (binary CBOR).
func (d *Document) EncodeCoRIMFor(w io.Writer, profile string) error {
	b, err := d.CoRIMFor(profile)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// CoRIMReference is one reference triple of a decoded CoRIM.
type CoRIMReference struct {
	// ClassID is the environment's class-id OID (DER contents).
	ClassID []byte
	// Instance is the content of the environment's tagged-bytes instance,
	// when it has one: the measurement, in CoRIMProfile2024.
	Instance []byte
	// Measurement is the MEASUREMENT reference value.
	Measurement Measurement384
	// Policy is the POLICY reference value, when the triple has one.
	Policy *uint64
}

// CoRIMContents is what DecodeCoRIM reads back from a CoRIM.
type CoRIMContents struct {
	// ID is the corim-id: a text string, or a UUID in its string form.
	ID      string
	Profile string
	// References are the reference triples of every CoMID, in order.
	References []CoRIMReference
}

// corimMapIn and comidIn are the parts of a CoRIM that DecodeCoRIM reads;
// other keys are ignored.
type corimMapIn struct {
	ID      cbor.RawMessage `cbor:"0,keyasint"`
	Tags    []cbor.RawTag   `cbor:"1,keyasint"`
	Profile *cbor.Tag       `cbor:"3,keyasint"`
}

type comidIn struct {
	Triples triples `cbor:"4,keyasint"`
}

// DecodeCoRIM parses an unsigned CoRIM of CoRIMProfile2024 or
// CoRIMProfile2025, as CoRIMFor writes it or as Veraison's own SEV-SNP test
// CoRIMs hold reference values, and returns its reference triples. It
// checks what the profile requires of them: a class-id OID; in
// CoRIMProfile2024 an instance 560(MEASUREMENT); an mkey on every
// measurement; one SHA-384 MEASUREMENT; an 8-byte POLICY in the profile's
// byte order. Measurements of other mkeys are ignored.
func DecodeCoRIM(data []byte) (*CoRIMContents, error) {
	var top cbor.RawTag
	if err := unmarshalCBOR(data, &top); err != nil {
		return nil, fmt.Errorf("CoRIM: %w", err)
	}
	if top.Number != TagUnsignedCoRIM {
		return nil, fmt.Errorf("CoRIM: tag %d, want %d (unsigned-corim-map)", top.Number, TagUnsignedCoRIM)
	}
	var cm corimMapIn
	if err := unmarshalCBOR(top.Content, &cm); err != nil {
		return nil, fmt.Errorf("CoRIM corim-map: %w", err)
	}
	id, err := decodeTagID(cm.ID)
	if err != nil {
		return nil, fmt.Errorf("CoRIM corim-id: %w", err)
	}
	if cm.Profile == nil {
		return nil, errors.New("CoRIM: no profile")
	}
	if cm.Profile.Number != TagURI {
		return nil, fmt.Errorf("CoRIM profile: tag %d, want %d (URI)", cm.Profile.Number, TagURI)
	}
	uri, ok := cm.Profile.Content.(string)
	if !ok {
		return nil, errors.New("CoRIM profile: not a text string")
	}
	p, ok := lookupCoRIMProfile(uri)
	if !ok {
		return nil, fmt.Errorf("CoRIM profile %q: want %s or %s", uri, CoRIMProfile2024, CoRIMProfile2025)
	}
	out := &CoRIMContents{ID: id, Profile: uri}
	if len(cm.Tags) == 0 {
		return nil, errors.New("CoRIM: no tags")
	}
	for i, t := range cm.Tags {
		if t.Number != TagCoMID {
			return nil, fmt.Errorf("CoRIM tags[%d]: tag %d, want %d (CoMID)", i, t.Number, TagCoMID)
		}
		var cb []byte
		if err := unmarshalCBOR(t.Content, &cb); err != nil {
			return nil, fmt.Errorf("CoRIM tags[%d]: %w", i, err)
		}
		var c comidIn
		if err := unmarshalCBOR(cb, &c); err != nil {
			return nil, fmt.Errorf("CoRIM tags[%d] CoMID: %w", i, err)
		}
		for j, r := range c.Triples.Reference {
			ref, err := p.decodeReference(r)
			if err != nil {
				return nil, fmt.Errorf("CoRIM tags[%d] reference-triples[%d]: %w", i, j, err)
			}
			out.References = append(out.References, ref)
		}
	}
	if len(out.References) == 0 {
		return nil, errors.New("CoRIM: no reference triples")
	}
	return out, nil
}

// decodeTagID reads a tag-id-type-choice: a text string or a 16-byte UUID.
func decodeTagID(raw cbor.RawMessage) (string, error) {
	var s string
	if err := unmarshalCBOR(raw, &s); err == nil {
		if s == "" {
			return "", errors.New("empty")
		}
		return s, nil
	}
	var b []byte
	if err := unmarshalCBOR(raw, &b); err != nil || len(b) != 16 {
		return "", errors.New("want a text string or a 16-byte UUID")
	}
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

// taggedBytes returns the content of a 560-tagged byte string.
func taggedBytes(t *cbor.RawTag) ([]byte, error) {
	if t.Number != TagBytes {
		return nil, fmt.Errorf("tag %d, want %d (tagged-bytes)", t.Number, TagBytes)
	}
	var b []byte
	if err := unmarshalCBOR(t.Content, &b); err != nil {
		return nil, errors.New("tagged-bytes: not a byte string")
	}
	return b, nil
}

func (p corimProfile) decodeReference(r referenceTriple) (CoRIMReference, error) {
	var ref CoRIMReference
	if r.Env.Class.ClassID.Number != TagOID {
		return ref, fmt.Errorf("class-id: tag %d, want %d (OID)", r.Env.Class.ClassID.Number, TagOID)
	}
	if err := unmarshalCBOR(r.Env.Class.ClassID.Content, &ref.ClassID); err != nil || len(ref.ClassID) == 0 {
		return ref, errors.New("class-id: want the OID's contents octets")
	}
	if r.Env.Instance != nil {
		in, err := taggedBytes(r.Env.Instance)
		if err != nil {
			return ref, fmt.Errorf("instance: %w", err)
		}
		ref.Instance = in
	} else if p.instance {
		return ref, fmt.Errorf("no instance: profile %s keys reference values by instance 560(MEASUREMENT)", p.uri)
	}
	found := false
	for k, m := range r.Claims {
		if m.Mkey == nil {
			return ref, fmt.Errorf("measurement %d: no mkey", k)
		}
		switch *m.Mkey {
		case MkeyMeasurement:
			if found {
				return ref, errors.New("two MEASUREMENT claims")
			}
			if len(m.Mval.Digests) != 1 || m.Mval.Digests[0].Alg != AlgSHA384 || len(m.Mval.Digests[0].Val) != MeasurementSize {
				return ref, errors.New("MEASUREMENT: want one SHA-384 digest")
			}
			copy(ref.Measurement[:], m.Mval.Digests[0].Val)
			found = true
		case MkeyPolicy:
			if m.Mval.RawValue == nil {
				return ref, errors.New("POLICY: want a tagged-bytes raw-value")
			}
			b, err := taggedBytes(m.Mval.RawValue)
			if err != nil {
				return ref, fmt.Errorf("POLICY: %w", err)
			}
			if len(b) != 8 {
				return ref, fmt.Errorf("POLICY: %d bytes, want 8", len(b))
			}
			v := p.policy.Uint64(b)
			ref.Policy = &v
		}
	}
	if !found {
		return ref, errors.New("no MEASUREMENT (mkey 641)")
	}
	if p.instance && !bytes.Equal(ref.Instance, ref.Measurement[:]) {
		return ref, fmt.Errorf("instance %x is not the MEASUREMENT: profile %s keys reference values by it", ref.Instance, p.uri)
	}
	return ref, nil
}
