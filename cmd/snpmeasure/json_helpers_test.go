package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/snpmeasure/snpmeasure/internal/cli"
)

// checkJSONRun checks the common --json conventions of a finished run: the
// exit status, a 2-space indented document ending in one newline, nothing on
// stderr on success and one line on failure. It returns the decoded document.
func checkJSONRun(t *testing.T, r cliResult, code int) any {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	switch {
	case code == 0 && r.stderr != "":
		t.Errorf("stderr on success: %q", r.stderr)
	case code != 0 && (strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "snpmeasure: ")):
		t.Errorf("stderr is not one line: %q", r.stderr)
	}
	if code != 0 && code != cli.ExitMismatch {
		if r.stdout != "" {
			t.Errorf("stdout on error: %q", r.stdout)
		}
		return nil
	}
	if !strings.HasSuffix(r.stdout, "\n") || strings.HasSuffix(r.stdout, "\n\n") {
		t.Errorf("stdout does not end in one newline: %q", r.stdout)
	}
	if !strings.HasPrefix(r.stdout, "{\n  \"") && !strings.HasPrefix(r.stdout, "[\n  {\n    \"") && r.stdout != "[]\n" {
		t.Errorf("not 2-space indented JSON: %.80q", r.stdout)
	}
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	if dec.More() {
		t.Errorf("more than one JSON value on stdout")
	}
	return v
}

// jsonKeys returns the keys of the top-level JSON object s, in order.
func jsonKeys(t *testing.T, s string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %v %v", tok, err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// checkKeys fails unless the object s has exactly keys, in this order.
func checkKeys(t *testing.T, s string, keys ...string) {
	t.Helper()
	if got := jsonKeys(t, s); !slices.Equal(got, keys) {
		t.Errorf("keys %q, want %q", got, keys)
	}
}

// jget walks a decoded JSON document: a string steps into an object, an int
// into an array. A missing step fails the test.
func jget(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not an object at %q", path, k)
			}
			if v, ok = m[k]; !ok {
				t.Fatalf("%v: no key %q", path, k)
			}
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("%v: no element %d", path, k)
			}
			v = a[k]
		}
	}
	return v
}

// jstr renders a decoded JSON value for comparison: strings as themselves,
// numbers as their literal, null as "null", anything else as compact JSON
// (object keys sorted: check key order with checkKeys).
func jstr(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case json.Number:
		return x.String()
	}
	var b bytes.Buffer
	json.NewEncoder(&b).Encode(v)
	return strings.TrimSpace(b.String())
}

// checkJSONValues compares values of a decoded document, given as path → want.
func checkJSONValues(t *testing.T, v any, want map[string]string) {
	t.Helper()
	for path, w := range want {
		var steps []any
		for _, s := range strings.Split(path, ".") {
			if n, ok := atoiOK(s); ok {
				steps = append(steps, n)
			} else {
				steps = append(steps, s)
			}
		}
		if got := jstr(jget(t, v, steps...)); got != w {
			t.Errorf("%s = %s, want %s", path, got, w)
		}
	}
}

func atoiOK(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
