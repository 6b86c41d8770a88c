//go:build unix

package initramfs

import (
	"io/fs"
	"syscall"

	"golang.org/x/sys/unix"
)

// fileID returns the device and inode numbers and the link count of a file.
func fileID(fi fs.FileInfo) (dev, ino, nlink uint64, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, 0, false
	}
	return uint64(st.Dev), uint64(st.Ino), uint64(st.Nlink), true
}

// rdev returns the major and minor numbers of a device file.
func rdev(fi fs.FileInfo) (major, minor uint32) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0
	}
	r := uint64(st.Rdev)
	return unix.Major(r), unix.Minor(r)
}
