package report

import (
	"bytes"
	"net/http"
	"os"
	"strings"
	"testing"
)

// Verification is offline: any HTTP request through the default transport
// fails the test run.
func init() { http.DefaultTransport = noNetwork{} }

type noNetwork struct{}

func (noNetwork) RoundTrip(r *http.Request) (*http.Response, error) {
	panic("report tests must not use the network: " + r.URL.String())
}

func readTestFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tamper(raw []byte, off int, x byte) []byte {
	c := bytes.Clone(raw)
	c[off] ^= x
	return c
}

func checkNames(cs []Check) string {
	n := make([]string, len(cs))
	for i, c := range cs {
		n[i] = c.Name
	}
	return strings.Join(n, ",")
}

func failedNames(r *Result) string { return checkNames(r.Failed()) }

// findCheck returns the row of that name, or an empty Check.
func findCheck(r *Result, name string) Check {
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	return Check{}
}
