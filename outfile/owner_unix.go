//go:build unix

package outfile

import (
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// writable reports whether the caller may write path (root may write any file).
func writable(path string) bool { return unix.Access(path, unix.W_OK) == nil }

// keepOwner gives the replacement the owner of the file it replaces, when
// running as root (anyone else cannot, and creates files as themselves).
func keepOwner(f *os.File, st fs.FileInfo) {
	if s, ok := st.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
		f.Chown(int(s.Uid), int(s.Gid))
	}
}
