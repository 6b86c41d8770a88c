package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snpmeasure/snpmeasure/idblock"
	"github.com/snpmeasure/snpmeasure/internal/cliflags"
)

const (
	idbTestdata  = "../../idblock/testdata"
	idbIDKey     = idbTestdata + "/id_key_test.pem"
	idbAuthorKey = idbTestdata + "/author_key_test.pem"
)

// idbOutput is the parsed output of snpmeasure idblock.
type idbOutput struct {
	line1, block, auth, idKeyHash, authorKey string
	lines                                    int
}

func parseIDBlockOutput(t *testing.T, out string) idbOutput {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var o idbOutput
	o.lines = len(lines)
	o.line1 = lines[0]
	var ok bool
	if o.block, o.auth, ok = cliflags.SplitIDBlockLine(lines[0]); !ok || !strings.HasPrefix(lines[0], "id-block=") {
		t.Fatalf("first line %q", lines[0])
	}
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, ": ")
		switch k {
		case "id_key_hash":
			o.idKeyHash = v
		case "author_key":
			o.authorKey = v
		default:
			t.Fatalf("unexpected line %q", l)
		}
	}
	return o
}

// TestIDBlockVectors creates ID blocks for the conformance vectors with the
// reference's flag spellings and checks them, then verifies each round trip.
func TestIDBlockVectors(t *testing.T) {
	data, err := os.ReadFile(idbTestdata + "/vectors.tsv")
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(string(data)), "\n")[1:]
	if len(rows) == 0 {
		t.Fatal("no vectors")
	}
	for i, row := range rows {
		f := strings.Split(row, "\t")
		t.Run(f[0][:12], func(t *testing.T) {
			for _, spelling := range [][2]string{{"--idkey", "--authorkey"}, {"--id-key", "--author-key"}} {
				measurement := f[0]
				if i%2 == 1 { // also the hex form
					b, _ := base64.StdEncoding.DecodeString(f[0])
					measurement = hex.EncodeToString(b)
				}
				r := runInProcess("idblock", "--measurement", measurement, spelling[0], idbIDKey, spelling[1], idbAuthorKey)
				if r.code != 0 {
					t.Fatalf("exit %d: %s", r.code, r.stderr)
				}
				o := parseIDBlockOutput(t, r.stdout)
				if o.lines != 3 || o.block != f[1] || o.idKeyHash != f[2] || o.authorKey != f[3] {
					t.Errorf("output %+v, want block %s id %s author %s", o, f[1], f[2], f[3])
				}
				// The reference-format line verifies, and so do the flags.
				for _, args := range [][]string{
					{"idblock", "verify", o.line1},
					{"idblock", "verify", "--id-block", o.block, "--id-auth", o.auth, "--measurement", f[0]},
				} {
					v := runInProcess(args...)
					if v.code != 0 || !strings.Contains(v.stdout, "id_key_hash: "+f[2]) || !strings.Contains(v.stdout, "author_key: "+f[3]) ||
						strings.Count(v.stdout, ": ok\n") != 2+strings.Count(strings.Join(args, " "), "--measurement") || !strings.Contains(v.stdout, "author-key-enabled=on") {
						t.Errorf("verify: exit %d\n%s%s", v.code, v.stdout, v.stderr)
					}
				}
			}
		})
	}
}

func TestIDBlockFields(t *testing.T) {
	m := strings.Repeat("ab", 48)
	for _, tc := range []struct {
		name  string
		args  []string
		check func(*idblock.Block) bool
	}{
		{"defaults", nil, func(b *idblock.Block) bool {
			return b.Policy == 0x30000 && b.Version == 1 && b.GuestSVN == 0 && b.FamilyID == [16]byte{} && b.ImageID == [16]byte{}
		}},
		{"policy", []string{"--policy", "0x1f0000"}, func(b *idblock.Block) bool { return b.Policy == 0x1f0000 }},
		{"svn and version", []string{"--guest-svn", "7", "--version", "0x1"}, func(b *idblock.Block) bool { return b.GuestSVN == 7 && b.Version == 1 }},
		{"ids", []string{"--family-id", strings.Repeat("11", 16), "--image-id", "0x" + strings.Repeat("22", 16)}, func(b *idblock.Block) bool {
			return b.FamilyID[0] == 0x11 && b.FamilyID[15] == 0x11 && b.ImageID[0] == 0x22
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runInProcess(append([]string{"idblock", "--measurement", m, "--id-key", idbIDKey}, tc.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			o := parseIDBlockOutput(t, r.stdout)
			if o.lines != 2 || o.authorKey != "" {
				t.Errorf("without --author-key: %d lines, author %q", o.lines, o.authorKey)
			}
			raw, _ := base64.StdEncoding.DecodeString(o.block)
			b, err := idblock.ParseBlock(raw)
			if err != nil || hex.EncodeToString(b.Measurement[:]) != m || !tc.check(b) {
				t.Errorf("block %+v, %v", b, err)
			}
			rawAuth, _ := base64.StdEncoding.DecodeString(o.auth)
			if binary.LittleEndian.Uint32(rawAuth[4:]) != 0 {
				t.Error("AUTH_KEY_ALGO is set without an author key")
			}
			v := runInProcess("idblock", "verify", "--id-block", o.block, "--id-auth", o.auth)
			if v.code != 0 || !strings.Contains(v.stdout, "author_key: none") {
				t.Errorf("verify: exit %d\n%s%s", v.code, v.stdout, v.stderr)
			}
		})
	}
}

// TestIDBlockKeyFormats accepts PKCS #8 keys and rejects other curves.
func TestIDBlockKeyFormats(t *testing.T) {
	dir := t.TempDir()
	k, err := idblock.ParsePrivateKeyPEM(idbRead(t, idbIDKey))
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pk8 := filepath.Join(dir, "pkcs8.pem")
	idbWriteFile(t, pk8, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ = x509.MarshalECPrivateKey(p256)
	p256f := filepath.Join(dir, "p256.pem")
	idbWriteFile(t, p256f, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	m := strings.Repeat("00", 48)

	r := runInProcess("idblock", "--measurement", m, "--id-key", pk8, "--author-key", idbAuthorKey)
	if r.code != 0 {
		t.Fatalf("PKCS #8: exit %d: %s", r.code, r.stderr)
	}
	if o := parseIDBlockOutput(t, r.stdout); o.idKeyHash != "hwt+NcU/inLQ0yL3WrKvgmJ5Kq9leWIs5BMcPyHyied8sFYKXjuQs5MuZ07HCcsU" {
		t.Errorf("id key hash %s", o.idKeyHash)
	}
	r = runInProcess("idblock", "--measurement", m, "--id-key", p256f)
	if r.code != 1 || !strings.Contains(r.stderr, "p256.pem: key is on curve P-256, want P-384") {
		t.Errorf("P-256: exit %d: %s", r.code, r.stderr)
	}
}

func idbRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func idbWriteFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestIDBlockErrors(t *testing.T) {
	m := strings.Repeat("00", 48)
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no measurement", []string{"--id-key", idbIDKey}, 2, "missing --measurement"},
		{"no key", []string{"--measurement", m}, 2, "missing --id-key"},
		{"short measurement", []string{"--measurement", "abcd", "--id-key", idbIDKey}, 2, "96 hex digits or the base64 of 48 bytes"},
		{"policy", []string{"--measurement", m, "--id-key", idbIDKey, "--policy", "0"}, 2, "bit 17"},
		{"family id", []string{"--measurement", m, "--id-key", idbIDKey, "--family-id", "1234"}, 2, "--family-id"},
		{"svn", []string{"--measurement", m, "--id-key", idbIDKey, "--guest-svn", "0x100000000"}, 2, "32 bits"},
		{"argument", []string{"--measurement", m, "--id-key", idbIDKey, "x"}, 2, "unexpected argument"},
		{"key missing", []string{"--measurement", m, "--id-key", "nope.pem"}, 1, "nope.pem"},
		{"key not pem", []string{"--measurement", m, "--id-key", idbTestdata + "/vectors.tsv"}, 1, "vectors.tsv: no PEM data"},
		{"author key dir", []string{"--measurement", m, "--id-key", idbIDKey, "--author-key", idbTestdata}, 1, "is a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runInProcess(append([]string{"idblock"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) || r.stdout != "" {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tc.code, tc.msg)
			}
		})
	}
}

// TestIDBlockVerify covers verify's failures: exit 3 when a signature or the
// measurement check fails, 1 for malformed data, 2 for bad usage.
func TestIDBlockVerify(t *testing.T) {
	m := strings.Repeat("5a", 48)
	r := runInProcess("idblock", "--measurement", m, "--id-key", idbIDKey, "--author-key", idbAuthorKey)
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	o := parseIDBlockOutput(t, r.stdout)
	blk, _ := base64.StdEncoding.DecodeString(o.block)
	auth, _ := base64.StdEncoding.DecodeString(o.auth)
	mod := func(b []byte, off int, x byte) string {
		c := append([]byte(nil), b...)
		c[off] ^= x
		return base64.StdEncoding.EncodeToString(c)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"ok", []string{"--id-block", o.block, "--id-auth", o.auth, "--measurement", m}, 0, ""},
		{"policy changed", []string{"--id-block", mod(blk, idblock.OffBlockPolicy+2, 0x10), "--id-auth", o.auth}, 3, "ID block signature"},
		{"block signature", []string{"--id-block", o.block, "--id-auth", mod(auth, idblock.OffAuthBlockSignature+5, 1)}, 3, "ID block signature"},
		{"id key signature", []string{"--id-block", o.block, "--id-auth", mod(auth, idblock.OffAuthIDKeySignature+5, 1)}, 3, "ID key signature"},
		{"measurement", []string{"--id-block", o.block, "--id-auth", o.auth, "--measurement", strings.Repeat("00", 48)}, 3, "measurement is not"},
		{"algo", []string{"--id-block", o.block, "--id-auth", mod(auth, 0, 3)}, 1, "ID_KEY_ALGO 2"},
		{"off curve", []string{"--id-block", o.block, "--id-auth", mod(auth, idblock.OffAuthIDKey+10, 1)}, 1, "not a point on P-384"},
		{"short", []string{"--id-block", o.block[:20], "--id-auth", o.auth}, 1, "--id-block: 15 bytes, want 96"},
		{"not base64", []string{"--id-block", o.block, "--id-auth", "!!!"}, 1, "--id-auth: not base64"},
		{"missing", []string{"--id-block", o.block}, 2, "missing --id-block"},
		{"bad line", []string{"id-block=abc"}, 2, "want id-block=<base64>,id-auth=<base64>"},
		{"line and flags", []string{o.line1, "--id-block", o.block}, 2, "not both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runInProcess(append([]string{"idblock", "verify"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q\n%s", r.code, r.stderr, tc.code, tc.msg, r.stdout)
			}
			if tc.code == 3 && !strings.Contains(r.stdout, "FAILED") {
				t.Errorf("no FAILED line:\n%s", r.stdout)
			}
		})
	}
	if r := runInProcess("idblock", "verify", "--help"); r.code != 0 || !strings.Contains(r.stdout, "Exit status") {
		t.Errorf("verify --help: exit %d", r.code)
	}
	if r := runInProcess("idblock", "--help"); r.code != 0 || !strings.Contains(r.stdout, "author-key-enabled=on") {
		t.Errorf("--help: exit %d", r.code)
	}
}

func TestIDBlockVerifyJSON(t *testing.T) {
	m := strings.Repeat("5a", 48)
	sign := func(args ...string) idbOutput {
		t.Helper()
		r := runInProcess(append([]string{"idblock", "--measurement", m, "--id-key", idbIDKey}, args...)...)
		if r.code != 0 {
			t.Fatal(r.stderr)
		}
		return parseIDBlockOutput(t, r.stdout)
	}
	o := sign("--author-key", idbAuthorKey, "--policy", "0x1f0000", "--guest-svn", "7", "--version", "1",
		"--family-id", strings.Repeat("11", 16), "--image-id", strings.Repeat("22", 16))
	noAuthor := sign()
	b64hex := func(s string) string {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return hex.EncodeToString(b)
	}
	blk, _ := base64.StdEncoding.DecodeString(o.block)
	auth, _ := base64.StdEncoding.DecodeString(o.auth)
	mod := func(b []byte, off int, x byte) string {
		c := append([]byte(nil), b...)
		c[off] ^= x
		return base64.StdEncoding.EncodeToString(c)
	}
	ok := map[string]string{
		"ok": "true", "id_block.measurement": m, "id_block.family_id": strings.Repeat("11", 16),
		"id_block.image_id": strings.Repeat("22", 16), "id_block.version": "1", "id_block.guest_svn": "7",
		"id_block.policy": "0x1f0000", "id_block_signature_valid": "true",
		"id_key_digest.base64": o.idKeyHash, "id_key_digest.hex": b64hex(o.idKeyHash),
		"author_key_enabled": "true", "id_key_signature_valid": "true",
		"author_key_digest.base64": o.authorKey, "author_key_digest.hex": b64hex(o.authorKey),
		"measurement_expected": "null", "measurement_matches": "null", "failures": "[]",
	}
	with := func(base map[string]string, kv ...string) map[string]string {
		w := maps.Clone(base)
		for i := 0; i < len(kv); i += 2 {
			w[kv[i]] = kv[i+1]
		}
		return w
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want map[string]string // path → value; see checkJSONValues
	}{
		{"ok", []string{"--json", "--id-block", o.block, "--id-auth", o.auth}, 0, ok},
		{"line", []string{o.line1, "--json"}, 0, ok},
		{"measurement matches", []string{"--json", o.line1, "--measurement", m}, 0,
			with(ok, "measurement_expected", m, "measurement_matches", "true")},
		{"no author key", []string{"--json", noAuthor.line1}, 0, map[string]string{
			"ok": "true", "id_block.policy": "0x30000", "id_block.version": "1", "id_block.guest_svn": "0",
			"id_block.family_id": strings.Repeat("00", 16), "id_key_digest.base64": noAuthor.idKeyHash,
			"author_key_enabled": "false", "id_key_signature_valid": "null", "author_key_digest": "null",
		}},
		{"measurement differs", []string{"--json", o.line1, "--measurement", strings.Repeat("00", 48)}, 3,
			with(ok, "ok", "false", "measurement_expected", strings.Repeat("00", 48), "measurement_matches", "false",
				"failures", `["the ID block's measurement is not `+strings.Repeat("00", 48)+`"]`)},
		{"policy changed", []string{"--json", "--id-block", mod(blk, idblock.OffBlockPolicy+2, 0x10), "--id-auth", o.auth}, 3,
			with(ok, "ok", "false", "id_block.policy", "0xf0000", "id_block_signature_valid", "false",
				"failures", `["ID block signature (ID key): signature does not verify"]`)},
		{"id key signature", []string{"--json", "--id-block", o.block, "--id-auth", mod(auth, idblock.OffAuthIDKeySignature+5, 1)}, 3,
			with(ok, "ok", "false", "id_key_signature_valid", "false",
				"failures", `["ID key signature (author key): signature does not verify"]`)},
		{"malformed", []string{"--json", "--id-block", o.block[:20], "--id-auth", o.auth}, 1, nil},
		{"usage", []string{"--json", "--id-block", o.block}, 2, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runInProcess(append([]string{"idblock", "verify"}, tc.args...)...)
			v := checkJSONRun(t, r, tc.code)
			if v == nil {
				return
			}
			checkKeys(t, r.stdout, "ok", "id_block", "id_block_signature_valid", "id_key_digest", "author_key_enabled",
				"id_key_signature_valid", "author_key_digest", "measurement_expected", "measurement_matches", "failures")
			checkJSONValues(t, v, tc.want)
		})
	}
}

// FuzzIDBlockVerify feeds arbitrary ID block and ID auth strings to
// 'idblock verify': it must never panic and only use the documented statuses.
func FuzzIDBlockVerify(f *testing.F) {
	r := runInProcess("idblock", "--measurement", strings.Repeat("00", 48), "--id-key", idbIDKey, "--author-key", idbAuthorKey)
	if r.code != 0 {
		f.Fatal(r.stderr)
	}
	blk, auth, _ := cliflags.SplitIDBlockLine(strings.SplitN(r.stdout, "\n", 2)[0])
	f.Add(blk, auth)
	f.Add("", "")
	f.Add(blk, strings.Repeat("A", 5464))
	f.Fuzz(func(t *testing.T, blk, auth string) {
		r := runInProcess("idblock", "verify", "--id-block="+blk, "--id-auth="+auth)
		switch r.code {
		case 0, 1, 2, 3:
		default:
			t.Fatalf("exit %d", r.code)
		}
		if r.code != 0 && strings.Count(r.stderr, "\n") != 1 {
			t.Fatalf("error is not one line: %q", r.stderr)
		}
	})
}
