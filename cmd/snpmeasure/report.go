package main

import (
	"fmt"
	"io"

	"github.com/snpmeasure/snpmeasure/internal/cli"
	"github.com/snpmeasure/snpmeasure/report"
	"github.com/spf13/pflag"
)

func init() {
	app.Register("report", "show an attestation report: every field by name, decoded", runReport)
}

// readReportArg reads a report file, or standard input for "-".
func readReportArg(path string, f report.Format) (*report.Report, error) {
	if path == "-" {
		return report.Read(app.Stdin, "standard input", f)
	}
	return report.ReadFile(path, f)
}

func runReport(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return cli.Usagef("report needs a subcommand: show FILE")
	}
	switch args[0] {
	case "show":
		return runReportShow(args[1:], stdout)
	case "-h", "--help", "help":
		fs := cli.NewFlagSet("report show")
		addReportShowFlags(fs)
		app.Usage("report")(stdout, fs)
		return cli.ErrHelp
	}
	return cli.Usagef("unknown report subcommand %q (want show)", args[0])
}

type reportShowOptions struct {
	json    bool
	format  string
	product string
}

func addReportShowFlags(fs *pflag.FlagSet) *reportShowOptions {
	o := &reportShowOptions{}
	fs.BoolVar(&o.json, "json", false, "print the fields as one JSON object")
	fs.StringVar(&o.format, "report-format", "auto", "report encoding: auto (detect), bin, hex or base64")
	fs.StringVar(&o.product, "product", "", "Milan, Genoa or Turin: the TCB layout of a VERSION 2 report (newer reports name their CPU)")
	return o
}

func runReportShow(args []string, stdout io.Writer) error {
	fs := cli.NewFlagSet("report show")
	o := addReportShowFlags(fs)
	if err := app.Parse(fs, args, stdout, app.Usage("report")); err != nil {
		return err
	}
	switch {
	case fs.NArg() == 0:
		return cli.Usagef("missing FILE: snpmeasure report show FILE")
	case fs.NArg() > 1:
		return cli.Usagef("unexpected argument %q: report show takes one FILE", fs.Arg(1))
	}
	format, err := report.ParseFormat(o.format)
	if err != nil {
		return cli.Usagef("--report-format: %v", err)
	}
	given := report.ProductUnknown
	if fs.Changed("product") {
		if given, err = report.ParseProduct(o.product); err != nil {
			return cli.Usagef("--product: %v", err)
		}
	}
	path := fs.Arg(0)
	rep, err := readReportArg(path, format)
	if err != nil {
		return err
	}
	product, perr := rep.Product()
	switch {
	case given != report.ProductUnknown && perr == nil && given != product:
		return cli.Usagef("--product %s: the report's CPUID names %s", given, product)
	case given != report.ProductUnknown:
		product = given
	}
	fields := rep.Fields(product)
	if o.json {
		_, err := stdout.Write(append(report.MarshalFields(fields), '\n'))
		return err
	}
	line := fmt.Sprintf("ATTESTATION_REPORT %s (%s", path, rep.Format)
	if rep.Container != "" {
		line += ", inside " + rep.ContainerPhrase()
	}
	switch {
	case product != report.ProductUnknown:
		line += ", " + product.String()
	case perr != nil:
		line += ", product line unknown: " + perr.Error()
	}
	fmt.Fprintln(stdout, line+")")
	return report.WriteFields(stdout, fields)
}
