package qemu

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// Guest memory bounds, in MiB.
//
// The maximum is what the printed machine can address: the -cpu models get
// QEMU's default of 40 physical address bits (target/i386/cpu.c, "the
// default is the value used by TCG (40)"), q35 maps the RAM above 2 GiB at
// 4 GiB followed by its 32 GiB 64-bit PCI hole, and with an AMD vCPU a
// layout that reaches AMD's HyperTransport range at 1012 GiB moves the high
// RAM above 1 TiB (hw/i386/pc.c, AMD_HT_START, enforce_amd_1tb_hole), out of
// 40 bits: 1012 - 32 - 4 + 2 = 978 GiB. Real QEMU 10.0.2 and 11.1.3 accept
// 978G and refuse 979G ("phys-bits too low (40)"); the tests check both.
// The minimum is QEMU's default RAM size.
const (
	MinMemoryMiB = 128
	MaxMemoryMiB = 978 << 10
)

// ParseMemory reads a guest memory size as QEMU's -m does: a whole number
// with an optional K, M, G or T suffix (powers of 1024, either case), MiB
// when there is none. The size must be a whole number of MiB and within
// [MinMemoryMiB, MaxMemoryMiB].
func ParseMemory(s string) (mib uint64, err error) {
	t := strings.TrimSpace(s)
	bad := func(msg string) (uint64, error) {
		return 0, &InputError{Field: "memory", Value: s, Msg: msg}
	}
	shift := uint(20) // MiB
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K', 'k':
			shift, t = 10, t[:n-1]
		case 'M', 'm':
			shift, t = 20, t[:n-1]
		case 'G', 'g':
			shift, t = 30, t[:n-1]
		case 'T', 't':
			shift, t = 40, t[:n-1]
		}
	}
	if t == "" || strings.Trim(t, "0123456789") != "" {
		return bad("want a whole number with an optional K, M, G or T suffix, e.g. 4G or 2048M (no suffix: MiB)")
	}
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil || n == 0 || bits.LeadingZeros64(n) < int(shift) {
		return tooBig(s, n == 0)
	}
	bytes := n << shift
	if bytes%(1<<20) != 0 {
		return bad("not a whole number of MiB")
	}
	mib = bytes >> 20
	if mib < MinMemoryMiB || mib > MaxMemoryMiB {
		return tooBig(s, mib < MinMemoryMiB)
	}
	return mib, nil
}

func tooBig(s string, small bool) (uint64, error) {
	if small {
		return 0, &RefusedError{Field: "memory", Value: s, Reason: fmt.Sprintf("below %s, QEMU's default RAM size", FormatMemory(MinMemoryMiB))}
	}
	return 0, &RefusedError{Field: "memory", Value: s, Reason: fmt.Sprintf(
		"above %s: with the -cpu models' 40 physical address bits, q35 cannot place more RAM below AMD's HyperTransport hole at 1012 GiB", FormatMemory(MaxMemoryMiB))}
}

// FormatMemory writes a size in MiB the way both -m and a memory backend's
// size= read it: with an explicit G or M suffix (a bare number would be MiB
// to -m but bytes to size=).
func FormatMemory(mib uint64) string {
	if mib%1024 == 0 {
		return strconv.FormatUint(mib/1024, 10) + "G"
	}
	return strconv.FormatUint(mib, 10) + "M"
}
