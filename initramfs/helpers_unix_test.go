//go:build unix

package initramfs

import "syscall"

func mkfifo(path string) error { return syscall.Mkfifo(path, 0o644) }

// setUmask sets the process umask and returns the previous one.
func setUmask(m int) int { return syscall.Umask(m) }
