package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/snpmeasure/snpmeasure/internal/cli"
	"github.com/snpmeasure/snpmeasure/trace"
)

func init() {
	app.Register("diff", "compare two --trace files: where and how two launches diverge", runDiff)
}

func runDiff(args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("diff")
	asJSON := fs.Bool("json", false, "print the comparison as a JSON object")
	if err := app.Parse(fs, args, stdout, app.Usage("diff")); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return cli.Usagef("diff takes two trace files, got %s", cli.CountArgs(fs.NArg()))
	}
	nameA, nameB := fs.Arg(0), fs.Arg(1)
	if nameA == "-" && nameB == "-" {
		return cli.Usagef("diff: only one trace can be standard input")
	}
	ra, err := app.OpenInput(nameA)
	if err != nil {
		return err
	}
	defer ra.Close()
	rb, err := app.OpenInput(nameB)
	if err != nil {
		return err
	}
	defer rb.Close()
	d, err := trace.DiffReaders(trace.NewReader(ra, nameA), trace.NewReader(rb, nameB))
	if err != nil {
		return err
	}
	if *asJSON {
		if err := cli.WriteJSON(stdout, d); err != nil {
			return err
		}
	} else {
		printTraceDiff(stdout, d)
	}
	if d.Identical {
		return nil
	}
	return cli.Failed("%s and %s differ: %s", nameA, nameB, d)
}

// printTraceDiff prints the text form of diff.
func printTraceDiff(w io.Writer, d *trace.Diff) {
	for _, s := range []struct {
		side string
		sum  trace.Summary
	}{{"A", d.A}, {"B", d.B}} {
		fmt.Fprintf(w, "%s %s: %d updates, final digest %s\n", s.side, s.sum.File, s.sum.Updates, *s.sum.FinalDigest)
	}
	if d.Identical {
		fmt.Fprintln(w, "identical launches")
		return
	}
	fmt.Fprintf(w, "\n%s\n", d)
	f := d.First
	if f == nil {
		return
	}
	if f.How[0] != trace.HowExtra {
		fmt.Fprintf(w, "  A: %s\n  B: %s\n", trace.Describe(f.A), trace.Describe(f.B))
	}
	if d.DigestsDifferFrom != nil {
		fmt.Fprintf(w, "note: the digests already differ from update %d, where the inputs are the same: "+
			"the launches start from different digests\n", *d.DigestsDifferFrom)
	}
	fmt.Fprintln(w, "\ndifferences by source (the i-th update of a source in A against the i-th in B):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tA\tB\tDIFFERING\tHOW")
	for _, g := range d.BySource {
		var how []string
		for _, k := range []struct {
			name string
			n    int
		}{{"contents", g.How.Contents}, {"GPA", g.How.GPA}, {"page type", g.How.PageType}, {"source", g.How.Source}} {
			if k.n > 0 {
				how = append(how, fmt.Sprintf("%s %d", k.name, k.n))
			}
		}
		switch {
		case g.B > g.A:
			how = append(how, fmt.Sprintf("%d more in B", g.B-g.A))
		case g.A > g.B:
			how = append(how, fmt.Sprintf("%d more in A", g.A-g.B))
		}
		if len(how) == 0 {
			how = []string{"-"}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", g.Source, g.A, g.B, g.Differing, strings.Join(how, ", "))
	}
	tw.Flush()
}
