package refvalues

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"mime"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// Veraison's published SEV-SNP test CoRIMs (testdata/veraison/README.md).
const (
	veraisonValid      = "testdata/veraison/corim-sevsnp-valid.cbor"
	veraisonBadKey     = "testdata/veraison/corim-sevsnp-bad-refval-key.cbor"
	veraisonBadNoKey   = "testdata/veraison/corim-sevsnp-bad-refval-no-key.cbor"
	veraisonMeasurment = "7699e6ac12ccdfd1dfac70e649ce1f046cb2afbb003438f4cdddfe2ccbe182fa5ffbe8dcdb930454324e10c52c788980"
)

var corimProfiles = []string{CoRIMProfile2024, CoRIMProfile2025}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func corimFor(t testing.TB, d *Document, profile string) []byte {
	t.Helper()
	b, err := d.CoRIMFor(profile)
	if err != nil {
		t.Fatalf("%s: %v", profile, err)
	}
	return b
}

// generic decodes CBOR into generic values: map[any]any, []any, uint64,
// []byte, string, cbor.Tag.
func generic(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := cbor.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// corimParts decodes a CoRIM generically: the corim-map and each CoMID.
func corimParts(t testing.TB, b []byte) (map[any]any, []map[any]any) {
	t.Helper()
	top, ok := generic(t, b).(cbor.Tag)
	if !ok || top.Number != TagUnsignedCoRIM {
		t.Fatalf("not tag 501: %v", top)
	}
	cm, ok := top.Content.(map[any]any)
	if !ok {
		t.Fatalf("corim-map is %T", top.Content)
	}
	var comids []map[any]any
	for i, e := range cm[uint64(1)].([]any) {
		tag, ok := e.(cbor.Tag)
		if !ok || tag.Number != TagCoMID {
			t.Fatalf("tags[%d] = %v, want tag 506", i, e)
		}
		comids = append(comids, generic(t, tag.Content.([]byte)).(map[any]any))
	}
	return cm, comids
}

// refTriples returns the reference triples of every CoMID, each as
// [environment-map, [measurement-map...]].
func refTriples(t testing.TB, comids []map[any]any) [][]any {
	t.Helper()
	var out [][]any
	for _, c := range comids {
		tr, ok := c[uint64(4)].(map[any]any)[uint64(0)].([]any)
		if !ok {
			continue // a CoMID without reference triples (Veraison's trust anchor)
		}
		for _, r := range tr {
			out = append(out, r.([]any))
		}
	}
	return out
}

// claim returns the measurement-map of mkey k in a reference triple, or nil.
func claim(triple []any, k uint64) map[any]any {
	for _, m := range triple[1].([]any) {
		if mm := m.(map[any]any); mm[uint64(0)] == k {
			return mm
		}
	}
	return nil
}

// skeleton describes the shape of a generic CBOR value: its major types,
// tags, map keys and byte string lengths, without the values.
func skeleton(v any) string {
	switch x := v.(type) {
	case uint64:
		return "uint"
	case int64:
		return "nint"
	case string:
		return "tstr"
	case []byte:
		return fmt.Sprintf("bstr[%d]", len(x))
	case bool:
		return "bool"
	case cbor.Tag:
		return fmt.Sprintf("%d(%s)", x.Number, skeleton(x.Content))
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = skeleton(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[any]any:
		parts := make([]string, 0, len(x))
		for k, e := range x {
			parts = append(parts, fmt.Sprintf("%v: %s", k, skeleton(e)))
		}
		sort.Strings(parts)
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprintf("%T", v)
}

// TestRefvaluesCoRIMDefaultProfile: the default is the profile Veraison
// ingests, for every entry point.
func TestRefvaluesCoRIMDefaultProfile(t *testing.T) {
	if CoRIMProfile != CoRIMProfile2024 || CoRIMProfileNames[0] != "2024" {
		t.Fatalf("default profile %q (%v)", CoRIMProfile, CoRIMProfileNames)
	}
	d := sampleDoc(true)
	want := corimFor(t, d, CoRIMProfile2024)
	c, err := d.CoRIM()
	if err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	if err := d.EncodeCoRIM(&w); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c, want) || !bytes.Equal(w.Bytes(), want) || !bytes.Equal(encode(t, d, FormatCoRIM), want) {
		t.Error("CoRIM, EncodeCoRIM and Encode(corim) are not the 2024 profile's CoRIM")
	}
	for name, uri := range map[string]string{"2024": CoRIMProfile2024, "2025": CoRIMProfile2025, CoRIMProfile2025: CoRIMProfile2025} {
		if got, err := CoRIMProfileURI(name); err != nil || got != uri {
			t.Errorf("CoRIMProfileURI(%q) = %q, %v", name, got, err)
		}
	}
	for _, bad := range []string{"", "2023", "tag:amd.com,2026:snp-corim-profile"} {
		if _, err := CoRIMProfileURI(bad); err == nil || !strings.Contains(err.Error(), "2024 or 2025") {
			t.Errorf("CoRIMProfileURI(%q): %v", bad, err)
		}
		if _, err := d.CoRIMFor(bad); err == nil {
			t.Errorf("CoRIMFor(%q) encoded", bad)
		}
	}
}

// TestRefvaluesCoRIMRoundTrip decodes each profile's CoRIM: one triple per
// environment class and distinct measurement, in document order, with the
// document's policy.
func TestRefvaluesCoRIMRoundTrip(t *testing.T) {
	for _, profile := range corimProfiles {
		for _, pol := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/policy=%v", profile, pol), func(t *testing.T) {
				d := sampleDoc(pol)
				b := corimFor(t, d, profile)
				if !bytes.Equal(b, corimFor(t, sampleDoc(pol), profile)) {
					t.Fatal("two encodings differ")
				}
				c, err := DecodeCoRIM(b)
				if err != nil {
					t.Fatal(err)
				}
				if c.Profile != profile || !strings.HasPrefix(c.ID, "snpmeasure-refvalues-") {
					t.Errorf("profile %q id %q", c.Profile, c.ID)
				}
				distinct := d.distinctMeasurements()
				if len(distinct) != len(d.Measurements)-1 {
					t.Fatalf("the sample has %d distinct measurements", len(distinct))
				}
				if len(c.References) != 2*len(distinct) {
					t.Fatalf("%d references, want %d", len(c.References), 2*len(distinct))
				}
				for i, r := range c.References {
					class := ClassByChip()
					if i >= len(distinct) {
						class = ClassByCSP()
					}
					want := distinct[i%len(distinct)]
					if !bytes.Equal(r.ClassID, class) || r.Measurement != want {
						t.Errorf("reference %d = %x %s", i, r.ClassID, r.Measurement)
					}
					if profile == CoRIMProfile2024 && !bytes.Equal(r.Instance, want[:]) {
						t.Errorf("reference %d instance %x, want the measurement", i, r.Instance)
					}
					if profile == CoRIMProfile2025 && r.Instance != nil {
						t.Errorf("reference %d has an instance in the 2025 profile", i)
					}
					if pol != (r.Policy != nil) || (pol && *r.Policy != 0x30000) {
						t.Errorf("reference %d policy %v", i, r.Policy)
					}
				}
			})
		}
	}
}

// TestRefvaluesCoRIMSpec14 checks each requirement of
// shared/spec/measurement.md section 14 (Veraison) on the default CoRIM.
func TestRefvaluesCoRIMSpec14(t *testing.T) {
	d := sampleDoc(true)
	cm, comids := corimParts(t, encode(t, d, FormatCoRIM))
	triples := refTriples(t, comids)
	if len(triples) == 0 {
		t.Fatal("no reference triples")
	}
	t.Run("profile tag:amd.com,2024:snp-corim-profile", func(t *testing.T) {
		p, ok := cm[uint64(3)].(cbor.Tag)
		if !ok || p.Number != TagURI || p.Content != "tag:amd.com,2024:snp-corim-profile" {
			t.Errorf("profile %v", cm[uint64(3)])
		}
	})
	t.Run("media type", func(t *testing.T) {
		mt := CoRIMMediaType(CoRIMProfile)
		if mt != `application/rim+cbor; profile="tag:amd.com,2024:snp-corim-profile"` {
			t.Errorf("media type %s", mt)
		}
		// Veraison's SubmitEndorsements: the media type's profile
		// parameter must be the CoRIM's profile.
		typ, params, err := mime.ParseMediaType(mt)
		if err != nil || typ != "application/rim+cbor" || params["profile"] != cm[uint64(3)].(cbor.Tag).Content {
			t.Errorf("%s parses as %q %v %v", mt, typ, params, err)
		}
	})
	t.Run("every reference-value environment carries an instance", func(t *testing.T) {
		for i, tr := range triples {
			if _, ok := tr[0].(map[any]any)[uint64(1)]; !ok {
				t.Errorf("triple %d: no instance", i)
			}
		}
	})
	t.Run("instance is 560 tagged bytes of the measurement", func(t *testing.T) {
		for i, tr := range triples {
			in, ok := tr[0].(map[any]any)[uint64(1)].(cbor.Tag)
			m := claim(tr, MkeyMeasurement)
			if !ok || in.Number != TagBytes || m == nil {
				t.Fatalf("triple %d: instance %v", i, in)
			}
			dg := m[uint64(1)].(map[any]any)[uint64(2)].([]any)[0].([]any)
			if !bytes.Equal(in.Content.([]byte), dg[1].([]byte)) || len(dg[1].([]byte)) != MeasurementSize {
				t.Errorf("triple %d: instance %x, MEASUREMENT %x", i, in.Content, dg[1])
			}
		}
	})
	// What Veraison's sevsnp scheme validates when it provisions a CoRIM
	// (scheme/sevsnp/corim.go): a class with an OID class-id, a bytes
	// instance, and an unsigned mkey on every measurement.
	t.Run("class-id is an OID", func(t *testing.T) {
		for i, tr := range triples {
			cl, ok := tr[0].(map[any]any)[uint64(0)].(map[any]any)[uint64(0)].(cbor.Tag)
			if !ok || cl.Number != TagOID {
				t.Errorf("triple %d: class-id %v", i, cl)
			}
		}
	})
	t.Run("every mkey is a uint", func(t *testing.T) {
		for i, tr := range triples {
			for j, m := range tr[1].([]any) {
				if _, ok := m.(map[any]any)[uint64(0)].(uint64); !ok {
					t.Errorf("triple %d measurement %d: mkey %v", i, j, m.(map[any]any)[uint64(0)])
				}
			}
		}
	})
	t.Run("exactly the document's measurements", func(t *testing.T) {
		for ci, class := range [][]byte{ClassByChip(), ClassByCSP()} {
			var got []Measurement384
			for _, tr := range triples {
				cl := tr[0].(map[any]any)[uint64(0)].(map[any]any)[uint64(0)].(cbor.Tag)
				if bytes.Equal(cl.Content.([]byte), class) {
					got = append(got, Measurement384(tr[0].(map[any]any)[uint64(1)].(cbor.Tag).Content.([]byte)))
				}
			}
			if !slices.Equal(got, d.distinctMeasurements()) {
				t.Errorf("class %d: %d measurements, want the document's %d distinct ones in order", ci, len(got), len(d.distinctMeasurements()))
			}
		}
	})
}

// TestRefvaluesCoRIMShapeMatchesVeraison compares the default CoRIM with
// Veraison's own valid SEV-SNP test CoRIM key by key.
func TestRefvaluesCoRIMShapeMatchesVeraison(t *testing.T) {
	theirCM, theirComids := corimParts(t, readFile(t, veraisonValid))
	theirs := refTriples(t, theirComids)
	if len(theirs) != 1 {
		t.Fatalf("Veraison's CoRIM has %d reference triples", len(theirs))
	}
	for _, pol := range []bool{true, false} {
		t.Run(fmt.Sprintf("policy=%v", pol), func(t *testing.T) {
			ourCM, ourComids := corimParts(t, encode(t, sampleDoc(pol), FormatCoRIM))
			ours := refTriples(t, ourComids)
			for _, k := range []uint64{0, 3} {
				if skeleton(ourCM[k]) != skeleton(theirCM[k]) {
					t.Errorf("corim-map key %d: ours %s, Veraison's %s", k, skeleton(ourCM[k]), skeleton(theirCM[k]))
				}
			}
			if ourCM[uint64(3)].(cbor.Tag).Content != theirCM[uint64(3)].(cbor.Tag).Content {
				t.Errorf("profile %v, Veraison's %v", ourCM[uint64(3)], theirCM[uint64(3)])
			}
			for i, tr := range ours {
				if got, want := skeleton(tr[0]), skeleton(theirs[0][0]); got != want {
					t.Fatalf("triple %d environment: ours %s, Veraison's %s", i, got, want)
				}
				their := theirs[0][0].(map[any]any)[uint64(0)]
				if i < len(ours)/2 && !bytes.Equal(tr[0].(map[any]any)[uint64(0)].(map[any]any)[uint64(0)].(cbor.Tag).Content.([]byte),
					their.(map[any]any)[uint64(0)].(cbor.Tag).Content.([]byte)) {
					t.Errorf("triple %d: class-id differs from Veraison's (by chip)", i)
				}
				mkeys := []uint64{MkeyMeasurement}
				if pol {
					mkeys = append(mkeys, MkeyPolicy)
				}
				if len(tr[1].([]any)) != len(mkeys) {
					t.Errorf("triple %d: %d measurements, want %d", i, len(tr[1].([]any)), len(mkeys))
				}
				for _, k := range mkeys {
					if got, want := skeleton(claim(tr, k)), skeleton(claim(theirs[0], k)); got != want {
						t.Errorf("triple %d mkey %d: ours %s, Veraison's %s", i, k, got, want)
					}
				}
			}
		})
	}
	// The shapes the comparison relies on, spelt out.
	for _, c := range []struct {
		what string
		v    any
		want string
	}{
		{"environment", theirs[0][0], "{0: {0: 111(bstr[9])}, 1: 560(bstr[48])}"},
		{"MEASUREMENT", claim(theirs[0], MkeyMeasurement), "{0: uint, 1: {2: [[uint, bstr[48]]]}}"},
		{"POLICY", claim(theirs[0], MkeyPolicy), "{0: uint, 1: {4: 560(bstr[8])}}"},
		{"profile", theirCM[uint64(3)], "32(tstr)"},
	} {
		if got := skeleton(c.v); got != c.want {
			t.Errorf("Veraison's %s is %s, want %s", c.what, got, c.want)
		}
	}
}

// TestRefvaluesDecodeVeraisonCoRIMs reads Veraison's test CoRIMs: the valid
// one gives its reference value; the ones Veraison rejects are rejected.
func TestRefvaluesDecodeVeraisonCoRIMs(t *testing.T) {
	c, err := DecodeCoRIM(readFile(t, veraisonValid))
	if err != nil {
		t.Fatal(err)
	}
	if c.Profile != CoRIMProfile2024 || c.ID != "00000000-0000-0000-5596-0000000000001" || len(c.References) != 1 {
		t.Fatalf("%+v", c)
	}
	r := c.References[0]
	if r.Measurement.String() != veraisonMeasurment || !bytes.Equal(r.Instance, r.Measurement[:]) || !bytes.Equal(r.ClassID, ClassByChip()) {
		t.Errorf("reference %x %x %s", r.ClassID, r.Instance, r.Measurement)
	}
	// Veraison writes the POLICY big-endian: its 8 bytes 00 00 00 00 00 03
	// 00 00 are 0x30000, a valid policy (bit 17, which must be 1, set).
	// Read little-endian they would be 0x30000000000, with bit 17 clear.
	if r.Policy == nil || *r.Policy != 0x30000 || *r.Policy&PolicyReserved1 == 0 {
		t.Errorf("policy %v, want 0x30000", r.Policy)
	}
	for _, tc := range []struct{ file, want string }{
		{veraisonBadKey, "cannot unmarshal"},
		{veraisonBadNoKey, "no mkey"},
	} {
		if _, err := DecodeCoRIM(readFile(t, tc.file)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.file, err, tc.want)
		}
	}
}

// TestRefvaluesCoRIMDeterministic: the output is its own Core Deterministic
// Encoding (RFC 8949 section 4.2.1), the CoRIM and its CoMID alike.
func TestRefvaluesCoRIMDeterministic(t *testing.T) {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	for _, profile := range corimProfiles {
		b := corimFor(t, sampleDoc(true), profile)
		top := generic(t, b).(cbor.Tag)
		comid := top.Content.(map[any]any)[uint64(1)].([]any)[0].(cbor.Tag).Content.([]byte)
		for name, enc := range map[string][]byte{"CoRIM": b, "CoMID": comid} {
			again, err := em.Marshal(generic(t, enc))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, enc) {
				t.Errorf("%s %s is not in Core Deterministic Encoding", profile, name)
			}
		}
	}
}

// TestRefvaluesCoRIMGolden compares both profiles' CoRIMs of the sample
// with golden files: the bytes in hex, and CBOR diagnostic notation.
func TestRefvaluesCoRIMGolden(t *testing.T) {
	dm, err := cbor.DiagOptions{ByteStringEncoding: cbor.ByteStringBase16Encoding}.DiagMode()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, profile string }{
		{"sample-2024.corim", CoRIMProfile2024},
		{"sample-2025.corim", CoRIMProfile2025},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := corimFor(t, sampleDoc(true), tc.profile)
			var h strings.Builder
			for s := hex.EncodeToString(b); s != ""; {
				n := min(len(s), 64)
				h.WriteString(s[:n] + "\n")
				s = s[n:]
			}
			golden(t, tc.name+".hex", []byte(h.String()))
			top, err := dm.Diagnose(b)
			if err != nil {
				t.Fatal(err)
			}
			comid, err := dm.Diagnose(generic(t, b).(cbor.Tag).Content.(map[any]any)[uint64(1)].([]any)[0].(cbor.Tag).Content.([]byte))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name+".diag", []byte("/ CoRIM /\n"+top+"\n\n/ tags[0]: the CoMID /\n"+comid+"\n"))
		})
	}
}

// corimOf builds a CoRIM of the profile around one CoMID holding the given
// reference triples (generic values), to make malformed inputs.
func corimOf(t testing.TB, profile any, refs ...any) []byte {
	t.Helper()
	cb, err := marshalCBOR(map[uint64]any{1: map[uint64]any{0: "x"}, 4: map[uint64]any{0: refs}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := marshalCBOR(cbor.Tag{Number: TagUnsignedCoRIM, Content: map[uint64]any{
		0: "id", 1: []any{cbor.Tag{Number: TagCoMID, Content: cb}}, 3: profile,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRefvaluesDecodeCoRIMErrors(t *testing.T) {
	m := bytes.Repeat([]byte{0xab}, MeasurementSize)
	class := cbor.Tag{Number: TagOID, Content: ClassByChip()}
	inst := func(b []byte) cbor.Tag { return cbor.Tag{Number: TagBytes, Content: b} }
	meas := map[uint64]any{0: uint64(MkeyMeasurement), 1: map[uint64]any{2: []any{[]any{AlgSHA384, m}}}}
	env := map[uint64]any{0: map[uint64]any{0: class}, 1: inst(m)}
	p2024 := cbor.Tag{Number: TagURI, Content: CoRIMProfile2024}
	p2025 := cbor.Tag{Number: TagURI, Content: CoRIMProfile2025}
	triple := func(e any, claims ...any) any { return []any{e, claims} }
	policy := func(b []byte) any { return map[uint64]any{0: uint64(MkeyPolicy), 1: map[uint64]any{4: inst(b)}} }

	// The well-formed base decodes, in both profiles.
	if c, err := DecodeCoRIM(corimOf(t, p2024, triple(env, meas, policy([]byte{0, 0, 0, 0, 0, 3, 0, 0})))); err != nil || *c.References[0].Policy != 0x30000 {
		t.Fatalf("2024 base: %v", err)
	}
	if c, err := DecodeCoRIM(corimOf(t, p2025, triple(map[uint64]any{0: map[uint64]any{0: class}}, meas, policy([]byte{0, 0, 3, 0, 0, 0, 0, 0})))); err != nil || *c.References[0].Policy != 0x30000 {
		t.Fatalf("2025 base: %v", err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"not CBOR", []byte{0xff}, "CoRIM"},
		{"signed CoRIM", []byte{0xd2, 0x80}, "tag 18"},
		{"no profile", corimOf(t, nil, triple(env, meas)), "profile"},
		{"profile not a URI", corimOf(t, cbor.Tag{Number: TagOID, Content: []byte{1}}, triple(env, meas)), "want 32"},
		{"other profile", corimOf(t, cbor.Tag{Number: TagURI, Content: "http://amd.com/2024/snp-corim-profile"}, triple(env, meas)), "http://amd.com/2024/snp-corim-profile"},
		{"no triples", corimOf(t, p2024), "no reference triples"},
		{"2024 without instance", corimOf(t, p2024, triple(map[uint64]any{0: map[uint64]any{0: class}}, meas)), "no instance"},
		{"instance not the measurement", corimOf(t, p2024, triple(map[uint64]any{0: map[uint64]any{0: class}, 1: inst(make([]byte, 48))}, meas)), "is not the MEASUREMENT"},
		{"instance untagged", corimOf(t, p2024, triple(map[uint64]any{0: map[uint64]any{0: class}, 1: m}, meas)), "cannot unmarshal byte string"},
		{"instance other tag", corimOf(t, p2024, triple(map[uint64]any{0: map[uint64]any{0: class}, 1: cbor.Tag{Number: 37, Content: m}}, meas)), "tag 37"},
		{"class-id UUID", corimOf(t, p2024, triple(map[uint64]any{0: map[uint64]any{0: cbor.Tag{Number: 37, Content: make([]byte, 16)}}, 1: inst(m)}, meas)), "want 111"},
		{"no mkey", corimOf(t, p2024, triple(env, map[uint64]any{1: meas[1]})), "no mkey"},
		{"no MEASUREMENT", corimOf(t, p2024, triple(env, policy(make([]byte, 8)))), "no MEASUREMENT"},
		{"two MEASUREMENTs", corimOf(t, p2024, triple(env, meas, meas)), "two MEASUREMENT"},
		{"SHA-256 MEASUREMENT", corimOf(t, p2024, triple(env, map[uint64]any{0: uint64(MkeyMeasurement), 1: map[uint64]any{2: []any{[]any{1, m[:32]}}}})), "SHA-384"},
		{"POLICY of 4 bytes", corimOf(t, p2024, triple(env, meas, policy(make([]byte, 4)))), "4 bytes, want 8"},
		{"POLICY untagged", corimOf(t, p2024, triple(env, meas, map[uint64]any{0: uint64(MkeyPolicy), 1: map[uint64]any{3: uint64(1)}})), "POLICY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := DecodeCoRIM(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("DecodeCoRIM = %+v, %v; want an error with %q", c, err, tc.want)
			}
			if testing.Verbose() {
				t.Log(err)
			}
		})
	}
}

func FuzzDecodeCoRIM(f *testing.F) {
	for _, profile := range corimProfiles {
		for _, pol := range []bool{false, true} {
			b, err := sampleDoc(pol).CoRIMFor(profile)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	for _, p := range []string{veraisonValid, veraisonBadKey, veraisonBadNoKey} {
		f.Add(readFile(f, p))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCoRIM(b)
		if err != nil {
			return
		}
		if c == nil || len(c.References) == 0 {
			t.Fatal("no references without an error")
		}
		for _, r := range c.References {
			if c.Profile == CoRIMProfile2024 && !bytes.Equal(r.Instance, r.Measurement[:]) {
				t.Fatal("a 2024 reference whose instance is not its measurement")
			}
		}
	})
}
