package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/snpmeasure/snpmeasure/internal/cli"
	"github.com/snpmeasure/snpmeasure/internal/cliflags"
	"github.com/snpmeasure/snpmeasure/launchdigest"
	"github.com/snpmeasure/snpmeasure/measure"
	"github.com/snpmeasure/snpmeasure/outfile"
	"github.com/snpmeasure/snpmeasure/trace"
)

func init() {
	app.Register("measure", "compute a launch measurement (the default; sev-snp-measure's flags)", runMeasure)
}

func runMeasure(args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("measure")
	o := cliflags.AddMeasure(fs)
	app.AddQuietFlag(fs)
	fs.BoolVar(&o.JSON, "json", false, "print the measurement, the configuration and every input's SHA-256 as JSON")
	if err := cliflags.ArgparseCheck(fs, args, "append"); err != nil {
		return err
	}
	if err := app.Parse(fs, args, stdout, app.Usage("measure")); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected argument %q", fs.Arg(0))
	}
	return measureAndPrint(o, stdout)
}

// measureOpts returns the library options: progress, and what the
// flags ask to be kept.
func measureOpts(o *cliflags.Measure) *measure.Options {
	return &measure.Options{Progress: app.Progress(), VMSAs: o.DumpVMSA, FileDigests: o.JSON}
}

// measureAndPrint validates, computes and prints like sev-snp-measure.
func measureAndPrint(o *cliflags.Measure, stdout io.Writer) error {
	c, err := o.Config()
	if err != nil {
		return err
	}
	res, err := measure.Measure(context.Background(), c, measureOpts(o))
	defer res.Close()
	if measure.IsIDBlockMismatch(err) {
		// As igvmmeasure: the digest, then the failed ID block check.
		if werr := writeMeasurement(o, c, res, stdout); werr != nil {
			return werr
		}
		return cli.Failed("%s", err.Error()+" (--ignore-idblock to measure anyway)")
	}
	if err != nil {
		return err
	}
	return writeMeasurement(o, c, res, stdout)
}

// expectedMeasurement measures c for verify and writes --trace, which must
// be none of inputs (every file verify reads).
func expectedMeasurement(o *cliflags.Measure, c *measure.Config, stdout io.Writer, inputs []string) ([]byte, error) {
	res, err := measure.Measure(context.Background(), c, measureOpts(o))
	defer res.Close()
	if measure.IsIDBlockMismatch(err) {
		return nil, cli.Failed("%s", err.Error()+": QEMU would fail the launch (--ignore-idblock to measure anyway)")
	}
	if err != nil {
		return nil, err
	}
	if o.Trace != "" && res.Launch != nil {
		if err := app.WriteOutput(o.Trace, stdout, inputs, func(w io.Writer) error { return trace.Write(w, res.Launch) }); err != nil {
			return nil, err
		}
	}
	return res.Digest, nil
}

// writeMeasurement writes the trace, the VMSA pages and the measurement.
func writeMeasurement(o *cliflags.Measure, c *measure.Config, res *measure.Result, stdout io.Writer) error {
	if c.Mode == measure.OVMFHash && !o.JSON {
		_, err := fmt.Fprintln(stdout, hex.EncodeToString(res.Digest))
		return err
	}
	// Every output is written before any is committed: a failure leaves
	// none of them (the run's end aborts what is not committed).
	var outs []*outfile.File
	write := func(path string, fill func(io.Writer) error) error {
		f, err := app.CreateOutput(path, stdout, false, cli.Paths(o.Inputs())...)
		if err != nil {
			return err
		}
		outs = append(outs, f)
		return cli.OutputError(fill(f))
	}
	if o.Trace != "" && res.Launch != nil {
		if err := write(o.Trace, func(w io.Writer) error { return trace.Write(w, res.Launch) }); err != nil {
			return err
		}
	}
	for i, p := range res.VMSAs {
		if err := write(fmt.Sprintf("vmsa%d.bin", i), func(w io.Writer) error { _, err := w.Write(p[:]); return err }); err != nil {
			return err
		}
	}
	for _, f := range outs {
		if err := cli.OutputError(f.Commit()); err != nil {
			return err
		}
	}
	if o.JSON {
		r := measureJSON(c, res)
		if r.VCPUSig != "" && !o.FS.Changed("vcpu-sig") && !o.FS.Changed("vcpu-family") {
			r.VCPUType = o.VCPUType
		}
		return cli.WriteJSON(stdout, r)
	}
	s := hex.EncodeToString(res.Digest)
	if o.OutputFormat == "base64" {
		s = base64.StdEncoding.EncodeToString(res.Digest)
	}
	if o.Verbose {
		name := map[measure.Mode]string{measure.SEV: "SEV", measure.SEVES: "SEV_ES", measure.SVSM: "SEV_SNP_SVSM"}[c.Mode]
		if name == "" {
			name = "SEV_SNP"
		}
		s = fmt.Sprintf("Calculated %s guest measurement: %s", name, s)
	}
	_, err := fmt.Fprintln(stdout, s)
	return err
}

// measureRecord is the output of measure --json.
type measureRecord struct {
	Mode          string  `json:"mode"`
	Measurement   string  `json:"measurement"`
	VCPUs         int     `json:"vcpus,omitempty"`
	VCPUType      string  `json:"vcpu_type,omitempty"`
	VCPUSig       string  `json:"vcpu_sig,omitempty"`
	VMMType       string  `json:"vmm_type,omitempty"`
	GuestFeatures string  `json:"guest_features,omitempty"`
	KVMInit       string  `json:"kvm_init,omitempty"`
	SNPOVMFHash   string  `json:"snp_ovmf_hash,omitempty"`
	VarsSize      uint64  `json:"vars_size,omitempty"`
	Cmdline       *string `json:"cmdline,omitempty"`
	// An IGVM launch: the loader and igvmmeasure's options, which change
	// the digest of the same file.
	IGVMLoader                string         `json:"igvm_loader,omitempty"`
	NativeZero                *bool          `json:"native_zero,omitempty"`
	CheckKVM                  *bool          `json:"check_kvm,omitempty"`
	IgnoreIDBlock             *bool          `json:"ignore_idblock,omitempty"`
	IgnoreUnhandledParameters *bool          `json:"ignore_unhandled_parameters,omitempty"`
	Inputs                    []measure.File `json:"inputs"`
}

func measureJSON(c *measure.Config, res *measure.Result) *measureRecord {
	r := &measureRecord{Mode: string(c.Mode), Measurement: hex.EncodeToString(res.Digest), Inputs: res.Files, VarsSize: c.VarsSize}
	if c.IGVM != "" {
		r.IGVMLoader = c.IGVMLoader.String()
		if c.IGVMLoader == launchdigest.LoaderQEMU {
			r.VCPUs, r.VCPUSig, r.KVMInit = c.VCPUs, fmt.Sprintf("%#x", c.Signature), c.KVMInit.String()
			r.IgnoreUnhandledParameters = &c.IgnoreUnhandledParameters
		} else {
			r.NativeZero, r.CheckKVM = &c.NativeZero, &c.CheckKVM
		}
		r.IgnoreIDBlock = &c.IgnoreIDBlock
		return r
	}
	if c.Mode != measure.OVMFHash && c.Mode != measure.SEV {
		r.VCPUs, r.VCPUSig, r.VMMType, r.KVMInit = c.VCPUs, fmt.Sprintf("%#x", c.Signature), c.VMM.String(), c.KVMInit.String()
	}
	if c.Mode == measure.SNP {
		r.GuestFeatures = fmt.Sprintf("%#x", c.GuestFeatures)
	}
	if c.OVMFHash != nil {
		r.SNPOVMFHash = c.OVMFHash.String()
	}
	if c.Kernel != "" && c.Mode != measure.SVSM {
		r.Cmdline = &c.Cmdline
	}
	return r
}
