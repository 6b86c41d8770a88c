package refvalues

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// PredicateType is the in-toto predicate type of the reference values: the
// predicate is the JSON document.
const PredicateType = SchemaURI

// Input roles, the "role" annotation of the in-toto subjects.
const (
	RoleFirmware = "firmware"
	RoleKernel   = "kernel"
	RoleInitrd   = "initrd"
)

// InTotoStatement returns an in-toto Statement v1 whose subjects are the
// input files (base name, SHA-256 digest and a "role" annotation) and whose
// predicate is the JSON document.
func (d *Document) InTotoStatement() (*intoto.Statement, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	var subjects []*intoto.ResourceDescriptor
	for _, in := range []struct {
		role string
		f    *File
	}{{RoleFirmware, &d.Inputs.Firmware.File}, {RoleKernel, d.Inputs.Kernel}, {RoleInitrd, d.Inputs.Initrd}} {
		if in.f == nil {
			continue
		}
		ann, err := structpb.NewStruct(map[string]any{"role": in.role})
		if err != nil {
			return nil, err
		}
		subjects = append(subjects, &intoto.ResourceDescriptor{
			Name:        in.f.Name,
			Digest:      map[string]string{"sha256": in.f.SHA256.String()},
			Annotations: ann,
		})
	}
	var doc bytes.Buffer
	if err := d.EncodeJSON(&doc); err != nil {
		return nil, err
	}
	pred := &structpb.Struct{}
	if err := protojson.Unmarshal(doc.Bytes(), pred); err != nil {
		return nil, fmt.Errorf("in-toto predicate: %w", err)
	}
	st := &intoto.Statement{
		Type:          intoto.StatementTypeUri,
		Subject:       subjects,
		PredicateType: PredicateType,
		Predicate:     pred,
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("in-toto statement: %w", err)
	}
	return st, nil
}

// EncodeInToto writes the in-toto statement as indented JSON. protojson
// varies its whitespace on purpose, so the output is re-indented to depend
// only on the document; keys are in protojson's order (statement fields in
// schema order, predicate keys sorted).
func (d *Document) EncodeInToto(w io.Writer) error {
	st, err := d.InTotoStatement()
	if err != nil {
		return err
	}
	raw, err := protojson.Marshal(st)
	if err != nil {
		return fmt.Errorf("in-toto statement: %w", err)
	}
	var compact, out bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return err
	}
	if err := json.Indent(&out, compact.Bytes(), "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err = w.Write(out.Bytes())
	return err
}

// DecodeInToto parses an in-toto statement written by EncodeInToto and
// returns it with its predicate as a Document.
func DecodeInToto(data []byte) (*intoto.Statement, *Document, error) {
	st := &intoto.Statement{}
	if err := protojson.Unmarshal(data, st); err != nil {
		return nil, nil, fmt.Errorf("in-toto statement: %w", err)
	}
	if err := st.Validate(); err != nil {
		return nil, nil, fmt.Errorf("in-toto statement: %w", err)
	}
	if st.GetPredicateType() != PredicateType {
		return nil, nil, fmt.Errorf("in-toto predicate type %q: want %q", st.GetPredicateType(), PredicateType)
	}
	pj, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return nil, nil, fmt.Errorf("in-toto predicate: %w", err)
	}
	doc, err := ParseJSON(pj)
	if err != nil {
		return nil, nil, fmt.Errorf("in-toto predicate: %w", err)
	}
	return st, doc, nil
}
