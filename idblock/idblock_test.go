package idblock

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"strings"
	"testing"
)

func loadKey(t testing.TB, name string) *ecdsa.PrivateKey {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParsePrivateKeyPEM(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return k
}

type vector struct {
	measurement, block, idKeyHash, authorKeyHash []byte
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	data, err := os.ReadFile("testdata/vectors.tsv")
	if err != nil {
		t.Fatal(err)
	}
	var out []vector
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if i == 0 {
			continue // header
		}
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			t.Fatalf("vectors.tsv line %d: %d fields", i+1, len(f))
		}
		var v vector
		for j, dst := range []*[]byte{&v.measurement, &v.block, &v.idKeyHash, &v.authorKeyHash} {
			b, err := base64.StdEncoding.DecodeString(f[j])
			if err != nil {
				t.Fatalf("vectors.tsv line %d field %d: %v", i+1, j+1, err)
			}
			*dst = b
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		t.Fatal("no vectors")
	}
	return out
}

func TestIDBlockSizes(t *testing.T) {
	if BlockSize != 96 || AuthSize != 4096 || PublicKeySize != 1028 || SignatureSize != 512 {
		t.Fatal("size constants changed")
	}
	if OffBlockPolicy+8 != BlockSize {
		t.Errorf("ID block fields end at %d", OffBlockPolicy+8)
	}
	if OffAuthAuthorKey+PublicKeySize > AuthSize || OffAuthIDKey+PublicKeySize > OffAuthIDKeySignature ||
		OffAuthBlockSignature+SignatureSize != OffAuthIDKey || OffAuthIDKeySignature+SignatureSize != OffAuthAuthorKey {
		t.Error("ID auth offsets overlap")
	}
	if OffKeyQY+ComponentSize > PublicKeySize || OffSigS+ComponentSize > SignatureSize {
		t.Error("component offsets overflow")
	}
}

func TestIDBlockVectors(t *testing.T) {
	idKey := loadKey(t, "id_key_test.pem")
	authorKey := loadKey(t, "author_key_test.pem")
	for i, v := range loadVectors(t) {
		var ld [MeasurementSize]byte
		if len(v.measurement) != MeasurementSize {
			t.Fatalf("vector %d: measurement has %d bytes", i, len(v.measurement))
		}
		copy(ld[:], v.measurement)
		b := NewBlock(ld)
		if got := b.Marshal(); !bytes.Equal(got, v.block) {
			t.Errorf("vector %d: ID block\n got %x\nwant %x", i, got, v.block)
		}
		pb, err := ParseBlock(v.block)
		if err != nil || *pb != *b {
			t.Errorf("vector %d: ParseBlock = %+v, %v", i, pb, err)
		}
		idd, err := KeyDigest(&idKey.PublicKey)
		if err != nil || !bytes.Equal(idd[:], v.idKeyHash) {
			t.Errorf("vector %d: id key digest %x, want %x (%v)", i, idd, v.idKeyHash, err)
		}
		ad, err := KeyDigest(&authorKey.PublicKey)
		if err != nil || !bytes.Equal(ad[:], v.authorKeyHash) {
			t.Errorf("vector %d: author key digest %x, want %x (%v)", i, ad, v.authorKeyHash, err)
		}
		a, err := NewAuth(rand.Reader, b, idKey, authorKey)
		if err != nil {
			t.Fatal(err)
		}
		raw := a.Marshal()
		checkAuthLayout(t, raw, true)
		// The two signatures verify with crypto/ecdsa directly.
		checkECDSA(t, &idKey.PublicKey, v.block, raw[OffAuthBlockSignature:OffAuthBlockSignature+SignatureSize])
		checkECDSA(t, &authorKey.PublicKey, raw[OffAuthIDKey:OffAuthIDKey+PublicKeySize],
			raw[OffAuthIDKeySignature:OffAuthIDKeySignature+SignatureSize])
		ver, err := Verify(v.block, raw)
		if err != nil {
			t.Fatal(err)
		}
		if ver.Err() != nil || !bytes.Equal(ver.IDKeyDigest[:], v.idKeyHash) || !bytes.Equal(ver.AuthorKeyDigest[:], v.authorKeyHash) {
			t.Errorf("vector %d: Verify = %+v, %v", i, ver, ver.Err())
		}
	}
}

// checkECDSA verifies an AMD-format signature with crypto/ecdsa, decoding
// the little-endian R and S by hand.
func checkECDSA(t *testing.T, pub *ecdsa.PublicKey, msg, sig []byte) {
	t.Helper()
	le := func(b []byte) *big.Int {
		be := make([]byte, len(b))
		for i := range b {
			be[len(b)-1-i] = b[i]
		}
		return new(big.Int).SetBytes(be)
	}
	r, s := le(sig[0:72]), le(sig[72:144])
	for _, c := range sig[144:] {
		if c != 0 {
			t.Fatal("signature reserved bytes are not zero")
		}
	}
	h := sha384(msg)
	if !ecdsa.Verify(pub, h, r, s) {
		t.Error("signature does not verify with crypto/ecdsa")
	}
}

func sha384(b []byte) []byte {
	h := sha512.Sum384(b)
	return h[:]
}

// checkAuthLayout checks the fixed fields and reserved zeros of an ID auth structure.
func checkAuthLayout(t *testing.T, raw []byte, author bool) {
	t.Helper()
	if len(raw) != AuthSize {
		t.Fatalf("ID auth has %d bytes", len(raw))
	}
	if binary.LittleEndian.Uint32(raw[0:]) != 1 {
		t.Error("ID_KEY_ALGO is not 1")
	}
	wantAlgo := uint32(0)
	if author {
		wantAlgo = 1
	}
	if got := binary.LittleEndian.Uint32(raw[4:]); got != wantAlgo {
		t.Errorf("AUTH_KEY_ALGO = %d, want %d", got, wantAlgo)
	}
	zero := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if raw[i] != 0 {
				t.Errorf("byte %#x is %#x, want reserved zero", i, raw[i])
				return
			}
		}
	}
	zero(8, 64)
	zero(1604, 1664)
	zero(3204, 4096)
	if binary.LittleEndian.Uint32(raw[576:]) != 2 {
		t.Error("ID key curve is not 2")
	}
	if author {
		if binary.LittleEndian.Uint32(raw[2176:]) != 2 {
			t.Error("author key curve is not 2")
		}
	} else {
		zero(1664, 3204)
	}
}

func TestIDBlockNoAuthorKey(t *testing.T) {
	idKey := loadKey(t, "id_key_test.pem")
	b := NewBlock([MeasurementSize]byte{1, 2, 3})
	a, err := NewAuth(rand.Reader, b, idKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw := a.Marshal()
	checkAuthLayout(t, raw, false)
	v, err := Verify(b.Marshal(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if v.HasAuthorKey || !v.BlockSignatureValid || v.Err() != nil {
		t.Errorf("Verify = %+v", v)
	}
}

func TestIDBlockTamper(t *testing.T) {
	idKey := loadKey(t, "id_key_test.pem")
	authorKey := loadKey(t, "author_key_test.pem")
	b := NewBlock([MeasurementSize]byte{9})
	a, err := NewAuth(rand.Reader, b, idKey, authorKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		block      func([]byte)
		auth       func([]byte)
		blockOK    bool
		idKeySigOK bool
	}{
		{"intact", nil, nil, true, true},
		{"policy", func(b []byte) { b[OffBlockPolicy] ^= 1 }, nil, false, true},
		{"measurement", func(b []byte) { b[0] ^= 0x80 }, nil, false, true},
		{"block signature", nil, func(a []byte) { a[OffAuthBlockSignature+3] ^= 1 }, false, true},
		{"id key signature", nil, func(a []byte) { a[OffAuthIDKeySignature+100] ^= 1 }, true, false},
		{"id key reserved", nil, func(a []byte) { a[OffAuthIDKey+1000] ^= 1 }, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			blk, raw := b.Marshal(), a.Marshal()
			if tc.block != nil {
				tc.block(blk)
			}
			if tc.auth != nil {
				tc.auth(raw)
			}
			v, err := Verify(blk, raw)
			if err != nil {
				t.Fatal(err)
			}
			if v.BlockSignatureValid != tc.blockOK || v.IDKeySignatureValid != tc.idKeySigOK {
				t.Errorf("Verify = %+v", v)
			}
			if ok := tc.blockOK && tc.idKeySigOK; ok != (v.Err() == nil) || (!ok && !errors.Is(v.Err(), ErrSignature)) {
				t.Errorf("Err() = %v", v.Err())
			}
		})
	}
}

func TestIDBlockParseAuthErrors(t *testing.T) {
	idKey := loadKey(t, "id_key_test.pem")
	a, err := NewAuth(rand.Reader, NewBlock([MeasurementSize]byte{}), idKey, idKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		mod  func([]byte) []byte
		want string
	}{
		{"short", func(b []byte) []byte { return b[:100] }, "100 bytes, want 4096"},
		{"id algo", func(b []byte) []byte { b[0] = 2; return b }, "ID_KEY_ALGO 2"},
		{"author algo", func(b []byte) []byte { b[4] = 7; return b }, "AUTH_KEY_ALGO 7"},
		{"curve", func(b []byte) []byte { b[OffAuthIDKey] = 3; return b }, "curve 3"},
		{"off curve", func(b []byte) []byte { b[OffAuthIDKey+OffKeyQX] ^= 1; return b }, "not a point on P-384"},
		{"huge coordinate", func(b []byte) []byte { b[OffAuthAuthorKey+OffKeyQY+71] = 1; return b }, "does not fit in 384 bits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseAuth(tc.mod(a.Marshal()))
			var fe *FormatError
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &fe) {
				t.Errorf("ParseAuth error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := ParseBlock(make([]byte, 95)); err == nil {
		t.Error("ParseBlock accepted 95 bytes")
	}
}

func TestIDBlockParsePrivateKeyPEM(t *testing.T) {
	sec1, err := os.ReadFile("testdata/id_key_test.pem")
	if err != nil {
		t.Fatal(err)
	}
	k := loadKey(t, "id_key_test.pem")
	pk8, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p256der, err := x509.MarshalECPrivateKey(p256)
	if err != nil {
		t.Fatal(err)
	}
	params := pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 5, 0x2b, 0x81, 4, 0, 0x22}})
	for _, tc := range []struct {
		name string
		data []byte
		want string // "" for success
	}{
		{"sec1", sec1, ""},
		{"pkcs8", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk8}), ""},
		{"with parameters", append(params, sec1...), ""},
		{"empty", nil, "no PEM data"},
		{"params only", params, "no private key"},
		{"p256", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: p256der}), "curve P-256"},
		{"encrypted", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: []byte{1}}), "encrypted"},
		{"certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}), "want \"EC PRIVATE KEY\""},
		{"garbage der", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{1, 2}}), "EC PRIVATE KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePrivateKeyPEM(tc.data)
			if tc.want == "" {
				if err != nil || !got.Equal(k) {
					t.Errorf("ParsePrivateKeyPEM: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestIDBlockPublicKeyRoundTrip(t *testing.T) {
	for range 20 {
		k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := MarshalPublicKey(&k.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParsePublicKey(raw)
		if err != nil || !p.Equal(&k.PublicKey) {
			t.Fatalf("round trip: %v", err)
		}
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := MarshalPublicKey(&p256.PublicKey); err == nil {
		t.Error("MarshalPublicKey accepted a P-256 key")
	}
	if _, err := Sign(rand.Reader, p256, nil); err == nil {
		t.Error("Sign accepted a P-256 key")
	}
}

func FuzzParseAuth(f *testing.F) {
	idKey := loadKey(f, "id_key_test.pem")
	authorKey := loadKey(f, "author_key_test.pem")
	b := NewBlock([MeasurementSize]byte{})
	for _, ak := range []*ecdsa.PrivateKey{nil, authorKey} {
		a, err := NewAuth(rand.Reader, b, idKey, ak)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(a.Marshal())
	}
	f.Add(make([]byte, AuthSize))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAuth(data)
		if err != nil {
			return
		}
		// Every field survives a round trip; only reserved bytes may differ.
		m := a.Marshal()
		for _, r := range [][2]int{{0, 8}, {OffAuthBlockSignature, OffAuthIDKey + PublicKeySize},
			{OffAuthIDKeySignature, OffAuthAuthorKey + PublicKeySize}} {
			if !bytes.Equal(m[r[0]:r[1]], data[r[0]:r[1]]) {
				t.Fatalf("round trip changed bytes %#x-%#x", r[0], r[1])
			}
		}
		v, err := a.Verify(b)
		if err != nil {
			t.Fatalf("Verify of a parsed structure: %v", err)
		}
		_ = v.Err()
	})
}

func FuzzParseBlock(f *testing.F) {
	f.Add(NewBlock([MeasurementSize]byte{1}).Marshal())
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBlock(data)
		if err != nil {
			if len(data) == BlockSize {
				t.Fatal(err)
			}
			return
		}
		if !bytes.Equal(b.Marshal(), data) {
			t.Fatal("round trip differs")
		}
	})
}

func FuzzParsePrivateKeyPEM(f *testing.F) {
	data, err := os.ReadFile("testdata/author_key_test.pem")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParsePrivateKeyPEM(data)
		if err == nil && k.Curve.Params().Name != "P-384" {
			t.Fatal("accepted a key that is not P-384")
		}
	})
}
