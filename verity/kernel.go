package verity

import (
	"fmt"
	"strings"
)

// SectorSize is the unit of device-mapper table lengths.
const SectorSize = 512

// Table returns the device-mapper verity target line for the tree:
//
//	0 <sectors> verity <hash type> <data dev> <hash dev> <data block size>
//	  <hash block size> <data blocks> <hash start block> <algorithm>
//	  <root hash> <salt>
//
// dataDev and hashDev are the devices the kernel will see (for example
// /dev/vda and /dev/vdb, or the same device when the tree follows the data).
func (r *Result) Table(dataDev, hashDev string) string {
	p := &r.Params
	sectors := r.Layout.DataBlocks * uint64(p.DataBlockSize) / SectorSize
	return fmt.Sprintf("0 %d verity %d %s %s %d %d %d %d %s %s %s",
		sectors, p.HashType, dataDev, hashDev, p.DataBlockSize, p.HashBlockSize,
		r.Layout.DataBlocks, r.Layout.HashStartBlock, strings.ToLower(p.Algorithm),
		r.RootHashHex(), r.SaltHex())
}

// DMModCreate returns the kernel command-line parameter that makes the kernel
// create the read-only verity device name at boot (CONFIG_DM_INIT):
//
//	dm-mod.create="<name>,,,ro,<table>"
//
// The first device created is /dev/dm-0, so root=/dev/dm-0 mounts it.
func (r *Result) DMModCreate(name, dataDev, hashDev string) string {
	return fmt.Sprintf("dm-mod.create=\"%s,,,ro,%s\"", name, r.Table(dataDev, hashDev))
}

// SystemdOptions returns the value of systemd.verity_root_options= (the
// veritytab options) that describes the tree, or "" when the hash file has
// a superblock and systemd-veritysetup reads everything from it.
func (r *Result) SystemdOptions() string {
	p := &r.Params
	if !p.NoSuperblock {
		return ""
	}
	opts := fmt.Sprintf("superblock=false,format=%d,hash=%s,data-block-size=%d,hash-block-size=%d,data-blocks=%d,hash-offset=%d",
		p.HashType, strings.ToLower(p.Algorithm), p.DataBlockSize, p.HashBlockSize, r.Layout.DataBlocks, r.HashOffset())
	if len(p.Salt) > 0 {
		opts += ",salt=" + r.SaltHex()
	}
	return opts
}
