package verity

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Summary describes a formatted tree as `snpmeasure verity format` prints
// it (as text, or with --json), keys in alphabetical order.
type Summary struct {
	DataBlockSize  uint32 `json:"data_block_size"`
	DataBlocks     uint64 `json:"data_blocks"`
	HashAlgorithm  string `json:"hash_algorithm"`
	HashBlockSize  uint32 `json:"hash_block_size"`
	HashBlocks     uint64 `json:"hash_blocks"`
	HashFileSize   int64  `json:"hash_file_size"`
	HashOffset     int64  `json:"hash_offset"`
	HashStartBlock uint64 `json:"hash_start_block"`
	HashType       uint32 `json:"hash_type"`
	// KernelCmdline is the dm-mod.create= table with root=/dev/dm-0: the
	// kernel (CONFIG_DM_INIT) maps the device with no initramfs.
	KernelCmdline string `json:"kernel_cmdline"`
	RootHash      string `json:"root_hash"`
	Salt          string `json:"salt"`
	Superblock    bool   `json:"superblock"`
	// SystemdCmdline is the same for systemd-veritysetup-generator.
	SystemdCmdline string `json:"systemd_cmdline"`
	Table          string `json:"table"`
	UUID           string `json:"uuid,omitempty"`
}

// Summary returns the summary of the tree for a guest that sees the data
// and hash devices as dataDev and hashDev and maps them as name.
func (r *Result) Summary(name, dataDev, hashDev string) *Summary {
	p, l := &r.Params, r.Layout
	s := &Summary{
		DataBlockSize: p.DataBlockSize, DataBlocks: l.DataBlocks, HashAlgorithm: p.Algorithm,
		HashBlockSize: p.HashBlockSize, HashBlocks: l.HashBlocks, HashFileSize: l.HashFileSize,
		HashOffset: r.HashOffset(), HashStartBlock: l.HashStartBlock, HashType: p.HashType,
		KernelCmdline: r.DMModCreate(name, dataDev, hashDev) + " root=/dev/dm-0",
		RootHash:      r.RootHashHex(), Salt: hex.EncodeToString(p.Salt), Superblock: !p.NoSuperblock,
		SystemdCmdline: fmt.Sprintf("roothash=%s systemd.verity_root_data=%s systemd.verity_root_hash=%s", r.RootHashHex(), dataDev, hashDev),
		Table:          r.Table(dataDev, hashDev),
	}
	if o := r.SystemdOptions(); o != "" {
		s.SystemdCmdline += " systemd.verity_root_options=" + o
	}
	if !p.NoSuperblock {
		s.UUID = p.UUID.String()
	}
	return s
}

// VerifyReport is the outcome of a verification as `snpmeasure verity
// verify --json` prints it.
type VerifyReport struct {
	OK            bool    `json:"ok"`
	Data          string  `json:"data"`
	HashFile      string  `json:"hash_file"`
	HashAlgorithm string  `json:"hash_algorithm"`
	DataBlocks    *uint64 `json:"data_blocks"`
	// RootHash is the computed root hash; nil when the tree does not match the data.
	RootHash         *string `json:"root_hash"`
	ExpectedRootHash string  `json:"expected_root_hash"`
	// Mismatch is the first mismatch, nil when everything matched.
	Mismatch *MismatchReport `json:"mismatch"`
}

// MismatchReport is the first mismatch: the root hash, or the first stored
// hash block (at HashOffset, of tree level TreeLevel) whose content differs
// from the digests of the blocks below it; Block is the first of those (a
// data block for tree level 0, a hash block of level TreeLevel-1 above).
type MismatchReport struct {
	Kind       string  `json:"kind"` // root_hash, data_block or hash_block
	TreeLevel  *int    `json:"tree_level"`
	HashOffset *int64  `json:"hash_offset"`
	Block      *uint64 `json:"block"`
}

// Report describes the outcome of VerifyFile(data, hash, root, p): res and
// err are what it returned (err nil or a *MismatchError).
func Report(data, hash string, root []byte, p *Params, res *Result, err error) *VerifyReport {
	var me *MismatchError
	errors.As(err, &me)
	j := &VerifyReport{OK: me == nil, Data: data, HashFile: hash, HashAlgorithm: p.Algorithm, ExpectedRootHash: hex.EncodeToString(root)}
	if res != nil {
		j.HashAlgorithm = res.Params.Algorithm
		if res.Layout != nil {
			n := res.Layout.DataBlocks
			j.DataBlocks = &n
		}
		if res.RootHash != nil {
			h := res.RootHashHex()
			j.RootHash = &h
		}
	}
	switch {
	case me == nil:
	case me.Root:
		j.Mismatch = &MismatchReport{Kind: "root_hash"}
		if j.RootHash == nil {
			h := hex.EncodeToString(me.Got)
			j.RootHash = &h
		}
	default:
		m := &MismatchReport{Kind: "data_block", TreeLevel: &me.Level, HashOffset: &me.HashOffset, Block: &me.Block}
		if me.Level > 0 {
			m.Kind = "hash_block"
		}
		j.Mismatch = m
	}
	return j
}

// WriteText writes the summary as veritysetup format prints its result, one
// "Key: value" line each, then the two kernel command lines.
func (s *Summary) WriteText(w io.Writer) error {
	salt := s.Salt
	if salt == "" {
		salt = "-"
	}
	var b strings.Builder
	line := func(k string, v any) { fmt.Fprintf(&b, "%-17s %v\n", k+":", v) }
	line("Root hash", s.RootHash)
	line("Salt", salt)
	line("Hash algorithm", s.HashAlgorithm)
	line("Hash type", s.HashType)
	line("Data blocks", s.DataBlocks)
	line("Data block size", s.DataBlockSize)
	line("Hash blocks", s.HashBlocks)
	line("Hash block size", s.HashBlockSize)
	line("Hash offset", s.HashOffset)
	line("Hash file size", s.HashFileSize)
	if s.UUID != "" {
		line("UUID", s.UUID)
	}
	line("Kernel cmdline", s.KernelCmdline)
	line("systemd cmdline", s.SystemdCmdline)
	_, err := io.WriteString(w, b.String())
	return err
}
