// Package igvm reads IGVM files (the Independent Guest Virtual Machine format
// of github.com/microsoft/igvm, igvm_defs 0.4.0), format versions 1 and 2.
//
// It is pure bytes-to-structs code: every structure has its byte offsets in
// its doc comment, a Marshal method and an exported size constant. Open
// checks the fixed header (magic, version, architecture and page size of
// version 2, sizes, and the CRC-32 checksum exactly as the igvm crate
// computes it) and reads the platform and initialization headers;
// Directives streams the directives from an io.ReaderAt, so that a 1 GiB
// file of 262,144 PAGE_DATA directives is read in bounded memory. Page data
// is never copied: a directive names a file range, checked against the file,
// that callers hash from the file (see launchdigest).
//
// Validation follows the igvm crate's IgvmFile::new_from_binary, the parser
// that both igvmmeasure and QEMU use, so that a file this package accepts is
// one they accept: section order, exact body lengths, reserved fields, page
// alignment, data ranges, parameter area declaration and use, and VP
// contexts decoded by the platform whose compatibility mask equals theirs.
// Errors are *FormatError values naming the file offset and the header.
// It refuses a few files the crate takes, none of them real: reserved
// PAGE_DATA flag bits, GPA ranges past 2^64, more than MaxParameterAreas
// parameter areas, VBS contexts of more than MaxVBSRegisters registers or
// whose register tables overlap; so that work and memory stay linear in
// the file (a VBS context named by many directives is read once).
//
// WithIDBlock writes a copy of a file with an SNP_ID_BLOCK directive, as
// igvmmeasure sign does.
package igvm
