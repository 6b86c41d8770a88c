package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/snpmeasure/snpmeasure/internal/cli"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

func init() {
	app.Register("cpus", "list the --vcpu-type names with their signatures and products", runCPUs)
}

// cpuJSON is one vCPU type of cpus --json.
type cpuJSON struct {
	VCPUType  string `json:"vcpu_type"`
	Family    int    `json:"family"`
	Model     int    `json:"model"`
	Stepping  int    `json:"stepping"`
	Signature string `json:"signature"`
	Product   string `json:"product"`
}

func runCPUs(args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("cpus")
	asJSON := fs.Bool("json", false, "print a JSON array of vCPU types")
	if err := app.Parse(fs, args, stdout, app.Usage("cpus")); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected argument %q", fs.Arg(0))
	}
	if *asJSON {
		out := make([]cpuJSON, len(vmsa.CPUTypes))
		for i, c := range vmsa.CPUTypes {
			out[i] = cpuJSON{VCPUType: c.Name, Family: c.Family, Model: c.Model, Stepping: c.Stepping,
				Signature: fmt.Sprintf("%#x", c.Signature()), Product: vmsa.ProductOf(c.Signature()).String()}
		}
		return cli.WriteJSON(stdout, out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VCPU-TYPE\tFAMILY\tMODEL\tSTEPPING\tSIGNATURE\tPRODUCT")
	for _, c := range vmsa.CPUTypes {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%#x\t%s\n", c.Name, c.Family, c.Model, c.Stepping, c.Signature(), vmsa.ProductOf(c.Signature()))
	}
	return tw.Flush()
}
