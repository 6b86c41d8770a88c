// Package vmsa builds the VMSA pages (initial vCPU register state, the
// SEV-ES save area) that a VMM hands to SNP_LAUNCH_UPDATE, and knows the
// vCPU types and products that affect them.
//
// Every field of a page is at an explicit byte offset (the Off* constants);
// all fields not set here are zero. QEMU, AWS EC2 and Google Compute Engine
// each set a few fields differently (Build), and COCONUT-SVSM guests start in
// protected mode (BuildSVSM).
package vmsa
