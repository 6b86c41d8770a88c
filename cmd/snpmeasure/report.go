package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/snpmeasure/snpmeasure/report"
)

func init() {
	register("report", "show an attestation report: every field by name, decoded", runReport)
}

// reportStdin is what --report - and 'report show -' read (tests replace it).
var reportStdin io.Reader = os.Stdin

// readReportArg reads a report file, or standard input for "-".
func readReportArg(path string, f report.Format) (*report.Report, error) {
	if path == "-" {
		return report.Read(reportStdin, "standard input", f)
	}
	return report.ReadFile(path, f)
}

func runReport(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("report needs a subcommand: show FILE")
	}
	switch args[0] {
	case "show":
		return runReportShow(args[1:], stdout)
	case "-h", "--help", "help":
		fs := newFlagSet("report show")
		addReportShowFlags(fs)
		usageText("report")(stdout, fs)
		return errHelp
	}
	return usagef("unknown report subcommand %q (want show)", args[0])
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
	fs := newFlagSet("report show")
	o := addReportShowFlags(fs)
	if err := parseFlags(fs, args, stdout, usageText("report")); err != nil {
		return err
	}
	switch {
	case fs.NArg() == 0:
		return usagef("missing FILE: snpmeasure report show FILE")
	case fs.NArg() > 1:
		return usagef("unexpected argument %q: report show takes one FILE", fs.Arg(1))
	}
	format, err := report.ParseFormat(o.format)
	if err != nil {
		return usagef("--report-format: %v", err)
	}
	given := report.ProductUnknown
	if fs.Changed("product") {
		if given, err = report.ParseProduct(o.product); err != nil {
			return usagef("--product: %v", err)
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
		return usagef("--product %s: the report's CPUID names %s", given, product)
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
