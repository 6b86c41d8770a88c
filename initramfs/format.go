package initramfs

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
)

// String formats the entry as one line of `snpmeasure initramfs ls`: mode,
// uid:gid, size ("major,minor" for devices), the SHA-256 of a regular
// file's data ("-" otherwise) and the name, with "-> TARGET" for symbolic
// links and "=> FIRST-NAME" on the further names of a hard-linked file.
func (e *Entry) String() string {
	size := strconv.FormatInt(e.Size, 10)
	if e.IsDevice() {
		size = fmt.Sprintf("%d,%d", e.RDevMajor, e.RDevMinor)
	}
	sum := "-"
	if e.IsRegular() {
		sum = hex.EncodeToString(e.SHA256)
	}
	s := fmt.Sprintf("%s %d:%d %s %s %s", ModeString(e.Mode), e.UID, e.GID, size, sum, e.Name)
	if e.IsSymlink() {
		s += " -> " + e.Linkname
	}
	if e.HardLink != "" {
		s += " => " + e.HardLink
	}
	return s
}

// entryJSON is the JSON form of an Entry (`initramfs ls --json`).
type entryJSON struct {
	Path        string `json:"path"`
	Type        string `json:"type"`
	Mode        string `json:"mode"`
	UID         uint32 `json:"uid"`
	GID         uint32 `json:"gid"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256,omitempty"`
	Target      string `json:"target,omitempty"`
	HardLink    string `json:"hardlink,omitempty"`
	RDevMajor   uint32 `json:"rdev_major,omitempty"`
	RDevMinor   uint32 `json:"rdev_minor,omitempty"`
	MTime       uint32 `json:"mtime"`
	Ino         uint32 `json:"ino"`
	NLink       uint32 `json:"nlink"`
	Offset      int64  `json:"offset"`
	Compression string `json:"compression"`
	Segment     int64  `json:"segment_offset"`
	Archive     int    `json:"archive"`
}

// MarshalJSON writes the entry as `initramfs ls --json` does: path, type,
// mode (octal permissions), uid, gid, size, sha256 (regular files), target
// (symbolic links), hardlink, rdev_major and rdev_minor (devices), mtime,
// ino, nlink, offset, compression, segment_offset and archive.
func (e *Entry) MarshalJSON() ([]byte, error) {
	j := entryJSON{
		Path: e.Name, Type: e.TypeName(), Mode: fmt.Sprintf("%04o", e.Mode&ModePerm),
		UID: e.UID, GID: e.GID, Size: e.Size, Target: e.Linkname, HardLink: e.HardLink,
		MTime: e.MTime, Ino: e.Ino, NLink: e.NLink, Offset: e.Offset,
		Compression: e.Segment.Compression.String(), Segment: e.Segment.Offset, Archive: e.Segment.Archive,
	}
	if e.IsRegular() {
		j.SHA256 = hex.EncodeToString(e.SHA256)
	}
	if e.IsDevice() {
		j.RDevMajor, j.RDevMinor = e.RDevMajor, e.RDevMinor
	}
	return json.Marshal(j)
}
