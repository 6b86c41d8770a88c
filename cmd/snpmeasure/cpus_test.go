package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/snpmeasure/snpmeasure/vmsa"
)

func TestCPUsJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want map[string]string // path → value
	}{
		{"json", []string{"cpus", "--json"}, 0, map[string]string{
			"0.vcpu_type": "EPYC", "0.family": "23", "0.model": "1", "0.stepping": "2", "0.signature": "0x800f12", "0.product": "Naples",
		}},
		{"json=true", []string{"cpus", "--json=true"}, 0, nil},
		{"argument", []string{"cpus", "--json", "extra"}, 2, nil},
		{"bad bool", []string{"cpus", "--json=maybe"}, 2, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runInProcess(tc.args...)
			v := checkJSONRun(t, r, tc.code)
			if tc.code != 0 {
				return
			}
			checkJSONValues(t, v, tc.want)
			arr := v.([]any)
			if len(arr) != len(vmsa.CPUTypes) {
				t.Fatalf("%d entries, want %d", len(arr), len(vmsa.CPUTypes))
			}
			byName := map[string]int{}
			for i, c := range vmsa.CPUTypes {
				byName[c.Name] = i
				e := arr[i].(map[string]any)
				if len(e) != 6 || jstr(e["vcpu_type"]) != c.Name || jstr(e["family"]) != fmt.Sprint(c.Family) ||
					jstr(e["model"]) != fmt.Sprint(c.Model) || jstr(e["stepping"]) != fmt.Sprint(c.Stepping) ||
					jstr(e["signature"]) != fmt.Sprintf("%#x", c.Signature()) || jstr(e["product"]) != vmsa.ProductOf(c.Signature()).String() {
					t.Errorf("entry %d: %v", i, e)
				}
			}
			first := r.stdout[1 : strings.Index(r.stdout, "}")+1]
			checkKeys(t, first, "vcpu_type", "family", "model", "stepping", "signature", "product")
			for name, want := range map[string][2]string{
				"EPYC-Milan": {"0xa00f11", "Milan"}, "EPYC-Genoa": {"0xa10f10", "Genoa"},
				"EPYC-Rome": {"0x830f10", "Rome"}, "EPYC-Turin": {"0xb00f00", "Turin"},
			} {
				e := arr[byName[name]]
				if jstr(jget(t, e, "signature")) != want[0] || jstr(jget(t, e, "product")) != want[1] {
					t.Errorf("%s: %v, want %v", name, e, want)
				}
			}
		})
	}
}

// TestCPUsText: the text table prints the signature unpadded, as search and
// refvalues do.
func TestCPUsText(t *testing.T) {
	r := runInProcess("cpus")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != len(vmsa.CPUTypes)+1 || strings.Join(strings.Fields(lines[0]), " ") != "VCPU-TYPE FAMILY MODEL STEPPING SIGNATURE PRODUCT" {
		t.Fatalf("table:\n%s", r.stdout)
	}
	for _, l := range lines[1:] {
		if f := strings.Fields(l); f[0] == "EPYC-Milan" && strings.Join(f, " ") != "EPYC-Milan 25 1 1 0xa00f11 Milan" {
			t.Errorf("row %q", l)
		}
	}
	if strings.Contains(r.stdout, "0x00") {
		t.Errorf("padded signature:\n%s", r.stdout)
	}
}
