// Package refvalues is the model of a set of SEV-SNP reference values, the
// launch measurements of every configuration of one guest image, and its
// encoders:
//
//   - JSON (FormatJSON): the snpmeasure reference values document, schema
//     SchemaURI version 1, documented in the README (section "refvalues").
//     Its JSON Schema (draft 2020-12) is embedded: Schema. Encoding is
//     deterministic: the same document gives the same bytes.
//   - RVPS (FormatRVPS): a message for the Confidential Containers Trustee
//     reference value provider service (rvps-tool register, or a POST to the
//     KBS reference-value endpoint) in its "sample" provenance format, with
//     the keys Trustee's default SNP policy reads (snp_launch_measurement, and
//     the policy keys when the document has a policy).
//   - in-toto (FormatInToto): an in-toto Statement v1 whose subjects are the
//     input files and whose predicate is the JSON document.
//   - CoRIM (FormatCoRIM): an unsigned CoRIM (CBOR tag 501, Core
//     Deterministic Encoding) holding one CoMID (tag 506) with one reference
//     triple per environment class and distinct measurement: MEASUREMENT is
//     mkey 641 with a SHA-384 digest, POLICY is mkey 2 as tagged bytes. The
//     default profile, CoRIMProfile2024, is the one Veraison's SEV-SNP
//     scheme ingests (each environment's instance is 560(MEASUREMENT));
//     CoRIMFor writes CoRIMProfile2025, the current draft of the IETF "CoRIM
//     profile for AMD SEV-SNP attestation report", instead. DecodeCoRIM reads
//     both.
//
// The package does no file I/O: callers fill a Document and pick an encoder.
package refvalues
