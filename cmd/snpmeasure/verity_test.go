package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const (
	veritySalt = "5eed00112233445566778899aabbccddeeff00112233445566778899aabbccdd"
	verityUUID = "12345678-1234-4234-9234-56789abcdef0"
)

// verityImage writes a deterministic image of n bytes.
func verityImage(t *testing.T, dir string, n int) string {
	t.Helper()
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*131 + i>>12)
	}
	p := filepath.Join(dir, "root.img")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// field returns the value of a "Key: value" line.
func field(out, key string) string {
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func TestVerityCLI(t *testing.T) {
	dir := t.TempDir()
	// 300 blocks and a tail: the tail is not covered, as with veritysetup.
	data := verityImage(t, dir, 300*4096+1234)
	hash := filepath.Join(dir, "root.hash")
	r := runInProcess("verity", "format", data, hash, "--salt", veritySalt, "--uuid", verityUUID)
	if r.code != 0 {
		t.Fatalf("format: %d %s", r.code, r.stderr)
	}
	root := field(r.stdout, "Root hash")
	if len(root) != 64 || field(r.stdout, "Data blocks") != "300" || field(r.stdout, "Hash offset") != "4096" || field(r.stdout, "Salt") != veritySalt {
		t.Fatalf("format printed:\n%s", r.stdout)
	}
	wantCmdline := `dm-mod.create="vroot,,,ro,0 2400 verity 1 /dev/vda /dev/vdb 4096 4096 300 1 sha256 ` + root + " " + veritySalt + `" root=/dev/dm-0`
	if got := field(r.stdout, "Kernel cmdline"); got != wantCmdline {
		t.Errorf("kernel cmdline\n%s\nwant\n%s", got, wantCmdline)
	}
	if got := field(r.stdout, "systemd cmdline"); got != "roothash="+root+" systemd.verity_root_data=/dev/vda systemd.verity_root_hash=/dev/vdb" {
		t.Errorf("systemd cmdline %q", got)
	}

	if vs, err := exec.LookPath("veritysetup"); err == nil {
		want := filepath.Join(dir, "want.hash")
		out, err := exec.Command(vs, "format", data, want, "--salt", veritySalt, "--uuid", verityUUID).CombinedOutput()
		if err != nil {
			t.Fatalf("veritysetup: %v %s", err, out)
		}
		if field(string(out), "Root hash") != root {
			t.Errorf("veritysetup root %s, ours %s", field(string(out), "Root hash"), root)
		}
		a, _ := os.ReadFile(want)
		b, _ := os.ReadFile(hash)
		if !bytes.Equal(a, b) {
			t.Errorf("hash file differs from veritysetup's")
		}
		if out, err := exec.Command(vs, "verify", data, hash, root).CombinedOutput(); err != nil {
			t.Errorf("veritysetup verify: %v %s", err, out)
		}
	} else if os.Getenv("CI") != "" {
		t.Fatal("veritysetup is not installed (CI is set, so this is a failure)")
	}

	// --json and --no-superblock with custom device names.
	nosb := filepath.Join(dir, "nosb.hash")
	j := runInProcess("verity", "format", data, nosb, "--no-superblock", "--salt", veritySalt, "--json",
		"--data-device", "/dev/sda2", "--hash-device", "/dev/sda3", "--name", "root")
	var res map[string]any
	if err := json.Unmarshal([]byte(j.stdout), &res); err != nil {
		t.Fatalf("format --json: %v %q", err, j.stdout)
	}
	if res["root_hash"] != root || res["hash_offset"] != 0.0 || res["superblock"] != false {
		t.Errorf("format --json: %v", res)
	}
	if cl, _ := res["kernel_cmdline"].(string); !strings.HasPrefix(cl, `dm-mod.create="root,,,ro,0 2400 verity 1 /dev/sda2 /dev/sda3 4096 4096 300 0 sha256 `) {
		t.Errorf("kernel_cmdline %q", cl)
	}
	if sd, _ := res["systemd_cmdline"].(string); !strings.Contains(sd, "systemd.verity_root_options=superblock=false,format=1,hash=sha256,data-block-size=4096,hash-block-size=4096,data-blocks=300,hash-offset=0,salt="+veritySalt) {
		t.Errorf("systemd_cmdline %q", sd)
	}

	// verify
	if v := runInProcess("verity", "verify", data, hash, root); v.code != 0 || !strings.Contains(v.stdout, "verified 300 data blocks") {
		t.Errorf("verify: %d %q %s", v.code, v.stdout, v.stderr)
	}
	if v := runInProcess("verity", "verify", data, nosb, root, "--no-superblock", "--salt", veritySalt); v.code != 0 {
		t.Errorf("verify --no-superblock: %d %s", v.code, v.stderr)
	}
	if v := runInProcess("verity", "verify", data, nosb, root, "--no-superblock"); v.code != 3 {
		t.Errorf("verify --no-superblock without the salt: %d %s", v.code, v.stderr)
	}
	wrong := strings.Repeat("0", 64)
	if v := runInProcess("verity", "verify", data, hash, wrong); v.code != 3 || !strings.Contains(v.stdout, "root hash mismatch") {
		t.Errorf("verify wrong root: %d %q %s", v.code, v.stdout, v.stderr)
	}
	if v := runInProcess("verity", "verify", data, hash, root, "--salt", "00"); v.code != 1 || !strings.Contains(v.stderr, "superblock salt is") {
		t.Errorf("verify with a contradicting salt: %d %s", v.code, v.stderr)
	}
	// Corrupt data block 42.
	f, err := os.OpenFile(data, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0xff, 0xee}, 42*4096+100)
	f.Close()
	v := runInProcess("verity", "verify", data, hash, root)
	if v.code != 3 || !strings.Contains(v.stdout, "tree level 0 does not match data block 42 of "+data) {
		t.Errorf("verify corrupt data: %d %q %s", v.code, v.stdout, v.stderr)
	}

	small := filepath.Join(dir, "small.img")
	os.WriteFile(small, make([]byte, 3000), 0o644)
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"verity", "--help"}, 0, ""},
		{[]string{"verity", "format", "--help"}, 0, ""},
		{[]string{"verity", "verify", "--help"}, 0, ""},
		{[]string{"verity"}, 2, "needs a subcommand"},
		{[]string{"verity", "frob"}, 2, "unknown verity subcommand"},
		{[]string{"verity", "format", data}, 2, "takes DATA and HASHFILE"},
		{[]string{"verity", "format", data, hash, "--data-block-size", "3000"}, 2, "--data-block-size: 3000 is not a power of two"},
		{[]string{"verity", "format", data, hash, "--hash", "md5"}, 2, "--hash: \"md5\""},
		{[]string{"verity", "format", data, hash, "--salt", "xyz"}, 2, "--salt \"xyz\": not hex"},
		{[]string{"verity", "format", data, hash, "--uuid", "nope"}, 2, "--uuid"},
		{[]string{"verity", "format", data, hash, "--format", "2"}, 2, "--format: 2 is not 0 or 1"},
		{[]string{"verity", "format", small, filepath.Join(dir, "small.hash")}, 1, "small.img: 3000 bytes is smaller than one 4096-byte data block"},
		{[]string{"verity", "format", filepath.Join(dir, "missing"), hash}, 1, "missing: no such file or directory"},
		{[]string{"verity", "format", data, hash, "--data-blocks", "301"}, 1, "301 blocks requested but the data holds only 300"},
		{[]string{"verity", "verify", data, hash}, 2, "takes DATA, HASHFILE and ROOTHASH"},
		{[]string{"verity", "verify", data, hash, "xyz"}, 2, "ROOTHASH \"xyz\": not hex"},
		{[]string{"verity", "verify", data, hash, "abcd"}, 2, "ROOTHASH has 2 bytes"},
		{[]string{"verity", "verify", data, data, root}, 1, "no verity superblock"},
	} {
		r := runInProcess(tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, tc.code, tc.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "small.hash")); !os.IsNotExist(err) {
		t.Errorf("failed format left a hash file")
	}
}

func TestVerityVerifyJSON(t *testing.T) {
	dir := t.TempDir()
	data := verityImage(t, dir, 300*4096+1234)
	hash := filepath.Join(dir, "root.hash")
	r := runInProcess("verity", "format", data, hash, "--salt", veritySalt, "--uuid", verityUUID)
	if r.code != 0 {
		t.Fatalf("format: %d %s", r.code, r.stderr)
	}
	root := field(r.stdout, "Root hash")
	nosb := filepath.Join(dir, "nosb.hash")
	r = runInProcess("verity", "format", data, nosb, "--no-superblock", "--salt", veritySalt, "--hash", "sha512")
	if r.code != 0 {
		t.Fatalf("format: %d %s", r.code, r.stderr)
	}
	root512 := field(r.stdout, "Root hash")
	copyFile := func(src, name string, off int64, b []byte) string {
		t.Helper()
		c, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		copy(c[off:], b)
		return writeTestFile(t, dir, name, c)
	}
	badData := copyFile(data, "bad.img", 42*4096+100, []byte{0xff, 0xee})
	badHash := copyFile(hash, "bad.hash", 4096+50, []byte{0xff}) // the first stored hash block
	wrong := strings.Repeat("0", 64)
	noMismatch := map[string]string{"mismatch": "null"}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want map[string]string // path → value; see checkJSONValues
	}{
		{"ok", []string{data, hash, root, "--json"}, 0, map[string]string{
			"ok": "true", "data": data, "hash_file": hash, "hash_algorithm": "sha256", "data_blocks": "300",
			"root_hash": root, "expected_root_hash": root, "mismatch": "null",
		}},
		{"upper-case root hash", []string{"--json", data, hash, strings.ToUpper(root)}, 0, map[string]string{
			"ok": "true", "root_hash": root, "expected_root_hash": root,
		}},
		{"no superblock, sha512", []string{"--json", data, nosb, root512, "--no-superblock", "--salt", veritySalt, "--hash", "sha512"}, 0,
			map[string]string{"ok": "true", "hash_algorithm": "sha512", "data_blocks": "300", "root_hash": root512}},
		{"data blocks", []string{"--json", data, hash, root, "--data-blocks", "300"}, 0, noMismatch},
		{"wrong root", []string{"--json", data, hash, wrong}, 3, map[string]string{
			"ok": "false", "root_hash": root, "expected_root_hash": wrong, "data_blocks": "300",
			"mismatch": `{"block":null,"hash_offset":null,"kind":"root_hash","tree_level":null}`,
		}},
		{"corrupt data", []string{"--json", badData, hash, root}, 3, map[string]string{
			"ok": "false", "data": badData, "root_hash": "null", "expected_root_hash": root, "data_blocks": "300",
			"mismatch": `{"block":42,"hash_offset":8192,"kind":"data_block","tree_level":0}`,
		}},
		{"corrupt tree", []string{"--json", data, badHash, root}, 3, map[string]string{
			"ok": "false", "hash_file": badHash, "root_hash": "null", "mismatch.kind": "hash_block", "mismatch.tree_level": "1",
			"mismatch.hash_offset": "4096",
		}},
		{"missing hash file", []string{"--json", data, filepath.Join(dir, "nope"), root}, 1, nil},
		{"usage", []string{"--json", data, hash}, 2, nil},
		{"bad root", []string{"--json", data, hash, "abcd"}, 2, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runInProcess(append([]string{"verity", "verify"}, tc.args...)...)
			v := checkJSONRun(t, r, tc.code)
			if v == nil {
				return
			}
			checkKeys(t, r.stdout, "ok", "data", "hash_file", "hash_algorithm", "data_blocks", "root_hash", "expected_root_hash", "mismatch")
			checkJSONValues(t, v, tc.want)
			if tc.code == 3 {
				var out struct{ Mismatch json.RawMessage }
				json.Unmarshal([]byte(r.stdout), &out)
				checkKeys(t, string(out.Mismatch), "kind", "tree_level", "hash_offset", "block")
			}
		})
	}
}

// TestVerityBinary runs the built binary for the exit statuses.
func TestVerityBinary(t *testing.T) {
	dir := t.TempDir()
	verityImage(t, dir, 1<<20)
	r := runBinary(t, dir, "verity", "format", "root.img", "root.hash")
	if r.code != 0 {
		t.Fatalf("format: %d %s", r.code, r.stderr)
	}
	root := field(r.stdout, "Root hash")
	// Random salts differ between runs.
	r2 := runBinary(t, dir, "verity", "format", "root.img", "other.hash")
	if field(r2.stdout, "Salt") == field(r.stdout, "Salt") || field(r2.stdout, "UUID") == field(r.stdout, "UUID") {
		t.Errorf("salt or UUID not random")
	}
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"verity", "verify", "root.img", "root.hash", root}, 0},
		{[]string{"verity", "verify", "root.img", "root.hash", strings.Repeat("ab", 32)}, 3},
		{[]string{"verity", "verify", "root.img", "missing.hash", root}, 1},
		{[]string{"verity", "verify", "root.img"}, 2},
	} {
		if r := runBinary(t, dir, tc.args...); r.code != tc.code {
			t.Errorf("%q: exit %d (%s), want %d", tc.args, r.code, r.stderr, tc.code)
		}
	}
}
