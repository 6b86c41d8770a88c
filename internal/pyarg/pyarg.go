// Package pyarg parses command-line values exactly as sev-snp-measure's
// Python argparse does: int(x) and int(x, 0) for numbers, bytes.fromhex for
// hex strings. It lets snpmeasure accept the reference's command lines
// unchanged, and refuse what it refuses.
package pyarg

import (
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"unicode"
)

// Errors of the parsers; callers add the flag name.
var (
	ErrEmpty        = errors.New("empty value")
	ErrSyntax       = errors.New("not a number (decimal or 0x-hex)")
	ErrDecimal      = errors.New("want a decimal number")
	ErrNegative     = errors.New("must not be negative")
	ErrLeadingZeros = errors.New("leading zeros are ambiguous; use 0x, 0o or plain decimal")
	ErrRange        = errors.New("does not fit in 64 bits")
)

// asciiDigits does what Python's int() does first: every Unicode decimal
// digit (general category Nd: Arabic-Indic, Devanagari, fullwidth, ...)
// becomes its ASCII digit. Other characters are left for the syntax check.
func asciiDigits(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		ascii = ascii && s[i] < 0x80
	}
	if ascii {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r >= 0x80 && unicode.IsDigit(r) {
			// Unicode encodes each set of decimal digits as a contiguous
			// run 0-9 (runs may follow one another, as the mathematical
			// digits do), so the value is the distance from the run's start.
			start := r
			for unicode.IsDigit(start - 1) {
				start--
			}
			r = '0' + (r-start)%10
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Syntax reports whether Python's int(s, 10) (auto false) or int(s, 0)
// (auto true) accepts s: surrounding white space, one sign, and single
// underscores between digits; with auto, a 0x/0o/0b prefix (an underscore
// may follow it) or plain decimal without leading zeros (except for zero).
func Syntax(s string, auto bool) bool {
	t := strings.TrimSpace(asciiDigits(s))
	if t != "" && (t[0] == '+' || t[0] == '-') {
		t = t[1:]
	}
	digits := "0123456789"
	if auto && len(t) >= 2 && t[0] == '0' {
		switch t[1] {
		case 'x', 'X':
			digits, t = "0123456789abcdefABCDEF", strings.TrimPrefix(t[2:], "_")
		case 'o', 'O':
			digits, t = "01234567", strings.TrimPrefix(t[2:], "_")
		case 'b', 'B':
			digits, t = "01", strings.TrimPrefix(t[2:], "_")
		default:
			digits = "0" // int(x, 0) rejects leading zeros: only zero may start with 0
		}
	}
	if t == "" || t[0] == '_' || t[len(t)-1] == '_' || strings.Contains(t, "__") {
		return false
	}
	for _, c := range t {
		if c != '_' && !strings.ContainsRune(digits, c) {
			return false
		}
	}
	return true
}

// Uint parses a non-negative int(s, 0): decimal or with a 0x, 0o or 0b
// prefix, fitting in 64 bits. -0 is zero.
func Uint(s string) (uint64, error) {
	t := strings.TrimSpace(asciiDigits(s))
	switch {
	case t == "":
		return 0, ErrEmpty
	case !Syntax(t, true):
		if len(t) > 1 && t[0] == '0' && Syntax(t, false) {
			return 0, ErrLeadingZeros
		}
		return 0, ErrSyntax
	}
	negative := strings.HasPrefix(t, "-")
	t = strings.TrimPrefix(strings.TrimPrefix(t, "+"), "-")
	base := 10
	if len(t) > 2 && t[0] == '0' {
		switch t[1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base != 10 {
			t = t[2:]
		}
	}
	v, err := strconv.ParseUint(strings.ReplaceAll(t, "_", ""), base, 64)
	switch {
	case err != nil && negative:
		return 0, ErrNegative
	case err != nil:
		return 0, ErrRange // the syntax is already checked
	case negative && v != 0:
		return 0, ErrNegative
	}
	return v, nil
}

// Decimal parses int(s): base 10, surrounding white space, a sign, and
// underscores between digits. A value beyond 64 bits is ErrRange.
func Decimal(s string) (int64, error) {
	s = asciiDigits(s)
	if !Syntax(s, false) {
		return 0, ErrDecimal
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(s), "_", ""), 10, 64)
	if err != nil {
		return 0, ErrRange
	}
	return v, nil
}

// FromHex decodes hex as Python's bytes.fromhex does: ASCII white space may
// separate (not split) the two-digit bytes; upper case is fine.
func FromHex(s string) ([]byte, error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		switch s[i] {
		case ' ', '\t', '\n', '\r', '\v', '\f':
			i++
			continue
		}
		if i+1 >= len(s) {
			return nil, errors.New("odd number of hex digits")
		}
		b.WriteString(s[i : i+2])
		i += 2
	}
	return hex.DecodeString(b.String())
}
