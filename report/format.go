package report

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Format is the encoding of a report file.
type Format int

// Report encodings. FormatAuto detects the encoding from the contents.
const (
	FormatAuto Format = iota
	FormatBinary
	FormatHex
	FormatBase64
)

// String returns the name ParseFormat accepts.
func (f Format) String() string {
	switch f {
	case FormatAuto:
		return "auto"
	case FormatBinary:
		return "bin"
	case FormatHex:
		return "hex"
	case FormatBase64:
		return "base64"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat parses a format name: auto, bin (or binary, raw), hex or base64.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return FormatAuto, nil
	case "bin", "binary", "raw":
		return FormatBinary, nil
	case "hex":
		return FormatHex, nil
	case "base64", "b64":
		return FormatBase64, nil
	}
	return FormatAuto, fmt.Errorf("unknown report format %q (want bin, hex or base64)", s)
}

// Decode returns the binary form of an encoded report, and the encoding it
// found (or was told). Text input may contain white space anywhere; hex may
// start with 0x. Decode only decodes: it does not check the length.
func Decode(data []byte, f Format) ([]byte, Format, error) {
	if f == FormatAuto {
		f = Detect(data)
	}
	switch f {
	case FormatBinary:
		return data, f, nil
	case FormatHex:
		b, err := decodeHex(data)
		if err != nil {
			return nil, f, fmt.Errorf("hex: %w", err)
		}
		return b, f, nil
	case FormatBase64:
		b, err := decodeBase64(data)
		if err != nil {
			return nil, f, fmt.Errorf("base64: %w", err)
		}
		return b, f, nil
	}
	return nil, f, fmt.Errorf("unknown report format %v", f)
}

// Detect guesses the encoding of data. Binary reports start with the version
// (a small little-endian number), so their first bytes are never printable
// text; text that is all hex digits is hex, any other text is taken as base64.
func Detect(data []byte) Format {
	if len(data) == 0 || !isText(data) {
		return FormatBinary
	}
	s := compact(data)
	if isHex(s) {
		return FormatHex
	}
	return FormatBase64
}

// isText reports whether data is printable ASCII and white space only.
func isText(data []byte) bool {
	for _, c := range data {
		if (c < 0x20 || c > 0x7e) && !isSpace(c) {
			return false
		}
	}
	return true
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// compact removes white space.
func compact(data []byte) string {
	var b strings.Builder
	b.Grow(len(data))
	for _, c := range data {
		if !isSpace(c) {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func trimHexPrefix(s string) string {
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		return s[2:]
	}
	return s
}

func isHex(s string) bool {
	s = trimHexPrefix(s)
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isBase64Char(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '+' || c == '/' || c == '-' || c == '_' || c == '='
}

func decodeHex(data []byte) ([]byte, error) {
	// Skip leading white space and an optional 0x prefix, then every other
	// byte must be a hex digit or white space.
	start := 0
	for start < len(data) && isSpace(data[start]) {
		start++
	}
	if len(data)-start >= 2 && data[start] == '0' && (data[start+1] == 'x' || data[start+1] == 'X') {
		start += 2
	}
	digits := 0
	for i := start; i < len(data); i++ {
		c := data[i]
		switch {
		case isHexDigit(c):
			digits++
		case isSpace(c):
		default:
			return nil, fmt.Errorf("offset %d: byte %q is not a hex digit", i, c)
		}
	}
	if digits == 0 {
		return nil, errors.New("no hex digits")
	}
	if digits%2 != 0 {
		return nil, fmt.Errorf("odd number of hex digits (%d)", digits)
	}
	return hex.DecodeString(compact(data[start:]))
}

func decodeBase64(data []byte) ([]byte, error) {
	for i, c := range data {
		if !isBase64Char(c) && !isSpace(c) {
			return nil, fmt.Errorf("offset %d: byte %q is not a base64 character", i, c)
		}
	}
	s := compact(data)
	if s == "" {
		return nil, errors.New("no base64 data")
	}
	enc := base64.StdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.URLEncoding
	}
	if !strings.HasSuffix(s, "=") {
		enc = enc.WithPadding(base64.NoPadding)
	}
	return enc.DecodeString(s)
}
