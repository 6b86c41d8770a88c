package schemacheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/snpmeasure/snpmeasure/refvalues"
)

// compiled is the schema, compiled once (it is immutable afterwards).
var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(refvalues.Schema()))
	if err != nil {
		return nil, fmt.Errorf("refvalues schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	// The schema says which draft it is; the compiler checks it against
	// that draft's metaschema (bundled: nothing is fetched).
	if err := c.AddResource(refvalues.SchemaURI, doc); err != nil {
		return nil, fmt.Errorf("refvalues schema: %w", err)
	}
	return c.Compile(refvalues.SchemaURI)
})

// Schema returns the compiled refvalues schema, or why it does not compile.
func Schema() (*jsonschema.Schema, error) { return compiled() }

// RefValues validates a JSON reference values document against the schema.
func RefValues(data []byte) error {
	sch, err := compiled()
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return sch.Validate(inst)
}

// InToto validates an in-toto statement whose predicate is a reference
// values document: its predicateType must be the schema's URI and its
// predicate valid against the schema.
func InToto(data []byte) error {
	var st struct {
		PredicateType string          `json:"predicateType"`
		Predicate     json.RawMessage `json:"predicate"`
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("in-toto statement: %w", err)
	}
	if st.PredicateType != refvalues.SchemaURI {
		return fmt.Errorf("in-toto predicateType %q: want %q", st.PredicateType, refvalues.SchemaURI)
	}
	if err := RefValues(st.Predicate); err != nil {
		return fmt.Errorf("in-toto predicate: %w", err)
	}
	return nil
}
