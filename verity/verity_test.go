package verity

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/snpmeasure/snpmeasure/internal/testtool"
)

// writeRandom writes n pseudo-random bytes (fixed seed) to a new file.
func writeRandom(t testing.TB, dir, name string, n int64, seed uint64) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	buf := make([]byte, 1<<16)
	for left := n; left > 0; {
		k := int64(len(buf))
		if k > left {
			k = left
		}
		for i := range buf[:k] {
			buf[i] = byte(r.Uint32())
		}
		if _, err := f.Write(buf[:k]); err != nil {
			t.Fatal(err)
		}
		left -= k
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

var testUUID = UUID{0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x42, 0x34, 0x92, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0}

func testParams() Params {
	salt, _ := hex.DecodeString("5eed00112233445566778899aabbccddeeff00112233445566778899aabbccdd")
	return Params{
		HashType:      HashTypeNormal,
		Algorithm:     "sha256",
		DataBlockSize: 4096,
		HashBlockSize: 4096,
		Salt:          salt,
		UUID:          testUUID,
	}
}

// veritysetupFormat runs the real tool and returns the root hash it prints.
func veritysetupFormat(t *testing.T, tool, data, hash string, p Params) string {
	t.Helper()
	args := []string{"format", data, hash,
		"--hash", p.Algorithm,
		"--format", fmt.Sprint(p.HashType),
		"--data-block-size", fmt.Sprint(p.DataBlockSize),
		"--hash-block-size", fmt.Sprint(p.HashBlockSize),
	}
	if len(p.Salt) == 0 {
		args = append(args, "--salt", "-")
	} else {
		args = append(args, "--salt", hex.EncodeToString(p.Salt))
	}
	if p.NoSuperblock {
		args = append(args, "--no-superblock")
	} else {
		args = append(args, "--uuid", p.UUID.String())
	}
	if p.DataBlocks != 0 {
		args = append(args, "--data-blocks", fmt.Sprint(p.DataBlocks))
	}
	out, err := exec.Command(tool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("veritysetup %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "Root hash" {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no root hash in veritysetup output:\n%s", out)
	return ""
}

func TestVerityFormatMatchesVeritysetup(t *testing.T) {
	tool := testtool.Require(t, "veritysetup")
	dir := t.TempDir()
	type variant struct {
		name string
		mod  func(*Params)
	}
	base := []variant{
		{"default", func(*Params) {}},
		{"no-superblock", func(p *Params) { p.NoSuperblock = true }},
	}
	all := append(base,
		variant{"sha1", func(p *Params) { p.Algorithm = "sha1" }},
		variant{"sha512", func(p *Params) { p.Algorithm = "sha512" }},
		variant{"format0", func(p *Params) { p.HashType = HashTypeChromeOS }},
		variant{"format0-sha1-nosb", func(p *Params) { p.HashType = HashTypeChromeOS; p.Algorithm = "sha1"; p.NoSuperblock = true }},
		variant{"blocks-1024-512", func(p *Params) { p.DataBlockSize = 1024; p.HashBlockSize = 512 }},
		variant{"blocks-512-8192", func(p *Params) { p.DataBlockSize = 512; p.HashBlockSize = 8192 }},
		variant{"no-salt", func(p *Params) { p.Salt = nil }},
		variant{"short-salt", func(p *Params) { p.Salt = []byte{0xab} }},
		variant{"max-salt", func(p *Params) { p.Salt = bytes.Repeat([]byte{0x5a}, MaxSaltSize) }},
	)
	sizes := []struct {
		name     string
		size     int64
		variants []variant
	}{
		{"4KiB", 4096, all},
		{"1MiB+4KiB", 1<<20 + 4096, all},
		{"not-block-multiple", 3*4096 + 1000, all},
		{"one-block-plus-tail", 5000, base},
		{"129-blocks", 129 * 4096, base},
		{"33MiB", 33 << 20, base},
	}
	if testing.Short() {
		sizes = sizes[:4]
	}
	for i, sz := range sizes {
		data := writeRandom(t, dir, fmt.Sprintf("data-%d", i), sz.size, 1)
		for _, v := range sz.variants {
			t.Run(sz.name+"/"+v.name, func(t *testing.T) {
				p := testParams()
				v.mod(&p)
				want := filepath.Join(t.TempDir(), "want.hash")
				got := filepath.Join(t.TempDir(), "got.hash")
				wantRoot := veritysetupFormat(t, tool, data, want, p)
				res, err := FormatFile(data, got, p, nil)
				if err != nil {
					t.Fatal(err)
				}
				if res.RootHashHex() != wantRoot {
					t.Errorf("root hash %s, veritysetup %s", res.RootHashHex(), wantRoot)
				}
				wb, _ := os.ReadFile(want)
				gb, _ := os.ReadFile(got)
				if !bytes.Equal(wb, gb) {
					t.Errorf("hash file differs from veritysetup's: %d vs %d bytes, first difference at %#x", len(gb), len(wb), firstDiff(gb, wb))
				}
				if int64(len(gb)) != res.Layout.HashFileSize {
					t.Errorf("hash file has %d bytes, layout says %d", len(gb), res.Layout.HashFileSize)
				}
				// veritysetup accepts what we wrote.
				args := []string{"verify", data, got, res.RootHashHex()}
				if p.NoSuperblock {
					args = append(args, "--no-superblock", "--hash", p.Algorithm, "--format", fmt.Sprint(p.HashType),
						"--data-block-size", fmt.Sprint(p.DataBlockSize), "--hash-block-size", fmt.Sprint(p.HashBlockSize),
						"--data-blocks", fmt.Sprint(res.Layout.DataBlocks), "--salt", saltArg(p.Salt))
				}
				if out, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
					t.Errorf("veritysetup verify rejects our hash file: %v\n%s", err, out)
				}
				// And we accept veritysetup's.
				var vp *Params
				if p.NoSuperblock {
					vp = &p
				}
				if _, err := VerifyFile(data, want, res.RootHash, vp, nil); err != nil {
					t.Errorf("VerifyFile of veritysetup's hash file: %v", err)
				}
			})
		}
	}
}

func saltArg(s []byte) string {
	if len(s) == 0 {
		return "-"
	}
	return hex.EncodeToString(s)
}

func firstDiff(a, b []byte) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestDataBlocksOption matches veritysetup --data-blocks (a prefix of the data).
func TestVerityDataBlocksOption(t *testing.T) {
	tool := testtool.Require(t, "veritysetup")
	dir := t.TempDir()
	data := writeRandom(t, dir, "data", 300*4096, 2)
	p := testParams()
	p.DataBlocks = 200
	want := veritysetupFormat(t, tool, data, filepath.Join(dir, "want"), p)
	res, err := FormatFile(data, filepath.Join(dir, "got"), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.RootHashHex() != want {
		t.Errorf("root %s, want %s", res.RootHashHex(), want)
	}
	p.DataBlocks = 301
	if _, err := FormatFile(data, filepath.Join(dir, "bad"), p, nil); err == nil {
		t.Error("more data blocks than the data holds: no error")
	}
}

// TestKnownRoot pins one root hash computed by veritysetup 2.6.1, so the
// comparison holds where veritysetup is not installed.
func TestVerityKnownRoot(t *testing.T) {
	data := make([]byte, 129*4096)
	for i := range data {
		data[i] = byte(i * 7)
	}
	p := testParams()
	f, err := os.Create(filepath.Join(t.TempDir(), "h"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := Format(bytes.NewReader(data), int64(len(data)), f, p)
	if err != nil {
		t.Fatal(err)
	}
	const want = "0456efaf261569346c11aff3d9142f5bed4c74492a6694d92a2f8382c506bc55"
	if got := res.RootHashHex(); got != want {
		t.Errorf("root hash %s, want %s", got, want)
	}
	if res.Layout.Levels != 2 || res.Layout.HashBlocks != 3 || res.Layout.HashFileSize != 4*4096 {
		t.Errorf("layout %+v", res.Layout)
	}
}

func TestVerityTooSmall(t *testing.T) {
	dir := t.TempDir()
	data := writeRandom(t, dir, "small", 3000, 3)
	hash := filepath.Join(dir, "hash")
	_, err := FormatFile(data, hash, testParams(), nil)
	var pe *ParamError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want a ParamError", err)
	}
	if _, err := os.Stat(hash); !os.IsNotExist(err) {
		t.Errorf("hash file left behind: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
}

func TestVerityParamsValidate(t *testing.T) {
	bad := []func(*Params){
		func(p *Params) { p.HashType = 2 },
		func(p *Params) { p.Algorithm = "md5" },
		func(p *Params) { p.DataBlockSize = 3000 },
		func(p *Params) { p.DataBlockSize = 256 },
		func(p *Params) { p.HashBlockSize = 1 << 20 },
		func(p *Params) { p.Salt = make([]byte, 257) },
	}
	for i, mod := range bad {
		p := testParams()
		mod(&p)
		if err := p.Validate(); err == nil {
			t.Errorf("case %d: no error", i)
		}
	}
}

func TestVeritySuperblockRoundTrip(t *testing.T) {
	p := testParams()
	p.DataBlocks = 12345
	b, err := p.Superblock().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != SuperblockSize {
		t.Fatalf("%d bytes", len(b))
	}
	var s Superblock
	if err := s.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	q := s.Params()
	if q.DataBlocks != 12345 || !bytes.Equal(q.Salt, p.Salt) || q.UUID != p.UUID || q.Algorithm != "sha256" {
		t.Errorf("round trip: %+v", q)
	}
	b[0] = 'x'
	if err := s.UnmarshalBinary(b); !errors.Is(err, ErrNoSuperblock) {
		t.Errorf("bad signature: %v", err)
	}
	t.Run("file", func(t *testing.T) {
		dir := t.TempDir()
		good, bad := filepath.Join(dir, "good.hash"), filepath.Join(dir, "bad.hash")
		sb, _ := p.Superblock().MarshalBinary()
		os.WriteFile(good, append(sb, make([]byte, 4096)...), 0o644)
		os.WriteFile(bad, b, 0o644)
		if s, err := ReadSuperblockFile(good); err != nil || s.Params().DataBlocks != 12345 {
			t.Errorf("good: %v", err)
		}
		if _, err := ReadSuperblockFile(bad); !errors.Is(err, ErrNoSuperblock) || !strings.Contains(err.Error(), bad) {
			t.Errorf("bad: %v", err)
		}
		if _, err := ReadSuperblockFile(filepath.Join(dir, "nope")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("missing: %v", err)
		}
		if _, err := ReadSuperblockFile(dir); err == nil {
			t.Error("a directory: no error")
		}
	})
}

func TestVerityUUID(t *testing.T) {
	u, err := ParseUUID("12345678-1234-4234-9234-56789abcdef0")
	if err != nil || u != testUUID {
		t.Fatalf("%v %v", u, err)
	}
	if u.String() != "12345678-1234-4234-9234-56789abcdef0" {
		t.Error(u.String())
	}
	for _, s := range []string{"", "1234", "12345678_1234_4234_9234_56789abcdef0", "zz345678-1234-4234-9234-56789abcdef0"} {
		if _, err := ParseUUID(s); err == nil {
			t.Errorf("%q: no error", s)
		}
	}
	r, _ := NewUUID()
	if r[6]>>4 != 4 || r[8]>>6 != 2 {
		t.Errorf("not a v4 UUID: %s", r)
	}
}

func TestVerityVerifyDetectsCorruption(t *testing.T) {
	dir := t.TempDir()
	size := int64(300 * 4096)
	data := writeRandom(t, dir, "data", size, 4)
	hash := filepath.Join(dir, "hash")
	p := testParams()
	res, err := FormatFile(data, hash, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyFile(data, hash, res.RootHash, nil, nil); err != nil {
		t.Fatalf("clean verify: %v", err)
	}
	// Wrong root.
	bad := bytes.Clone(res.RootHash)
	bad[0] ^= 1
	_, err = VerifyFile(data, hash, bad, nil, nil)
	var me *MismatchError
	if !errors.As(err, &me) || !me.Root {
		t.Errorf("wrong root: %v", err)
	}
	// Corrupt data block 257: the Result comes with the mismatch, without a root hash.
	flip(t, data, 257*4096+17)
	got, err := VerifyFile(data, hash, res.RootHash, nil, nil)
	if !errors.As(err, &me) || me.Root || me.Level != 0 || me.Block != 257 {
		t.Errorf("corrupt data block 257: %v", err)
	}
	if got == nil || got.Layout == nil || got.Layout.DataBlocks != 300 || got.RootHash != nil {
		t.Errorf("corrupt data block 257: result %+v", got)
	}
	flip(t, data, 257*4096+17)
	// Corrupt the top level.
	flip(t, hash, int64(res.Layout.LevelBlock[1])*4096+40)
	_, err = VerifyFile(data, hash, res.RootHash, nil, nil)
	if !errors.As(err, &me) || me.Level != 1 || me.Block != 1 {
		t.Errorf("corrupt level 1: %v", err)
	}
	flip(t, hash, int64(res.Layout.LevelBlock[1])*4096+40)
	// Truncated hash file.
	if err := os.Truncate(hash, res.Layout.HashFileSize-1); err != nil {
		t.Fatal(err)
	}
	_, err = VerifyFile(data, hash, res.RootHash, nil, nil)
	var re *ReadError
	if !errors.As(err, &re) || re.Source != SourceHash {
		t.Errorf("truncated hash file: %v", err)
	}
	// Explicit parameters that contradict the superblock.
	q := p
	q.Salt = []byte{1}
	var se *SuperblockMismatchError
	if _, err := VerifyFile(data, hash, res.RootHash, &q, nil); !errors.As(err, &se) {
		t.Errorf("contradicting salt: %v", err)
	}
}

func flip(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := []byte{0}
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x80
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// patternReader yields n bytes of a repeating pattern without holding them.
type patternReader struct{ n, off int64 }

var pattern = func() []byte {
	b := make([]byte, 4099) // not a block multiple: blocks differ
	for i := range b {
		b[i] = byte(i * 131 >> 3)
	}
	return b
}()

func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n-r.off {
		p = p[:r.n-r.off]
	}
	n := 0
	for n < len(p) {
		n += copy(p[n:], pattern[(r.off+int64(n))%int64(len(pattern)):])
	}
	r.off += int64(n)
	return n, nil
}

// TestMemoryIndependentOfSize checks that Format streams: hashing 512 MiB
// allocates about as much as hashing 128 MiB (both large enough to fill
// every buffer of the pipeline).
func TestVerityMemoryIndependentOfSize(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes 640 MiB")
	}
	alloc := func(size int64) uint64 {
		f, err := os.Create(filepath.Join(t.TempDir(), "h"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if _, err := Format(&patternReader{n: size}, size, f, testParams()); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	small, large := alloc(128<<20), alloc(512<<20)
	t.Logf("allocated %d KiB for 128 MiB, %d KiB for 512 MiB", small>>10, large>>10)
	if large > small+2<<20 {
		t.Errorf("512 MiB allocates %d bytes, 128 MiB %d: memory grows with the data", large, small)
	}
}

func TestVerityKernelCmdline(t *testing.T) {
	p := testParams()
	data := make([]byte, 8*4096)
	f, err := os.Create(filepath.Join(t.TempDir(), "h"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := Format(bytes.NewReader(data), int64(len(data)), f, p)
	if err != nil {
		t.Fatal(err)
	}
	want := "dm-mod.create=\"vroot,,,ro,0 64 verity 1 /dev/vda /dev/vdb 4096 4096 8 1 sha256 " + res.RootHashHex() + " " + hex.EncodeToString(p.Salt) + "\""
	if got := res.DMModCreate("vroot", "/dev/vda", "/dev/vdb"); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if res.SystemdOptions() != "" {
		t.Error("options with a superblock")
	}
	res.Params.NoSuperblock = true
	res.Layout.HashStartBlock = 0
	if got := res.SystemdOptions(); !strings.Contains(got, "superblock=false") || !strings.Contains(got, "salt="+hex.EncodeToString(p.Salt)) {
		t.Errorf("options %q", got)
	}
}

func BenchmarkVerityFormat(b *testing.B) {
	const size = 64 << 20
	dir := b.TempDir()
	data := writeRandom(b, dir, "data", size, 5)
	hash := filepath.Join(dir, "hash")
	p := testParams()
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := FormatFile(data, hash, p, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// failingStore fails every write after the first n bytes.
type failingStore struct {
	n int64
	f *os.File
}

func (s *failingStore) WriteAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > s.n {
		return 0, errors.New("disk full")
	}
	return s.f.WriteAt(p, off)
}

func (s *failingStore) ReadAt(p []byte, off int64) (int, error) { return s.f.ReadAt(p, off) }

func TestVerityFormatErrors(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "h"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// A write error stops the pipeline (no hang, no leak of the error).
	size := int64(64 << 20)
	_, err = Format(&patternReader{n: size}, size, &failingStore{n: 8192, f: f}, testParams())
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("write error: %v", err)
	}
	// Data shorter than its announced size.
	_, err = Format(&patternReader{n: 10*4096 + 100}, 20*4096, f, testParams())
	var re *ReadError
	if !errors.As(err, &re) || re.Source != SourceData || re.Offset != 10*4096 {
		t.Errorf("short data: %v", err)
	}
	if err != nil && !strings.Contains(err.Error(), "input ends inside block 10 of 20 (100 of its 4096 bytes present)") {
		t.Errorf("short data message: %v", err)
	}
}

// TestVerityFileErrorsNamePaths: FormatFile and VerifyFile name the paths
// the caller gave (never the temporary file) and refuse directories.
func TestVerityFileErrorsNamePaths(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data.img")
	if err := os.WriteFile(data, make([]byte, 8*4096), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "nope", "h.img")
	for _, tc := range []struct {
		name      string
		run       func() error
		path, msg string
	}{
		{"hash file in a missing directory", func() error { _, err := FormatFile(data, missing, testParams(), nil); return err }, missing, "no such file or directory"},
		{"hash file is a directory", func() error { _, err := FormatFile(data, sub, testParams(), nil); return err }, sub, "is a directory, not a file"},
		{"data is a directory", func() error { _, err := FormatFile(sub, filepath.Join(dir, "h.img"), testParams(), nil); return err }, sub, "is a directory, not a file"},
		{"verify hash file is a directory", func() error {
			p := testParams()
			p.NoSuperblock = true
			_, err := VerifyFile(data, sub, make([]byte, 32), &p, nil)
			return err
		}, sub, "is a directory, not a file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			var pe *os.PathError
			if !errors.As(err, &pe) || pe.Path != tc.path || !strings.Contains(pe.Err.Error(), tc.msg) {
				t.Errorf("error %v; want a *os.PathError for %s: %s", err, tc.path, tc.msg)
			}
			if err != nil && strings.Contains(err.Error(), ".tmp") {
				t.Errorf("error names the temporary file: %v", err)
			}
		})
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// TestFormatDeviceTooSmall: a block device that cannot hold the tree is
// refused before anything is written to it. Needs root and a loop device.
func TestFormatDeviceTooSmall(t *testing.T) {
	losetup, err := exec.LookPath("losetup")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and losetup")
	}
	dir := t.TempDir()
	backing := filepath.Join(dir, "small.img")
	os.WriteFile(backing, bytes.Repeat([]byte{0xee}, 8192), 0o600)
	out, err := exec.Command(losetup, "-f", "--show", backing).Output()
	if err != nil {
		t.Skipf("no loop device: %v", err)
	}
	dev := strings.TrimSpace(string(out))
	defer exec.Command(losetup, "-d", dev).Run()
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	data := bytes.Repeat([]byte{1}, 4<<20) // 1024 blocks: a tree of more than 8 KiB
	p := testParams()
	if _, err := Format(bytes.NewReader(data), int64(len(data)), f, p); !errors.Is(err, ErrNoRoom) {
		t.Fatalf("Format: %v, want ErrNoRoom", err)
	}
	got, _ := os.ReadFile(backing)
	if !bytes.Equal(got, bytes.Repeat([]byte{0xee}, 8192)) {
		t.Error("the device was written")
	}
}
