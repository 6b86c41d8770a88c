package launchdigest

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/snpmeasure/snpmeasure/ovmf"
)

// Sizes of the SEV hashes table that QEMU fills for kernel-hashes=on
// (QEMU target/i386/sev.c, edk2 OvmfPkg BlobVerifierLibSevHashes).
const (
	// HashTableEntrySize is one entry: GUID, u16 length, SHA-256.
	HashTableEntrySize = ovmf.GUIDSize + 2 + sha256.Size
	// HashTableSize is the unpadded table: header GUID, u16 length, three entries.
	HashTableSize = ovmf.GUIDSize + 2 + 3*HashTableEntrySize
	// PaddedHashTableSize is the table padded to a multiple of 16 bytes, as measured.
	PaddedHashTableSize = (HashTableSize + 15) &^ 15
)

// GUIDs of the hashes table and its entries.
var (
	HashTableHeaderGUID = ovmf.MustParseGUID("9438d606-4f22-4cc9-b479-a793d411fd21")
	CmdlineEntryGUID    = ovmf.MustParseGUID("97d02dd8-bd20-4c94-aa78-e7714d36ab2a")
	InitrdEntryGUID     = ovmf.MustParseGUID("44baf731-3a2f-4bd7-9af1-41e29169781d")
	KernelEntryGUID     = ovmf.MustParseGUID("4de79437-abd2-427f-b835-d5b172d2045b")
)

// KernelHashes are the SHA-256 digests QEMU places in the firmware's hashes
// table: of the kernel file, the initrd file (empty input when there is none)
// and the NUL-terminated command line.
type KernelHashes struct {
	Kernel  [sha256.Size]byte
	Initrd  [sha256.Size]byte
	Cmdline [sha256.Size]byte
}

// CmdlineHash returns the hash QEMU measures for a kernel command line: the
// UTF-8 bytes followed by a NUL; an empty command line is a lone NUL.
func CmdlineHash(cmdline string) [sha256.Size]byte {
	h := sha256.New()
	io.WriteString(h, cmdline)
	h.Write([]byte{0})
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// EmptyHash is the SHA-256 of empty input, the initrd hash when there is no initrd.
var EmptyHash = sha256.Sum256(nil)

// Table returns the padded hashes table.
func (k *KernelHashes) Table() [PaddedHashTableSize]byte {
	var t [PaddedHashTableSize]byte
	copy(t[0:], HashTableHeaderGUID[:])
	binary.LittleEndian.PutUint16(t[ovmf.GUIDSize:], HashTableSize)
	off := ovmf.GUIDSize + 2
	for _, e := range []struct {
		g ovmf.GUID
		h *[sha256.Size]byte
	}{{CmdlineEntryGUID, &k.Cmdline}, {InitrdEntryGUID, &k.Initrd}, {KernelEntryGUID, &k.Kernel}} {
		copy(t[off:], e.g[:])
		binary.LittleEndian.PutUint16(t[off+ovmf.GUIDSize:], HashTableEntrySize)
		copy(t[off+ovmf.GUIDSize+2:], e.h[:])
		off += HashTableEntrySize
	}
	return t
}

// ErrHashTableOffset is returned when the table would cross the page end.
var ErrHashTableOffset = errors.New("hashes table does not fit in its page")

// Page returns the 4 KiB kernel-hashes page: zeros with the padded table at
// the offset of the firmware's hash-table GPA within its page.
func (k *KernelHashes) Page(tableGPA uint32) (*[PageSize]byte, error) {
	off := int(tableGPA & (PageSize - 1))
	if off+PaddedHashTableSize > PageSize {
		return nil, fmt.Errorf("%w: hash table GPA %#x leaves %d bytes, need %d",
			ErrHashTableOffset, tableGPA, PageSize-off, PaddedHashTableSize)
	}
	var p [PageSize]byte
	t := k.Table()
	copy(p[off:], t[:])
	return &p, nil
}
