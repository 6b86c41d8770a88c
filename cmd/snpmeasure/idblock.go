package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/snpmeasure/snpmeasure/idblock"
	"github.com/snpmeasure/snpmeasure/internal/cli"
	"github.com/snpmeasure/snpmeasure/internal/cliflags"
)

func init() {
	app.Register("idblock", "sign an ID block and ID auth for QEMU's sev-snp-guest, or verify them", runIDBlock)
}

func runIDBlock(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "verify" {
		return runIDBlockVerify(args[1:], stdout)
	}
	fs := cli.NewFlagSet("idblock")
	measurement := fs.String("measurement", "", "launch measurement: 96 hex digits or base64 of 48 bytes (required)")
	var idKeyPath, authorKeyPath string
	fs.StringVar(&idKeyPath, "id-key", "", "ID key: P-384 private key PEM, SEC 1 or PKCS #8 (required)")
	fs.StringVar(&idKeyPath, "idkey", "", "alias of --id-key (snp-create-id-block's spelling)")
	fs.StringVar(&authorKeyPath, "author-key", "", "author key: P-384 private key PEM; signs the ID key")
	fs.StringVar(&authorKeyPath, "authorkey", "", "alias of --author-key (snp-create-id-block's spelling)")
	fs.MarkHidden("idkey")
	fs.MarkHidden("authorkey")
	policy := fs.String("policy", fmt.Sprintf("%#x", idblock.DefaultPolicy), "guest policy; must equal the launch's sev-snp-guest policy")
	familyID := fs.String("family-id", "", "FAMILY_ID: 32 hex digits (16 bytes; default zero)")
	imageID := fs.String("image-id", "", "IMAGE_ID: 32 hex digits (16 bytes; default zero)")
	guestSVN := fs.String("guest-svn", "0", "GUEST_SVN, a 32-bit number")
	blockVersion := fs.String("version", "1", "ID block VERSION, a 32-bit number")
	if err := app.Parse(fs, args, stdout, app.Usage("idblock")); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected argument %q", fs.Arg(0))
	}
	if *measurement == "" {
		return cli.Usagef("missing --measurement (the launch measurement, hex or base64)")
	}
	if idKeyPath == "" {
		return cli.Usagef("missing --id-key PEM (a P-384 private key)")
	}
	ld, err := cliflags.Measurement("measurement", *measurement)
	if err != nil {
		return err
	}
	b := idblock.NewBlock(ld)
	if b.Policy, err = cliflags.GuestPolicy("policy", *policy); err != nil {
		return err
	}
	for _, f := range []struct {
		name, val string
		dst       *[idblock.IDSize]byte
	}{{"family-id", *familyID, &b.FamilyID}, {"image-id", *imageID, &b.ImageID}} {
		if f.val == "" {
			continue
		}
		v, err := hex.DecodeString(strings.TrimPrefix(f.val, "0x"))
		if err != nil || len(v) != idblock.IDSize {
			return cli.Usagef("--%s %s: want 32 hex digits (16 bytes)", f.name, f.val)
		}
		copy(f.dst[:], v)
	}
	for _, f := range []struct {
		name, val string
		dst       *uint32
	}{{"guest-svn", *guestSVN, &b.GuestSVN}, {"version", *blockVersion, &b.Version}} {
		v, err := cliflags.Uint(f.name, f.val)
		if err != nil {
			return err
		}
		if v > math.MaxUint32 {
			return cli.Usagef("--%s %s: does not fit in 32 bits", f.name, f.val)
		}
		*f.dst = uint32(v)
	}
	if b.Version != idblock.DefaultVersion {
		// SNP_LAUNCH_FINISH rejects other versions (SEV-SNP ABI, ID block VERSION).
		return cli.Usagef("--version %d: the SEV-SNP ABI defines ID block version %d only", b.Version, idblock.DefaultVersion)
	}
	idKey, err := loadIDBlockKey(idKeyPath)
	if err != nil {
		return err
	}
	var authorKey *ecdsa.PrivateKey
	if authorKeyPath != "" {
		if authorKey, err = loadIDBlockKey(authorKeyPath); err != nil {
			return err
		}
	}
	auth, err := idblock.NewAuth(rand.Reader, b, idKey, authorKey)
	if err != nil {
		return fmt.Errorf("signing the ID block: %w", err)
	}
	idDigest, err := idblock.KeyDigest(&idKey.PublicKey)
	if err != nil {
		return fmt.Errorf("%s: %w", idKeyPath, err)
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "id-block=%s,id-auth=%s\n", base64.StdEncoding.EncodeToString(b.Marshal()),
		base64.StdEncoding.EncodeToString(auth.Marshal()))
	fmt.Fprintf(&out, "id_key_hash: %s\n", base64.StdEncoding.EncodeToString(idDigest[:]))
	if authorKey != nil {
		ad, err := idblock.KeyDigest(&authorKey.PublicKey)
		if err != nil {
			return fmt.Errorf("%s: %w", authorKeyPath, err)
		}
		fmt.Fprintf(&out, "author_key: %s\n", base64.StdEncoding.EncodeToString(ad[:]))
	}
	_, err = stdout.Write(out.Bytes())
	return err
}

// loadIDBlockKey reads a P-384 private key PEM file; nil for "".
func loadIDBlockKey(path string) (*ecdsa.PrivateKey, error) {
	if path == "" {
		return nil, nil
	}
	return idblock.ReadPrivateKey(path)
}

func runIDBlockVerify(args []string, stdout io.Writer) error {
	fs := cli.NewFlagSet("idblock verify")
	blockB64 := fs.String("id-block", "", "the ID block, base64 (96 bytes)")
	authB64 := fs.String("id-auth", "", "the ID auth structure, base64 (4096 bytes)")
	measurement := fs.String("measurement", "", "also check the ID block's launch measurement (hex or base64)")
	asJSON := fs.Bool("json", false, "print the result as a JSON object")
	if err := app.Parse(fs, args, stdout, app.Usage("idblock-verify")); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 1:
		return cli.Usagef("unexpected argument %q", fs.Arg(1))
	case fs.NArg() == 1:
		if *blockB64 != "" || *authB64 != "" {
			return cli.Usagef("give either 'id-block=...,id-auth=...' or --id-block and --id-auth, not both")
		}
		var ok bool
		if *blockB64, *authB64, ok = cliflags.SplitIDBlockLine(fs.Arg(0)); !ok {
			return cli.Usagef("argument %q: want id-block=<base64>,id-auth=<base64>", fs.Arg(0))
		}
	case *blockB64 == "" || *authB64 == "":
		return cli.Usagef("missing --id-block B64 and --id-auth B64 (or the line 'id-block=...,id-auth=...')")
	}
	var want *[idblock.MeasurementSize]byte
	if *measurement != "" {
		m, err := cliflags.Measurement("measurement", *measurement)
		if err != nil {
			return err
		}
		want = &m
	}
	rawBlock, err := cliflags.Base64("id-block", *blockB64, idblock.BlockSize)
	if err != nil {
		return err
	}
	rawAuth, err := cliflags.Base64("id-auth", *authB64, idblock.AuthSize)
	if err != nil {
		return err
	}
	b, err := idblock.ParseBlock(rawBlock)
	if err != nil {
		return fmt.Errorf("--id-block: %w", err)
	}
	a, err := idblock.ParseAuth(rawAuth)
	if err != nil {
		return fmt.Errorf("--id-auth: %w", err)
	}
	v, err := a.Verify(b)
	if err != nil {
		return fmt.Errorf("--id-auth: %w", err)
	}
	r := idblock.NewReport(b, v, want)
	if *asJSON {
		if err := cli.WriteJSON(stdout, r); err != nil {
			return err
		}
	} else if err := r.WriteText(stdout); err != nil {
		return err
	}
	if !r.OK {
		return cli.Failed("%s", strings.Join(r.Failures, "; "))
	}
	return nil
}
