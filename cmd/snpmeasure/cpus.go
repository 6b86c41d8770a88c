package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/snpmeasure/snpmeasure/vmsa"
)

func init() {
	register("cpus", "list the --vcpu-type names with their signatures and products", runCPUs)
}

func runCPUs(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("cpus")
	if err := parseFlags(fs, args, stdout, func(w io.Writer, fs *pflag.FlagSet) {
		fmt.Fprintln(w, "Usage: snpmeasure cpus")
		fmt.Fprintln(w, "\nLists the vCPU types --vcpu-type accepts: family, model, stepping, the")
		fmt.Fprintln(w, "signature QEMU puts in the VMSA's RDX, and the EPYC product it belongs to.")
		fmt.Fprintln(w, "\nExample:")
		fmt.Fprintln(w, "  snpmeasure cpus")
		fmt.Fprintln(w, "\nExit status: 0 ok, 2 bad usage.")
	}); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VCPU-TYPE\tFAMILY\tMODEL\tSTEPPING\tSIGNATURE\tPRODUCT")
	for _, c := range vmsa.CPUTypes {
		fmt.Fprintf(tw, "%s\t%#x\t%#x\t%d\t%#08x\t%s\n", c.Name, c.Family, c.Model, c.Stepping, c.Signature(), vmsa.ProductOf(c.Signature()))
	}
	return tw.Flush()
}
