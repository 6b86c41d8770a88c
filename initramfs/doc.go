// Package initramfs builds reproducible initramfs archives and reads the
// archives Linux distributions ship.
//
// # Building
//
// A Builder collects entries from directory trees and from manifests in the
// format of the kernel's usr/gen_init_cpio (file, dir, slink, nod, pipe and
// sock lines); later sources replace earlier entries with the same path.
// WriteTo writes them as one newc ("070701") cpio archive with
// github.com/u-root/u-root/pkg/cpio, and BuildFile adds optional gzip or
// zstd compression and writes the file atomically. The output depends only
// on the sources' names, types, contents, link targets and (for manifests)
// the stated modes and owners:
//
//   - entries are sorted by path (byte order, so every directory precedes
//     its contents); missing parent directories are added as 0755 0:0;
//   - inode numbers are assigned sequentially in output order, starting at
//     1; hard links share one inode and, as in gen_init_cpio and GNU cpio,
//     the data is stored once, with the last name;
//   - every mtime is the same (0 unless set, e.g. from SOURCE_DATE_EPOCH),
//     owners are 0:0 unless a manifest says otherwise, device numbers of
//     the archived files are 0;
//   - modes from directory trees are normalised so that the umask and
//     checkout permissions do not leak in: directories 0755, symbolic links
//     0777, every other entry 0755 if any execute bit is set and 0644
//     otherwise (setuid, setgid and sticky bits are dropped; state them in
//     a manifest when they are wanted);
//   - gzip output carries no name and no timestamp and uses a fixed level;
//     zstd output is produced by a single-goroutine encoder with fixed
//     level and window. Compressed output is byte-stable for a given build
//     of this package (the compressors' output may change between library
//     versions); uncompressed output is stable across versions.
//
// # Reading
//
// Reader reads a stream of entries the way the kernel unpacks an initramfs:
// a sequence of newc archives ("070701", or "070702" whose checksums are
// verified), zero padding between them, and compressed segments (gzip,
// bzip2, xz, lzma, lz4 legacy and frame, zstd; detected by magic bytes)
// each holding further archives. The typical distribution layout, an
// uncompressed early archive with CPU microcode followed by a compressed
// main archive, is read as one stream. The archive is never held in memory:
// header fields are bounded (names and link targets by MaxNameSize) before
// anything is allocated, file contents are streamed, and decompressor
// windows are limited to MaxWindowSize. A gzip segment ends where its gzip
// member ends, so anything may follow it; any other compressed segment
// extends to the end of the input, except for zero padding after it, which
// is skipped as the kernel skips it.
//
// Problems are reported as *FormatError values that name the byte offset.
package initramfs
