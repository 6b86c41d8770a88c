package vmsa_test

import (
	"fmt"

	"github.com/snpmeasure/snpmeasure/vmsa"
)

func Example() {
	cpu, _ := vmsa.LookupCPUType("EPYC-Milan")
	bsp := vmsa.Build(vmsa.Params{VMM: vmsa.QEMU, EIP: vmsa.ResetEIP, SEVFeatures: 0x1, Signature: cpu.Signature()})
	fmt.Printf("signature %#x, rip %#x, rdx %#x\n", cpu.Signature(), bsp.Uint64(vmsa.OffRIP), bsp.Uint64(vmsa.OffRDX))
	fmt.Printf("%v VMSA GPA on gce: %#x\n", vmsa.ProductOf(0xa10f10), vmsa.LaunchGPA(vmsa.GCE, vmsa.ProductOf(0xa10f10)))
	// Output:
	// signature 0xa00f11, rip 0xfff0, rdx 0xa00f11
	// Genoa VMSA GPA on gce: 0xffffffffff000
}
