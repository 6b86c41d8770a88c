// Package trace reads, writes and compares launch traces: every
// SNP_LAUNCH_UPDATE of a launch, one JSON object a line (JSON Lines).
//
// # Format
//
// Each line is one update, in launch order:
//
//		{"index":0,"gpa":"0xffc00000","page_type":"NORMAL","source":"ovmf+0x0","contents":"006f…21ae","digest":"dc87…ece3"}
//
//	  - index: the update's position, from 0, without gaps;
//	  - gpa: its guest physical address, lower-case hex with 0x;
//	  - page_type: NORMAL, VMSA, ZERO, UNMEASURED, SECRETS or CPUID;
//	  - source: where the page comes from: "ovmf+0x1000" (page of the firmware
//	    at that offset), "svsm+0x…", "metadata[2] SNP_SECRETS" (SEV metadata
//	    section 2), "kernel-hashes", "vmsa[3]" (vCPU 3), "directive[12] PAGE_DATA"
//	    (IGVM directive 12); the part before the first "+", "[" or space is its
//	    group (SourceGroup);
//	  - contents: the 96 hex digits of PAGE_INFO.CONTENTS (the SHA-384 of the
//	    page for NORMAL and VMSA pages, zero otherwise);
//	  - digest: the launch digest after the update: the last line's is the
//	    measurement.
//
// Readers ignore blank lines and reject anything else that does not follow
// this form, naming the line. Keys may come in any order; writers write them
// in the order above. A trace has at least one update.
//
// Write writes a launchdigest.Launch; Reader reads one record at a time, in
// constant memory; DiffReaders compares two traces and names where they part.
package trace
