package refvalues_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/snpmeasure/snpmeasure/ovmf"
	"github.com/snpmeasure/snpmeasure/refvalues"
)

// Example fills a document with one configuration and encodes it for
// Trustee's RVPS and as a CoRIM of the default profile (Veraison's: the
// environment's instance is the measurement) and of the 2025 draft.
func Example() {
	d := refvalues.New("0.1.0")
	d.Inputs.Firmware = refvalues.NewFirmware("OVMF.fd", sha256.Sum256(nil), &ovmf.Image{Size: 4096, HasMetadata: true})
	var m refvalues.Measurement384
	m[0] = 0xab
	d.Measurements = append(d.Measurements, refvalues.Measurement{
		VCPUs: 4, VCPUType: "EPYC-Milan", VCPUSig: 0xa00f11, VMMType: "QEMU", GuestFeatures: 0x1, Measurement: m,
	})
	p, err := d.RVPSProvenance()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(p[:60]))
	var c bytes.Buffer
	if err := d.Encode(&c, refvalues.FormatCoRIM); err != nil {
		fmt.Println(err)
		return
	}
	back, err := refvalues.DecodeCoRIM(c.Bytes())
	if err != nil {
		fmt.Println(err)
		return
	}
	r := back.References[0]
	fmt.Println(back.Profile, len(back.References), r.Measurement.String()[:8], hex.EncodeToString(r.Instance)[:8])
	draft, err := d.CoRIMFor(refvalues.CoRIMProfile2025)
	if err != nil {
		fmt.Println(err)
		return
	}
	if back, err = refvalues.DecodeCoRIM(draft); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(back.Profile, len(back.References), back.References[0].Instance == nil)
	fmt.Println(refvalues.CoRIMMediaType(refvalues.CoRIMProfile))
	// Output:
	// {"snp_launch_measurement":["ab000000000000000000000000000000
	// tag:amd.com,2024:snp-corim-profile 2 ab000000 ab000000
	// tag:amd.com,2025:snp-corim-profile 2 true
	// application/rim+cbor; profile="tag:amd.com,2024:snp-corim-profile"
}
