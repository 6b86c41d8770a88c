package igvm_test

import (
	"fmt"
	"os"

	"github.com/snpmeasure/snpmeasure/igvm"
)

// Example opens an IGVM file and streams its directives.
func Example() {
	fh, err := os.Open("testdata/conformance/06_snp_params.igvm")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer fh.Close()
	st, _ := fh.Stat()
	f, err := igvm.Open(fh, st.Size())
	if err != nil {
		fmt.Println(err)
		return
	}
	mask, _ := f.Platform(igvm.PlatformSEVSNP)
	fmt.Printf("version %d, SEV-SNP mask %#x\n", f.Fixed.FormatVersion, mask)
	for h, err := range f.Directives() {
		if err != nil {
			fmt.Println(err)
			return
		}
		switch d := h.Body.(type) {
		case igvm.PageData:
			fmt.Printf("%s GPA %#x data %v\n", h.Name(), d.GPA, d.HasData())
		case igvm.ParameterArea:
			fmt.Printf("%s index %d, %#x bytes\n", h.Name(), d.Index, d.NumberOfBytes)
		default:
			fmt.Println(h.Name())
		}
	}
	// Output:
	// version 1, SEV-SNP mask 0x1
	// directive[0] PARAMETER_AREA index 0, 0x1000 bytes
	// directive[1] VP_COUNT_PARAMETER
	// directive[2] ENVIRONMENT_INFO_PARAMETER
	// directive[3] PARAMETER_AREA index 1, 0x2000 bytes
	// directive[4] MEMORY_MAP
	// directive[5] PAGE_DATA GPA 0x10000 data true
	// directive[6] PAGE_DATA GPA 0x11000 data true
	// directive[7] PARAMETER_INSERT
	// directive[8] PAGE_DATA GPA 0x12000 data true
	// directive[9] PAGE_DATA GPA 0x13000 data true
	// directive[10] PARAMETER_INSERT
	// directive[11] REQUIRED_MEMORY
	// directive[12] PAGE_DATA GPA 0x14000 data false
	// directive[13] VP_CONTEXT
}
