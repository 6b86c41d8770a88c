// Package qemu models the QEMU command line that starts a measured AMD
// SEV-SNP launch: given a Launch (firmware or IGVM file, kernel, vCPUs,
// -cpu model or vCPU signature, guest features, policy, ID block, host
// data, memory) and a target QEMU release, Launch.Build returns the
// arguments of qemu-system-x86_64 with notes, or a *RefusedError saying why
// that release cannot start the launch as measured. It prints nothing and
// reads no file.
//
// Every fact is per release and was checked against QEMU's sources and
// Debian's builds (README "qemu-args" lists them with their sources):
//   - sev-snp-guest exists from 9.1 and has the same properties through 11.1
//     (qapi/qom.json SevSnpGuestProperties, target/i386/sev.c); none of them
//     sets a VMSA feature, so a launch without IGVM measures SEV_FEATURES 0x1
//     and other guest features are refused (see checkFeatures in features.go
//     for where SEV_FEATURES comes from);
//   - the AMD EPYC -cpu models per release (CPUModels), EPYC-Turin from 10.1;
//   - IGVM files (igvm-cfg) from 10.1;
//   - guest memory in MiB, printed with the same explicit suffix to -m and to
//     the memory backend's size=, between MinMemoryMiB and MaxMemoryMiB.
//
// The command line for release v also runs on every later release this
// package knows: nothing it uses was removed through 11.1.
package qemu
