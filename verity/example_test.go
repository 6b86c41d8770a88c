package verity_test

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/snpmeasure/snpmeasure/verity"
)

// Format a 1 MiB image with a fixed salt and UUID (veritysetup format
// --salt ... --uuid ...) and print what the kernel needs to enforce it.
func Example() {
	dir, err := os.MkdirTemp("", "verity-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	image := bytes.Repeat([]byte("snpmeasure"), 1<<20/10+1)[:1<<20]
	hashFile, err := os.Create(filepath.Join(dir, "root.hash"))
	if err != nil {
		log.Fatal(err)
	}
	defer hashFile.Close()

	p := verity.Params{
		HashType:      verity.HashTypeNormal,
		Algorithm:     "sha256",
		DataBlockSize: verity.DefaultBlockSize,
		HashBlockSize: verity.DefaultBlockSize,
		Salt:          []byte{0x01, 0x02, 0x03, 0x04},
		UUID:          verity.UUID{15: 1},
	}
	res, err := verity.Format(bytes.NewReader(image), int64(len(image)), hashFile, p)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("root hash:  ", res.RootHashHex())
	fmt.Println("data blocks:", res.Layout.DataBlocks)
	fmt.Println("hash offset:", res.HashOffset())
	fmt.Println(res.DMModCreate("vroot", "/dev/vda", "/dev/vdb"))
	// Output:
	// root hash:   2a6dec524b53de114af4c24195345a49dedb5e841650966133636f9d58486499
	// data blocks: 256
	// hash offset: 4096
	// dm-mod.create="vroot,,,ro,0 2048 verity 1 /dev/vda /dev/vdb 4096 4096 256 1 sha256 2a6dec524b53de114af4c24195345a49dedb5e841650966133636f9d58486499 01020304"
}
