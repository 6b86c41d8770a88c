package ovmf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Sizes and offsets of the structures at the end of an OVMF image.
const (
	// PageSize is the granularity of SNP_LAUNCH_UPDATE.
	PageSize = 4096
	// FooterReserved is the number of bytes at the very end of the image that
	// precede nothing of interest (the reset vector area); the footer entry ends there.
	FooterReserved = 32
	// EntryHeaderSize is the size of a table entry trailer: u16 size then GUID.
	EntryHeaderSize = 2 + GUIDSize
	// FooterOffsetFromEnd is where the footer entry starts, counted back from the end.
	FooterOffsetFromEnd = FooterReserved + EntryHeaderSize
	// MetadataHeaderSize is the size of the 'ASEV' header.
	MetadataHeaderSize = 16
	// SectionDescSize is the size of one SEV metadata section descriptor.
	SectionDescSize = 12
	// MetadataSignature is the 'ASEV' signature of the SEV metadata header.
	MetadataSignature = "ASEV"
	// MetadataVersion is the only SEV metadata version defined.
	MetadataVersion = 1
	// MaxImageSize is the largest firmware that fits below 4 GiB.
	MaxImageSize = 1 << 32
	// MaxSections bounds the SEV metadata section count, so that a hostile
	// count cannot make the parser allocate gigabytes (a 4 GiB image could
	// otherwise claim 357 million). edk2 images have fewer than ten.
	MaxSections = 4096
)

// SectionType is the type of a SEV metadata section.
type SectionType uint32

// SEV metadata section types (edk2 OvmfPkg/Include/WorkArea.h and ResetVector).
const (
	SectionSNPSecMem       SectionType = 1
	SectionSNPSecrets      SectionType = 2
	SectionCPUID           SectionType = 3
	SectionSVSMCAA         SectionType = 4
	SectionSNPKernelHashes SectionType = 0x10
)

// String returns the edk2 name of the section type.
func (t SectionType) String() string {
	switch t {
	case SectionSNPSecMem:
		return "SNP_SEC_MEM"
	case SectionSNPSecrets:
		return "SNP_SECRETS"
	case SectionCPUID:
		return "CPUID"
	case SectionSVSMCAA:
		return "SVSM_CAA"
	case SectionSNPKernelHashes:
		return "SNP_KERNEL_HASHES"
	}
	return fmt.Sprintf("unknown(%#x)", uint32(t))
}

// Known reports whether t is a section type defined by edk2.
func (t SectionType) Known() bool { return t.String()[0] != 'u' }

// Section is one SEV metadata section descriptor.
type Section struct {
	GPA  uint32
	Size uint32
	Type SectionType
	// Offset is the file offset of the descriptor, for error messages.
	Offset int64
}

// End returns the first GPA after the section.
func (s Section) End() uint64 { return uint64(s.GPA) + uint64(s.Size) }

// Entry is one entry of the footer GUID table.
type Entry struct {
	GUID GUID
	// Offset is the file offset of the entry's data.
	Offset int64
	Data   []byte
}

// Image is what the measurement needs to know about a firmware image.
type Image struct {
	// Size is the image size in bytes.
	Size int64
	// Entries lists the footer table entries from the table end backwards,
	// the order in which they are walked.
	Entries []Entry

	// HasResetBlock reports the SEV-ES reset block entry; ResetEIP is its AP reset EIP.
	HasResetBlock bool
	ResetEIP      uint32

	// HasHashTable reports the SEV hash table entry; HashTableGPA and
	// HashTableSize are its contents.
	HasHashTable  bool
	HashTableGPA  uint32
	HashTableSize uint32

	// HasMetadata reports the SEV metadata entry; MetadataOffset is the file
	// offset of the 'ASEV' header and Sections its descriptors in table order.
	HasMetadata    bool
	MetadataOffset int64
	Sections       []Section

	// HasSVSMInfo reports the SVSM info entry; SVSMEntry is the entry point
	// offset from the SVSM load address.
	HasSVSMInfo bool
	SVSMEntry   uint32
}

// FormatError is a malformed firmware image; Offset is the file offset at fault.
type FormatError struct {
	Offset int64
	Msg    string
}

func (e *FormatError) Error() string { return fmt.Sprintf("offset %#x: %s", e.Offset, e.Msg) }

func formatErr(off int64, format string, args ...any) error {
	return &FormatError{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// ErrTooLarge is returned for images that cannot be mapped below 4 GiB.
var ErrTooLarge = errors.New("firmware image is larger than 4 GiB")

// Parse reads the footer GUID table and the SEV metadata of the image of the
// given size. It reads at most the table (64 KiB) and the metadata
// descriptors, never more than the image holds.
func Parse(r io.ReaderAt, size int64) (*Image, error) {
	if size < 0 {
		return nil, formatErr(0, "negative size")
	}
	if size > MaxImageSize {
		return nil, ErrTooLarge
	}
	im := &Image{Size: size}
	if size < FooterOffsetFromEnd {
		return im, nil // too small for a table: no entries
	}
	footerOff := size - FooterOffsetFromEnd
	var hdr [EntryHeaderSize]byte
	if _, err := r.ReadAt(hdr[:], footerOff); err != nil {
		return nil, fmt.Errorf("reading footer at offset %#x: %w", footerOff, err)
	}
	if GUID(hdr[2:]) != FooterGUID {
		return im, nil
	}
	tableLen := int64(binary.LittleEndian.Uint16(hdr[0:2])) - EntryHeaderSize
	if tableLen <= 0 {
		return im, nil
	}
	if tableLen > footerOff {
		return nil, formatErr(footerOff, "footer table size %d exceeds the %d bytes before the footer",
			tableLen+EntryHeaderSize, footerOff)
	}
	tableOff := footerOff - tableLen
	table := make([]byte, tableLen) // at most 64 KiB (u16 length)
	if _, err := r.ReadAt(table, tableOff); err != nil {
		return nil, fmt.Errorf("reading footer table at offset %#x: %w", tableOff, err)
	}
	if err := im.walkTable(table, tableOff); err != nil {
		return nil, err
	}
	if err := im.interpret(); err != nil {
		return nil, err
	}
	if im.HasMetadata {
		if err := im.parseMetadata(r); err != nil {
			return nil, err
		}
	}
	return im, nil
}

// walkTable walks the entries backwards from the end of the table.
func (im *Image) walkTable(table []byte, tableOff int64) error {
	end := len(table)
	for end >= EntryHeaderSize {
		trailer := end - EntryHeaderSize
		entrySize := int(binary.LittleEndian.Uint16(table[trailer:]))
		off := tableOff + int64(trailer)
		if entrySize < EntryHeaderSize {
			return formatErr(off, "footer table entry size %d is smaller than its %d-byte header",
				entrySize, EntryHeaderSize)
		}
		if entrySize > end {
			return formatErr(off, "footer table entry size %d exceeds the %d table bytes before it",
				entrySize, end)
		}
		start := end - entrySize
		im.Entries = append(im.Entries, Entry{
			GUID:   GUID(table[trailer+2 : end]),
			Offset: tableOff + int64(start),
			Data:   table[start:trailer],
		})
		end = start
	}
	return nil
}

// Lookup returns the entry for g. When a GUID appears twice, the entry
// nearest the start of the table wins, as the reference tool does.
func (im *Image) Lookup(g GUID) (Entry, bool) {
	for i := len(im.Entries) - 1; i >= 0; i-- {
		if im.Entries[i].GUID == g {
			return im.Entries[i], true
		}
	}
	return Entry{}, false
}

func (e Entry) u32(i int) (uint32, error) {
	if len(e.Data) < 4*(i+1) {
		return 0, formatErr(e.Offset, "%s entry has %d data bytes, need %d",
			entryName(e.GUID), len(e.Data), 4*(i+1))
	}
	return binary.LittleEndian.Uint32(e.Data[4*i:]), nil
}

func entryName(g GUID) string {
	if n := g.Name(); n != "" {
		return n
	}
	return g.String()
}

func (im *Image) interpret() error {
	var err error
	if e, ok := im.Lookup(SEVESResetBlockGUID); ok {
		im.HasResetBlock = true
		if im.ResetEIP, err = e.u32(0); err != nil {
			return err
		}
	}
	if e, ok := im.Lookup(SEVHashTableGUID); ok {
		im.HasHashTable = true
		if im.HashTableGPA, err = e.u32(0); err != nil {
			return err
		}
		if len(e.Data) >= 8 {
			im.HashTableSize = binary.LittleEndian.Uint32(e.Data[4:])
		}
	}
	if e, ok := im.Lookup(SEVMetadataGUID); ok {
		im.HasMetadata = true
		back, err := e.u32(0)
		if err != nil {
			return err
		}
		if int64(back) > im.Size || back < MetadataHeaderSize {
			return formatErr(e.Offset, "SEV metadata offset %#x points outside the %d-byte image", back, im.Size)
		}
		im.MetadataOffset = im.Size - int64(back)
	}
	if e, ok := im.Lookup(SVSMInfoGUID); ok {
		im.HasSVSMInfo = true
		if im.SVSMEntry, err = e.u32(0); err != nil {
			return err
		}
	}
	return nil
}

func (im *Image) parseMetadata(r io.ReaderAt) error {
	off := im.MetadataOffset
	var hdr [MetadataHeaderSize]byte
	if _, err := r.ReadAt(hdr[:], off); err != nil {
		return fmt.Errorf("reading SEV metadata at offset %#x: %w", off, err)
	}
	if string(hdr[0:4]) != MetadataSignature {
		return formatErr(off, "wrong SEV metadata signature %q, want %q", hdr[0:4], MetadataSignature)
	}
	if v := binary.LittleEndian.Uint32(hdr[8:12]); v != MetadataVersion {
		return formatErr(off+8, "wrong SEV metadata version %d, want %d", v, MetadataVersion)
	}
	n := int64(binary.LittleEndian.Uint32(hdr[12:16]))
	descOff := off + MetadataHeaderSize
	if avail := (im.Size - descOff) / SectionDescSize; n > avail {
		return formatErr(off+12, "SEV metadata claims %d sections but only %d fit in the image", n, avail)
	}
	if n > MaxSections {
		return formatErr(off+12, "SEV metadata claims %d sections, more than the %d any firmware needs", n, MaxSections)
	}
	// The header's size covers the header and every descriptor (edk2
	// OvmfSevMetadata.asm); the reference reads the descriptors from within
	// it and fails when they do not fit.
	if hsize := int64(binary.LittleEndian.Uint32(hdr[4:8])); n > 0 && hsize < MetadataHeaderSize+n*SectionDescSize {
		return formatErr(off+4, "SEV metadata size %d is too small for the header and its %d sections (%d bytes)",
			hsize, n, MetadataHeaderSize+n*SectionDescSize)
	}
	buf := make([]byte, n*SectionDescSize) // at most 48 KiB (MaxSections)
	if _, err := r.ReadAt(buf, descOff); err != nil {
		return fmt.Errorf("reading SEV metadata sections at offset %#x: %w", descOff, err)
	}
	im.Sections = make([]Section, n)
	for i := range im.Sections {
		d := buf[i*SectionDescSize:]
		im.Sections[i] = Section{
			GPA:    binary.LittleEndian.Uint32(d[0:]),
			Size:   binary.LittleEndian.Uint32(d[4:]),
			Type:   SectionType(binary.LittleEndian.Uint32(d[8:])),
			Offset: descOff + int64(i*SectionDescSize),
		}
	}
	return nil
}

// GPA returns the guest physical address where an image of this size is
// loaded so that it ends at end (4 GiB for OVMF).
func (im *Image) GPA(end uint64) uint64 { return end - uint64(im.Size) }

// HashTableSupported reports whether the firmware can verify kernel, initrd
// and command line hashes (SEV and SEV-ES): the entry exists and its GPA is set.
func (im *Image) HashTableSupported() bool { return im.HasHashTable && im.HashTableGPA != 0 }

// KernelHashesSection returns the first SNP_KERNEL_HASHES section.
func (im *Image) KernelHashesSection() (Section, bool) {
	for _, s := range im.Sections {
		if s.Type == SectionSNPKernelHashes {
			return s, true
		}
	}
	return Section{}, false
}
