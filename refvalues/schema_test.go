package refvalues_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/snpmeasure/snpmeasure/internal/schemacheck"
	"github.com/snpmeasure/snpmeasure/ovmf"
	"github.com/snpmeasure/snpmeasure/refvalues"
)

func encodeDoc(t testing.TB, d *refvalues.Document, format string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := d.Encode(&b, format); err != nil {
		t.Fatalf("%s: %v", format, err)
	}
	return b.Bytes()
}

// TestRefvaluesSchemaIdentity: the embedded schema is a draft 2020-12
// schema (the validator checks it against the metaschema when it compiles
// it) whose $id is the URI documents name.
func TestRefvaluesSchemaIdentity(t *testing.T) {
	var s struct {
		Schema string `json:"$schema"`
		ID     string `json:"$id"`
	}
	if err := json.Unmarshal(refvalues.Schema(), &s); err != nil {
		t.Fatal(err)
	}
	if s.Schema != "https://json-schema.org/draft/2020-12/schema" || s.ID != refvalues.SchemaURI || refvalues.SchemaURI != "https://snpmeasure.dev/refvalues/v1" {
		t.Errorf("$schema %q, $id %q", s.Schema, s.ID)
	}
	if _, err := schemacheck.Schema(); err != nil {
		t.Fatalf("the schema does not compile: %v", err)
	}
	onDisk, err := os.ReadFile("schema/v1.json")
	if err != nil {
		t.Fatal(err)
	}
	b := refvalues.Schema()
	if !bytes.Equal(b, onDisk) {
		t.Error("Schema() is not schema/v1.json")
	}
	b[0] = 'x'
	if refvalues.Schema()[0] != '{' {
		t.Error("Schema() returns the package's own bytes")
	}
}

// TestRefvaluesSchemaGoldenFiles validates every JSON document among the
// golden files (those of this package and the CLI's): documents against the
// schema, in-toto statements by their predicate. RVPS messages are another
// format.
func TestRefvaluesSchemaGoldenFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	var docs, statements int
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var probe map[string]any
		if err := json.Unmarshal(data, &probe); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		switch {
		case probe["schema"] == refvalues.SchemaURI:
			docs++
			if err := schemacheck.RefValues(data); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		case probe["_type"] == "https://in-toto.io/Statement/v1":
			statements++
			if err := schemacheck.InToto(data); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		case probe["type"] == refvalues.RVPSProvenanceType:
		default:
			t.Errorf("%s: neither a reference values document, an in-toto statement nor an RVPS message", f)
		}
	}
	if docs < 3 || statements < 1 {
		t.Errorf("%d documents and %d statements among %v", docs, statements, files)
	}
}

// TestRefvaluesSchemaEncoded validates what EncodeJSON and EncodeInToto
// write for documents of every shape.
func TestRefvaluesSchemaEncoded(t *testing.T) {
	noKernel := refvalues.SampleDoc(false)
	noKernel.Inputs.Kernel, noKernel.Inputs.Initrd, noKernel.Inputs.Cmdline = nil, nil, nil
	noInitrd := refvalues.SampleDoc(true)
	noInitrd.Inputs.Initrd = nil
	emptyCmdline := refvalues.SampleDoc(false)
	empty := ""
	emptyCmdline.Inputs.Cmdline = &empty
	ovmfHash := refvalues.SampleDoc(true)
	ovmfHash.Inputs.SNPOVMFHash = &refvalues.Measurement384{0xff}
	bare := refvalues.New("")
	bare.Inputs.Firmware = refvalues.NewFirmware("OVMF.fd", sha256.Sum256(nil), &ovmf.Image{Size: 0})
	bare.Measurements = []refvalues.Measurement{{VCPUs: 4096, VCPUSig: 0, VMMType: "gce", GuestFeatures: 1<<64 - 1}}
	nilSections := refvalues.SampleDoc(false)
	nilSections.Inputs.Firmware.MetadataSections = nil
	unknownSection := refvalues.SampleDoc(false)
	unknownSection.Inputs.Firmware.MetadataSections[0].Type = ovmf.SectionType(0x42).String()
	for name, d := range map[string]*refvalues.Document{
		"sample": refvalues.SampleDoc(true), "no policy": refvalues.SampleDoc(false), "no kernel": noKernel,
		"no initrd": noInitrd, "empty cmdline": emptyCmdline, "snp_ovmf_hash": ovmfHash, "bare": bare,
		"nil sections": nilSections, "unknown section": unknownSection,
	} {
		t.Run(name, func(t *testing.T) {
			if err := schemacheck.RefValues(encodeDoc(t, d, refvalues.FormatJSON)); err != nil {
				t.Errorf("json: %v", err)
			}
			if err := schemacheck.InToto(encodeDoc(t, d, refvalues.FormatInToto)); err != nil {
				t.Errorf("intoto: %v", err)
			}
		})
	}
}

// edit decodes a JSON document, changes it and encodes it again.
func edit(t *testing.T, doc []byte, change func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	change(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func obj(m map[string]any, path ...string) map[string]any {
	for _, p := range path {
		m = m[p].(map[string]any)
	}
	return m
}

func firstMeasurement(m map[string]any) map[string]any {
	return m["measurements"].([]any)[0].(map[string]any)
}

// TestRefvaluesSchemaRejects: documents that break the schema are rejected;
// keys a later version 1 writer may add are accepted, by the schema and by
// ParseJSON alike.
func TestRefvaluesSchemaRejects(t *testing.T) {
	good := encodeDoc(t, refvalues.SampleDoc(true), refvalues.FormatJSON)
	if err := schemacheck.RefValues(good); err != nil {
		t.Fatal(err)
	}
	set := func(path []string, key string, v any) func(map[string]any) {
		return func(m map[string]any) { obj(m, path...)[key] = v }
	}
	del := func(path []string, key string) func(map[string]any) {
		return func(m map[string]any) { delete(obj(m, path...), key) }
	}
	setM := func(key string, v any) func(map[string]any) {
		return func(m map[string]any) { firstMeasurement(m)[key] = v }
	}
	top, inputs, fw := []string{}, []string{"inputs"}, []string{"inputs", "firmware"}
	for _, tc := range []struct {
		name   string
		change func(map[string]any)
	}{
		{"no schema", del(top, "schema")},
		{"no version", del(top, "version")},
		{"no tool", del(top, "tool")},
		{"no mode", del(top, "mode")},
		{"no inputs", del(top, "inputs")},
		{"no measurements", del(top, "measurements")},
		{"other schema", set(top, "schema", "https://snpmeasure.dev/refvalues/v2")},
		{"version 2", set(top, "version", 2)},
		{"version as a string", set(top, "version", "1")},
		{"mode sev", set(top, "mode", "sev")},
		{"empty measurements", set(top, "measurements", []any{})},
		{"policy without 0x", set(top, "policy", "30000")},
		{"policy upper case", set(top, "policy", "0x3000A")},
		{"policy leading zero", set(top, "policy", "0x030000")},
		{"policy over 64 bits", set(top, "policy", "0x10000000000000000")},
		{"policy a number", set(top, "policy", 196608)},
		{"key not snake_case", set(top, "Measurements", []any{})},
		{"key with a dash", set(top, "tool-name", "x")},
		{"tool without name", del([]string{"tool"}, "name")},
		{"tool with an empty name", set([]string{"tool"}, "name", "")},
		{"no firmware", del(inputs, "firmware")},
		{"kernel without cmdline", del(inputs, "cmdline")},
		{"cmdline without kernel", func(m map[string]any) { delete(obj(m, inputs...), "kernel"); delete(obj(m, inputs...), "initrd") }},
		{"initrd without kernel", func(m map[string]any) { delete(obj(m, inputs...), "kernel"); delete(obj(m, inputs...), "cmdline") }},
		{"snp_ovmf_hash short", set(inputs, "snp_ovmf_hash", strings.Repeat("a", 64))},
		{"kernel sha256 upper case", set([]string{"inputs", "kernel"}, "sha256", strings.Repeat("A", 64))},
		{"firmware without sha256", del(fw, "sha256")},
		{"firmware negative size", set(fw, "size", -1)},
		{"firmware size fraction", set(fw, "size", 1.5)},
		{"firmware empty name", set(fw, "name", "")},
		{"no sev_metadata", del(fw, "sev_metadata")},
		{"no metadata_sections", del(fw, "metadata_sections")},
		{"metadata_sections null", set(fw, "metadata_sections", nil)},
		{"section type lower case", func(m map[string]any) {
			obj(m, fw...)["metadata_sections"].([]any)[0].(map[string]any)["type"] = "snp_sec_mem"
		}},
		{"section without gpa", func(m map[string]any) {
			delete(obj(m, fw...)["metadata_sections"].([]any)[0].(map[string]any), "gpa")
		}},
		{"ap_reset_eip without reset block", set(fw, "sev_es_reset_block", false)},
		{"sev_hash_table without size", del([]string{"inputs", "firmware", "sev_hash_table"}, "size")},
		{"snp_kernel_hashes a string", set(fw, "snp_kernel_hashes", "true")},
		{"vcpus 0", setM("vcpus", 0)},
		{"vcpus fraction", setM("vcpus", 1.5)},
		{"no vcpu_sig", func(m map[string]any) { delete(firstMeasurement(m), "vcpu_sig") }},
		{"vcpu_sig decimal", setM("vcpu_sig", "10489617")},
		{"empty vcpu_type", setM("vcpu_type", "")},
		{"vmm_type kvm", setM("vmm_type", "kvm")},
		{"vmm_type lower case qemu", setM("vmm_type", "qemu")},
		{"guest_features a number", setM("guest_features", 1)},
		{"measurement 95 digits", setM("measurement", strings.Repeat("a", 95))},
		{"measurement upper case", setM("measurement", strings.Repeat("A", 96))},
		{"measurement key not snake_case", setM("KVM", "x")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := edit(t, good, tc.change)
			if err := schemacheck.RefValues(bad); err == nil {
				t.Errorf("accepted:\n%.600s", bad)
			}
		})
	}
	for _, tc := range []struct {
		name   string
		change func(map[string]any)
	}{
		{"a new top-level key", set(top, "signature_hint", map[string]any{"x": 1})},
		{"a new input", set(inputs, "vars_file", map[string]any{"name": "OVMF_VARS.fd"})},
		{"a new firmware key", set(fw, "svsm", true)},
		{"a new measurement key", setM("kvm_init", "legacy")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			later := edit(t, good, tc.change)
			if err := schemacheck.RefValues(later); err != nil {
				t.Errorf("rejected: %v", err)
			}
			if _, err := refvalues.ParseJSON(later); err != nil {
				t.Errorf("ParseJSON: %v", err)
			}
		})
	}
}

// FuzzParseJSON: a document ParseJSON accepts encodes again to the same
// document, and what EncodeJSON writes is valid against the schema.
func FuzzParseJSON(f *testing.F) {
	f.Add(string(encodeDoc(f, refvalues.SampleDoc(true), refvalues.FormatJSON)))
	f.Add(string(encodeDoc(f, refvalues.SampleDoc(false), refvalues.FormatJSON)))
	f.Add(`{"schema":"https://snpmeasure.dev/refvalues/v1","version":1}`)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := refvalues.ParseJSON([]byte(s))
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := d.EncodeJSON(&b); err != nil {
			t.Fatalf("a parsed document does not encode: %v", err)
		}
		d2, err := refvalues.ParseJSON(b.Bytes())
		if err != nil || !reflect.DeepEqual(d, d2) {
			t.Fatalf("re-encoded document differs: %v", err)
		}
		if err := schemacheck.RefValues(b.Bytes()); err != nil {
			t.Fatalf("the encoded document is not valid against the schema: %v", err)
		}
	})
}
