package initramfs

import (
	"fmt"
	"path"
	"strconv"
)

// The newc cpio format.
const (
	// NewcHeaderSize is the size of a newc header: a 6-byte magic and 13
	// fields of 8 hex digits.
	NewcHeaderSize = 110
	// NewcMagic starts a newc header without checksums.
	NewcMagic = "070701"
	// NewcCRCMagic starts a newc header whose check field is the sum of the
	// bytes of a regular file's data.
	NewcCRCMagic = "070702"
	// TrailerName is the name of the record that ends an archive.
	TrailerName = "TRAILER!!!"
	// MaxNameSize bounds the name size field (the name with its NUL) and
	// the length of a symbolic link target: PATH_MAX, as in the kernel.
	MaxNameSize = 4096
	// MaxFileSize is the largest file a newc archive can hold.
	MaxFileSize = 1<<32 - 1
	// MaxWindowSize bounds the window (dictionary) a compressed segment
	// may ask the decompressor to allocate.
	MaxWindowSize = 1 << 27
)

// Byte offsets of the newc header fields; each is 8 hex digits.
const (
	offIno       = 6
	offMode      = 14
	offUID       = 22
	offGID       = 30
	offNLink     = 38
	offMTime     = 46
	offFileSize  = 54
	offDevMajor  = 62
	offDevMinor  = 70
	offRDevMajor = 78
	offRDevMinor = 86
	offNameSize  = 94
	offCheck     = 102
)

var fieldNames = [...]string{
	"ino", "mode", "uid", "gid", "nlink", "mtime", "filesize",
	"devmajor", "devminor", "rdevmajor", "rdevminor", "namesize", "check",
}

// File type bits of a cpio mode (st_mode).
const (
	ModeTypeMask = 0o170000
	ModeSocket   = 0o140000
	ModeSymlink  = 0o120000
	ModeRegular  = 0o100000
	ModeBlock    = 0o060000
	ModeDir      = 0o040000
	ModeChar     = 0o020000
	ModeFIFO     = 0o010000
	ModePerm     = 0o007777 // permission, setuid, setgid and sticky bits
)

// Compression identifies how a segment of an initramfs is compressed.
type Compression int

// Compressions the reader detects; the builder writes None, Gzip and Zstd.
const (
	None Compression = iota
	Gzip
	Bzip2
	XZ
	LZMA
	LZ4
	Zstd
	LZO
)

var compressionNames = [...]string{"none", "gzip", "bzip2", "xz", "lzma", "lz4", "zstd", "lzo"}

func (c Compression) String() string {
	if c >= 0 && int(c) < len(compressionNames) {
		return compressionNames[c]
	}
	return "compression(" + strconv.Itoa(int(c)) + ")"
}

// ParseCompression parses a compression name as String prints it.
func ParseCompression(s string) (Compression, error) {
	for i, n := range compressionNames {
		if n == s {
			return Compression(i), nil
		}
	}
	return None, fmt.Errorf("unknown compression %q", s)
}

// Entry is one record of a cpio archive.
type Entry struct {
	// Name is the path as stored (usually without a leading slash).
	Name string
	// Mode is the full st_mode: type and permission bits.
	Mode                 uint32
	UID, GID             uint32
	NLink                uint32
	MTime                uint32
	Ino                  uint32
	DevMajor, DevMinor   uint32
	RDevMajor, RDevMinor uint32
	// Size is the size of the record's data: the file size for regular
	// files, the target length for symbolic links.
	Size int64
	// Check is the header's check field (070702 archives only).
	Check uint32
	// CRC reports a "070702" header.
	CRC bool
	// Linkname is the target of a symbolic link.
	Linkname string

	// Offset is the offset of the header: in the file, or in the
	// decompressed data of a compressed segment.
	Offset int64
	// Segment is where the entry's archive lies in the file.
	Segment Segment

	// SHA256 is the digest of a regular file's data, set by List.
	SHA256 []byte
	// HardLink is set by List on every name of a hard-linked file but the
	// first: the first name.
	HardLink string
}

// Segment describes the part of the input holding an entry.
type Segment struct {
	// Index counts the compressed and uncompressed segments from 0.
	Index int
	// Offset is the segment's offset in the file.
	Offset int64
	// Compression of the segment.
	Compression Compression
	// Archive counts the cpio archives (TRAILER!!!-terminated) from 0.
	Archive int
}

// Type returns the file type bits of the mode.
func (e *Entry) Type() uint32 { return e.Mode & ModeTypeMask }

// IsRegular reports a regular file.
func (e *Entry) IsRegular() bool { return e.Type() == ModeRegular }

// IsDir reports a directory.
func (e *Entry) IsDir() bool { return e.Type() == ModeDir }

// IsSymlink reports a symbolic link.
func (e *Entry) IsSymlink() bool { return e.Type() == ModeSymlink }

// IsDevice reports a character or block device.
func (e *Entry) IsDevice() bool { return e.Type() == ModeChar || e.Type() == ModeBlock }

// Path returns the cleaned absolute path the kernel creates for the entry.
func (e *Entry) Path() string { return path.Clean("/" + e.Name) }

// TypeName names the file type: file, dir, symlink, char, block, fifo,
// socket or unknown.
func (e *Entry) TypeName() string { return typeName(e.Mode) }

func typeName(mode uint32) string {
	switch mode & ModeTypeMask {
	case ModeRegular:
		return "file"
	case ModeDir:
		return "dir"
	case ModeSymlink:
		return "symlink"
	case ModeChar:
		return "char"
	case ModeBlock:
		return "block"
	case ModeFIFO:
		return "fifo"
	case ModeSocket:
		return "socket"
	}
	return "unknown"
}

// ModeString formats a cpio mode as ls -l does, e.g. "-rwxr-xr-x".
func ModeString(mode uint32) string {
	b := []byte("?---------")
	switch mode & ModeTypeMask {
	case ModeRegular:
		b[0] = '-'
	case ModeDir:
		b[0] = 'd'
	case ModeSymlink:
		b[0] = 'l'
	case ModeChar:
		b[0] = 'c'
	case ModeBlock:
		b[0] = 'b'
	case ModeFIFO:
		b[0] = 'p'
	case ModeSocket:
		b[0] = 's'
	}
	const rwx = "rwxrwxrwx"
	for i := 0; i < 9; i++ {
		if mode&(1<<(8-i)) != 0 {
			b[1+i] = rwx[i]
		}
	}
	special := func(bit uint32, pos int, set, unset byte) {
		if mode&bit == 0 {
			return
		}
		if b[pos] == '-' {
			b[pos] = unset
		} else {
			b[pos] = set
		}
	}
	special(0o4000, 3, 's', 'S')
	special(0o2000, 6, 's', 'S')
	special(0o1000, 9, 't', 'T')
	return string(b)
}
