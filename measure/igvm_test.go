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

// TestIGVMSpaceIDBlock: 14_snp_idblock_signed carries an ID block for its
// one-vCPU launch; QEMU fails the others at SNP_LAUNCH_FINISH. Enumerate
// refuses to list them (IgnoreIDBlock lists them), Search leaves them out.
func TestIGVMSpaceIDBlock(t *testing.T) {
	ctx := context.Background()
	milan := measure.CPU{Name: "EPYC-Milan", Signature: sig(t, "EPYC-Milan")}
	s := &measure.Space{VCPUs: []int{1, 2, 3}, CPUs: []measure.CPU{milan}, VMMs: []vmsa.VMM{vmsa.QEMU}, GuestFeatures: []uint64{0}}
	for _, ignore := range []bool{false, true} {
		c := &measure.Config{Mode: measure.SNP, IGVM: "../igvm/testdata/conformance/14_snp_idblock_signed.igvm", IGVMLoader: launchdigest.LoaderQEMU, IgnoreIDBlock: ignore}
		in, err := measure.Open(ctx, c, nil)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		err = in.Enumerate(ctx, s, func(measure.Point) bool { n++; return true })
		if ignore && (err != nil || n != 3) {
			t.Errorf("IgnoreIDBlock: %d points, %v; want 3", n, err)
		}
		if !ignore && (err == nil || !measure.IsIDBlockMismatch(err)) {
			t.Errorf("Enumerate listed launches the ID block fails: %d points, %v", n, err)
		}
		if !ignore {
			d, _ := launchdigest.ParseDigest("01319f1cee72aec0bff8f14b0f812f16451be8e3e0113ec6e1c260e56e87e6a6d5fb75c17eb887325c8cf4de3c42b7a5")
			got, err := in.Search(ctx, s, d)
			if err != nil || len(got) != 1 || got[0].VCPUs != 1 {
				t.Errorf("Search: %+v, %v", got, err)
			}
		}
		in.Close()
	}
}
