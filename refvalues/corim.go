package refvalues

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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
	// TagBytes tags the profile's tagged-bytes raw values.
	TagBytes = 560

	// CoRIMProfile is the profile URI of the AMD SEV-SNP CoRIM profile.
	CoRIMProfile = "tag:amd.com,2025:snp-corim-profile"

	// MkeyPolicy is the profile's mkey of the report's POLICY (raw-value, 8 bytes LE).
	MkeyPolicy = 2
	// MkeyMeasurement is the profile's mkey of the report's MEASUREMENT
	// (digests: [[7, bytes48]]).
	MkeyMeasurement = 641

	// AlgSHA384 is the named-information hash algorithm number of SHA-384.
	AlgSHA384 = 7
)

// Environment class IDs of the profile: the OIDs 1.3.6.1.4.1.3704.3.1 (report
// signed by a VCEK, "by chip") and 1.3.6.1.4.1.3704.3.2 (signed by a VLEK,
// "by CSP"), DER-encoded without tag and length.
var (
	ClassByChip = []byte{0x2b, 0x06, 0x01, 0x04, 0x01, 0x9c, 0x78, 0x03, 0x01}
	ClassByCSP  = []byte{0x2b, 0x06, 0x01, 0x04, 0x01, 0x9c, 0x78, 0x03, 0x02}
)

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
	Reference []referenceTriple `cbor:"0,keyasint"`
}

type referenceTriple struct {
	_      struct{} `cbor:",toarray"`
	Env    environment
	Claims []measurementMap
}

type environment struct {
	Class classMap `cbor:"0,keyasint"`
}

type classMap struct {
	ClassID cbor.RawTag `cbor:"0,keyasint"`
}

type measurementMap struct {
	Mkey uint64 `cbor:"0,keyasint"`
	Mval mval   `cbor:"1,keyasint"`
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

// CoRIM returns the document as an unsigned CoRIM: tag 501 around a
// corim-map with one CoMID (tag 506). For each distinct measurement and each
// environment class (ClassByChip, ClassByCSP) there is one reference triple
// whose claims are the MEASUREMENT (mkey 641) and, when the document has a
// policy, the POLICY (mkey 2). The CoRIM and CoMID ids are derived from the
// SHA-256 of the JSON document, so the output depends only on the document.
func (d *Document) CoRIM() ([]byte, error) {
	var js bytes.Buffer
	if err := d.EncodeJSON(&js); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(js.Bytes())
	id := "snpmeasure-refvalues-" + hex.EncodeToString(sum[:16])

	var policy *cbor.RawTag
	if d.Policy != nil {
		var p [8]byte
		binary.LittleEndian.PutUint64(p[:], uint64(*d.Policy))
		t, err := rawTag(TagBytes, p[:])
		if err != nil {
			return nil, err
		}
		policy = &t
	}
	var refs []referenceTriple
	for _, class := range [][]byte{ClassByChip, ClassByCSP} {
		ct, err := rawTag(TagOID, class)
		if err != nil {
			return nil, err
		}
		for _, m := range d.distinctMeasurements() {
			claims := []measurementMap{{Mkey: MkeyMeasurement, Mval: mval{Digests: []digest{{Alg: AlgSHA384, Val: m[:]}}}}}
			if policy != nil {
				claims = append(claims, measurementMap{Mkey: MkeyPolicy, Mval: mval{RawValue: policy}})
			}
			refs = append(refs, referenceTriple{Env: environment{Class: classMap{ClassID: ct}}, Claims: claims})
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
		Profile:  cbor.Tag{Number: TagURI, Content: CoRIMProfile},
		Entities: []entity{{Name: tool, Roles: []int{corimRoleManifestCreator}}},
	}
	out, err := marshalCBOR(cbor.Tag{Number: TagUnsignedCoRIM, Content: &cm})
	if err != nil {
		return nil, fmt.Errorf("CoRIM: %w", err)
	}
	return out, nil
}

// EncodeCoRIM writes the unsigned CoRIM (binary CBOR).
func (d *Document) EncodeCoRIM(w io.Writer) error {
	b, err := d.CoRIM()
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
	// Measurement is the MEASUREMENT reference value.
	Measurement Measurement384
	// Policy is the POLICY reference value, when the triple has one.
	Policy *uint64
}

// CoRIMContents is what DecodeCoRIM reads back from a CoRIM written by CoRIM.
type CoRIMContents struct {
	ID         string
	Profile    string
	References []CoRIMReference
}

// DecodeCoRIM parses an unsigned CoRIM of the shape CoRIM writes and returns
// its reference triples.
func DecodeCoRIM(data []byte) (*CoRIMContents, error) {
	var top cbor.RawTag
	if err := unmarshalCBOR(data, &top); err != nil {
		return nil, fmt.Errorf("CoRIM: %w", err)
	}
	if top.Number != TagUnsignedCoRIM {
		return nil, fmt.Errorf("CoRIM: tag %d, want %d (unsigned-corim-map)", top.Number, TagUnsignedCoRIM)
	}
	var cm corimMap
	if err := unmarshalCBOR(top.Content, &cm); err != nil {
		return nil, fmt.Errorf("CoRIM corim-map: %w", err)
	}
	out := &CoRIMContents{ID: cm.ID}
	if cm.Profile.Number != TagURI {
		return nil, fmt.Errorf("CoRIM profile: tag %d, want %d (URI)", cm.Profile.Number, TagURI)
	}
	p, ok := cm.Profile.Content.(string)
	if !ok {
		return nil, errors.New("CoRIM profile: not a text string")
	}
	out.Profile = p
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
		var c comid
		if err := unmarshalCBOR(cb, &c); err != nil {
			return nil, fmt.Errorf("CoRIM tags[%d] CoMID: %w", i, err)
		}
		for j, r := range c.Triples.Reference {
			ref, err := decodeReference(r)
			if err != nil {
				return nil, fmt.Errorf("CoRIM tags[%d] reference-triples[%d]: %w", i, j, err)
			}
			out.References = append(out.References, ref)
		}
	}
	return out, nil
}

func decodeReference(r referenceTriple) (CoRIMReference, error) {
	var ref CoRIMReference
	if r.Env.Class.ClassID.Number != TagOID {
		return ref, fmt.Errorf("class-id: tag %d, want %d (OID)", r.Env.Class.ClassID.Number, TagOID)
	}
	if err := unmarshalCBOR(r.Env.Class.ClassID.Content, &ref.ClassID); err != nil {
		return ref, fmt.Errorf("class-id: %w", err)
	}
	found := false
	for _, m := range r.Claims {
		switch m.Mkey {
		case MkeyMeasurement:
			if len(m.Mval.Digests) != 1 || m.Mval.Digests[0].Alg != AlgSHA384 || len(m.Mval.Digests[0].Val) != MeasurementSize {
				return ref, errors.New("MEASUREMENT: want one SHA-384 digest")
			}
			copy(ref.Measurement[:], m.Mval.Digests[0].Val)
			found = true
		case MkeyPolicy:
			if m.Mval.RawValue == nil || m.Mval.RawValue.Number != TagBytes {
				return ref, errors.New("POLICY: want a tagged-bytes raw-value")
			}
			var b []byte
			if err := unmarshalCBOR(m.Mval.RawValue.Content, &b); err != nil || len(b) != 8 {
				return ref, errors.New("POLICY: want 8 bytes")
			}
			p := binary.LittleEndian.Uint64(b)
			ref.Policy = &p
		}
	}
	if !found {
		return ref, errors.New("no MEASUREMENT (mkey 641)")
	}
	return ref, nil
}
