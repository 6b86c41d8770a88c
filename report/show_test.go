package report

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestFields checks that every field is listed once, in layout order, with
// the parts each version and product line has.
func TestFields(t *testing.T) {
	rep := readTestFile(t, filepath.Join(genuineDir, "veraison-tsm-genoa/report.bin"))
	aux := readTestFile(t, filepath.Join(genuineDir, "veraison-tsm-genoa/auxblob.bin"))
	for _, tc := range []struct {
		file    string
		extra   []byte
		p       Product
		names   string
		contain []string
	}{
		{"oak/turin_oc_evidence.report.bin", nil, Turin,
			"VERSION GUEST_SVN POLICY FAMILY_ID IMAGE_ID VMPL SIGNATURE_ALGO CURRENT_TCB PLATFORM_INFO SIGNER_INFO REPORT_DATA MEASUREMENT HOST_DATA " +
				"ID_KEY_DIGEST AUTHOR_KEY_DIGEST REPORT_ID REPORT_ID_MA REPORTED_TCB CPUID CHIP_ID COMMITTED_TCB CURRENT_VERSION COMMITTED_VERSION " +
				"LAUNCH_TCB LAUNCH_MIT_VECTOR CURRENT_MIT_VECTOR SIGNATURE reserved bytes",
			[]string{"REPORTED_TCB 0x4700000002000100 (fmc=0 bl=1 tee=0 snp=2 ucode=71)", "  FMC 0", "  BOOT_LOADER 1", "  MICROCODE 71",
				"CPUID family 1Ah model 02h stepping 1 (Turin)", "  SIGNING_KEY 0 (VCEK)", "  SMT 1", "  DEBUG 0", "reserved bytes zero"}},
		{"go-sev-guest/attestation.bin", nil, ProductUnknown,
			"VERSION GUEST_SVN POLICY FAMILY_ID IMAGE_ID VMPL SIGNATURE_ALGO CURRENT_TCB PLATFORM_INFO SIGNER_INFO REPORT_DATA MEASUREMENT HOST_DATA " +
				"ID_KEY_DIGEST AUTHOR_KEY_DIGEST REPORT_ID REPORT_ID_MA REPORTED_TCB CHIP_ID COMMITTED_TCB CURRENT_VERSION COMMITTED_VERSION " +
				"LAUNCH_TCB SIGNATURE reserved bytes",
			[]string{"REPORTED_TCB 0x4405000000000002 (bl=2 tee=0 snp=5 ucode=68; Milan/Genoa layout)", "  DEBUG 1", "CURRENT_VERSION 1.49 build 3"}},
		{"veraison-tsm-genoa/report.bin", aux, Genoa, "",
			[]string{"CERTIFICATE TABLE 3 entries", `  ARK GUID c0b406a4-a803-4952-9743-3fb6014cd0ae, `, `"SEV-VCEK", valid 2025-04-20 to 2032-04-20`}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data := readTestFile(t, filepath.Join(genuineDir, tc.file))
			if tc.extra != nil {
				data = append(bytes.Clone(rep), tc.extra...)
			}
			r, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			fs := r.Fields(tc.p)
			var names []string
			keys := map[string]bool{}
			for _, f := range fs {
				names = append(names, f.Name)
				if keys[f.Key] {
					t.Errorf("key %q twice", f.Key)
				}
				keys[f.Key] = true
			}
			if tc.names != "" && strings.Join(names, " ") != tc.names {
				t.Errorf("fields\n%s\nwant\n%s", strings.Join(names, " "), tc.names)
			}
			var text strings.Builder
			var walk func([]Field, string)
			walk = func(fs []Field, indent string) {
				for _, f := range fs {
					text.WriteString(indent + f.Name + " " + f.Text + "\n")
					walk(f.Sub, indent+"  ")
				}
			}
			walk(fs, "")
			for _, c := range tc.contain {
				if !strings.Contains(text.String(), c) {
					t.Errorf("no %q in\n%s", c, text.String())
				}
			}
		})
	}
}
