package refvalues

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// PredicateType is the in-toto predicate type of the reference values: the
// predicate is the JSON document.
const PredicateType = SchemaURI

// StatementType is the _type of an in-toto Statement v1.
const StatementType = "https://in-toto.io/Statement/v1"

// Input roles, the "role" annotation of the in-toto subjects.
const (
	RoleFirmware = "firmware"
	RoleKernel   = "kernel"
	RoleInitrd   = "initrd"
	RoleIGVM     = "igvm"
)

// Statement is an in-toto Statement v1
// (github.com/in-toto/attestation/spec/v1/statement.md), written here with
// encoding/json rather than the in-toto protobuf bindings, which the tests
// use to check it.
type Statement struct {
	Type          string                `json:"_type"`
	Subject       []*ResourceDescriptor `json:"subject"`
	PredicateType string                `json:"predicateType"`
	Predicate     json.RawMessage       `json:"predicate"`
}

// ResourceDescriptor is a subject of a Statement.
type ResourceDescriptor struct {
	Name        string            `json:"name"`
	Digest      map[string]string `json:"digest"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// GetSubject returns the subjects.
func (s *Statement) GetSubject() []*ResourceDescriptor { return s.Subject }

// GetPredicateType returns the predicate type.
func (s *Statement) GetPredicateType() string { return s.PredicateType }

// GetName returns the subject's name.
func (r *ResourceDescriptor) GetName() string { return r.Name }

// GetDigest returns the subject's digests by algorithm.
func (r *ResourceDescriptor) GetDigest() map[string]string { return r.Digest }

// Validate checks what in-toto requires of a Statement: its type, at least
// one subject, each with a digest in hex, and a predicate type.
func (s *Statement) Validate() error {
	switch {
	case s.Type != StatementType:
		return fmt.Errorf("_type %q: want %q", s.Type, StatementType)
	case len(s.Subject) == 0:
		return errors.New("no subject")
	case s.PredicateType == "":
		return errors.New("no predicateType")
	}
	for i, sub := range s.Subject {
		if len(sub.Digest) == 0 {
			return fmt.Errorf("subject %d: no digest", i)
		}
		for alg, d := range sub.Digest {
			if _, err := hex.DecodeString(d); err != nil || d == "" {
				return fmt.Errorf("subject %d: digest %s %q is not hex", i, alg, d)
			}
		}
	}
	return nil
}

// InTotoStatement returns an in-toto Statement v1 whose subjects are the
// input files (base name, SHA-256 digest and a "role" annotation) and whose
// predicate is the JSON document, its keys sorted.
func (d *Document) InTotoStatement() (*Statement, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	st := &Statement{Type: StatementType, PredicateType: PredicateType}
	type subject struct {
		role string
		f    *File
	}
	var subjects []subject
	if d.Inputs.Firmware != nil {
		subjects = append(subjects, subject{RoleFirmware, &d.Inputs.Firmware.File})
	}
	if d.Inputs.IGVM != nil {
		subjects = append(subjects, subject{RoleIGVM, &d.Inputs.IGVM.File})
	}
	subjects = append(subjects, subject{RoleKernel, d.Inputs.Kernel}, subject{RoleInitrd, d.Inputs.Initrd})
	for _, in := range subjects {
		if in.f != nil {
			st.Subject = append(st.Subject, &ResourceDescriptor{Name: in.f.Name,
				Digest: map[string]string{"sha256": in.f.SHA256.String()}, Annotations: map[string]string{"role": in.role}})
		}
	}
	var doc bytes.Buffer
	if err := d.EncodeJSON(&doc); err != nil {
		return nil, err
	}
	// Through a generic value, as a protobuf Struct holds it: keys sorted.
	dec := json.NewDecoder(&doc)
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("in-toto predicate: %w", err)
	}
	var err error
	if st.Predicate, err = marshalNoEscape(v); err != nil {
		return nil, fmt.Errorf("in-toto predicate: %w", err)
	}
	return st, st.Validate()
}

// marshalNoEscape is json.Marshal without HTML escaping.
func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// EncodeInToto writes the in-toto statement as indented JSON; the output
// depends only on the document.
func (d *Document) EncodeInToto(w io.Writer) error {
	st, err := d.InTotoStatement()
	if err != nil {
		return err
	}
	raw, err := marshalNoEscape(st)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err = w.Write(out.Bytes())
	return err
}

// DecodeInToto parses an in-toto statement written by EncodeInToto and
// returns it with its predicate as a Document.
func DecodeInToto(data []byte) (*Statement, *Document, error) {
	st := &Statement{}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, nil, fmt.Errorf("in-toto statement: %w", err)
	}
	if err := st.Validate(); err != nil {
		return nil, nil, fmt.Errorf("in-toto statement: %w", err)
	}
	if st.PredicateType != PredicateType {
		return nil, nil, fmt.Errorf("in-toto predicate type %q: want %q", st.PredicateType, PredicateType)
	}
	doc, err := ParseJSON(st.Predicate)
	if err != nil {
		return nil, nil, fmt.Errorf("in-toto predicate: %w", err)
	}
	return st, doc, nil
}
