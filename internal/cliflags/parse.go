// Package cliflags holds the flag sets snpmeasure's commands share and
// turns what they hold into the library's types: the sev-snp-measure
// compatible measure flags, the ranged flags of search and refvalues, the
// dm-verity tree flags and the values several commands take. Errors are
// cli.UsageError values (exit status 2) naming the flag.
package cliflags

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/snpmeasure/snpmeasure/idblock"
	"github.com/snpmeasure/snpmeasure/internal/cli"
	"github.com/snpmeasure/snpmeasure/internal/pyarg"
	"github.com/snpmeasure/snpmeasure/refvalues"
	"github.com/snpmeasure/snpmeasure/report"
)

// Decimal parses a base-10 flag value as Python's int() does.
func Decimal(flag, s string) (int64, error) {
	v, err := pyarg.Decimal(s)
	if err != nil {
		return 0, cli.Usagef("--%s %q: %v", flag, s, err)
	}
	return v, nil
}

// Uint parses a flag value as Python's int(x, 0): decimal or 0x-hex.
func Uint(flag, s string) (uint64, error) {
	v, err := pyarg.Uint(s)
	if err != nil {
		return 0, cli.Usagef("--%s %s: %v", flag, s, err)
	}
	return v, nil
}

// Measurement reads a launch measurement given as 96 hex digits
// or as the base64 of its 48 bytes.
func Measurement(flag, s string) ([idblock.MeasurementSize]byte, error) {
	var out [idblock.MeasurementSize]byte
	b, err := report.ParseField("measurement", s) // as verify and search read it
	if err != nil || len(b) != len(out) {
		return out, cli.Usagef("--%s %s: want 96 hex digits or the base64 of 48 bytes", flag, s)
	}
	copy(out[:], b)
	return out, nil
}

// Base64 decodes a base64 flag value of a fixed size; bad data is
// bad input (exit status 1).
func Base64(flag, s string, size int) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("--%s: not base64: %w", flag, err)
	}
	if len(b) != size {
		return nil, fmt.Errorf("--%s: %d bytes, want %d", flag, len(b), size)
	}
	return b, nil
}

// SplitIDBlockLine reads the first line snp-create-id-block prints:
// id-block=<base64>,id-auth=<base64>.
func SplitIDBlockLine(s string) (block, auth string, ok bool) {
	for _, part := range strings.Split(strings.TrimSpace(s), ",") {
		k, v, found := strings.Cut(part, "=")
		if !found {
			return "", "", false
		}
		switch {
		case k == "id-block" && block == "":
			block = v
		case k == "id-auth" && auth == "":
			auth = v
		default: // an unknown or repeated key
			return "", "", false
		}
	}
	return block, auth, block != "" && auth != ""
}

// GuestPolicy parses an SEV-SNP guest policy; bit 17 is reserved and must be 1.
func GuestPolicy(flag, s string) (uint64, error) {
	v, err := Uint(flag, s)
	if err != nil {
		return 0, err
	}
	if v&refvalues.PolicyReserved1 == 0 {
		return 0, cli.Usagef("--%s %s: bit 17 is reserved and must be 1 (e.g. 0x30000)", flag, s)
	}
	return v, nil
}

// ReportField parses a byte field of a report (see report.ParseField).
func ReportField(name, s string) ([]byte, error) {
	b, err := report.ParseField(name, s)
	if err != nil {
		return nil, cli.Usagef("%v", err)
	}
	return b, nil
}
