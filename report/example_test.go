package report_test

import (
	"encoding/hex"
	"fmt"

	"github.com/snpmeasure/snpmeasure/report"
)

// Example reads a real Milan report, checks its measurement and VMPL, and
// verifies its signature offline with its VCEK and AMD's built-in roots.
func Example() {
	r, err := report.ReadFile("testdata/milan-attestation.bin", report.FormatAuto)
	if err != nil {
		fmt.Println(err)
		return
	}
	vcek, err := report.ReadCertificate("testdata/milan-vcek.der")
	if err != nil {
		fmt.Println(err)
		return
	}
	want, _ := hex.DecodeString("b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01")
	vmpl := uint32(0)
	res, err := r.Verify(&report.Options{
		Expect:      report.Expectations{Measurement: want, VMPL: &vmpl},
		Endorsement: vcek,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range res.Checks {
		fmt.Printf("%-22s %v\n", c.Name, c.OK)
	}
	fmt.Println("ok:", res.OK)
	// Output:
	// measurement            true
	// vmpl                   true
	// signature              true
	// certificate chain      true
	// go-sev-guest validate  true
	// ok: true
}

// ExampleParseEncoded shows format detection and the one-line errors.
func ExampleParseEncoded() {
	_, err := report.ParseEncoded([]byte("0a0b0c"), report.FormatAuto)
	fmt.Println(err)
	_, err = report.ParseEncoded([]byte("not a report!"), report.FormatAuto)
	fmt.Println(err)
	// Output:
	// hex: 3 bytes, want at least 1184
	// 13 bytes of text, neither hex nor base64: offset 12: byte '!' is not a base64 character
}
