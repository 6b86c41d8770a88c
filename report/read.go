package report

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxFileSize bounds what ReadFile reads: a report with a certificate table
// takes a few pages, never megabytes.
const MaxFileSize = 1 << 20

// ParseEncoded decodes data (binary, hex or base64; f may be FormatAuto) and
// parses the report.
func ParseEncoded(data []byte, f Format) (*Report, error) {
	auto := f == FormatAuto
	b, got, err := Decode(data, f)
	if err != nil {
		if auto && got == FormatBase64 {
			// Text that is not all hex digits: say what was tried.
			return nil, fmt.Errorf("%d bytes of text, neither hex nor %w", len(data), err)
		}
		return nil, err
	}
	r, err := Parse(b)
	if err != nil {
		if auto && got == FormatBase64 {
			// Hex with a stray character also decodes as base64, into
			// garbage: name the stray character too.
			if _, herr := decodeHex(data); herr != nil && hexLike(data) {
				return nil, fmt.Errorf("%d bytes of text, not hex (%v), and as base64: %w", len(data), herr, err)
			}
		}
		if got != FormatBinary {
			return nil, fmt.Errorf("%v: %w", got, err)
		}
		return nil, err
	}
	r.Format = got
	return r, nil
}

// hexLike reports whether text is hex but for a few characters: at most one
// in 64 of its non-space characters is not a hex digit. Base64 of a report
// never is, since it uses the whole alphabet.
func hexLike(data []byte) bool {
	s := trimHexPrefix(compact(data))
	bad := 0
	for i := 0; i < len(s); i++ {
		if !isHexDigit(s[i]) {
			bad++
		}
	}
	return bad > 0 && bad*64 <= len(s)
}

// ReadFile reads and parses a report file. Errors name the file.
func ReadFile(path string, f Format) (*Report, error) {
	data, err := readLimited(path, MaxFileSize)
	if err != nil {
		return nil, err
	}
	return parseNamed(path, data, f)
}

// Read reads and parses a report from r (standard input, say); name is
// what errors call it.
func Read(r io.Reader, name string, f Format) (*Report, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes: not an attestation report", name, MaxFileSize)
	}
	return parseNamed(name, data, f)
}

func parseNamed(name string, data []byte, f Format) (*Report, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%s: empty file, want an attestation report", name)
	}
	r, err := ParseEncoded(data, f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return r, nil
}

// readLimited reads a whole file of at most max bytes.
func readLimited(path string, max int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, pathError(path, err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, pathError(path, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s: is a directory, not a file", path)
	}
	data, err := io.ReadAll(io.LimitReader(fh, max+1))
	if err != nil {
		return nil, pathError(path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes: not an attestation report, certificate or CRL", path, max)
	}
	return data, nil
}

// pathError formats err as "PATH: problem" without repeating the path.
func pathError(path string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("%s: %w", path, err)
}
