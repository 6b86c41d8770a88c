package refvalues

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/snpmeasure/snpmeasure/ovmf"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// sampleDoc is a small synthetic document: fixed inputs and made-up measurements.
func sampleDoc(withPolicy bool) *Document {
	d := New("0.1.0-test")
	im := &ovmf.Image{
		Size: 4 << 20, HasResetBlock: true, ResetEIP: 0xffffe000,
		HasHashTable: true, HashTableGPA: 0x80c000, HashTableSize: 0x400,
		HasMetadata: true,
		Sections: []ovmf.Section{
			{GPA: 0x800000, Size: 0x9000, Type: ovmf.SectionSNPSecMem},
			{GPA: 0x809000, Size: 0x1000, Type: ovmf.SectionSNPSecrets},
			{GPA: 0x80a000, Size: 0x1000, Type: ovmf.SectionCPUID},
			{GPA: 0x80b000, Size: 0x1000, Type: ovmf.SectionSNPKernelHashes},
		},
	}
	d.Inputs.Firmware = NewFirmware("OVMF.amdsev.fd", sha256.Sum256([]byte("firmware")), im)
	cmdline := "console=ttyS0 \"quoted\" <tag>"
	d.Inputs.Kernel = &File{Name: "vmlinuz", Size: 12345, SHA256: sha256.Sum256([]byte("kernel"))}
	d.Inputs.Initrd = &File{Name: "initrd.img", Size: 5000000, SHA256: sha256.Sum256([]byte("initrd"))}
	d.Inputs.Cmdline = &cmdline
	if withPolicy {
		p := Hex(0x30000)
		d.Policy = &p
	}
	for _, vmm := range []string{"QEMU", "ec2"} {
		for _, cpu := range []struct {
			name string
			sig  uint64
		}{{"EPYC-Milan", 0xa00f11}, {"", 0xa10f11}} {
			for n := 1; n <= 3; n++ {
				m := sha512.Sum384([]byte(fmt.Sprint(vmm, cpu.sig, n)))
				d.Measurements = append(d.Measurements, Measurement{
					VCPUs: n, VCPUType: cpu.name, VCPUSig: Hex(cpu.sig), VMMType: vmm,
					GuestFeatures: 0x1, Measurement: m,
				})
			}
		}
	}
	// A repeated measurement: the RVPS and CoRIM encodings list it once.
	dup := d.Measurements[0]
	dup.VCPUType = "EPYC-Milan-v1"
	d.Measurements = append(d.Measurements, dup)
	return d
}

func encode(t *testing.T, d *Document, format string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := d.Encode(&b, format); err != nil {
		t.Fatalf("%s: %v", format, err)
	}
	return b.Bytes()
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := "testdata/" + name
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update after checking):\n%s", name, got)
	}
}

func TestRefvaluesGolden(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy bool
		format string
	}{
		{"sample.json", true, FormatJSON},
		{"sample-nopolicy.json", false, FormatJSON},
		{"sample.rvps.json", true, FormatRVPS},
		{"sample-nopolicy.rvps.json", false, FormatRVPS},
		{"sample.intoto.json", true, FormatInToto},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := sampleDoc(tc.policy)
			got := encode(t, d, tc.format)
			if again := encode(t, sampleDoc(tc.policy), tc.format); !bytes.Equal(got, again) {
				t.Fatal("two encodings of the same document differ")
			}
			golden(t, tc.name, got)
		})
	}
}

func TestRefvaluesJSONRoundTrip(t *testing.T) {
	for _, pol := range []bool{false, true} {
		d := sampleDoc(pol)
		b := encode(t, d, FormatJSON)
		back, err := ParseJSON(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, d) {
			t.Errorf("round trip differs:\n%+v\n%+v", back, d)
		}
		// One measurement per line.
		lines := strings.Split(string(b), "\n")
		n := 0
		for _, l := range lines {
			if strings.HasPrefix(l, "    {\"vcpus\":") {
				n++
			}
		}
		if n != len(d.Measurements) {
			t.Errorf("%d measurement lines, want %d", n, len(d.Measurements))
		}
	}
}

func TestRefvaluesParseJSONErrors(t *testing.T) {
	good := string(encode(t, sampleDoc(true), FormatJSON))
	for _, tc := range []struct{ name, from, to, want string }{
		{"schema", SchemaURI, "https://example.com/v2", "schema"},
		{"version", `"version": 1,`, `"version": 2,`, "version 2"},
		{"mode", `"mode": "snp"`, `"mode": "sev"`, "mode"},
		{"measurement hex", `"measurement":"`, `"measurement":"zz`, "hex"},
		{"uppercase", `"measurement":"`, `"measurement":"AB`, "digest has 98"},
		{"sig", `"vcpu_sig":"0x`, `"vcpu_sig":"`, "not 0x-hex"},
		{"vcpus", `{"vcpus":1,`, `{"vcpus":0,`, "vcpus 0: want 1 to 4096"},
		{"vcpus above KVM's limit", `{"vcpus":1,`, `{"vcpus":5000,`, "vcpus 5000: want 1 to 4096"},
		{"no vcpu_sig", `"vcpu_sig":"0xa00f11",`, ``, "measurements[0]: no vcpu_sig"},
		{"leading zeros", `"vcpu_sig":"0xa00f11"`, `"vcpu_sig":"0x00a00f11"`, "without leading zeros"},
		{"type and signature disagree", `"vcpu_sig":"0xa00f11"`, `"vcpu_sig":"0x800f12"`, "vcpu_type EPYC-Milan has signature 0xa00f11, not vcpu_sig 0x800f12"},
		{"trailing", "  ]\n}\n", "  ]\n}\n{}", "after the document"},
		{"vmm type", `"vmm_type":"QEMU"`, `"vmm_type":"kvm"`, `measurements[0]: vmm_type: unknown VMM type "kvm"`},
		{"tool name", `"name": "snpmeasure"`, `"name": ""`, "tool.name is empty"},
		{"section type", `"type": "SNP_SEC_MEM"`, `"type": "sec mem"`, `inputs.firmware: metadata_sections[0]: type "sec mem"`},
		{"unknown section type", `"type": "SNP_SEC_MEM"`, `"type": "unknown(0xZ)"`, `metadata_sections[0]: type "unknown(0xZ)"`},
		{"reset eip", `"sev_es_reset_block": true`, `"sev_es_reset_block": false`, "ap_reset_eip without sev_es_reset_block"},
		{"kernel size", `"size": 12345`, `"size": -1`, "inputs.kernel: size -1 is negative"},
		{"initrd name", `"name": "initrd.img"`, `"name": ""`, "inputs.initrd: name is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(good, tc.from, tc.to, 1)
			if bad == good {
				t.Fatalf("%q not found", tc.from)
			}
			_, err := ParseJSON([]byte(bad))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	twice := sampleDoc(false)
	twice.Measurements = append(twice.Measurements, twice.Measurements[0])
	if err := twice.EncodeJSON(&bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "again") {
		t.Errorf("a configuration listed twice: %v", err)
	}
	noBit17 := sampleDoc(false)
	p := Hex(0x10000)
	noBit17.Policy = &p
	if err := noBit17.EncodeJSON(&bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "bit 17") {
		t.Errorf("policy without bit 17: %v", err)
	}
	empty := sampleDoc(false)
	empty.Measurements = nil
	if err := empty.EncodeJSON(&bytes.Buffer{}); err == nil {
		t.Error("encoded a document without measurements")
	}
}

func TestRefvaluesRVPS(t *testing.T) {
	d := sampleDoc(true)
	rv, err := DecodeRVPS(encode(t, d, FormatRVPS))
	if err != nil {
		t.Fatal(err)
	}
	var ms []string
	if err := json.Unmarshal(rv[RVPSLaunchMeasurement], &ms); err != nil {
		t.Fatal(err)
	}
	if len(ms) != len(d.Measurements)-1 {
		t.Errorf("%d measurements, want %d distinct", len(ms), len(d.Measurements)-1)
	}
	for i, m := range ms {
		if m != d.Measurements[i].Measurement.String() {
			t.Errorf("measurement %d: %s", i, m)
		}
	}
	want := map[string]string{RVPSGuestABIMajor: "0", RVPSGuestABIMinor: "0", RVPSSMTAllowed: "true", RVPSSingleSocket: "false"}
	for k, v := range want {
		if string(rv[k]) != v {
			t.Errorf("%s = %s, want %s", k, rv[k], v)
		}
	}
	p := Hex(0x1f0b07) // ABI 11.7, single socket, no SMT
	d.Policy = &p
	rv, err = DecodeRVPS(encode(t, d, FormatRVPS))
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]string{RVPSGuestABIMajor: "11", RVPSGuestABIMinor: "7", RVPSSMTAllowed: "true", RVPSSingleSocket: "true"}
	for k, v := range want {
		if string(rv[k]) != v {
			t.Errorf("%s = %s, want %s", k, rv[k], v)
		}
	}
	rv, err = DecodeRVPS(encode(t, sampleDoc(false), FormatRVPS))
	if err != nil || len(rv) != 1 {
		t.Errorf("without policy: %v keys, %v", len(rv), err)
	}
}

func TestRefvaluesInToto(t *testing.T) {
	d := sampleDoc(true)
	st, back, err := DecodeInToto(encode(t, d, FormatInToto))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, d) {
		t.Errorf("predicate differs from the document:\n%+v\n%+v", back, d)
	}
	subj := st.GetSubject()
	if len(subj) != 3 {
		t.Fatalf("%d subjects", len(subj))
	}
	for i, f := range []*File{&d.Inputs.Firmware.File, d.Inputs.Kernel, d.Inputs.Initrd} {
		if subj[i].GetName() != f.Name || subj[i].GetDigest()["sha256"] != f.SHA256.String() {
			t.Errorf("subject %d = %v", i, subj[i])
		}
	}
	noKernel := sampleDoc(false)
	noKernel.Inputs.Kernel, noKernel.Inputs.Initrd, noKernel.Inputs.Cmdline = nil, nil, nil
	st, _, err = DecodeInToto(encode(t, noKernel, FormatInToto))
	if err != nil || len(st.GetSubject()) != 1 {
		t.Errorf("no kernel: %v", err)
	}
}

func TestRefvaluesEncodeUnknownFormat(t *testing.T) {
	if err := sampleDoc(false).Encode(&bytes.Buffer{}, "yaml"); err == nil || !strings.Contains(err.Error(), "json, rvps, intoto, corim") {
		t.Errorf("error %v", err)
	}
}

// TestMeasurementLine checks the reflection-free measurement encoder against
// encoding/json.
func TestRefvaluesMeasurementLine(t *testing.T) {
	for _, m := range []Measurement{
		{VCPUs: 1, VCPUType: "EPYC-Milan", VCPUSig: 0xa00f11, VMMType: "QEMU", GuestFeatures: 0x1},
		{VCPUs: 4096, VCPUSig: 0, VMMType: "gce", GuestFeatures: 0xffffffffffffffff, Measurement: Measurement384{1, 2, 0xff}},
		{VCPUs: 7, VCPUType: "odd \"name\" <é>\\\n", VCPUSig: 0x10, VMMType: "ec2\t", GuestFeatures: 0x221},
	} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(&m); err != nil {
			t.Fatal(err)
		}
		if got := appendMeasurementJSON(nil, &m); string(got)+"\n" != want.String() {
			t.Errorf("got  %s\nwant %s", got, want.String())
		}
	}
}
