package report

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"strings"
	"text/tabwriter"
)

// Field is one field of a report, decoded for display.
type Field struct {
	// Name is the ABI's name (POLICY, REPORTED_TCB, ...); Key the JSON key.
	Name, Key string
	// Text is the value as text; JSON is the value for JSON (a string,
	// number or bool).
	Text string
	JSON any
	// Sub are the decoded parts of the field (policy bits, TCB components).
	Sub []Field
}

// Product returns the product line the report's CPUID names (VERSION 3+),
// or ProductUnknown with the reason.
func (r *Report) Product() (Product, error) {
	if r.CPUID == nil || (r.CPUID.Family == 0 && r.CPUID.Model == 0) {
		return ProductUnknown, fmt.Errorf("a VERSION %d report does not name its CPU", r.Version)
	}
	return ProductFromCPUID(*r.CPUID)
}

// Fields lists every field of the report in layout order, decoded: the
// policy, platform info and signer info bits, the TCBs by component for
// product p (when p is ProductUnknown, a VERSION 2 report's TCBs are shown
// in the Milan/Genoa layout, the only one VERSION 2 reports come in), the
// key digests, and the certificate table.
func (r *Report) Fields(p Product) []Field {
	layoutNote := ""
	if p == ProductUnknown && r.Version == 2 {
		p, layoutNote = Milan, "Milan/Genoa layout"
	}
	num := func(name, key string, v uint64) Field {
		return Field{Name: name, Key: key, Text: fmt.Sprint(v), JSON: v}
	}
	hexf := func(name, key string, b []byte) Field {
		h := hex.EncodeToString(b)
		return Field{Name: name, Key: key, Text: h, JSON: h}
	}
	flag := func(name, key string, set bool) Field {
		t := "0"
		if set {
			t = "1"
		}
		return Field{Name: name, Key: key, Text: t, JSON: set}
	}
	tcb := func(name, key string, t TCB) Field {
		f := Field{Name: name, Key: key, Text: fmt.Sprintf("%#016x", uint64(t)), JSON: fmt.Sprintf("%#016x", uint64(t))}
		layout := tcbLayout(p)
		if layout == nil {
			f.Text += " (components unknown: the product line is not known)"
			return f
		}
		parts := t.Parts(p)
		for _, c := range layout {
			f.Sub = append(f.Sub, num(tcbNames[c.key], c.key, uint64(*c.get(&parts))))
		}
		if rsv := t.reserved(p); rsv != 0 {
			f.Sub = append(f.Sub, Field{Name: "reserved bytes", Key: "reserved", Text: fmt.Sprintf("%#x", rsv), JSON: fmt.Sprintf("%#x", rsv)})
		}
		f.Text += " (" + parts.Format(p)
		if layoutNote != "" {
			f.Text += "; " + layoutNote
		}
		f.Text += ")"
		return f
	}
	version := func(name, key string, v FirmwareVersion) Field {
		return Field{Name: name, Key: key, Text: v.String(), JSON: fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Build),
			Sub: []Field{num("MAJOR", "major", uint64(v.Major)), num("MINOR", "minor", uint64(v.Minor)), num("BUILD", "build", uint64(v.Build))}}
	}

	pol := Field{Name: "POLICY", Key: "policy", Text: fmt.Sprintf("%#x", uint64(r.Policy)), JSON: fmt.Sprintf("%#x", uint64(r.Policy))}
	pol.Sub = append(pol.Sub, num("ABI_MINOR", "abi_minor", uint64(r.Policy.ABIMinor())), num("ABI_MAJOR", "abi_major", uint64(r.Policy.ABIMajor())))
	for _, b := range PolicyBits {
		pol.Sub = append(pol.Sub, flag(b.Name, jsonKey(b.Key), r.Policy.Has(b.Bit)))
	}
	pol.Sub = append(pol.Sub, flag("reserved bit 17 (must be 1)", "reserved_bit_17", r.Policy.Has(PolicyBitReservedOne)))
	if s := r.Policy.ReservedProblems(); s != "" {
		pol.Text += " (" + s + ")"
	}

	pi := Field{Name: "PLATFORM_INFO", Key: "platform_info", Text: fmt.Sprintf("%#x", uint64(r.PlatformInfo)), JSON: fmt.Sprintf("%#x", uint64(r.PlatformInfo))}
	known := uint64(0)
	for _, b := range PlatformInfoBits {
		pi.Sub = append(pi.Sub, flag(b.Name, jsonKey(b.Key), r.PlatformInfo.Has(b.Bit)))
		known |= 1 << b.Bit
	}
	if rest := uint64(r.PlatformInfo) &^ known; rest != 0 {
		pi.Sub = append(pi.Sub, Field{Name: "other bits (reserved in ABI 1.58)", Key: "other_bits", Text: fmt.Sprintf("%#x", rest), JSON: fmt.Sprintf("%#x", rest)})
	}

	si := Field{Name: "SIGNER_INFO", Key: "signer_info", Text: fmt.Sprintf("%#x", uint32(r.SignerInfo)), JSON: fmt.Sprintf("%#x", uint32(r.SignerInfo)),
		Sub: []Field{
			flag("AUTHOR_KEY_EN", "author_key_en", r.SignerInfo.AuthorKeyEn()),
			flag("MASK_CHIP_KEY", "mask_chip_key", r.SignerInfo.MaskChipKey()),
			{Name: "SIGNING_KEY", Key: "signing_key", Text: fmt.Sprintf("%d (%s)", r.SignerInfo.SigningKey(), r.SignerInfo.SigningKey()),
				JSON: r.SignerInfo.SigningKey().String()},
		}}
	if v := r.SignerInfo.Reserved(); v != 0 {
		si.Sub = append(si.Sub, Field{Name: "reserved bits", Key: "reserved", Text: fmt.Sprintf("%#x", v), JSON: fmt.Sprintf("%#x", v)})
	}

	algo := num("SIGNATURE_ALGO", "signature_algo", uint64(r.SignatureAlgo))
	if r.SignatureAlgo == SignatureAlgoECDSAP384SHA384 {
		algo.Text += " (ECDSA P-384 with SHA-384)"
	}
	chip := hexf("CHIP_ID", "chip_id", r.ChipID[:])
	if allZero(r.ChipID[:]) {
		chip.Text += " (zero: MASK_CHIP_ID)"
	}

	fs := []Field{
		num("VERSION", "version", uint64(r.Version)),
		num("GUEST_SVN", "guest_svn", uint64(r.GuestSVN)),
		pol,
		hexf("FAMILY_ID", "family_id", r.FamilyID[:]),
		hexf("IMAGE_ID", "image_id", r.ImageID[:]),
		num("VMPL", "vmpl", uint64(r.VMPL)),
		algo,
		tcb("CURRENT_TCB", "current_tcb", r.CurrentTCB),
		pi,
		si,
		hexf("REPORT_DATA", "report_data", r.ReportData[:]),
		hexf("MEASUREMENT", "measurement", r.Measurement[:]),
		hexf("HOST_DATA", "host_data", r.HostData[:]),
		hexf("ID_KEY_DIGEST", "id_key_digest", r.IDKeyDigest[:]),
		hexf("AUTHOR_KEY_DIGEST", "author_key_digest", r.AuthorKeyDigest[:]),
		hexf("REPORT_ID", "report_id", r.ReportID[:]),
		hexf("REPORT_ID_MA", "report_id_ma", r.ReportIDMA[:]),
		tcb("REPORTED_TCB", "reported_tcb", r.ReportedTCB),
	}
	if c := r.CPUID; c != nil {
		cpu := Field{Name: "CPUID", Key: "cpuid", Text: c.String(), JSON: c.String(), Sub: []Field{
			{Name: "CPUID_FAM_ID", Key: "family", Text: fmt.Sprintf("%02Xh", c.Family), JSON: uint64(c.Family)},
			{Name: "CPUID_MOD_ID", Key: "model", Text: fmt.Sprintf("%02Xh", c.Model), JSON: uint64(c.Model)},
			num("CPUID_STEP", "stepping", uint64(c.Stepping)),
		}}
		if pc, err := ProductFromCPUID(*c); err == nil {
			cpu.Text += " (" + pc.String() + ")"
		}
		fs = append(fs, cpu)
	}
	fs = append(fs, chip,
		tcb("COMMITTED_TCB", "committed_tcb", r.CommittedTCB),
		version("CURRENT_VERSION", "current_version", r.CurrentVersion),
		version("COMMITTED_VERSION", "committed_version", r.CommittedVersion),
		tcb("LAUNCH_TCB", "launch_tcb", r.LaunchTCB))
	if r.LaunchMitVector != nil {
		fs = append(fs, Field{Name: "LAUNCH_MIT_VECTOR", Key: "launch_mit_vector", Text: fmt.Sprintf("%#x", *r.LaunchMitVector), JSON: fmt.Sprintf("%#x", *r.LaunchMitVector)},
			Field{Name: "CURRENT_MIT_VECTOR", Key: "current_mit_vector", Text: fmt.Sprintf("%#x", *r.CurrentMitVector), JSON: fmt.Sprintf("%#x", *r.CurrentMitVector)})
	}
	sigR := new(big.Int).SetBytes(reversed(r.SignatureR[:]))
	sigS := new(big.Int).SetBytes(reversed(r.SignatureS[:]))
	fs = append(fs, Field{Name: "SIGNATURE", Key: "signature", Text: "ECDSA R, S (big-endian hex)", JSON: "ecdsa", Sub: []Field{
		{Name: "R", Key: "r", Text: fmt.Sprintf("%x", sigR), JSON: fmt.Sprintf("%x", sigR)},
		{Name: "S", Key: "s", Text: fmt.Sprintf("%x", sigS), JSON: fmt.Sprintf("%x", sigS)},
	}})
	var reserved []string
	for _, rg := range r.NonZeroReserved() {
		reserved = append(reserved, fmt.Sprintf("%#x-%#x", rg.Lo, rg.Hi-1))
	}
	rf := Field{Name: "reserved bytes", Key: "reserved_bytes", Text: "zero", JSON: "zero"}
	if len(reserved) > 0 {
		rf.Text = fmt.Sprintf("NOT ZERO at %v", reserved)
		rf.JSON = rf.Text
	}
	if tcbs := r.reservedTCBs(p); len(tcbs) > 0 {
		if len(reserved) == 0 {
			rf.Text = "NOT ZERO: "
		} else {
			rf.Text += "; "
		}
		rf.Text += strings.Join(tcbs, "; ")
		rf.JSON = rf.Text
	}
	fs = append(fs, rf)
	if len(r.Certs) > 0 {
		t := Field{Name: "CERTIFICATE TABLE", Key: "certificate_table", Text: fmt.Sprintf("%d entries", len(r.Certs)), JSON: len(r.Certs)}
		for _, e := range r.Certs {
			desc := fmt.Sprintf("GUID %s, %d bytes", e.GUID, len(e.Data))
			if e.MixedEndian {
				desc += " (GUID in EFI byte order)"
			}
			if certs, err := ParseCertificates(e.Data); err == nil && len(certs) == 1 {
				desc += fmt.Sprintf(", %q, valid %s to %s", certs[0].Subject.CommonName,
					certs[0].NotBefore.UTC().Format("2006-01-02"), certs[0].NotAfter.UTC().Format("2006-01-02"))
			} else if e.Kind != "" {
				desc += ", not a certificate"
			}
			key := strings.ToLower(e.Kind)
			if key == "" {
				key = e.GUID.String()
			}
			t.Sub = append(t.Sub, Field{Name: e.Name(), Key: key, Text: desc, JSON: desc})
		}
		fs = append(fs, t)
	}
	return fs
}

var tcbNames = map[string]string{"fmc": "FMC", "bl": "BOOT_LOADER", "tee": "TEE", "snp": "SNP", "ucode": "MICROCODE"}

// jsonKey turns a flag key ("migrate-ma") into a JSON key ("migrate_ma").
func jsonKey(k string) string {
	b := []byte(k)
	for i, c := range b {
		if c == '-' {
			b[i] = '_'
		}
	}
	return string(b)
}

// Summary describes the report in one line, as its fields say (nothing in
// it is verified).
func (r *Report) Summary() string {
	s := fmt.Sprintf("version %d, VMPL %d, policy %#x, SIGNING_KEY %s", r.Version, r.VMPL, uint64(r.Policy), r.SignerInfo.SigningKey())
	if r.CPUID != nil {
		s += ", CPUID " + r.CPUID.String()
	}
	if r.Container != "" {
		s += ", inside " + r.ContainerPhrase()
	}
	if len(r.Certs) > 0 {
		s += ", certificate table:"
		for _, e := range r.Certs {
			s += " " + e.Name()
		}
	}
	return s
}

// ContainerPhrase names the structure the report came in, with its
// article: "a MSG_REPORT_RSP", "an Azure HCL report"; "" for none.
func (r *Report) ContainerPhrase() string {
	switch {
	case r.Container == "":
		return ""
	case r.Container[0] == 'A':
		return "an " + r.Container
	}
	return "a " + r.Container
}

// WriteFields writes fields as `snpmeasure report show` does: one a line,
// name and text in columns, parts indented below their field.
func WriteFields(w io.Writer, fs []Field) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	writeFieldsText(tw, fs, "")
	return tw.Flush()
}

func writeFieldsText(w io.Writer, fs []Field, indent string) {
	for _, f := range fs {
		fmt.Fprintf(w, "%s%s\t%s\n", indent, f.Name, f.Text)
		writeFieldsText(w, f.Sub, indent+"  ")
	}
}

// MarshalFields returns fields as one indented JSON object, keys in field
// order; a field with parts becomes an object of "value" and its parts.
func MarshalFields(fs []Field) []byte {
	var b bytes.Buffer
	writeFieldsJSON(&b, fs, "")
	return b.Bytes()
}

func writeFieldsJSON(b *bytes.Buffer, fs []Field, indent string) {
	b.WriteString("{\n")
	for i, f := range fs {
		key, _ := json.Marshal(f.Key)
		fmt.Fprintf(b, "%s  %s: ", indent, key)
		v, _ := json.Marshal(f.JSON)
		if len(f.Sub) > 0 {
			writeFieldsJSON(b, append([]Field{{Key: "value", JSON: json.RawMessage(v)}}, f.Sub...), indent+"  ")
		} else {
			b.Write(v)
		}
		if i < len(fs)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString(indent + "}")
}
