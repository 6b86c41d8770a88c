// Package schemacheck validates JSON outputs against the published JSON
// Schema of the reference values document (refvalues.Schema, $id
// refvalues.SchemaURI) with a real JSON Schema validator
// (github.com/santhosh-tekuri/jsonschema), for tests.
//
// Only test files import it, so the validator stays out of the snpmeasure
// binary and of the refvalues package: the tool writes the document with
// encoding/json and its own Validate, and the tests prove that what it
// writes is what the schema describes.
package schemacheck
