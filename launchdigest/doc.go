// Package launchdigest replays the launch digests of AMD SEV, SEV-ES and
// SEV-SNP guests.
//
// For SNP, the AMD Secure Processor extends a SHA-384 digest with a 0x70-byte
// PAGE_INFO structure for every page the hypervisor adds with
// SNP_LAUNCH_UPDATE (Extend). A Launch is that ordered list of updates, kept
// as Steps (the pages of the firmware, each SEV metadata section, the
// kernel-hashes page, the VMSAs): Digest computes the MEASUREMENT of the
// attestation report, Updates walks every update with the digest after it,
// and SplitVMSAs with VMSASeries extends a shared prefix one vCPU at a time.
//
// SEV and SEV-ES digests are SHA-256 over the firmware, the kernel hashes
// table and (SEV-ES) the VMSA pages (SEV, SEVES).
//
// IGVM files (package igvm) are launches too: IGVMMeasure replays
// COCONUT-SVSM's igvmmeasure bit for bit (IGVMMeasureSEV its SEV and SEV-ES
// digests), IGVMQEMU what QEMU 10.2 with KVM measures, and
// CompareIGVMLoaders names the first directive where the two part. Their
// steps name the directives they come from ("directive[12] PAGE_DATA") and
// keep page data in the file (Step.Data): Digest, Updates, Measure and Walk
// hash it on all CPUs while extending, in memory that does not grow with
// the file.
//
// Large inputs are streamed: HashPages hashes firmware pages across all CPUs
// and SHA256Stream hashes kernels and initrds with reads overlapped with
// hashing, in constant memory.
package launchdigest
