//go:build !unix

package outfile

import (
	"io/fs"
	"os"
)

func keepOwner(*os.File, fs.FileInfo) {}

func writable(path string) bool {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err == nil {
		f.Close()
	}
	return err == nil
}
