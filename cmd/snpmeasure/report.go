package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

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
		reportUsage(stdout, fs)
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

func reportUsage(w io.Writer, fs *pflag.FlagSet) {
	fmt.Fprintln(w, "Usage: snpmeasure report show FILE [--json] [--product NAME]")
	fmt.Fprintln(w, "\nPrints every field of an attestation report (FILE, or - for standard input) by its")
	fmt.Fprintln(w, "ABI name, decoded: the policy, platform info and signer info bits, the TCBs by component")
	fmt.Fprintln(w, "for the product line, the firmware versions, and the certificate table of an extended")
	fmt.Fprintln(w, "report. Nothing is verified: 'snpmeasure verify' checks the signature.")
	fmt.Fprintln(w, "\nFlags:")
	fmt.Fprint(w, fs.FlagUsages())
	fmt.Fprintln(w, "\nExample:")
	fmt.Fprintln(w, "  snpmeasure report show report.bin --json | jq .measurement")
	fmt.Fprintln(w, "\nExit status: 0 shown, 1 bad input, 2 bad usage.")
}

func runReportShow(args []string, stdout io.Writer) error {
	fs := newFlagSet("report show")
	o := addReportShowFlags(fs)
	if err := parseFlags(fs, args, stdout, reportUsage); err != nil {
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
		var b bytes.Buffer
		writeFieldsJSON(&b, fields, "")
		b.WriteByte('\n')
		_, err := stdout.Write(b.Bytes())
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
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	writeFieldsText(tw, fields, "")
	return tw.Flush()
}

func writeFieldsText(w io.Writer, fs []report.Field, indent string) {
	for _, f := range fs {
		fmt.Fprintf(w, "%s%s\t%s\n", indent, f.Name, f.Text)
		writeFieldsText(w, f.Sub, indent+"  ")
	}
}

// writeFieldsJSON writes fields as a JSON object in their order; a field
// with parts becomes an object with "value" and its parts.
func writeFieldsJSON(b *bytes.Buffer, fs []report.Field, indent string) {
	b.WriteString("{\n")
	for i, f := range fs {
		key, _ := json.Marshal(f.Key)
		fmt.Fprintf(b, "%s  %s: ", indent, key)
		if len(f.Sub) > 0 {
			v, _ := json.Marshal(f.JSON)
			sub := append([]report.Field{{Key: "value", JSON: json.RawMessage(v)}}, f.Sub...)
			writeFieldsJSON(b, sub, indent+"  ")
		} else {
			v, _ := json.Marshal(f.JSON)
			b.Write(v)
		}
		if i < len(fs)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString(indent + "}")
}
