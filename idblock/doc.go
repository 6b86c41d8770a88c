// Package idblock builds, signs, parses and verifies the SEV-SNP ID block and
// ID authentication information structures that a VMM passes to
// SNP_LAUNCH_FINISH (QEMU's sev-snp-guest id-block and id-auth properties).
//
// The layouts follow the SEV Secure Nested Paging Firmware ABI (ID block and
// ID authentication information structure tables, and the "Digital
// Signatures" appendix) and match sev-snp-measure's snp-create-id-block:
//
//	ID block (BlockSize = 96 bytes)
//	  0x00  LD           48  launch digest (the MEASUREMENT the guest must have)
//	  0x30  FAMILY_ID    16
//	  0x40  IMAGE_ID     16
//	  0x50  VERSION       4  little-endian u32, 1
//	  0x54  GUEST_SVN     4  little-endian u32
//	  0x58  POLICY        8  little-endian u64, must equal the launch policy
//
//	ID authentication information (AuthSize = 4096 bytes)
//	  0x000  ID_KEY_ALGO     4  1 = ECDSA P-384 with SHA-384
//	  0x004  AUTH_KEY_ALGO   4  1, or 0 when there is no author key
//	  0x040  ID_BLOCK_SIG  512  the ID key's signature of the 96-byte ID block
//	  0x240  ID_KEY       1028  the ID public key
//	  0x680  ID_KEY_SIG    512  the author key's signature of the 1028-byte ID_KEY
//	  0x880  AUTHOR_KEY   1028  the author public key
//	  everything else is reserved and zero
//
//	Public key (PublicKeySize = 1028 bytes)
//	  0x000  CURVE   4  2 = P-384
//	  0x004  QX     72  little-endian, zero-padded
//	  0x04C  QY     72  little-endian, zero-padded
//	  0x094  reserved, zero
//
//	Signature (SignatureSize = 512 bytes)
//	  0x000  R   72  little-endian, zero-padded
//	  0x048  S   72  little-endian, zero-padded
//	  0x090  reserved, zero
//
// The SHA-384 of a 1028-byte public key structure is what the attestation
// report carries as ID_KEY_DIGEST and AUTHOR_KEY_DIGEST (KeyDigest).
//
// ECDSA signatures are randomized, so two signings of the same block differ;
// Verify checks them against the keys inside the ID auth structure.
package idblock
