package schemacheck

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestValidates(t *testing.T) {
	if _, err := Schema(); err != nil {
		t.Fatal(err)
	}
	if err := RefValues([]byte(`{"schema":"https://snpmeasure.dev/refvalues/v1","version":1}`)); err == nil {
		t.Error("accepted a document without tool, mode, inputs and measurements")
	}
	if err := RefValues([]byte(`{`)); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Errorf("broken JSON: %v", err)
	}
	for _, st := range []string{`{}`, `{"predicateType":"https://example.com/x","predicate":{}}`, `{"predicateType":"https://snpmeasure.dev/refvalues/v1","predicate":{}}`} {
		if err := InToto([]byte(st)); err == nil {
			t.Errorf("accepted %s", st)
		}
	}
}

// TestNotInTheTool: the validator is for tests only; neither the CLI nor
// the refvalues package links it.
func TestNotInTheTool(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goTool, "list", "-deps", "github.com/snpmeasure/snpmeasure/cmd/snpmeasure", "github.com/snpmeasure/snpmeasure/refvalues").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v: %s", err, out)
	}
	if strings.Contains(string(out), "santhosh-tekuri/jsonschema") || strings.Contains(string(out), "internal/schemacheck") {
		t.Error("the snpmeasure binary or the refvalues package depends on the JSON Schema validator")
	}
	if !strings.Contains(string(out), "github.com/snpmeasure/snpmeasure/refvalues") {
		t.Errorf("go list gave no dependencies:\n%s", out)
	}
}
