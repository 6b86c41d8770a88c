package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/snpmeasure/snpmeasure/internal/cli"
	"github.com/snpmeasure/snpmeasure/internal/cliflags"
	"github.com/snpmeasure/snpmeasure/outfile"
	"github.com/snpmeasure/snpmeasure/verity"
)

func init() {
	app.Register("verity", "compute and check dm-verity hash trees (veritysetup format/verify)", runVerity)
}

func runVerity(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return cli.Usagef("verity needs a subcommand: format or verify")
	}
	switch args[0] {
	case "format":
		return runVerityFormat(args[1:], stdout)
	case "verify":
		return runVerityVerify(args[1:], stdout)
	case "-h", "--help", "help":
		app.Usage("verity")(stdout, cli.NewFlagSet("verity"))
		return cli.ErrHelp
	}
	return cli.Usagef("unknown verity subcommand %q (want format or verify)", args[0])
}

// verityErr rewrites library errors to name the file they are about.
func verityErr(dataPath, hashPath string, err error) error {
	var re *verity.ReadError
	if errors.As(err, &re) {
		name := dataPath
		if re.Source == verity.SourceHash {
			name = hashPath
		}
		return fmt.Errorf("%s: offset %#x: %w", name, re.Offset, re.Err)
	}
	var pe *verity.ParamError
	if errors.As(err, &pe) {
		if pe.Field == "data" {
			return fmt.Errorf("%s: %s", dataPath, pe.Msg)
		}
		return fmt.Errorf("%s: %w", dataPath, err)
	}
	var fe *os.PathError
	if errors.As(err, &fe) && fe.Path != dataPath && fe.Path != hashPath {
		return fmt.Errorf("%s: %w", hashPath, fe.Err) // HASHFILE's temporary file
	}
	return sourceErr(hashPath, err)
}

func runVerityFormat(args []string, stdout io.Writer) error {
	fs := cli.NewFlagSet("verity format")
	v := cliflags.AddVerity(fs, true)
	dataDev := fs.String("data-device", "/dev/vda", "data device `NAME` the guest kernel sees (for the printed command line)")
	hashDev := fs.String("hash-device", "/dev/vdb", "hash device `NAME` the guest kernel sees (for the printed command line)")
	name := fs.String("name", "vroot", "device-mapper `NAME` in the printed dm-mod.create")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	app.AddQuietFlag(fs)
	if err := app.Parse(fs, args, stdout, app.Usage("verity-format")); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return cli.Usagef("verity format takes DATA and HASHFILE, got %s", cli.CountArgs(fs.NArg()))
	}
	base, err := verity.DefaultParams()
	if err != nil {
		return err
	}
	p, err := v.Params(fs, base)
	if err != nil {
		return err
	}
	dataPath, hashPath := fs.Arg(0), fs.Arg(1)
	if err := cli.CheckOutputs([]cli.File{{Flag: "HASHFILE", Path: hashPath}}, cli.File{Flag: "DATA", Path: dataPath}); err != nil {
		return err
	}
	data, size, err := verity.OpenData(dataPath)
	if err != nil {
		return cli.FileError(dataPath, err)
	}
	defer data.Close()
	out, err := app.CreateOutput(hashPath, stdout, true, dataPath)
	if err != nil {
		return err
	}
	res, err := verity.Format(app.ProgressReader(data, dataPath), size, out.OS(), p)
	if err != nil {
		return verityErr(dataPath, hashPath, err)
	}
	if err := cli.OutputError(out.Commit()); err != nil {
		return err
	}
	if outfile.IsStdout(hashPath) {
		stdout = os.Stderr // the tree went to standard output
	}
	printVerity(stdout, res, *name, *dataDev, *hashDev, *asJSON)
	return nil
}

func printVerity(w io.Writer, res *verity.Result, name, dataDev, hashDev string, asJSON bool) {
	s := res.Summary(name, dataDev, hashDev)
	if asJSON {
		cli.WriteJSON(w, s)
		return
	}
	s.WriteText(w)
}

func runVerityVerify(args []string, stdout io.Writer) error {
	fs := cli.NewFlagSet("verity verify")
	v := cliflags.AddVerity(fs, false)
	asJSON := fs.Bool("json", false, "print the result as a JSON object")
	app.AddQuietFlag(fs)
	if err := app.Parse(fs, args, stdout, app.Usage("verity-verify")); err != nil {
		return err
	}
	if fs.NArg() != 3 {
		return cli.Usagef("verity verify takes DATA, HASHFILE and ROOTHASH, got %s", cli.CountArgs(fs.NArg()))
	}
	dataPath, hashPath, rootHex := fs.Arg(0), fs.Arg(1), fs.Arg(2)
	root, err := hex.DecodeString(rootHex)
	if err != nil {
		return cli.Usagef("ROOTHASH %q: not hex", rootHex)
	}
	var p verity.Params
	if v.NoSuperblock {
		if p, err = v.Params(fs, verity.Params{}); err != nil {
			return err
		}
	} else {
		sb, err := verity.ReadSuperblockFile(hashPath)
		if err != nil {
			return sourceErr(hashPath, err)
		}
		p = sb.Params()
		if err := p.Validate(); err != nil {
			return fmt.Errorf("%s: superblock: %w", hashPath, err)
		}
		// Explicit parameters must agree with the superblock.
		if cliflags.AnyChanged(fs, "hash", "format", "data-block-size", "hash-block-size", "data-blocks", "salt") {
			if p, err = v.Params(fs, p); err != nil {
				return err
			}
		}
	}
	if n, _ := verity.DigestSize(p.Algorithm); len(root) != n {
		return cli.Usagef("ROOTHASH has %d bytes, a %s digest %d", len(root), p.Algorithm, n)
	}
	res, err := verity.VerifyFile(dataPath, hashPath, root, &p, app.FileProgress(dataPath))
	var me *verity.MismatchError
	if err != nil && !errors.As(err, &me) {
		return verityErr(dataPath, hashPath, err)
	}
	if *asJSON {
		if err := cli.WriteJSON(stdout, verity.Report(dataPath, hashPath, root, &p, res, err)); err != nil {
			return err
		}
	}
	if me != nil {
		if me.Root {
			if !*asJSON {
				fmt.Fprintf(stdout, "root hash mismatch: the tree gives %x, expected %x\n", me.Got, me.Want)
			}
			return cli.Failed("%s: root hash does not match %s", hashPath, rootHex)
		}
		if !*asJSON {
			what := fmt.Sprintf("data block %d of %s", me.Block, dataPath)
			if me.Level > 0 {
				what = fmt.Sprintf("hash block %d of tree level %d", me.Block, me.Level-1)
			}
			fmt.Fprintf(stdout, "%s: offset %#x: tree level %d does not match %s\n", hashPath, me.HashOffset, me.Level, what)
		}
		return cli.Failed("%s: hash tree does not match %s", hashPath, dataPath)
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "%s: verified %d data blocks of %s, root hash %s\n", hashPath, res.Layout.DataBlocks, dataPath, res.RootHashHex())
	}
	return nil
}
