// Package ovmf reads what a launch measurement needs from an OVMF (or
// COCONUT-SVSM) firmware image: the GUIDed footer table at the end of the
// image, walked backwards from the footer entry 50 bytes before the end, and
// the SEV metadata ('ASEV') section descriptors it points to.
//
// Parse reads through an io.ReaderAt and never allocates more than the image
// holds: the table is at most 64 KiB (its size is a u16) and the section
// descriptors are checked against the bytes left in the image before they
// are read. Every malformed field is a *FormatError with the file offset at
// fault. Entries with GUIDs this package does not know are kept in Entries
// and otherwise ignored.
package ovmf
