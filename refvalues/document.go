package refvalues

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/snpmeasure/snpmeasure/measure"
	"github.com/snpmeasure/snpmeasure/ovmf"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

// Identity of the JSON document format.
const (
	// SchemaURI names the JSON schema; it is also the in-toto predicate type.
	SchemaURI = "https://snpmeasure.dev/refvalues/v1"
	// SchemaVersion is the "version" of documents this package writes and reads.
	SchemaVersion = 1
	// ToolName is the "tool.name" of documents written by snpmeasure.
	ToolName = "snpmeasure"
	// ModeSNP is the only "mode" defined: SEV-SNP launch measurements.
	ModeSNP = "snp"
)

// MeasurementSize is the size of an SEV-SNP launch measurement (SHA-384).
const MeasurementSize = 48

// Document is a set of reference values: the inputs of one guest image and
// the launch measurement of each configuration it may be launched with.
type Document struct {
	Schema  string `json:"schema"`
	Version int    `json:"version"`
	Tool    Tool   `json:"tool"`
	Mode    string `json:"mode"`
	Inputs  Inputs `json:"inputs"`
	// Policy is the guest policy the launch uses, when the producer stated
	// one. It is not part of the measurement; the RVPS and CoRIM encodings
	// turn it into reference values of their own.
	Policy       *Hex          `json:"policy,omitempty"`
	Measurements []Measurement `json:"measurements"`
}

// Tool names the program that computed the document.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Inputs are the measured files and command line shared by every configuration.
type Inputs struct {
	// Firmware is the firmware image; IGVM the IGVM file launched instead
	// (exactly one is set).
	Firmware *Firmware `json:"firmware,omitempty"`
	IGVM     *IGVMFile `json:"igvm,omitempty"`
	// SNPOVMFHash is the precomputed firmware digest the measurements start
	// from, when one was given instead of hashing the firmware pages.
	SNPOVMFHash *Measurement384 `json:"snp_ovmf_hash,omitempty"`
	Kernel      *File           `json:"kernel,omitempty"`
	Initrd      *File           `json:"initrd,omitempty"`
	// Cmdline is the kernel command line; present exactly when Kernel is.
	Cmdline *string `json:"cmdline,omitempty"`
}

// File identifies an input file by base name, size and SHA-256.
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 SHA256 `json:"sha256"`
}

// IGVMFile is an IGVM file, the loader that measured it and the guest
// policy it carries.
type IGVMFile struct {
	File
	// Loader is "igvmmeasure" or "qemu" (launchdigest.IGVMLoader).
	Loader string `json:"loader"`
	// Policy is the file's GUEST_POLICY for SEV-SNP, when it has one.
	Policy *Hex `json:"policy,omitempty"`
	// The loader's options, when set: they change the digest of one file
	// (igvmmeasure's -n and -c; the qemu loader's filling of parameters
	// QEMU 10.2 refuses).
	NativeZero                bool `json:"native_zero,omitempty"`
	CheckKVM                  bool `json:"check_kvm,omitempty"`
	IgnoreUnhandledParameters bool `json:"ignore_unhandled_parameters,omitempty"`
}

// Firmware is the firmware file and what it supports.
type Firmware struct {
	File
	// SEVMetadata reports the SEV metadata entry (needed for SNP).
	SEVMetadata bool `json:"sev_metadata"`
	// MetadataSections lists the SEV metadata sections in table order.
	MetadataSections []Section `json:"metadata_sections"`
	// SEVESResetBlock reports the SEV-ES reset block entry; APResetEIP is
	// its AP reset address (needed for more than one vCPU).
	SEVESResetBlock bool `json:"sev_es_reset_block"`
	APResetEIP      *Hex `json:"ap_reset_eip,omitempty"`
	// SEVHashTable is the SEV hashes table entry QEMU fills for
	// kernel-hashes=on, when the firmware has one with a non-zero GPA.
	SEVHashTable *HashTable `json:"sev_hash_table,omitempty"`
	// SNPKernelHashes reports an SNP_KERNEL_HASHES metadata section: the
	// firmware can verify a kernel, initrd and command line under SNP.
	SNPKernelHashes bool `json:"snp_kernel_hashes"`
}

// Section is one SEV metadata section.
type Section struct {
	Type string `json:"type"`
	GPA  Hex    `json:"gpa"`
	Size Hex    `json:"size"`
}

// HashTable is the location of the SEV hashes table.
type HashTable struct {
	GPA  Hex `json:"gpa"`
	Size Hex `json:"size"`
}

// Measurement is one configuration and its launch measurement.
type Measurement struct {
	VCPUs int `json:"vcpus"`
	// VCPUType is QEMU's -cpu model name; empty when the configuration was
	// given by signature.
	VCPUType      string `json:"vcpu_type,omitempty"`
	VCPUSig       Hex    `json:"vcpu_sig"`
	VMMType       string `json:"vmm_type"`
	GuestFeatures Hex    `json:"guest_features"`
	// KVMInit is "legacy" for hosts whose KVM predates KVM_SEV_INIT2;
	// absent for current hosts ("init2").
	KVMInit     string         `json:"kvm_init,omitempty"`
	Measurement Measurement384 `json:"measurement"`
}

// New returns an empty document of the current schema written by toolVersion.
func New(toolVersion string) *Document {
	return &Document{
		Schema:  SchemaURI,
		Version: SchemaVersion,
		Tool:    Tool{Name: ToolName, Version: toolVersion},
		Mode:    ModeSNP,
	}
}

// NewFirmware describes a parsed firmware image.
func NewFirmware(name string, sum [sha256.Size]byte, im *ovmf.Image) *Firmware {
	fw := &Firmware{
		File:             File{Name: name, Size: im.Size, SHA256: sum},
		SEVMetadata:      im.HasMetadata,
		MetadataSections: []Section{},
		SEVESResetBlock:  im.HasResetBlock,
	}
	for _, s := range im.Sections {
		fw.MetadataSections = append(fw.MetadataSections, Section{Type: s.Type.String(), GPA: Hex(s.GPA), Size: Hex(s.Size)})
	}
	if im.HasResetBlock {
		eip := Hex(im.ResetEIP)
		fw.APResetEIP = &eip
	}
	if im.HashTableSupported() {
		fw.SEVHashTable = &HashTable{GPA: Hex(im.HashTableGPA), Size: Hex(im.HashTableSize)}
	}
	_, fw.SNPKernelHashes = im.KernelHashesSection()
	return fw
}

// Hex is an unsigned integer written as a JSON string of 0x-hex: "0x30000".
type Hex uint64

// String returns the 0x-hex form.
func (h Hex) String() string { return "0x" + strconv.FormatUint(uint64(h), 16) }

// MarshalText writes 0x-hex.
func (h Hex) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText reads 0x-hex.
func (h *Hex) UnmarshalText(b []byte) error {
	s := string(b)
	if !strings.HasPrefix(s, "0x") || len(s) < 3 {
		return fmt.Errorf("%q is not 0x-hex", s)
	}
	v, err := strconv.ParseUint(s[2:], 16, 64)
	if err != nil {
		return fmt.Errorf("%q is not 0x-hex that fits in 64 bits", s)
	}
	if Hex(v).String() != s {
		return fmt.Errorf("%q: want lower-case 0x-hex without leading zeros (%s)", s, Hex(v))
	}
	*h = Hex(v)
	return nil
}

// Measurement384 is an SEV-SNP launch measurement, written as 96 lowercase hex digits.
type Measurement384 [MeasurementSize]byte

// String returns the lowercase hex form.
func (m Measurement384) String() string { return hex.EncodeToString(m[:]) }

// MarshalText writes lowercase hex.
func (m Measurement384) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText reads 96 hex digits.
func (m *Measurement384) UnmarshalText(b []byte) error { return unhex(m[:], b) }

// SHA256 is a SHA-256 digest, written as 64 lowercase hex digits.
type SHA256 [sha256.Size]byte

// String returns the lowercase hex form.
func (s SHA256) String() string { return hex.EncodeToString(s[:]) }

// MarshalText writes lowercase hex.
func (s SHA256) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads 64 hex digits.
func (s *SHA256) UnmarshalText(b []byte) error { return unhex(s[:], b) }

func unhex(dst, src []byte) error {
	if len(src) != 2*len(dst) {
		return fmt.Errorf("digest has %d hex digits, want %d", len(src), 2*len(dst))
	}
	if _, err := hex.Decode(dst, src); err != nil {
		return fmt.Errorf("digest is not hex: %w", err)
	}
	if !bytes.Equal(bytes.ToLower(src), src) {
		return errors.New("digest hex must be lowercase")
	}
	return nil
}

// Validate checks what ParseJSON and the encoders rely on.
func (d *Document) Validate() error {
	if d.Schema != SchemaURI {
		return fmt.Errorf("schema %q: want %q", d.Schema, SchemaURI)
	}
	if d.Version != SchemaVersion {
		return fmt.Errorf("version %d: want %d", d.Version, SchemaVersion)
	}
	if d.Mode != ModeSNP {
		return fmt.Errorf("mode %q: want %q", d.Mode, ModeSNP)
	}
	if d.Tool.Name == "" {
		return errors.New("tool.name is empty")
	}
	switch in := &d.Inputs; {
	case (in.Firmware == nil) == (in.IGVM == nil):
		return errors.New("inputs: want a firmware or an igvm file")
	case in.Firmware != nil:
		if err := in.Firmware.validate(); err != nil {
			return fmt.Errorf("inputs.firmware: %w", err)
		}
	default:
		if err := in.IGVM.File.validate(); err != nil {
			return fmt.Errorf("inputs.igvm: %w", err)
		}
		if in.IGVM.Loader != "igvmmeasure" && in.IGVM.Loader != "qemu" {
			return fmt.Errorf("inputs.igvm.loader %q: want igvmmeasure or qemu", in.IGVM.Loader)
		}
		if in.Kernel != nil || in.SNPOVMFHash != nil {
			return errors.New("inputs: an igvm file holds what is measured: no kernel or snp_ovmf_hash")
		}
	}
	for _, f := range []struct {
		key string
		f   *File
	}{{"kernel", d.Inputs.Kernel}, {"initrd", d.Inputs.Initrd}} {
		if f.f == nil {
			continue
		}
		if err := f.f.validate(); err != nil {
			return fmt.Errorf("inputs.%s: %w", f.key, err)
		}
	}
	if (d.Inputs.Kernel == nil) != (d.Inputs.Cmdline == nil) {
		return errors.New("inputs.kernel and inputs.cmdline must be given together")
	}
	if d.Inputs.Initrd != nil && d.Inputs.Kernel == nil {
		return errors.New("inputs.initrd needs inputs.kernel")
	}
	if len(d.Measurements) == 0 {
		return errors.New("no measurements")
	}
	if d.Policy != nil && *d.Policy&PolicyReserved1 == 0 {
		return fmt.Errorf("policy %s: bit 17 is reserved and must be 1", *d.Policy)
	}
	type config struct {
		vcpus    int
		typ, vmm string
		sig, gf  Hex
		kvm      string
	}
	seen := make(map[config]int, len(d.Measurements))
	for i, m := range d.Measurements {
		if m.VCPUs < 1 || m.VCPUs > measure.MaxVCPUs {
			return fmt.Errorf("measurements[%d]: vcpus %d: want 1 to %d", i, m.VCPUs, measure.MaxVCPUs)
		}
		if m.VCPUType != "" {
			t, err := vmsa.LookupCPUType(m.VCPUType)
			if err != nil {
				return fmt.Errorf("measurements[%d]: vcpu_type: %w", i, err)
			}
			if Hex(t.Signature()) != m.VCPUSig {
				return fmt.Errorf("measurements[%d]: vcpu_type %s has signature %s, not vcpu_sig %s", i, m.VCPUType, Hex(t.Signature()), m.VCPUSig)
			}
		}
		k := config{m.VCPUs, m.VCPUType, m.VMMType, m.VCPUSig, m.GuestFeatures, m.KVMInit}
		if j, dup := seen[k]; dup {
			return fmt.Errorf("measurements[%d]: the configuration of measurements[%d] again", i, j)
		}
		seen[k] = i
		if _, err := vmsa.ParseVMM(m.VMMType); err != nil {
			return fmt.Errorf("measurements[%d]: vmm_type: %w", i, err)
		}
		if m.KVMInit != "" && m.KVMInit != vmsa.KVMLegacy.String() {
			return fmt.Errorf("measurements[%d]: kvm_init %q: want legacy, or no key for init2", i, m.KVMInit)
		}
	}
	return nil
}

func (f *File) validate() error {
	if f.Name == "" {
		return errors.New("name is empty")
	}
	if f.Size < 0 {
		return fmt.Errorf("size %d is negative", f.Size)
	}
	return nil
}

func (fw *Firmware) validate() error {
	if err := fw.File.validate(); err != nil {
		return err
	}
	for i, s := range fw.MetadataSections {
		if !validSectionType(s.Type) {
			return fmt.Errorf("metadata_sections[%d]: type %q: want an edk2 name (upper case) or unknown(0x..)", i, s.Type)
		}
	}
	if fw.APResetEIP != nil && !fw.SEVESResetBlock {
		return errors.New("ap_reset_eip without sev_es_reset_block")
	}
	return nil
}

// validSectionType reports whether t is a section type as the schema has
// it: an edk2 name (upper case, digits, underscores) or unknown(0x<hex>).
func validSectionType(t string) bool {
	if h, ok := strings.CutPrefix(t, "unknown(0x"); ok {
		h, ok = strings.CutSuffix(h, ")")
		return ok && h != "" && strings.Trim(h, "0123456789abcdef") == ""
	}
	if t == "" || t[0] < 'A' || t[0] > 'Z' {
		return false
	}
	return strings.Trim(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == ""
}

// ParseJSON reads a JSON document and validates it. Unknown fields are
// ignored, so that later version 1 producers may add fields.
func ParseJSON(data []byte) (*Document, error) {
	var d Document
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("reference values JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("reference values JSON: data after the document")
	}
	// The keys the schema requires of each measurement: a missing one would
	// read as zero.
	var raw struct {
		Measurements []map[string]json.RawMessage `json:"measurements"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("reference values JSON: %w", err)
	}
	for i, m := range raw.Measurements {
		for _, k := range []string{"vcpus", "vcpu_sig", "vmm_type", "guest_features", "measurement"} {
			if _, ok := m[k]; !ok {
				return nil, fmt.Errorf("reference values JSON: measurements[%d]: no %s", i, k)
			}
		}
	}
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("reference values JSON: %w", err)
	}
	return &d, nil
}

// header is the document without its measurements, for EncodeJSON.
type header struct {
	Schema  string `json:"schema"`
	Version int    `json:"version"`
	Tool    Tool   `json:"tool"`
	Mode    string `json:"mode"`
	Inputs  Inputs `json:"inputs"`
	Policy  *Hex   `json:"policy,omitempty"`
}

// EncodeJSON writes the document as indented JSON with one measurement per
// line. The output depends only on the document. It streams through a
// buffer, so a large document is not held twice in memory.
func (d *Document) EncodeJSON(w io.Writer) error {
	if err := d.Validate(); err != nil {
		return err
	}
	var h bytes.Buffer
	enc := json.NewEncoder(&h)
	enc.SetEscapeHTML(false) // keep <, > and & of command lines readable
	enc.SetIndent("", "  ")
	in := d.Inputs
	if in.Firmware != nil && in.Firmware.MetadataSections == nil {
		// An array, never null: the schema (and readers) expect one.
		fw := *in.Firmware
		fw.MetadataSections = []Section{}
		in.Firmware = &fw
	}
	if err := enc.Encode(header{d.Schema, d.Version, d.Tool, d.Mode, in, d.Policy}); err != nil {
		return err
	}
	h.Truncate(h.Len() - len("\n}\n"))
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.Write(h.Bytes())
	bw.WriteString(",\n  \"measurements\": [\n")
	line := make([]byte, 0, 256)
	for i := range d.Measurements {
		line = append(line[:0], "    "...)
		line = appendMeasurementJSON(line, &d.Measurements[i])
		if i+1 < len(d.Measurements) {
			line = append(line, ',')
		}
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	bw.WriteString("  ]\n}\n")
	return bw.Flush()
}

// appendMeasurementJSON appends m as compact JSON, exactly as encoding/json
// (without HTML escaping) writes it, but without reflection: documents can
// hold hundreds of thousands of measurements.
func appendMeasurementJSON(b []byte, m *Measurement) []byte {
	b = append(b, `{"vcpus":`...)
	b = strconv.AppendInt(b, int64(m.VCPUs), 10)
	if m.VCPUType != "" {
		b = append(b, `,"vcpu_type":`...)
		b = appendJSONString(b, m.VCPUType)
	}
	b = append(b, `,"vcpu_sig":"0x`...)
	b = strconv.AppendUint(b, uint64(m.VCPUSig), 16)
	b = append(b, `","vmm_type":`...)
	b = appendJSONString(b, m.VMMType)
	b = append(b, `,"guest_features":"0x`...)
	b = strconv.AppendUint(b, uint64(m.GuestFeatures), 16)
	b = append(b, '"')
	if m.KVMInit != "" {
		b = append(b, `,"kvm_init":`...)
		b = appendJSONString(b, m.KVMInit)
	}
	b = append(b, `,"measurement":"`...)
	b = hex.AppendEncode(b, m.Measurement[:])
	return append(b, `"}`...)
}

// appendJSONString appends s as a JSON string; names that need escaping
// take encoding/json's path.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(s) // a string always encodes
			return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// distinctMeasurements returns the measurements without repeats, in document order.
func (d *Document) distinctMeasurements() []Measurement384 {
	seen := make(map[Measurement384]bool, len(d.Measurements))
	var out []Measurement384
	for _, m := range d.Measurements {
		if !seen[m.Measurement] {
			seen[m.Measurement] = true
			out = append(out, m.Measurement)
		}
	}
	return out
}

// Output formats.
const (
	FormatJSON   = "json"
	FormatRVPS   = "rvps"
	FormatInToto = "intoto"
	FormatCoRIM  = "corim"
)

// Formats lists the output formats.
var Formats = []string{FormatJSON, FormatRVPS, FormatInToto, FormatCoRIM}

// Encode writes the document in one of Formats.
func (d *Document) Encode(w io.Writer, format string) error {
	switch format {
	case FormatJSON:
		return d.EncodeJSON(w)
	case FormatRVPS:
		return d.EncodeRVPS(w)
	case FormatInToto:
		return d.EncodeInToto(w)
	case FormatCoRIM:
		return d.EncodeCoRIM(w)
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}
