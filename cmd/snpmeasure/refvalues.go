package main

import (
	"context"
	"io"
	"slices"
	"strings"

	"github.com/snpmeasure/snpmeasure/internal/cli"
	"github.com/snpmeasure/snpmeasure/internal/cliflags"
	"github.com/snpmeasure/snpmeasure/refvalues"
)

func init() {
	app.Register("refvalues", "reference values for every configuration: json, rvps, intoto or corim", runRefvalues)
}

// refvaluesDefaults are the ranged flag defaults of refvalues; --vcpus has
// none and must be given.
var refvaluesDefaults = cliflags.SpaceDefaults{VCPUs: "", VCPUTypes: "all", VMMTypes: "QEMU", GuestFeatures: "0x1", KVMInits: "init2"}

func runRefvalues(args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("refvalues")
	o := cliflags.AddSpace(fs, refvaluesDefaults)
	app.AddQuietFlag(fs)
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
	if !fs.Changed("vcpus") && (o.IGVM == "" || o.IGVMLoader == "qemu") {
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
		v, err := cliflags.GuestPolicy("policy", *policy)
		if err != nil {
			return err
		}
		h := refvalues.Hex(v)
		pol = &h
	}
	s, c, err := o.Parse()
	if err != nil {
		return err
	}
	cli.PrintNotes(stderr, o.Notes)
	inputs := []cli.File{{Flag: "--ovmf", Path: o.OVMF}, {Flag: "--kernel", Path: o.Kernel}, {Flag: "--initrd", Path: o.Initrd}, {Flag: "--igvm", Path: o.IGVM}}
	if err := cli.CheckOutputs([]cli.File{{Flag: "-o", Path: *output}}, inputs...); err != nil {
		return err
	}
	in, err := openSpace(c, true)
	if err != nil {
		return err
	}
	defer in.Close()
	doc, err := refvalues.Build(context.Background(), in, s, version)
	if err != nil {
		return err
	}
	if ig := doc.Inputs.IGVM; ig != nil && ig.Policy != nil && pol != nil && *pol != *ig.Policy {
		return cli.Usagef("--policy %#x: the IGVM file's GUEST_POLICY is %#x, which is what QEMU launches with", uint64(*pol), uint64(*ig.Policy))
	}
	doc.Policy = pol
	return app.WriteOutput(*output, stdout, cli.Paths(inputs), func(w io.Writer) error {
		if *format == refvalues.FormatCoRIM {
			return doc.EncodeCoRIMFor(w, profile)
		}
		return doc.Encode(w, *format)
	})
}
