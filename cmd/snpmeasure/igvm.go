package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	"github.com/snpmeasure/snpmeasure/idblock"
	"github.com/snpmeasure/snpmeasure/internal/cli"
	"github.com/snpmeasure/snpmeasure/measure"
	"github.com/snpmeasure/snpmeasure/outfile"
)

func init() {
	app.Register("igvm", "inspect IGVM files and how each loader measures them; sign them with an ID block", runIGVM)
}

func runIGVM(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return cli.Usagef("igvm needs a subcommand: show or sign")
	}
	switch args[0] {
	case "show":
		return runIGVMShow(args[1:], stdout)
	case "sign":
		return runIGVMSign(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		app.Usage("igvm")(stdout, cli.NewFlagSet("igvm"))
		return cli.ErrHelp
	}
	return cli.Usagef("unknown igvm subcommand %q (want show or sign)", args[0])
}

func runIGVMShow(args []string, stdout io.Writer) error {
	fs := cli.NewFlagSet("igvm show")
	asJSON := fs.Bool("json", false, "print the description as one JSON object")
	if err := app.Parse(fs, args, stdout, app.Usage("igvm-show")); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usagef("igvm show takes one FILE, got %s", cli.CountArgs(fs.NArg()))
	}
	d, err := measure.DescribeIGVM(context.Background(), fs.Arg(0))
	if err != nil {
		return err
	}
	if *asJSON {
		return cli.WriteJSON(stdout, d)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "IGVM %s: format version %d, %d bytes\n", d.File, d.FormatVersion, d.Size)
	for _, p := range d.Platforms {
		fmt.Fprintf(&b, "platform %s: mask %s, version %d, shared GPA boundary %s\n", p.Type, p.Mask, p.Version, p.SharedGPABoundary)
	}
	for _, p := range d.Policies {
		fmt.Fprintf(&b, "guest policy %s for mask %s\n", p.Policy, p.Mask)
	}
	fmt.Fprintf(&b, "directives:%s\n", counts(d.Directives))
	if len(d.Pages) > 0 {
		fmt.Fprintf(&b, "SEV-SNP page updates (igvmmeasure):%s\n", counts(d.Pages))
	}
	for _, v := range d.VPContexts {
		fmt.Fprintf(&b, "%s: VP %d, mask %s, GPA %s, %s\n", v.Directive, v.VPIndex, v.Mask, v.GPA, v.Kind)
	}
	if d.VPContextCount > len(d.VPContexts) {
		fmt.Fprintf(&b, "VP contexts: %d, too many to list\n", d.VPContextCount)
	}
	for _, a := range d.ParameterAreas {
		fmt.Fprintf(&b, "parameter area %d: %d bytes, initial data %v\n", a.Index, a.Size, a.InitialData)
	}
	if d.ParameterAreaCount > len(d.ParameterAreas) {
		fmt.Fprintf(&b, "parameter areas: %d, too many to list: %d bytes in all, %d with initial data\n", d.ParameterAreaCount, d.ParameterAreaBytes, d.AreasWithData)
	}
	if blk := d.IDBlock; blk != nil {
		fmt.Fprintf(&b, "ID block (%s): launch digest %s (matches: %v), author key %v\n", blk.Directive, blk.LaunchDigest, blk.Matches, blk.AuthorKeyEnabled)
	}
	if d.Measurement != "" || d.IGVMMeasureRefusal != "" {
		writeIGVMMeasurements(&b, d)
	}
	_, err = io.WriteString(stdout, b.String())
	return err
}

// writeIGVMMeasurements writes what each loader measures and how they compare.
func writeIGVMMeasurements(b *strings.Builder, d *measure.IGVMDescription) {
	if d.IGVMMeasureRefusal != "" {
		fmt.Fprintf(b, "measurement (igvmmeasure loader): not measured: %s\n", d.IGVMMeasureRefusal)
	} else {
		fmt.Fprintf(b, "measurement (igvmmeasure loader): %s\n", d.Measurement)
	}
	qemu := "qemu loader"
	if d.QEMUVCPUs > 0 {
		qemu += ", " + vcpusText(d.QEMUVCPUs)
	}
	switch {
	case d.QEMUMeasurement != "":
		fmt.Fprintf(b, "measurement (%s): %s\n", qemu, d.QEMUMeasurement)
	case d.QEMURefusal != "":
		fmt.Fprintf(b, "measurement (%s): not measured: %s\n", qemu, d.QEMURefusal)
	case d.QEMUNeedsVCPUType != "":
		fmt.Fprintf(b, "measurement (%s): depends on the vCPU type: %s\n", qemu, d.QEMUNeedsVCPUType)
	}
	if d.QEMUIgnoringParameters != "" {
		fmt.Fprintf(b, "measurement (qemu loader with --ignore-unhandled-parameters, %s; QEMU 10.2 itself refuses the file): %s\n",
			vcpusText(d.QEMUVCPUs), d.QEMUIgnoringParameters)
	} else if d.QEMURefusal != "" && d.QEMUNeedsVCPUType != "" {
		fmt.Fprintf(b, "measurement (qemu loader with --ignore-unhandled-parameters, %s): depends on the vCPU type: %s\n", vcpusText(d.QEMUVCPUs), d.QEMUNeedsVCPUType)
	}
	switch {
	case d.LoadersAgree:
		fmt.Fprintf(b, "loaders: the igvmmeasure and qemu loaders measure this file the same (%s)\n", vcpusText(d.QEMUVCPUs))
	case d.IGVMMeasureRefusal == "" && d.QEMURefusal == "":
		fmt.Fprintf(b, "loaders: they differ: %s\n", d.Divergence)
	}
	if d.QEMUWithParameters != "" {
		fmt.Fprintf(b, "loaders, with a QEMU that fills those parameters (--ignore-unhandled-parameters): %s\n", d.QEMUWithParameters)
	}
}

// counts formats a map of counts as " KEY N, KEY N" in key order.
func counts[V int | uint64](m map[string]V) string {
	var parts []string
	for _, k := range cli.SortedKeys(m) {
		parts = append(parts, fmt.Sprintf(" %s %d", k, m[k]))
	}
	return strings.Join(parts, ",")
}

func runIGVMSign(args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("igvm sign")
	output := fs.StringP("output", "o", "", "the signed IGVM file to write, - for standard output (required)")
	idKey := fs.String("id-key", "", "ID key: P-384 private key PEM (required)")
	authorKey := fs.String("author-key", "", "author key: P-384 private key PEM; certifies the ID key")
	nativeZero := fs.BoolP("native-zero", "n", false, "measure data-less pages as ZERO pages (igvmmeasure -n)")
	if err := app.Parse(fs, args, stdout, app.Usage("igvm-sign")); err != nil {
		return err
	}
	switch {
	case fs.NArg() != 1:
		return cli.Usagef("igvm sign takes one FILE, got %s", cli.CountArgs(fs.NArg()))
	case *output == "":
		return cli.Usagef("igvm sign needs -o FILE (- for standard output)")
	case *idKey == "":
		return cli.Usagef("missing --id-key PEM (a P-384 private key)")
	}
	in := fs.Arg(0)
	if err := cli.CheckOutputs([]cli.File{{Flag: "-o", Path: *output}}, cli.File{Flag: "FILE", Path: in}, cli.File{Flag: "--id-key", Path: *idKey}, cli.File{Flag: "--author-key", Path: *authorKey}); err != nil {
		return err
	}
	id, err := loadIDBlockKey(*idKey)
	if err != nil {
		return err
	}
	author, err := loadIDBlockKey(*authorKey) // nil for ""
	if err != nil {
		return err
	}
	var signed *measure.IGVMSigned
	if err := app.WriteOutput(*output, stdout, []string{in, *idKey, *authorKey}, func(w io.Writer) error {
		signed, err = measure.SignIGVM(context.Background(), &measure.Config{IGVM: in, NativeZero: *nativeZero}, w, id, author)
		return err
	}); err != nil {
		return err
	}
	if signed.QEMUNote != "" {
		cli.PrintNotes(stderr, []string{signed.QEMUNote})
	}
	msg := stdout
	if outfile.IsStdout(*output) {
		msg = stderr
	}
	blk := signed.Block
	d, _ := idblock.KeyDigest(&id.PublicKey)
	fmt.Fprintf(msg, "%s: ID block for measurement %x, policy %#x\nid_key_hash: %s\n", *output, blk.Measurement, blk.Policy, base64.StdEncoding.EncodeToString(d[:]))
	return nil
}

// vcpusText says "1 vCPU" or "N vCPUs".
func vcpusText(n int) string {
	if n == 1 {
		return "1 vCPU"
	}
	return fmt.Sprintf("%d vCPUs", n)
}
