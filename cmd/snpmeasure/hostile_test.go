package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snpmeasure/snpmeasure/internal/cli"
	"github.com/snpmeasure/snpmeasure/ovmf"
)

// The hostile corpus: small malformed firmware and SVSM images in
// testdata/hostile, each built by a generator below from the real fixtures
// in testdata/inputs, and the message the CLI must give for it. Every file
// must make snpmeasure exit with status 1, print nothing on stdout and one
// line on stderr naming the file; never panic, hang or allocate without bound.
//
// Regenerate the corpus (and its README) after changing a generator with
//
//	go test ./cmd/snpmeasure -run TestHostileCorpus -update-hostile
//
// Without the flag, TestHostileCorpus fails when a file differs from its generator.

var updateHostile = flag.Bool("update-hostile", false, "rewrite testdata/hostile from the generators in hostile_test.go")

const hostileDir = "../../testdata/hostile"

// Argument placeholders of hostile cases.
const (
	argFile = "@FILE" // the hostile file
)

// hostileInputs holds the fixtures the corpus is generated from.
const hostileInputs = "../../testdata/inputs"

// inputPath returns the path of a conformance input.
func inputPath(name string) string { return filepath.Join(hostileInputs, name) }

// snpArgs measures a firmware in SNP mode with a kernel, initrd and command line.
func snpArgs() []string {
	return []string{"--mode", "snp", "--vcpus", "2", "--vcpu-type", "EPYC-Milan", "--ovmf", argFile,
		"--kernel", inputPath("synth-kernel-12345.bin"), "--initrd", inputPath("synth-initrd-5M.img"), "--append", "console=ttyS0"}
}

// svsmArgs measures an SVSM image below the COCONUT-SVSM OVMF fixture.
func svsmArgs(extra ...string) []string {
	a := []string{"--mode", "snp:svsm", "--ovmf", inputPath("fx-svsm_ovmf.fd"), "--svsm", argFile,
		"--vars-size", "540672", "--vcpus", "2", "--vcpu-type", "EPYC-Milan"}
	return append(a, extra...)
}

// hostileCase is one file of the corpus.
type hostileCase struct {
	file  string
	what  string // for the README
	build func(t testing.TB) []byte
	args  []string
	// want is a substring of the error message; "" means the file is a
	// control that must measure successfully.
	want string
	// parseError marks files the parser rejects: every mode must fail alike.
	parseError bool
}

// image is a fixture parsed, with helpers to patch a copy of it.
type image struct {
	b  []byte
	im *ovmf.Image
}

func loadImage(t testing.TB, name string, tail int) *image {
	t.Helper()
	b, err := os.ReadFile(inputPath(name))
	if err != nil {
		t.Fatal(err)
	}
	if tail > 0 && len(b) > tail {
		b = b[len(b)-tail:]
	}
	im, err := ovmf.Parse(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &image{b: b, im: im}
}

func (x *image) u16(off int64, v uint16) *image {
	binary.LittleEndian.PutUint16(x.b[off:], v)
	return x
}

func (x *image) u32(off int64, v uint32) *image {
	binary.LittleEndian.PutUint32(x.b[off:], v)
	return x
}

// entry returns the file offsets of an entry's data and of its u16 size field.
func (x *image) entry(t testing.TB, g ovmf.GUID) (data, size int64) {
	t.Helper()
	e, ok := x.im.Lookup(g)
	if !ok {
		t.Fatalf("fixture has no %s entry", g.Name())
	}
	return e.Offset, e.Offset + int64(len(e.Data))
}

// section patches section i: GPA, size and type.
func (x *image) section(i int, gpa, size uint32, typ ovmf.SectionType) *image {
	off := x.im.Sections[i].Offset
	return x.u32(off, gpa).u32(off+4, size).u32(off+8, uint32(typ))
}

// amdSev is the last 4 KiB of an AmdSevX64 OVMF: the footer table, SEV
// metadata with an SNP_KERNEL_HASHES section, a hash table and the reset block.
func amdSev(t testing.TB) *image { return loadImage(t, "fx-ovmf_AmdSev_suffix.bin", 0) }

// svsmTail is the last 4 KiB of the COCONUT-SVSM fixture: its footer table and metadata.
func svsmTail(t testing.TB) *image { return loadImage(t, "fx-svsm.bin", 4096) }

// prefixed puts n zero bytes before x and points the SEV metadata at the
// start of the file, leaving room for many section descriptors there.
func prefixed(t testing.TB, x *image, n int, count uint32, sections func(i int) (gpa, size uint32, typ ovmf.SectionType)) []byte {
	t.Helper()
	b := append(make([]byte, n), x.b...)
	data, _ := x.entry(t, ovmf.SEVMetadataGUID)
	binary.LittleEndian.PutUint32(b[int64(n)+data:], uint32(len(b)))
	copy(b, ovmf.MetadataSignature)
	// The header's size field covers the claimed descriptors, as in edk2.
	binary.LittleEndian.PutUint32(b[4:], uint32(ovmf.MetadataHeaderSize+int64(count)*ovmf.SectionDescSize))
	binary.LittleEndian.PutUint32(b[8:], ovmf.MetadataVersion)
	binary.LittleEndian.PutUint32(b[12:], count)
	for i := 0; sections != nil && 16+12*(i+1) <= n; i++ {
		gpa, size, typ := sections(i)
		binary.LittleEndian.PutUint32(b[16+12*i:], gpa)
		binary.LittleEndian.PutUint32(b[20+12*i:], size)
		binary.LittleEndian.PutUint32(b[24+12*i:], uint32(typ))
	}
	return b
}

// synthetic returns a 4 KiB image whose footer table holds the given
// entries (GUID and data), the first nearest the start of the table.
func synthetic(entries ...struct {
	g    ovmf.GUID
	data []byte
}) []byte {
	img := make([]byte, 4096)
	var table []byte
	for _, e := range entries {
		table = append(table, e.data...)
		table = binary.LittleEndian.AppendUint16(table, uint16(len(e.data)+ovmf.EntryHeaderSize))
		table = append(table, e.g[:]...)
	}
	footer := len(img) - ovmf.FooterOffsetFromEnd
	copy(img[footer-len(table):], table)
	binary.LittleEndian.PutUint16(img[footer:], uint16(len(table)+ovmf.EntryHeaderSize))
	copy(img[footer+2:], ovmf.FooterGUID[:])
	return img
}

type ent = struct {
	g    ovmf.GUID
	data []byte
}

// flipGUID changes one byte of an entry's GUID so that it is no longer found.
func (x *image) flipGUID(t testing.TB, g ovmf.GUID) *image {
	_, size := x.entry(t, g)
	x.b[size+2] ^= 0xff
	return x
}

func hostileCases() []hostileCase {
	sevMeta := func(t testing.TB, x *image) int64 { return x.im.MetadataOffset }
	return []hostileCase{
		{file: "ok-amdsev.fd", what: "control: the AmdSev fixture unchanged (must measure)",
			build: func(t testing.TB) []byte { return amdSev(t).b }, args: snpArgs()},
		{file: "ok-svsm.bin", what: "control: the last 4 KiB of the SVSM fixture unchanged (must measure)",
			build: func(t testing.TB) []byte { return svsmTail(t).b }, args: svsmArgs()},

		// Footer table.
		{file: "footer-table-larger-than-file.fd", what: "footer table size 0xffff in a 4 KiB file", parseError: true,
			build: func(t testing.TB) []byte { x := amdSev(t); return x.u16(x.im.Size-ovmf.FooterOffsetFromEnd, 0xffff).b },
			args:  snpArgs(), want: "offset 0xfce: footer table size 65535 exceeds the 4046 bytes before the footer"},
		{file: "footer-entry-larger-than-table.fd", what: "first entry (reset block) size 0xffff", parseError: true,
			build: func(t testing.TB) []byte {
				x := amdSev(t)
				_, sz := x.entry(t, ovmf.SEVESResetBlockGUID)
				return x.u16(sz, 0xffff).b
			},
			args: snpArgs(), want: "offset 0xfbc: footer table entry size 65535 exceeds the 118 table bytes before it"},
		{file: "footer-entry-size-zero.fd", what: "an entry size of 0", parseError: true,
			build: func(t testing.TB) []byte {
				x := amdSev(t)
				_, sz := x.entry(t, ovmf.SEVHashTableGUID)
				return x.u16(sz, 0).b
			},
			args: snpArgs(), want: "footer table entry size 0 is smaller than its 18-byte header"},
		{file: "footer-entry-size-17.fd", what: "an entry size of 17, one less than its header", parseError: true,
			build: func(t testing.TB) []byte {
				x := amdSev(t)
				_, sz := x.entry(t, ovmf.SEVMetadataGUID)
				return x.u16(sz, 17).b
			},
			args: snpArgs(), want: "footer table entry size 17 is smaller than its 18-byte header"},
		{file: "reset-block-2-bytes.fd", what: "a reset block entry with 2 data bytes", parseError: true,
			build: func(t testing.TB) []byte { return synthetic(ent{ovmf.SEVESResetBlockGUID, []byte{4, 0xb0}}) },
			args:  snpArgs(), want: "SEV-ES reset block entry has 2 data bytes, need 4"},
		{file: "metadata-entry-empty.fd", what: "an SEV metadata entry with no data", parseError: true,
			build: func(t testing.TB) []byte { return synthetic(ent{ovmf.SEVMetadataGUID, nil}) },
			args:  snpArgs(), want: "SEV metadata entry has 0 data bytes, need 4"},
		{file: "no-footer.fd", what: "the footer GUID damaged: no table, so no SEV metadata",
			build: func(t testing.TB) []byte {
				x := amdSev(t)
				x.b[x.im.Size-ovmf.FooterOffsetFromEnd+2] ^= 0xff
				return x.b
			},
			args: snpArgs(), want: "firmware has no SEV metadata"},

		// SEV metadata header.
		{file: "metadata-offset-outside.fd", what: "SEV metadata offset 0xffffffff", parseError: true,
			build: func(t testing.TB) []byte {
				x := amdSev(t)
				d, _ := x.entry(t, ovmf.SEVMetadataGUID)
				return x.u32(d, 0xffffffff).b
			},
			args: snpArgs(), want: "offset 0xf6e: SEV metadata offset 0xffffffff points outside the 4096-byte image"},
		{file: "metadata-offset-zero.fd", what: "SEV metadata offset 0 (header past the end)", parseError: true,
			build: func(t testing.TB) []byte {
				x := amdSev(t)
				d, _ := x.entry(t, ovmf.SEVMetadataGUID)
				return x.u32(d, 0).b
			},
			args: snpArgs(), want: "SEV metadata offset 0x0 points outside"},
		{file: "metadata-bad-signature.fd", what: "'ASEV' signature changed to 'ASEW'", parseError: true,
			build: func(t testing.TB) []byte { x := amdSev(t); x.b[sevMeta(t, x)+3] = 'W'; return x.b },
			args:  snpArgs(), want: `offset 0xaac: wrong SEV metadata signature "ASEW", want "ASEV"`},
		{file: "metadata-bad-version.fd", what: "SEV metadata version 2", parseError: true,
			build: func(t testing.TB) []byte { x := amdSev(t); return x.u32(sevMeta(t, x)+8, 2).b },
			args:  snpArgs(), want: "offset 0xab4: wrong SEV metadata version 2, want 1"},
		{file: "section-count-max.fd", what: "section count 2^32-1", parseError: true,
			build: func(t testing.TB) []byte { x := amdSev(t); return x.u32(sevMeta(t, x)+12, 0xffffffff).b },
			args:  snpArgs(), want: "offset 0xab8: SEV metadata claims 4294967295 sections but only 112 fit in the image"},
		{file: "section-count-over-limit.fd", what: "4097 sections that fit in the file, more than ovmf.MaxSections", parseError: true,
			build: func(t testing.TB) []byte { return prefixed(t, amdSev(t), 48<<10, 4097, nil) },
			args:  snpArgs(), want: "offset 0xc: SEV metadata claims 4097 sections, more than the 4096 any firmware needs"},

		// Sections.
		{file: "section-beyond-4g.fd", what: "an SNP_SEC_MEM section at 0xffff0000 of 128 KiB",
			build: func(t testing.TB) []byte { return amdSev(t).section(6, 0xffff0000, 0x20000, ovmf.SectionSNPSecMem).b },
			args:  snpArgs(), want: "offset 0xb04: SEV metadata section 6 (SNP_SEC_MEM, GPA 0xffff0000, size 0x20000): section extends beyond 4 GiB"},
		{file: "section-overlaps-image.fd", what: "an SNP_SEC_MEM section over the firmware's own pages",
			build: func(t testing.TB) []byte { return amdSev(t).section(0, 0xffffe000, 0x2000, ovmf.SectionSNPSecMem).b },
			args:  snpArgs(), want: "SEV metadata section 0 (SNP_SEC_MEM, GPA 0xffffe000, size 0x2000): section overlaps the firmware image at 0xfffff000-0x100000000"},
		{file: "section-unknown-type.fd", what: "a section of type 7",
			build: func(t testing.TB) []byte { return amdSev(t).section(2, 0x80d000, 0x1000, 7).b },
			args:  snpArgs(), want: "offset 0xad4: SEV metadata section 2 (unknown(0x7), GPA 0x80d000, size 0x1000): unknown section type"},
		{file: "section-size-not-page-multiple.fd", what: "an SNP_SEC_MEM section of 0x9001 bytes",
			build: func(t testing.TB) []byte { return amdSev(t).section(0, 0x800000, 0x9001, ovmf.SectionSNPSecMem).b },
			args:  snpArgs(), want: "section 0 (SNP_SEC_MEM, GPA 0x800000, size 0x9001): size is not a multiple of 4096 bytes"},
		{file: "kernel-hashes-two-pages.fd", what: "an SNP_KERNEL_HASHES section of two pages",
			build: func(t testing.TB) []byte {
				return amdSev(t).section(5, 0x810000, 0x2000, ovmf.SectionSNPKernelHashes).b
			},
			args: snpArgs(), want: "section 5 (SNP_KERNEL_HASHES, GPA 0x810000, size 0x2000): kernel hashes section must be exactly one 4096-byte page"},
		{file: "kernel-hashes-empty.fd", what: "an SNP_KERNEL_HASHES section of 0 bytes",
			build: func(t testing.TB) []byte { return amdSev(t).section(5, 0x810000, 0, ovmf.SectionSNPKernelHashes).b },
			args:  snpArgs(), want: "kernel hashes section must be exactly one 4096-byte page"},
		{file: "sections-4094-of-4gib.fd", what: "4094 SNP_SEC_MEM sections of almost 4 GiB each (4 billion page updates)",
			build: func(t testing.TB) []byte {
				return prefixed(t, amdSev(t), 48<<10, 4094, func(int) (uint32, uint32, ovmf.SectionType) {
					return 0, 0xffff2000, ovmf.SectionSNPSecMem
				})
			},
			args: snpArgs()[:8], want: "SEV metadata section 1 (SNP_SEC_MEM, GPA 0x0, size 0xffff2000): the sections add up to more than 1048576 pages"},

		// Footer entries that the launch needs.
		{file: "hash-table-crosses-page.fd", what: "hash table GPA 0x810fa0: the 176-byte table would cross its page",
			build: func(t testing.TB) []byte {
				x := amdSev(t)
				d, _ := x.entry(t, ovmf.SEVHashTableGUID)
				return x.u32(d, 0x810fa0).b
			},
			args: snpArgs(), want: "hashes table does not fit in its page: hash table GPA 0x810fa0"},
		{file: "no-hash-table.fd", what: "the SEV hash table entry's GUID damaged",
			build: func(t testing.TB) []byte { return amdSev(t).flipGUID(t, ovmf.SEVHashTableGUID).b },
			args:  snpArgs(), want: "no SEV hash table"},
		{file: "no-reset-block.fd", what: "the SEV-ES reset block entry's GUID damaged",
			build: func(t testing.TB) []byte { return amdSev(t).flipGUID(t, ovmf.SEVESResetBlockGUID).b },
			args:  snpArgs(), want: "no SEV-ES reset block"},
		{file: "reset-eip-zero.fd", what: "AP reset EIP 0 with 2 vCPUs",
			build: func(t testing.TB) []byte {
				x := amdSev(t)
				d, _ := x.entry(t, ovmf.SEVESResetBlockGUID)
				return x.u32(d, 0).b
			},
			args: snpArgs(), want: "AP reset EIP is 0"},

		// Truncated and tiny files.
		{file: "truncated-end.fd", what: "the first 3 KiB of the fixture: footer and metadata cut off",
			build: func(t testing.TB) []byte { return amdSev(t).b[:3072] },
			args:  snpArgs(), want: "firmware has no SEV metadata"},
		{file: "truncated-start.fd", what: "the last 4000 bytes of the fixture: parses, but not whole pages",
			build: func(t testing.TB) []byte { return amdSev(t).b[96:] },
			args:  snpArgs(), want: "size 4000 is not a multiple of 4096 bytes"},
		{file: "tiny.fd", what: "49 bytes, one less than the footer entry and reserved area", parseError: true,
			build: func(t testing.TB) []byte { return amdSev(t).b[4096-49:] },
			args:  snpArgs(), want: "49 bytes: too small to be a firmware image"},
		{file: "empty.fd", what: "zero bytes",
			build: func(t testing.TB) []byte { return []byte{} },
			args:  snpArgs(), want: "empty file: not a firmware image", parseError: true},

		// SVSM images.
		{file: "svsm-no-info.bin", what: "the SVSM info entry's GUID damaged",
			build: func(t testing.TB) []byte { return svsmTail(t).flipGUID(t, ovmf.SVSMInfoGUID).b },
			args:  svsmArgs(), want: "no SVSM info entry"},
		{file: "svsm-info-empty.bin", what: "an SVSM info entry with no data", parseError: true,
			build: func(t testing.TB) []byte { return synthetic(ent{ovmf.SVSMInfoGUID, nil}) },
			args:  svsmArgs(), want: "SVSM info entry has 0 data bytes, need 4"},
		{file: "svsm-unknown-section.bin", what: "an SVSM metadata section of type 9",
			build: func(t testing.TB) []byte { return svsmTail(t).section(1, 0x9e000, 0x1000, 9).b },
			args:  svsmArgs(), want: "SEV metadata section 1 (unknown(0x9), GPA 0x9e000, size 0x1000): unknown section type"},
		{file: "svsm-section-beyond-4g.bin", what: "an SVSM section at 0xfffff000 of 8 KiB",
			build: func(t testing.TB) []byte { return svsmTail(t).section(0, 0xfffff000, 0x2000, ovmf.SectionSNPSecMem).b },
			args:  svsmArgs(), want: "section extends beyond 4 GiB"},
		{file: "svsm-section-count-max.bin", what: "SVSM metadata claiming 2^32-1 sections", parseError: true,
			build: func(t testing.TB) []byte { x := svsmTail(t); return x.u32(sevMeta(t, x)+12, 0xffffffff).b },
			args:  svsmArgs(), want: "claims 4294967295 sections but only"},
		{file: "svsm-sections-too-many-pages.bin", what: "two SVSM sections of 4 GiB less 6 MiB each, below both images",
			build: func(t testing.TB) []byte {
				x := svsmTail(t)
				return x.section(0, 0, 0xffa00000, ovmf.SectionSNPSecMem).section(1, 0, 0xffa00000, ovmf.SectionSVSMCAA).b
			},
			args: svsmArgs(), want: "the sections add up to more than 1048576 pages"},
		{file: "svsm-odd-size.bin", what: "the last 4000 bytes of the SVSM fixture: not whole pages",
			build: func(t testing.TB) []byte { return svsmTail(t).b[96:] },
			args:  svsmArgs(), want: "size 4000 is not a multiple of 4096 bytes"},
		{file: "svsm-bad-signature.bin", what: "SVSM metadata signature 'XSEV'", parseError: true,
			build: func(t testing.TB) []byte { x := svsmTail(t); x.b[sevMeta(t, x)] = 'X'; return x.b },
			args:  svsmArgs(), want: "wrong SEV metadata signature"},
		{file: "ok-svsm.bin", what: "", // the control again, with a variable store that leaves no room below the firmware
			args: svsmArgs("--vars-size", "4294967296"), want: "do not fit below the firmware"},
	}
}

// otherModes are the modes a parse error must also fail in.
var otherModes = [][]string{
	{"--mode", "snp:ovmf-hash", "--ovmf", argFile},
	{"--mode", "sev", "--ovmf", argFile},
	{"--mode", "seves", "--vcpus", "1", "--vcpu-type", "EPYC", "--ovmf", argFile},
	{"--mode", "snp:svsm", "--ovmf", inputPath("fx-svsm_ovmf.fd"), "--svsm", argFile, "--vars-size", "540672", "--vcpus", "1", "--vcpu-type", "EPYC"},
}

// TestHostileCorpus checks that the corpus matches its generators (or
// rewrites it with -update-hostile) and that the CLI rejects every file.
func TestHostileCorpus(t *testing.T) {
	cases := hostileCases()
	var readme strings.Builder
	readme.WriteString(hostileReadmeHead)
	built := map[string]bool{}
	for _, c := range cases {
		if c.build == nil || built[c.file] {
			continue
		}
		built[c.file] = true
		want := c.build(t)
		path := filepath.Join(hostileDir, c.file)
		fmt.Fprintf(&readme, "| %s | %d | %s |\n", c.file, len(want), c.what)
		if *updateHostile {
			if err := os.MkdirAll(hostileDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs from its generator (%v): run go test ./cmd/snpmeasure -run TestHostileCorpus -update-hostile", path, err)
		}
	}
	readmePath := filepath.Join(hostileDir, "README.md")
	if *updateHostile {
		if err := os.WriteFile(readmePath, []byte(readme.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	} else if got, err := os.ReadFile(readmePath); err != nil || string(got) != readme.String() {
		t.Errorf("%s is out of date (%v): run go test ./cmd/snpmeasure -run TestHostileCorpus -update-hostile", readmePath, err)
	}
	ents, err := os.ReadDir(hostileDir)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, e := range ents {
		if fi, err := e.Info(); err == nil {
			total += fi.Size()
		}
		if e.Name() != "README.md" && !built[e.Name()] {
			t.Errorf("%s: in %s but no generator makes it", e.Name(), hostileDir)
		}
	}
	if total > 1<<20 {
		t.Errorf("hostile corpus holds %d bytes; keep it under 1 MiB", total)
	}

	for _, c := range cases {
		path := filepath.Join(hostileDir, c.file)
		t.Run(c.file, func(t *testing.T) {
			args := substitute(c.args, path)
			if c.want == "" {
				r := hostileRun(args)
				if r.code != 0 || r.stderr != "" || len(r.stdout) != 97 {
					t.Fatalf("control: exit %d, stdout %q, stderr %q; want a measurement", r.code, r.stdout, r.stderr)
				}
				return
			}
			checkRejected(t, args, path, c.want)
			if c.parseError {
				for _, m := range otherModes {
					checkRejected(t, substitute(m, path), path, c.want)
				}
			}
		})
	}
}

func substitute(args []string, path string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, argFile, path)
	}
	return out
}

// hostileResult is the outcome of one CLI run.
type hostileResult struct {
	stdout, stderr string
	code           int
}

// hostileRun runs the CLI in process, as main does.
func hostileRun(args []string) hostileResult {
	var out, errb bytes.Buffer
	code := app.ExitCode(app.Run(args, &out, &errb), &errb)
	return hostileResult{stdout: out.String(), stderr: errb.String(), code: code}
}

// checkRejected runs the CLI and wants exit status 1, nothing on stdout and
// exactly one line on stderr naming path and containing want.
func checkRejected(t *testing.T, args []string, path, want string) {
	t.Helper()
	r := hostileRun(args)
	line := strings.TrimSuffix(r.stderr, "\n")
	switch {
	case r.code != cli.ExitBadInput:
		t.Errorf("%q: exit %d, want 1; stderr %q", args, r.code, r.stderr)
	case r.stdout != "":
		t.Errorf("%q: stdout %q, want nothing", args, r.stdout)
	case !strings.HasSuffix(r.stderr, "\n") || strings.Contains(line, "\n"):
		t.Errorf("%q: stderr %q, want exactly one line", args, r.stderr)
	case !strings.HasPrefix(line, "snpmeasure: "+path+": "):
		t.Errorf("%q: stderr %q does not start by naming %s", args, line, path)
	case !strings.Contains(line, want):
		t.Errorf("%q: stderr %q, want it to say %q", args, line, want)
	}
}

const hostileReadmeHead = `# Hostile inputs

Malformed firmware and SVSM images for robustness tests. Each is generated from the fixtures
in ../inputs by cmd/snpmeasure/hostile_test.go, which also holds the exact error message
snpmeasure must give for it (exit status 1, one line on stderr naming the file, nothing on stdout).
Do not edit these files by hand; change a generator and run

    go test ./cmd/snpmeasure -run TestHostileCorpus -update-hostile

Files named ok-* are controls that must measure successfully.

| file | bytes | what it holds |
|---|---|---|
`

// TestHostileRuntime covers hostile conditions that are not file contents:
// directories, missing and unreadable files, and firmware too large to map.
func TestHostileRuntime(t *testing.T) {
	dir := t.TempDir()
	fw := inputPath("fx-ovmf_AmdSev_suffix.bin")
	kernel := inputPath("synth-kernel-12345.bin")
	snp := func(ovmf, kernel, initrd string) []string {
		a := []string{"--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-Milan", "--ovmf", ovmf, "--kernel", kernel}
		if initrd != "" {
			a = append(a, "--initrd", initrd)
		}
		return a
	}
	missing := filepath.Join(dir, "missing.bin")
	huge := filepath.Join(dir, "huge.fd")
	four := filepath.Join(dir, "4g.fd")
	for name, size := range map[string]int64{huge: 1<<32 + 4096, four: 1 << 32} {
		f, err := os.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(size); err != nil {
			f.Close()
			t.Skipf("cannot make a %d-byte sparse file here: %v", size, err)
		}
		f.Close()
	}
	tests := []struct {
		name       string
		args       []string
		path, want string
	}{
		{"kernel is a directory", snp(fw, dir, ""), dir, "is a directory, not a file"},
		{"initrd is a directory", snp(fw, kernel, dir), dir, "is a directory, not a file"},
		{"firmware is a directory", snp(dir, kernel, ""), dir, "is a directory, not a file"},
		{"svsm is a directory", substitute(svsmArgs(), dir), dir, "is a directory, not a file"},
		{"kernel missing", snp(fw, missing, ""), missing, "no such file or directory"},
		{"initrd missing", snp(fw, kernel, missing), missing, "no such file or directory"},
		{"firmware missing", snp(missing, kernel, ""), missing, "no such file or directory"},
		{"firmware over 4 GiB", snp(huge, kernel, ""), huge, "4294971392 bytes: firmware must fit below 4 GiB"},
		{"firmware over 4 GiB, ovmf-hash", []string{"--mode", "snp:ovmf-hash", "--ovmf", huge}, huge, "firmware must fit below 4 GiB"},
		{"svsm over 4 GiB", substitute(svsmArgs(), huge), huge, "firmware must fit below 4 GiB"},
		{"firmware of exactly 4 GiB without metadata", snp(four, kernel, ""), four, "firmware has no SEV metadata"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkRejected(t, tc.args, tc.path, tc.want) })
	}
	t.Run("unreadable kernel", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root reads files whatever their mode")
		}
		p := filepath.Join(dir, "unreadable.bin")
		if err := os.WriteFile(p, []byte("kernel"), 0); err != nil {
			t.Fatal(err)
		}
		checkRejected(t, snp(fw, p, ""), p, "permission denied")
	})
}
