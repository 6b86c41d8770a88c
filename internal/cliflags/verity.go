package cliflags

import (
	"encoding/hex"
	"errors"
	"strings"

	"github.com/snpmeasure/snpmeasure/internal/cli"
	"github.com/snpmeasure/snpmeasure/verity"
	"github.com/spf13/pflag"
)

// Verity holds the dm-verity tree flags of verity format and verify.
type Verity struct {
	hash          string
	format        uint32
	dataBlockSize uint32
	hashBlockSize uint32
	dataBlocks    uint64
	salt          string
	uuid          string
	NoSuperblock  bool
}

// AddVerity defines the tree flags on fs: those of verity format, or of
// verity verify.
func AddVerity(fs *pflag.FlagSet, format bool) *Verity {
	v := &Verity{}
	fs.StringVar(&v.hash, "hash", "sha256", "hash `ALG`orithm: sha256, sha1 or sha512")
	fs.Uint32Var(&v.format, "format", verity.HashTypeNormal, "hash format `N`: 1 (normal) or 0 (Chrome OS)")
	fs.Uint32Var(&v.dataBlockSize, "data-block-size", verity.DefaultBlockSize, "data block size in `BYTES` (power of two, 512 to 524288)")
	fs.Uint32Var(&v.hashBlockSize, "hash-block-size", verity.DefaultBlockSize, "hash block size in `BYTES` (power of two, 512 to 524288)")
	fs.Uint64Var(&v.dataBlocks, "data-blocks", 0, "`N`umber of data blocks to cover (default: every whole block of DATA)")
	if format {
		fs.StringVar(&v.salt, "salt", "", "salt as `HEX`, '-' for none (default: 32 random bytes)")
		fs.StringVar(&v.uuid, "uuid", "", "superblock `UUID` (default: random)")
		fs.BoolVar(&v.NoSuperblock, "no-superblock", false, "write no superblock: the tree starts at offset 0")
	} else {
		fs.StringVar(&v.salt, "salt", "", "salt as `HEX`, '-' for none (with --no-superblock)")
		fs.BoolVar(&v.NoSuperblock, "no-superblock", false, "HASHFILE has no superblock: take the parameters from the flags")
	}
	return v
}

// Params turns the flags into tree parameters over base: a flag given
// replaces base's value.
func (v *Verity) Params(fs *pflag.FlagSet, base verity.Params) (verity.Params, error) {
	p := base
	if fs.Changed("hash") || p.Algorithm == "" {
		p.Algorithm = strings.ToLower(v.hash)
	}
	if fs.Changed("format") || base.Algorithm == "" {
		p.HashType = v.format
	}
	if fs.Changed("data-block-size") || p.DataBlockSize == 0 {
		p.DataBlockSize = v.dataBlockSize
	}
	if fs.Changed("hash-block-size") || p.HashBlockSize == 0 {
		p.HashBlockSize = v.hashBlockSize
	}
	if fs.Changed("data-blocks") {
		p.DataBlocks = v.dataBlocks
	}
	if fs.Changed("salt") {
		switch v.salt {
		case "-", "":
			p.Salt = nil
		default:
			s, err := hex.DecodeString(v.salt)
			if err != nil {
				return p, cli.Usagef("--salt %q: not hex", v.salt)
			}
			p.Salt = s
		}
	}
	if fs.Changed("uuid") {
		u, err := verity.ParseUUID(v.uuid)
		if err != nil {
			return p, cli.Usagef("--uuid: %v", err)
		}
		p.UUID = u
	}
	p.NoSuperblock = v.NoSuperblock
	if err := p.Validate(); err != nil {
		var pe *verity.ParamError
		if errors.As(err, &pe) {
			if flag, ok := paramFlags[pe.Field]; ok {
				return p, cli.Usagef("--%s: %s", flag, pe.Msg)
			}
		}
		return p, cli.Usagef("%v", err)
	}
	return p, nil
}

// paramFlags maps verity.ParamError fields to flags.
var paramFlags = map[string]string{
	"hash type":       "format",
	"hash algorithm":  "hash",
	"data block size": "data-block-size",
	"hash block size": "hash-block-size",
	"salt":            "salt",
}

// AnyChanged reports whether any of the flags was given.
func AnyChanged(fs *pflag.FlagSet, names ...string) bool {
	for _, n := range names {
		if fs.Changed(n) {
			return true
		}
	}
	return false
}
