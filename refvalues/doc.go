// Package refvalues is the model of a set of SEV-SNP reference values, the
// launch measurements of every configuration of one guest image, and its
// encoders:
//
//   - JSON (FormatJSON): the snpmeasure reference values document, schema
//     SchemaURI version 1, documented in the README (section "refvalues"). Encoding is
//     deterministic: the same document gives the same bytes.
//   - RVPS (FormatRVPS): a message for the Confidential Containers Trustee
//     reference value provider service (rvps-tool register, or a POST to the
//     KBS reference-value endpoint) in its "sample" provenance format, with
//     the keys Trustee's default SNP policy reads (snp_launch_measurement, and
//     the policy keys when the document has a policy).
//   - in-toto (FormatInToto): an in-toto Statement v1 whose subjects are the
//     input files and whose predicate is the JSON document.
//   - CoRIM (FormatCoRIM): an unsigned CoRIM (CBOR tag 501) holding one CoMID
//     (tag 506) with reference triples as the IETF draft "CoRIM profile for
//     AMD SEV-SNP attestation report" (draft-deeglaze-amd-sev-snp-corim-profile)
//     specifies them: MEASUREMENT is mkey 641 with a SHA-384 digest, POLICY is
//     mkey 2 as tagged bytes.
//
// The package does no file I/O: callers fill a Document and pick an encoder.
package refvalues
