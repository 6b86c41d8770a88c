package report

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/go-sev-guest/abi"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
	"github.com/google/uuid"
)

// Size is the size of an SEV-SNP attestation report (ATTESTATION_REPORT).
const Size = abi.ReportSize

// MaxFileSize bounds what ReadFile reads: a report with a certificate table
// takes a few pages, never megabytes.
const MaxFileSize = 1 << 20

// Offsets of report fields (SEV-SNP ABI, table "ATTESTATION_REPORT Structure").
const (
	OffVersion         = 0x000
	OffPolicy          = 0x008
	OffVMPL            = 0x030
	OffSignerInfo      = 0x048
	OffMeasurement     = 0x090
	OffHostData        = 0x0c0
	OffReportedTCB     = 0x180
	OffSignature       = 0x2a0
	offCertTable       = Size
	certTableEntrySize = abi.CertTableEntrySize
)

// Certificate kinds of an extended report's certificate table.
const (
	CertVCEK = "VCEK"
	CertVLEK = "VLEK"
	CertASK  = "ASK"
	CertARK  = "ARK"
)

var certGUIDs = map[uuid.UUID]string{
	uuid.MustParse(abi.VcekGUID): CertVCEK,
	uuid.MustParse(abi.VlekGUID): CertVLEK,
	uuid.MustParse(abi.AskGUID):  CertASK,
	uuid.MustParse(abi.ArkGUID):  CertARK,
}

// CertEntry is one entry of an extended report's certificate table.
type CertEntry struct {
	GUID uuid.UUID
	// Kind is CertVCEK, CertVLEK, CertASK, CertARK or "" for other GUIDs.
	Kind string
	Data []byte
}

// Report is a parsed SEV-SNP attestation report.
type Report struct {
	// Raw is the Size-byte report as signed.
	Raw []byte
	// Proto is the report as go-sev-guest represents it.
	Proto *spb.Report
	// Certs is the certificate table that followed the report, if any (an
	// extended report, as SNP_GET_EXT_REPORT returns it).
	Certs []CertEntry
	// Format is the encoding the report was read from.
	Format Format
}

// ParseError is a report that cannot be parsed.
type ParseError struct {
	// Offset is the byte offset of the problem in the decoded report, or -1.
	Offset int
	Err    error
}

func (e *ParseError) Error() string {
	if e.Offset < 0 {
		return e.Err.Error()
	}
	return fmt.Sprintf("offset %#x: %v", e.Offset, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// TooShortError is input shorter than Size.
type TooShortError struct{ Len int }

func (e *TooShortError) Error() string {
	return fmt.Sprintf("%d bytes, want at least %d", e.Len, Size)
}

// Parse parses a binary report, optionally followed by a certificate table.
func Parse(data []byte) (*Report, error) {
	if len(data) < Size {
		return nil, &ParseError{Offset: -1, Err: &TooShortError{Len: len(data)}}
	}
	raw := make([]byte, Size)
	copy(raw, data)
	// go-sev-guest parses any VERSION with the layout it knows; a version
	// it does not support may place the fields elsewhere, so the fields
	// checked without a signature would be read at the wrong offsets.
	if v := binary.LittleEndian.Uint32(raw[OffVersion:]); v < abi.MinSupportedReportVersion || v > abi.MaxSupportedReportVersion {
		return nil, &ParseError{Offset: OffVersion, Err: fmt.Errorf("not a supported SEV-SNP attestation report: VERSION %d, want %d to %d",
			v, abi.MinSupportedReportVersion, abi.MaxSupportedReportVersion)}
	}
	pb, err := abi.ReportToProto(raw)
	if err != nil {
		return nil, &ParseError{Offset: abiErrorOffset(raw), Err: fmt.Errorf("not a valid SEV-SNP attestation report: %w", err)}
	}
	r := &Report{Raw: raw, Proto: pb, Format: FormatBinary}
	if len(data) > Size {
		certs, err := parseCertTable(data[Size:])
		if err != nil {
			return nil, err
		}
		r.Certs = certs
	}
	return r, nil
}

// abiErrorOffset locates the field go-sev-guest rejected, for the fields it
// checks before the must-be-zero ranges (whose errors name their offsets).
func abiErrorOffset(raw []byte) int {
	if _, err := abi.ParseSnpPolicy(binary.LittleEndian.Uint64(raw[OffPolicy:])); err != nil {
		return OffPolicy
	}
	if _, err := abi.ParseSignerInfo(binary.LittleEndian.Uint32(raw[OffSignerInfo:])); err != nil {
		return OffSignerInfo
	}
	return -1
}

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
	if len(data) == 0 {
		return nil, fmt.Errorf("%s: empty file, want an attestation report", path)
	}
	r, err := ParseEncoded(data, f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
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
		return nil, fmt.Errorf("%s: larger than %d bytes: not an attestation report or certificate", path, max)
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

// parseCertTable parses the GUID table of SNP_GET_EXT_REPORT that follows
// the report: 24-byte entries (GUID, offset, length) ended by an all-zero
// entry, offsets counted from the start of the table. Trailing zero padding
// without a table is accepted.
func parseCertTable(t []byte) ([]CertEntry, error) {
	var certs []CertEntry
	for off := 0; ; off += certTableEntrySize {
		if off+certTableEntrySize > len(t) {
			if allZero(t[off:]) {
				return certs, nil
			}
			return nil, &ParseError{Offset: offCertTable + off,
				Err: fmt.Errorf("certificate table: entry %d is cut short (%d bytes, want %d)",
					off/certTableEntrySize, len(t)-off, certTableEntrySize)}
		}
		e := t[off : off+certTableEntrySize]
		if allZero(e) {
			return certs, nil
		}
		g, _ := uuid.FromBytes(e[:16])
		start := uint64(binary.LittleEndian.Uint32(e[16:]))
		n := uint64(binary.LittleEndian.Uint32(e[20:]))
		if start+n > uint64(len(t)) || start < uint64(off+certTableEntrySize) {
			return nil, &ParseError{Offset: offCertTable + off,
				Err: fmt.Errorf("certificate table: entry %d (GUID %s) points at bytes %#x-%#x, outside the %d-byte table data",
					off/certTableEntrySize, g, start, start+n, len(t))}
		}
		certs = append(certs, CertEntry{GUID: g, Kind: certGUIDs[g], Data: t[start : start+n : start+n]})
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// Cert returns the certificate of a kind (CertVCEK, ...) from the report's
// certificate table, or nil.
func (r *Report) Cert(kind string) []byte {
	for _, c := range r.Certs {
		if c.Kind == kind && len(c.Data) > 0 {
			return c.Data
		}
	}
	return nil
}

// SigningKey returns the kind of key that signed the report: "VCEK", "VLEK"
// or "None".
func (r *Report) SigningKey() string {
	si, err := abi.ParseSignerInfo(r.Proto.GetSignerInfo())
	if err != nil {
		return "unknown"
	}
	return si.SigningKey.String()
}

// Measurement returns the launch measurement.
func (r *Report) Measurement() []byte { return r.Proto.GetMeasurement() }

// Summary describes the report in one line.
func (r *Report) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "version %d, VMPL %d, policy %#x, signed by %s", r.Proto.GetVersion(), r.Proto.GetVmpl(),
		r.Proto.GetPolicy(), r.SigningKey())
	if fms := r.Proto.GetCpuid1EaxFms(); fms != 0 {
		fam, model, step := abi.FmsFromCpuid1Eax(fms)
		fmt.Fprintf(&b, ", CPU family %#x model %#x stepping %d", fam, model, step)
	}
	if len(r.Certs) > 0 {
		kinds := make([]string, 0, len(r.Certs))
		for _, c := range r.Certs {
			k := c.Kind
			if k == "" {
				k = c.GUID.String()
			}
			kinds = append(kinds, k)
		}
		fmt.Fprintf(&b, ", certificate table: %s", strings.Join(kinds, " "))
	}
	return b.String()
}

// hexString formats bytes for check rows.
func hexString(b []byte) string { return hex.EncodeToString(b) }
