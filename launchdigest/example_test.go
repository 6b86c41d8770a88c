package launchdigest_test

import (
	"fmt"
	"os"

	"github.com/snpmeasure/snpmeasure/launchdigest"
	"github.com/snpmeasure/snpmeasure/ovmf"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

func Example() {
	f, err := os.Open("../testdata/inputs/sid-OVMF.amdsev.fd")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	st, _ := f.Stat()
	fw, err := ovmf.Parse(f, st.Size())
	if err != nil {
		fmt.Println(err)
		return
	}
	pages, err := launchdigest.HashPages(f, st.Size(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	cpu, _ := vmsa.LookupCPUType("EPYC-Milan")
	l, err := launchdigest.SNP(fw, pages, launchdigest.SNPConfig{
		VCPUs: launchdigest.VCPUs{Count: 4, VMM: vmsa.QEMU, Signature: cpu.Signature(), GuestFeatures: 0x1},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(l.NumUpdates(), "updates")
	fmt.Println(l.Digest())
	// Output:
	// 1075 updates
	// c995d6122aacbc0434128f0c63783f03b7caec3f8f4292948522a00c0395ff126f1633d8346a20aa85f8dd3bd8739a38
}
