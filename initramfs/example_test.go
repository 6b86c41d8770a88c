package initramfs_test

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/snpmeasure/snpmeasure/initramfs"
)

// Build a small initramfs from a gen_init_cpio manifest and list it.
func Example() {
	dir, err := os.MkdirTemp("", "initramfs-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "init"), []byte("#!/bin/sh\nexec sh\n"), 0o755)
	manifest := filepath.Join(dir, "initramfs.list")
	os.WriteFile(manifest, []byte(`dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
file /init init 0755 0 0
slink /bin/sh busybox 0777 0 0
`), 0o644)

	b := initramfs.NewBuilder()
	if err := b.Add(manifest); err != nil {
		log.Fatal(err)
	}
	var archive bytes.Buffer
	if err := b.Write(&archive, initramfs.None); err != nil {
		log.Fatal(err)
	}
	entries, err := initramfs.List(&archive)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range entries {
		line := initramfs.ModeString(e.Mode) + " " + e.Name
		if e.IsSymlink() {
			line += " -> " + e.Linkname
		}
		fmt.Println(line)
	}
	// Output:
	// drwxr-xr-x bin
	// lrwxrwxrwx bin/sh -> busybox
	// drwxr-xr-x dev
	// crw------- dev/console
	// -rwxr-xr-x init
}
