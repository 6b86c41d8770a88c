package report

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// The certificate table of an extended report (GHCB specification 2.03,
// section 4.1.8.1 MSG_REPORT_REQ, "certificate table"; Linux's
// configfs-tsm auxblob holds the same bytes): 24-byte entries of a GUID,
// a 32-bit offset and a 32-bit length, ended by an all-zero entry, then the
// certificates. Offsets count from the start of the table.
const (
	CertTableEntrySize = 24
	certEntryOffset    = 16
	certEntryLength    = 20
)

// Kinds of certificate table entries, by GUID.
const (
	CertVCEK = "VCEK"
	CertVLEK = "VLEK"
	CertASK  = "ASK"
	CertARK  = "ARK"
)

// GUIDs of the certificate table, written as RFC 4122 strings.
var certGUIDs = map[string]string{
	"63da758d-e664-4564-adc5-f4b93be8accd": CertVCEK,
	"a8074bc2-a25a-483e-aae6-39c045a0b8a1": CertVLEK,
	"4ab7b379-bbac-4fe4-a02f-05aef327c782": CertASK,
	"c0b406a4-a803-4952-9743-3fb6014cd0ae": CertARK,
}

// GUID is a 16-byte GUID as stored in the table.
type GUID [16]byte

// String formats the bytes in RFC 4122 order (the order every host tool,
// Linux and go-sev-guest use in this table).
func (g GUID) String() string {
	h := hex.EncodeToString(g[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// swapped returns the GUID with its first three fields byte-swapped: the
// mixed-endian order of EFI GUIDs.
func (g GUID) swapped() GUID {
	s := g
	s[0], s[1], s[2], s[3] = g[3], g[2], g[1], g[0]
	s[4], s[5] = g[5], g[4]
	s[6], s[7] = g[7], g[6]
	return s
}

// kind returns the entry kind of a GUID and whether it was stored in the
// mixed-endian (EFI) order instead of RFC 4122 order.
func (g GUID) kind() (kind string, mixed bool) {
	if k, ok := certGUIDs[g.String()]; ok {
		return k, false
	}
	if k, ok := certGUIDs[g.swapped().String()]; ok {
		return k, true
	}
	return "", false
}

// CertEntry is one entry of an extended report's certificate table.
type CertEntry struct {
	GUID GUID
	// Kind is CertVCEK, CertVLEK, CertASK, CertARK, or "" for other GUIDs.
	Kind string
	// MixedEndian is set when the GUID was stored in EFI byte order.
	MixedEndian bool
	// Offset is where the entry's header is in the input; Data is the
	// certificate (DER or PEM), as long as the entry says.
	Offset int
	Data   []byte
}

// Name names the entry for messages: its kind, or its GUID.
func (e *CertEntry) Name() string {
	if e.Kind != "" {
		return e.Kind
	}
	return "GUID " + e.GUID.String()
}

// parseCertTable parses the table t found at offset base of the input.
// Trailing zero padding without a table is accepted. Every entry must point
// inside the data after the headers (the terminating entry included), hold
// at least one byte, and no GUID may appear twice: an entry that is skipped
// or shadowed would decide what gets checked.
func parseCertTable(t []byte, base int) ([]CertEntry, error) {
	var certs []CertEntry
	headersEnd := len(t) // the end of the terminating entry
	for off := 0; ; off += CertTableEntrySize {
		i := off / CertTableEntrySize
		if off+CertTableEntrySize > len(t) {
			if !allZero(t[off:]) && !(i == 0 && blank(t)) { // a line end after a binary report is no table
				return nil, &ParseError{Offset: base + off,
					Err: fmt.Errorf("certificate table: entry %d is cut short (%d bytes, want %d)", i, len(t)-off, CertTableEntrySize)}
			}
			if i > 0 {
				return nil, &ParseError{Offset: base + off,
					Err: fmt.Errorf("certificate table: no all-zero entry ends the %d entries", i)}
			}
			return nil, nil // zero padding, no table
		}
		e := t[off : off+CertTableEntrySize]
		if allZero(e) {
			headersEnd = off + CertTableEntrySize
			break
		}
		var g GUID
		copy(g[:], e)
		kind, mixed := g.kind()
		certs = append(certs, CertEntry{GUID: g, Kind: kind, MixedEndian: mixed, Offset: base + off})
	}
	seen := map[string]int{}
	for i := range certs {
		ce := &certs[i]
		e := t[ce.Offset-base:]
		start := uint64(binary.LittleEndian.Uint32(e[certEntryOffset:]))
		n := uint64(binary.LittleEndian.Uint32(e[certEntryLength:]))
		switch {
		case n == 0:
			return nil, &ParseError{Offset: ce.Offset + certEntryLength,
				Err: fmt.Errorf("certificate table: entry %d (%s) has length 0", i, ce.Name())}
		case start < uint64(headersEnd) || start+n > uint64(len(t)):
			return nil, &ParseError{Offset: ce.Offset + certEntryOffset,
				Err: fmt.Errorf("certificate table: entry %d (%s) points at bytes %#x-%#x, outside the certificate data (bytes %#x-%#x after the %d headers)",
					i, ce.Name(), start, start+n, headersEnd, len(t), len(certs)+1)}
		}
		key := ce.Kind
		if key == "" {
			key = ce.GUID.String()
		}
		if j, dup := seen[key]; dup {
			return nil, &ParseError{Offset: ce.Offset,
				Err: fmt.Errorf("certificate table: entry %d repeats the %s of entry %d", i, ce.Name(), j)}
		}
		seen[key] = i
		ce.Data = t[start : start+n : start+n]
	}
	return certs, nil
}

// Entry returns the table entry of a kind (CertVCEK, ...), or nil.
func (r *Report) Entry(kind string) *CertEntry {
	for i := range r.Certs {
		if r.Certs[i].Kind == kind {
			return &r.Certs[i]
		}
	}
	return nil
}
