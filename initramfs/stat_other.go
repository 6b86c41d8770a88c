//go:build !unix

package initramfs

import "io/fs"

// fileID is unavailable: no hard links are detected.
func fileID(fs.FileInfo) (dev, ino, nlink uint64, ok bool) { return 0, 0, 0, false }

// rdev is unavailable: device numbers are 0.
func rdev(fs.FileInfo) (major, minor uint32) { return 0, 0 }
