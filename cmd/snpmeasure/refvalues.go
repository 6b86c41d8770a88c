package main

import (
	"context"
	"io"
	"slices"
	"strings"

	"github.com/snpmeasure/snpmeasure/internal/cli"
	"github.com/snpmeasure/snpmeasure/refvalues"
)

func init() {
	app.Register("refvalues", "reference values for every configuration: json, rvps, intoto or corim", runRefvalues)
}

// refvaluesDefaults are the ranged flag defaults of refvalues; --vcpus has
// none and must be given.
var refvaluesDefaults = spaceDefaults{vcpus: "", vcpuTypes: "all", vmmTypes: "QEMU", guestFeatures: "0x1", kvmInits: "init2"}

func runRefvalues(args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("refvalues")
	o := addSpaceFlags(fs, refvaluesDefaults)
	format := fs.String("format", refvalues.FormatJSON, "output format: "+strings.Join(refvalues.Formats, ", "))
	output := fs.StringP("output", "o", "-", "write to this file (atomically), - for standard output")
	policy := fs.String("policy", "", "guest policy of the launch, e.g. 0x30000: adds policy reference values (json, rvps, corim)")
	corimProfile := fs.String("corim-profile", refvalues.CoRIMProfileNames[0], "CoRIM profile: 2024 (what Veraison ingests) or 2025 (the current AMD profile draft)")
	if err := app.Parse(fs, args, stdout, app.Usage("refvalues")); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected argument %q", fs.Arg(0))
	}
	if !fs.Changed("vcpus") && (o.igvm == "" || o.igvmLoader == "qemu") {
		return cli.Usagef("missing --vcpus (counts and ranges, e.g. 1-64,96)")
	}
	if !slices.Contains(refvalues.Formats, *format) {
		return cli.Usagef("--format %q: want %s", *format, strings.Join(refvalues.Formats, ", "))
	}
	if *output == "" {
		return cli.Usagef("-o: empty file name (use - for standard output)")
	}
	profile, err := refvalues.CoRIMProfileURI(*corimProfile)
	if err != nil {
		return cli.Usagef("--corim-profile: %v", err)
	}
	if fs.Changed("corim-profile") && *format != refvalues.FormatCoRIM {
		return cli.Usagef("--corim-profile applies to --format corim only")
	}
	var pol *refvalues.Hex
	if fs.Changed("policy") {
		v, err := parseGuestPolicyFlag("policy", *policy)
		if err != nil {
			return err
		}
		h := refvalues.Hex(v)
		pol = &h
	}
	s, c, err := o.parseSpace()
	if err != nil {
		return err
	}
	printNotes(stderr, o.notes)
	inputs := []cli.File{{Flag: "--ovmf", Path: o.ovmf}, {Flag: "--kernel", Path: o.kernel}, {Flag: "--initrd", Path: o.initrd}, {Flag: "--igvm", Path: o.igvm}}
	if err := cli.CheckOutputs([]cli.File{{Flag: "-o", Path: *output}}, inputs...); err != nil {
		return err
	}
	in, err := o.open(c, true)
	if err != nil {
		return err
	}
	defer in.Close()
	doc, err := refvalues.Build(context.Background(), in, s, version)
	if err != nil {
		return err
	}
	doc.Policy = pol
	return app.WriteOutput(*output, stdout, cli.Paths(inputs), func(w io.Writer) error {
		if *format == refvalues.FormatCoRIM {
			return doc.EncodeCoRIMFor(w, profile)
		}
		return doc.Encode(w, *format)
	})
}

// parseGuestPolicyFlag parses an SEV-SNP guest policy; bit 17 is reserved and must be 1.
func parseGuestPolicyFlag(flag, s string) (uint64, error) {
	v, err := parseUint(flag, s)
	if err != nil {
		return 0, err
	}
	if v&refvalues.PolicyReserved1 == 0 {
		return 0, cli.Usagef("--%s %s: bit 17 is reserved and must be 1 (e.g. 0x30000)", flag, s)
	}
	return v, nil
}
