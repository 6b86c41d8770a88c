// Package verity computes dm-verity hash trees exactly as cryptsetup's
// `veritysetup format` writes them, and verifies them.
//
// A dm-verity device pairs a read-only data device with a hash device. The
// data is cut into data blocks; level 0 of the tree holds one digest per data
// block, each higher level one digest per hash block of the level below, up to
// a single top block whose digest is the root hash. The kernel checks every
// block it reads against the tree and the tree against the root hash, so a
// root hash that is part of a measured kernel command line (SEV-SNP with
// kernel-hashes=on) extends the launch measurement to the whole root file
// system.
//
// # On-disk format
//
// Format writes what veritysetup 2.x writes for hash format version 1 (and
// the Chrome OS version 0):
//
//   - Unless Params.NoSuperblock is set, the hash file starts with the
//     SuperblockSize (512) byte superblock ("verity\0\0", version 1, hash
//     type, UUID, algorithm, block sizes, data block count, salt), padded
//     with zeros to a whole hash block. The tree starts at the next hash
//     block boundary; HashStartBlock is that position in hash blocks, the
//     <hash_start_block> field of the kernel's verity table.
//   - The levels follow, the top (root-most) level first and level 0 last,
//     each a whole number of hash blocks.
//   - A hash block holds 2^floor(log2(hash block size / digest size))
//     digests. In version 1 each digest occupies the next power of two
//     bytes (a SHA-1 digest takes 32 bytes) and a block digest is
//     H(salt || block); in version 0 digests are packed and a block digest
//     is H(block || salt). The rest of a hash block is zero.
//   - Data whose size is not a multiple of the data block size is hashed as
//     veritysetup does: only whole blocks count (the tail is ignored, not
//     padded); data smaller than one block is an error.
//   - With a single data block there is no tree: the root hash is the
//     digest of that block and the hash file holds only the superblock.
//
// Level 0 is computed streaming from the data with all CPUs hashing; every
// higher level is computed streaming from the level below it as written to
// the hash file. Memory use does not depend on the size of the data.
package verity
