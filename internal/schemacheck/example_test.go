package schemacheck_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"

	"github.com/snpmeasure/snpmeasure/internal/schemacheck"
	"github.com/snpmeasure/snpmeasure/ovmf"
	"github.com/snpmeasure/snpmeasure/refvalues"
)

// Example validates a document as refvalues writes it, and one that lacks
// its measurements.
func Example() {
	d := refvalues.New("0.1.0")
	d.Inputs.Firmware = refvalues.NewFirmware("OVMF.fd", sha256.Sum256(nil), &ovmf.Image{Size: 4096, HasMetadata: true})
	d.Measurements = []refvalues.Measurement{{VCPUs: 1, VCPUType: "EPYC-Milan", VCPUSig: 0xa00f11, VMMType: "QEMU", GuestFeatures: 1}}
	var b bytes.Buffer
	if err := d.EncodeJSON(&b); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(schemacheck.RefValues(b.Bytes()) == nil)
	fmt.Println(schemacheck.RefValues([]byte(`{"schema":"https://snpmeasure.dev/refvalues/v1","version":1}`)) == nil)
	// Output:
	// true
	// false
}
