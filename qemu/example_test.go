package qemu_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/snpmeasure/snpmeasure/qemu"
)

func Example() {
	l := &qemu.Launch{
		Firmware: "OVMF.amdsev.fd",
		Kernel:   "vmlinuz", Append: "console=ttyS0",
		VCPUs:         4,
		CPUModel:      "EPYC-Genoa",
		GuestFeatures: qemu.FeatureSNPActive,
		Policy:        0x30000,
		MemoryMiB:     4096,
	}
	cl, err := l.Build(qemu.Version{Major: 10, Minor: 0})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.Join(cl.Args, " "))

	// EPYC-Turin came in QEMU 10.1: 10.0 refuses it.
	l.CPUModel = "EPYC-Turin"
	_, err = l.Build(qemu.Version{Major: 10, Minor: 0})
	var refused *qemu.RefusedError
	fmt.Println(errors.As(err, &refused), refused.Field)
	// Output:
	// -enable-kvm -machine q35,confidential-guest-support=sev0,memory-backend=ram1 -object memory-backend-memfd,id=ram1,size=4G,share=true,prealloc=false -m 4G -cpu EPYC-Genoa -smp 4 -bios OVMF.amdsev.fd -kernel vmlinuz -append console=ttyS0 -object sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,policy=0x30000,kernel-hashes=on
	// true vcpu-type
}
