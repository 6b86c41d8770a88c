package refvalues

import (
	"bytes"
	_ "embed"
)

// schemaV1 is the JSON Schema of the document; it is published at SchemaURI.
//
//go:embed schema/v1.json
var schemaV1 []byte

// Schema returns the JSON Schema (draft 2020-12) of the JSON document,
// whose $id is SchemaURI. Documents that EncodeJSON writes are valid against
// it; so is the predicate of every in-toto statement EncodeInToto writes.
// The schema admits keys it does not name (lowercase snake_case), because
// later version 1 writers may add keys.
func Schema() []byte { return bytes.Clone(schemaV1) }
