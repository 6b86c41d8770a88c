package refvalues

import (
	"encoding/json"
	"reflect"
	"testing"

	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// TestInTotoOfficialBindings: the in-toto project's own Go bindings read
// the statement, validate it, and write back the same JSON value.
func TestInTotoOfficialBindings(t *testing.T) {
	for _, withKernel := range []bool{true, false} {
		d := sampleDoc(withKernel)
		if !withKernel {
			d.Inputs.Kernel, d.Inputs.Initrd, d.Inputs.Cmdline = nil, nil, nil
		}
		ours := encode(t, d, FormatInToto)
		st := &intoto.Statement{}
		if err := protojson.Unmarshal(ours, st); err != nil {
			t.Fatalf("protojson: %v", err)
		}
		if err := st.Validate(); err != nil {
			t.Fatalf("in-toto Validate: %v", err)
		}
		if st.GetPredicateType() != PredicateType || st.GetType() != intoto.StatementTypeUri {
			t.Errorf("type %q, predicate type %q", st.GetType(), st.GetPredicateType())
		}
		theirs, err := protojson.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		json.Unmarshal(ours, &a)
		json.Unmarshal(theirs, &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("the bindings write another value:\nours   %s\ntheirs %s", ours, theirs)
		}
	}
}
