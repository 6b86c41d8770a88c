package ovmf_test

import (
	"fmt"
	"os"

	"github.com/snpmeasure/snpmeasure/ovmf"
)

func Example() {
	f, err := os.Open("../testdata/inputs/sid-OVMF.amdsev.fd")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	st, _ := f.Stat()
	im, err := ovmf.Parse(f, st.Size())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("AP reset EIP %#x, hash table at %#x\n", im.ResetEIP, im.HashTableGPA)
	for _, s := range im.Sections {
		fmt.Printf("%-17s GPA %#08x size %#x\n", s.Type, s.GPA, s.Size)
	}
	// Output:
	// AP reset EIP 0x80b004, hash table at 0x810c00
	// SNP_SEC_MEM       GPA 0x00800000 size 0x9000
	// SNP_SEC_MEM       GPA 0x0080a000 size 0x3000
	// SNP_SECRETS       GPA 0x0080d000 size 0x1000
	// CPUID             GPA 0x0080e000 size 0x1000
	// SVSM_CAA          GPA 0x0080f000 size 0x1000
	// SNP_SEC_MEM       GPA 0x00811000 size 0x1f000
	// SNP_KERNEL_HASHES GPA 0x00810000 size 0x1000
}
