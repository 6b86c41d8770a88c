package measure_test

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/snpmeasure/snpmeasure/launchdigest"
	"github.com/snpmeasure/snpmeasure/measure"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

// Measure an AmdSevX64 firmware with a kernel, an initrd and a command
// line, launched by QEMU with 4 EPYC-Milan vCPUs.
func ExampleMeasure() {
	milan, _ := vmsa.LookupCPUType("EPYC-Milan")
	res, err := measure.Measure(context.Background(), &measure.Config{
		Mode:          measure.SNP,
		Firmware:      "../testdata/inputs/sid-OVMF.amdsev.fd",
		Kernel:        "../testdata/inputs/synth-kernel-12345.bin",
		Initrd:        "../testdata/inputs/synth-initrd-5M.img",
		Cmdline:       "console=ttyS0 root=/dev/vda",
		VCPUs:         4,
		VMM:           vmsa.QEMU,
		Signature:     milan.Signature(),
		GuestFeatures: measure.DefaultGuestFeatures,
	}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(hex.EncodeToString(res.Digest))
	fmt.Println(res.Launch.NumUpdates(), "SNP_LAUNCH_UPDATEs")
	// Output:
	// b8cafa5bddc1d238c3e312427508fc1a6b5bc301f9d7839282f99b20a206db8f9ad44c8d461b56bcf256f05a325e1ab2
	// 1075 SNP_LAUNCH_UPDATEs
}

// Find which vCPU count, type, VMM and guest features produced a report's
// measurement.
func ExampleInputs_Search() {
	in, err := measure.Open(context.Background(), &measure.Config{
		Mode:     measure.SNP,
		Firmware: "../testdata/inputs/sid-OVMF.amdsev.fd",
		Kernel:   "../testdata/inputs/synth-kernel-12345.bin",
		Initrd:   "../testdata/inputs/synth-initrd-5M.img",
		Cmdline:  "console=ttyS0 root=/dev/vda",
	}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	vcpus, _ := measure.ParseCounts("1-64")
	space := &measure.Space{
		VCPUs:         vcpus,
		CPUs:          measure.CPUTypes(),
		VMMs:          vmsa.VMMs,
		GuestFeatures: measure.DefaultGuestFeatureSet,
		KVMInits:      vmsa.KVMInits,
	}
	// The MEASUREMENT of cmd/snpmeasure/testdata/reports/milan-4vcpu.bin.
	target, _ := launchdigest.ParseDigest("b8cafa5bddc1d238c3e312427508fc1a6b5bc301f9d7839282f99b20a206db8f9ad44c8d461b56bcf256f05a325e1ab2")
	matches, err := in.Search(context.Background(), space, target)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("searched %d configurations\n", space.Size())
	for _, p := range matches {
		fmt.Println(p.VCPUs, p.CPU, p.VMM, fmt.Sprintf("%#x", p.GuestFeatures), p.KVMInit)
	}
	// Output:
	// searched 16384 configurations
	// 4 EPYC-Milan QEMU 0x1 init2
	// 4 EPYC-Milan-v1 QEMU 0x1 init2
	// 4 EPYC-Milan-v2 QEMU 0x1 init2
}
