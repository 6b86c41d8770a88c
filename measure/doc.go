// Package measure computes the launch measurement of files: the API that
// snpmeasure's measure, search, refvalues and verify commands are built on.
//
// A Config describes one launch: the mode (SNP, SEV-ES, SEV, SVSM), the
// firmware, the kernel, initrd and command line QEMU's kernel-hashes=on
// measures, and the vCPUs (count, VMM, signature, guest features, how the
// host's KVM initialises them). Measure opens and hashes the files (the
// firmware's pages on all CPUs while the kernel and initrd stream, in
// constant memory) and returns the Result: the digest, which is the
// MEASUREMENT of the attestation report, and the launch's
// SNP_LAUNCH_UPDATEs.
//
// To measure many configurations of the same files, Open reads them once
// into Inputs; Inputs.Enumerate walks a Space (lists of vCPU counts, types,
// VMMs, guest features and KVM initialisations) extending the shared part
// of the launch one VMSA at a time, and Inputs.Search finds the
// configurations that produce a given measurement.
//
// Errors about a file are *FileError (naming it, and the byte offset where
// the firmware parser found a problem); a Config that describes no launch is
// a *ConfigError. Long work stops when the context is cancelled; progress is
// reported through Options.Progress. The package prints nothing.
package measure
