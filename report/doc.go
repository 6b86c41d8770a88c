// Package report reads AMD SEV-SNP attestation reports and verifies them
// offline, from Milan to Turin, without go-sev-guest.
//
// Reading is pure bytes to structs: Parse reads the 1184-byte
// ATTESTATION_REPORT at the offsets of the SEV-SNP Firmware ABI (versions
// 2 to 5; see the Off constants), followed by the certificate table of an
// extended report; Decode and ParseEncoded take hex and base64 too;
// ReadFile and Read name their input in errors. A *ParseError carries the
// byte offset at fault. TCB_VERSION values are decoded per product line
// (TCB.Parts): Turin orders FMC, boot loader, TEE, SNP differently from
// Milan and Genoa.
//
// Verifying is two steps that each return check rows (Check: name,
// expected, actual, ok):
//
//   - Report.VerifySignature is the cryptography: the signature (ECDSA
//     P-384 with SHA-384 over bytes 0x000-0x29F) under the VCEK or VLEK that
//     SIGNING_KEY names, the chain VCEK ← ASK ← ARK or VLEK ← ASVK ← ARK
//     with the ARK pinned per product line (built in, parsed on first use;
//     TrustOptions.Roots replaces them), validity at a given time, CRLs,
//     and that the key's TCB and hardware ID are the report's. Certificates
//     from the caller or the report's table are intermediates only.
//   - Report.Validate compares the fields with Expectations and applies the
//     secure defaults: DEBUG and MIGRATE_MA 0, VMPL 0, reserved fields zero,
//     committed firmware no newer than current.
//
// Report.Verify runs both; its Result is OK only when the signature
// verified under a key chaining to a trusted ARK and every check passed.
// Report.Fields lists every field decoded, for display. Nothing here
// prints or touches the network; package reporttest makes test reports.
package report
