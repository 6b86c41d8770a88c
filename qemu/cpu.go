package qemu

import (
	"fmt"
	"slices"
	"strings"

	"github.com/snpmeasure/snpmeasure/vmsa"
)

// cpuModel is an AMD EPYC -cpu model and the first release that has it.
// Sources (README "qemu-args" has the table):
//   - 9.1: every model here was in QEMU 8.1 (the EPYC-Genoa and
//     EPYC-v4/Rome-v3/Milan-v2 pull of 2023-05-09; EPYC-Rome-v4 of 2023),
//     and Debian's 10.0.2 lists exactly this set (target/i386/cpu.c
//     builtin_x86_defs; qemu-system-x86_64 -cpu help).
//   - 10.1: EPYC-Turin (commit 3771a4daa273) and the v5/Rome-v5/Milan-v3/
//     Genoa-v2 updates of the same series were merged in June 2025, between
//     10.0.0 (April) and 10.1.0 (August); QEMU 10.2.2's cpu.c has them, 10.0.2's
//     has none.
//   - 11.1: EPYC-Milan-v4, EPYC-Genoa-v3, EPYC-Turin-v2 are in Debian's 11.1.3
//     and not in 10.2.2; whether 11.0 has them is not known here, so they are
//     claimed from 11.1 only.
var cpuModels = []struct {
	name  string
	since Version
}{
	{"EPYC", v9_1}, {"EPYC-v1", v9_1}, {"EPYC-v2", v9_1}, {"EPYC-IBPB", v9_1}, {"EPYC-v3", v9_1}, {"EPYC-v4", v9_1},
	{"EPYC-Rome", v9_1}, {"EPYC-Rome-v1", v9_1}, {"EPYC-Rome-v2", v9_1}, {"EPYC-Rome-v3", v9_1}, {"EPYC-Rome-v4", v9_1},
	{"EPYC-Milan", v9_1}, {"EPYC-Milan-v1", v9_1}, {"EPYC-Milan-v2", v9_1},
	{"EPYC-Genoa", v9_1}, {"EPYC-Genoa-v1", v9_1},
	{"EPYC-v5", v10_1}, {"EPYC-Rome-v5", v10_1}, {"EPYC-Milan-v3", v10_1}, {"EPYC-Genoa-v2", v10_1},
	{"EPYC-Turin", v10_1}, {"EPYC-Turin-v1", v10_1},
	{"EPYC-Milan-v4", v11_1}, {"EPYC-Genoa-v3", v11_1}, {"EPYC-Turin-v2", v11_1},
}

// CPUModelSince returns the first release with the AMD EPYC -cpu model name.
func CPUModelSince(name string) (Version, bool) {
	for _, m := range cpuModels {
		if m.name == name {
			return m.since, true
		}
	}
	return Version{}, false
}

// CPUModels returns the AMD EPYC -cpu models of release v, sorted.
func CPUModels(v Version) []string {
	var names []string
	for _, m := range cpuModels {
		if v.AtLeast(m.since) {
			names = append(names, m.name)
		}
	}
	slices.Sort(names)
	return names
}

// cpuModel picks the -cpu model: the named one if it exists in v, else the
// first of snpmeasure's vCPU types (QEMU's order) with the measured
// signature that v has. The note lists the alternatives.
func cpuModel(name string, sig uint64, v Version) (model, note string, err error) {
	refuse := func(field, value, format string, args ...any) (string, string, error) {
		return "", "", &RefusedError{Field: field, Value: value, Reason: fmt.Sprintf(format, args...)}
	}
	if name != "" {
		since, ok := CPUModelSince(name)
		if !ok {
			return refuse("vcpu-type", name, "not an AMD EPYC model of QEMU %s to %s", v9_1, Newest())
		}
		if !v.AtLeast(since) {
			return refuse("vcpu-type", name, "QEMU %s has no such model (it came in %s); target QEMU %s or later", v, since, since)
		}
		if t, err := vmsa.LookupCPUType(name); err == nil && sig != 0 && t.Signature() != sig {
			return "", "", &InputError{Field: "vcpu-type", Value: name, Msg: fmt.Sprintf("its signature is %#x, the launch measures %#x", t.Signature(), sig)}
		}
		return name, "", nil
	}
	var same, later []string
	for _, t := range vmsa.CPUTypes {
		if t.Signature() != sig {
			continue
		}
		if since, ok := CPUModelSince(t.Name); ok && v.AtLeast(since) {
			same = append(same, t.Name)
		} else if ok {
			later = append(later, fmt.Sprintf("%s (QEMU %s+)", t.Name, since))
		}
	}
	value := fmt.Sprintf("%#x", sig)
	switch {
	case len(same) > 0:
		return same[0], fmt.Sprintf("vCPU signature %#x: -cpu %s (models with this signature: %s)", sig, same[0], strings.Join(same, ", ")), nil
	case len(later) > 0:
		return refuse("vcpu-sig", value, "QEMU %s has no -cpu model with this vCPU signature: %s", v, strings.Join(later, ", "))
	}
	return refuse("vcpu-sig", value, "no QEMU -cpu model has this vCPU signature; name the model")
}
