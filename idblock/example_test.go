package idblock_test

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"

	"github.com/snpmeasure/snpmeasure/idblock"
)

// Example signs an ID block for a launch measurement and verifies it, as
// snp-create-id-block and QEMU's sev-snp-guest id-block/id-auth expect.
func Example() {
	pemData, err := os.ReadFile("testdata/id_key_test.pem")
	if err != nil {
		fmt.Println(err)
		return
	}
	idKey, err := idblock.ParsePrivateKeyPEM(pemData)
	if err != nil {
		fmt.Println(err)
		return
	}
	var ld [idblock.MeasurementSize]byte // the launch measurement
	block := idblock.NewBlock(ld)
	block.GuestSVN = 2
	auth, err := idblock.NewAuth(rand.Reader, block, idKey, nil) // no author key
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(block.Marshal()), len(auth.Marshal()))
	v, err := idblock.Verify(block.Marshal(), auth.Marshal())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("signatures ok:", v.Err() == nil)
	fmt.Println("id_key_hash:", base64.StdEncoding.EncodeToString(v.IDKeyDigest[:]))
	// Output:
	// 96 4096
	// signatures ok: true
	// id_key_hash: hwt+NcU/inLQ0yL3WrKvgmJ5Kq9leWIs5BMcPyHyied8sFYKXjuQs5MuZ07HCcsU
}
