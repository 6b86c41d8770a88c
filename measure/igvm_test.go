package measure_test

import (
	"context"
	"testing"

	"github.com/snpmeasure/snpmeasure/launchdigest"
	"github.com/snpmeasure/snpmeasure/measure"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

// TestIGVMSpaceBelowVPContexts: 04_snp_multi_vp_kvm_gpa has four VP
// contexts, so the qemu loader cannot launch it with fewer vCPUs.
// Enumerate (reference values for every point asked for) refuses such a
// space; Search leaves those counts out and finds the rest.
func TestIGVMSpaceBelowVPContexts(t *testing.T) {
	ctx := context.Background()
	c := &measure.Config{Mode: measure.SNP, IGVM: "../igvm/testdata/conformance/04_snp_multi_vp_kvm_gpa.igvm", IGVMLoader: launchdigest.LoaderQEMU}
	in, err := measure.Open(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	milan := measure.CPU{Name: "EPYC-Milan", Signature: sig(t, "EPYC-Milan")}
	s := &measure.Space{VCPUs: []int{1, 2, 3, 4, 5, 6}, CPUs: []measure.CPU{milan}, VMMs: []vmsa.VMM{vmsa.QEMU}, GuestFeatures: []uint64{0}}
	if err := in.Enumerate(ctx, s, func(measure.Point) bool { return true }); err == nil {
		t.Error("Enumerate measured vCPU counts the file cannot launch with")
	}
	var five launchdigest.Digest
	if err := in.Enumerate(ctx, &measure.Space{VCPUs: []int{4, 5, 6}, CPUs: []measure.CPU{milan}, VMMs: []vmsa.VMM{vmsa.QEMU}, GuestFeatures: []uint64{0}}, func(p measure.Point) bool {
		if p.VCPUs == 5 {
			five = p.Measurement
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	got, err := in.Search(ctx, s, five)
	if err != nil || len(got) != 1 || got[0].VCPUs != 5 {
		t.Errorf("Search: %+v, %v; want the 5-vCPU point", got, err)
	}
}
