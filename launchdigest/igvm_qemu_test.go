package launchdigest

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// igvmmeasure's digest (no options) of a conformance file, from digests.tsv.
func igvmmeasureDigest(t *testing.T, file string) string {
	for _, r := range readIGVMRows(t) {
		if r.file == file && r.args == "<file> measure -b" {
			return strings.ToLower(r.want)
		}
	}
	t.Fatalf("no plain row for %s", file)
	return ""
}

// On files built as COCONUT-SVSM builds them (igvmbuilder --sort), QEMU at
// one vCPU measures what igvmmeasure measures (spec §5), once QEMU has
// handlers for the MADT and DEVICE_TREE parameters that igvmbuilder adds;
// QEMU 10.2 itself refuses them, naming the first such directive.
func TestIGVMLoadersAgreeOnSortedCoconutFiles(t *testing.T) {
	for _, name := range []string{"30_ib_qemu_sorted_ovmf.igvm", "32_ib_qemu_sorted_svsm_ovmf.igvm", "33_ib_qemu_sorted_nofw.igvm"} {
		t.Run(name, func(t *testing.T) {
			f := openIGVM(t, filepath.Join(igvmConformanceDir, name))
			_, err := IGVMQEMU(f, QEMUOptions{VCPUs: 1})
			var de *DirectiveError
			if !errors.As(err, &de) || !errors.Is(err, ErrQEMURefuses) || !strings.Contains(de.Directive, "MADT") {
				t.Fatalf("QEMU 10.2: %v, want a refusal of the MADT directive", err)
			}
			qo := QEMUOptions{VCPUs: 1, IgnoreUnhandledParameters: true}
			div, err := CompareIGVMLoaders(context.Background(), f, IGVMMeasureOptions{}, qo)
			if err != nil {
				t.Fatal(err)
			}
			if div != nil {
				t.Fatalf("the loaders part: %s", div)
			}
			q, err := IGVMQEMU(f, qo)
			if err != nil {
				t.Fatal(err)
			}
			d, err := q.Measure(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if want := igvmmeasureDigest(t, name); d.String() != want {
				t.Fatalf("qemu loader %s, igvmmeasure %s", d, want)
			}
			// More vCPUs add reset-state VMSAs: the loaders part at the second VMSA.
			qo.VCPUs = 2
			div, err = CompareIGVMLoaders(context.Background(), f, IGVMMeasureOptions{}, qo)
			if err != nil {
				t.Fatal(err)
			}
			if div == nil || div.Reason != "length" || div.QEMU == nil || div.QEMU.Source != "vmsa[1]" {
				t.Fatalf("2 vCPUs: divergence %v, want the extra vmsa[1]", div)
			}
		})
	}
}

// How the loaders compare on the other conformance files: the comparison
// names the first directive where they part.
func TestIGVMLoadersCompareConformanceFiles(t *testing.T) {
	tests := []struct {
		file  string
		vcpus int
		want  string // "" when they agree
	}{
		// Four VMSAs at KVM's GPA, last in the file, as KVM rebuilds them.
		{"04_snp_multi_vp_kvm_gpa.igvm", 4, ""},
		// QEMU refuses a VP context for a vCPU the guest does not have.
		{"04_snp_multi_vp_kvm_gpa.igvm", 1, "QEMU refuses the file: offset 0x168: directive[9] VP_CONTEXT"},
		// The whole area of the first insert goes ahead of the pending pages.
		{"06_snp_params.igvm", 1, "update 0, page type differs: igvmmeasure directive[5] PAGE_DATA NORMAL at GPA 0x10000, qemu directive[7] PARAMETER_INSERT UNMEASURED at GPA 0x7000"},
		// The file's VMSA has CR4 0; KVM sets the host's CR4.MCE.
		{"11_snp_firmware_image.igvm", 1, "update 528, contents differs: igvmmeasure directive[528] VP_CONTEXT VMSA at GPA 0xfffffffff000, qemu vmsa[0] VMSA"},
		// The SEV-ES VMSA, measured by igvmmeasure whatever its mask.
		{"07_multi_platform.igvm", 1, "update 11, length differs: igvmmeasure directive[16] VP_CONTEXT VMSA"},
		{"01_snp_basic.igvm", 1, ""},
		{"01_snp_basic.igvm", 2, "length differs: igvmmeasure (no more updates), qemu vmsa[1]"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s %d vCPUs", tc.file, tc.vcpus), func(t *testing.T) {
			f := openIGVM(t, filepath.Join(igvmConformanceDir, tc.file))
			div, err := CompareIGVMLoaders(context.Background(), f, IGVMMeasureOptions{}, QEMUOptions{VCPUs: tc.vcpus, Signature: 0xa00f11})
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.want == "" && div != nil:
				t.Fatalf("the loaders part: %s", div)
			case tc.want != "" && div == nil:
				t.Fatal("the loaders agree")
			case tc.want != "" && !strings.Contains(div.String(), tc.want):
				t.Fatalf("divergence %q, want %q", div, tc.want)
			}
		})
	}
}

// Each loader gives the same digest every time, on any number of CPUs, by
// Digest, Measure and the last of Updates.
func TestIGVMDeterminism(t *testing.T) {
	for _, name := range []string{"11_snp_firmware_image.igvm", "32_ib_qemu_sorted_svsm_ovmf.igvm"} {
		f := openIGVM(t, filepath.Join(igvmConformanceDir, name))
		var first Digest
		for i, procs := range []int{1, 2, 4, 2} {
			prev := runtime.GOMAXPROCS(procs)
			for _, loader := range []IGVMLoader{LoaderIGVMMeasure, LoaderQEMU} {
				var l *IGVMLaunch
				var err error
				if loader == LoaderQEMU {
					l, err = IGVMQEMU(f, QEMUOptions{VCPUs: 1, IgnoreUnhandledParameters: true})
				} else {
					l, err = IGVMMeasure(f, IGVMMeasureOptions{})
				}
				if err != nil {
					t.Fatal(err)
				}
				d := l.Digest()
				var last Digest
				for _, ld := range l.Updates() {
					last = ld
				}
				m, err := l.Measure(context.Background(), nil)
				if err != nil || d != last || d != m {
					t.Fatalf("%s %s: Digest %s, Updates %s, Measure %s %v", name, loader, d, last, m, err)
				}
				if i == 0 && loader == LoaderIGVMMeasure {
					first = d
				}
				if loader == LoaderIGVMMeasure && d != first {
					t.Fatalf("%s: %s with GOMAXPROCS %d, %s before", name, d, procs, first)
				}
			}
			runtime.GOMAXPROCS(prev)
		}
	}
}
