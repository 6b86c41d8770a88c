package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"

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
	return d.WriteText(stdout)
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
