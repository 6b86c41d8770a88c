package refvalues

// SampleDoc gives the external tests (package refvalues_test, which may
// import internal/schemacheck without an import cycle) the synthetic
// document of the internal ones.
var SampleDoc = sampleDoc
