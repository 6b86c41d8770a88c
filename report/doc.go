// Package report reads AMD SEV-SNP attestation reports and checks them
// offline.
//
// Reading is split from checking. Decode and Detect turn a binary, hex or
// base64 file into the 1184-byte ATTESTATION_REPORT (optionally followed by
// the certificate table of an extended report), Parse turns those bytes into
// a Report using go-sev-guest's abi package, and ReadFile does both for a
// file, naming it in errors. None of these touch anything but their input.
//
// Report.CheckFields compares fields with Expectations, one Check (name,
// expected, actual, ok) per field asked for. Report.Verify adds the
// signature and certificate chain, verified with go-sev-guest's verify
// package against AMD's built-in roots (or given ones) without any network
// access, and runs go-sev-guest's validate package over the same
// expectations for the authoritative verdict. Failed checks come back as a
// *MismatchError from Result.Err.
package report
