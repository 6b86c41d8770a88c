package initramfs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
)

// Manifest entry types: the keywords of gen_init_cpio.
const (
	ManifestFile  = "file"
	ManifestDir   = "dir"
	ManifestSlink = "slink"
	ManifestNod   = "nod"
	ManifestPipe  = "pipe"
	ManifestSock  = "sock"
)

// maxManifestLine bounds a manifest line.
const maxManifestLine = 64 << 10

// ManifestEntry is one line of a gen_init_cpio manifest:
//
//	file <name> <location> <mode> <uid> <gid> [<hard links>]
//	dir <name> <mode> <uid> <gid>
//	nod <name> <mode> <uid> <gid> <dev_type> <maj> <min>
//	slink <name> <target> <mode> <uid> <gid>
//	pipe <name> <mode> <uid> <gid>
//	sock <name> <mode> <uid> <gid>
//
// Modes are octal; "#" starts a comment line. ${NAME} in a location is
// replaced by the environment variable NAME, as gen_init_cpio does.
type ManifestEntry struct {
	// Line is the 1-based line number.
	Line int
	// Type is one of the Manifest* keywords.
	Type string
	// Name is the cleaned path in the archive, without a leading slash.
	Name string
	// Location is the host file of a "file" line, as written (relative
	// locations are relative to the manifest's directory).
	Location string
	// Target is the link target of a "slink" line.
	Target string
	// Mode holds the permission bits (up to 07777).
	Mode uint32
	// UID and GID own the entry.
	UID, GID uint32
	// DevType is 'c' or 'b' for a "nod" line.
	DevType byte
	// Major and Minor are the device numbers of a "nod" line.
	Major, Minor uint32
	// Links are further names of a "file" (hard links), cleaned.
	Links []string
}

// ManifestError reports a bad manifest line.
type ManifestError struct {
	Line int
	Msg  string
}

func (e *ManifestError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// fields per type, without the hard links of "file".
var manifestFields = map[string]int{
	ManifestFile:  6,
	ManifestDir:   5,
	ManifestNod:   8,
	ManifestSlink: 6,
	ManifestPipe:  5,
	ManifestSock:  5,
}

// ParseManifest parses a gen_init_cpio manifest.
func ParseManifest(r io.Reader) ([]ManifestEntry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxManifestLine)
	var out []ManifestEntry
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if strings.IndexByte(text, 0) >= 0 {
			return nil, &ManifestError{line, "NUL byte"}
		}
		f := strings.Fields(text)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		e, err := parseManifestLine(f)
		if err != nil {
			return nil, &ManifestError{line, err.Error()}
		}
		e.Line = line
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &ManifestError{line + 1, fmt.Sprintf("line longer than %d bytes", maxManifestLine)}
		}
		return nil, err
	}
	return out, nil
}

func parseManifestLine(f []string) (ManifestEntry, error) {
	var e ManifestEntry
	e.Type = f[0]
	want, ok := manifestFields[e.Type]
	if !ok {
		return e, fmt.Errorf("unknown type %q (want file, dir, slink, nod, pipe or sock)", e.Type)
	}
	if len(f) < want || (len(f) > want && e.Type != ManifestFile) {
		return e, fmt.Errorf("%s takes %d fields, not %d", e.Type, want-1, len(f)-1)
	}
	name, err := manifestName(f[1])
	if err != nil {
		return e, err
	}
	e.Name = name
	rest := f[2:]
	switch e.Type {
	case ManifestFile:
		loc, err := expandEnv(rest[0])
		if err != nil {
			return e, err
		}
		if loc == "" {
			return e, fmt.Errorf("file %s: empty location", f[1])
		}
		e.Location = loc
		rest = rest[1:]
	case ManifestSlink:
		if len(rest[0]) > MaxNameSize {
			return e, fmt.Errorf("slink %s: target longer than %d bytes", f[1], MaxNameSize)
		}
		e.Target = rest[0]
		rest = rest[1:]
	}
	mode, err := strconv.ParseUint(rest[0], 8, 32)
	if err != nil || mode > ModePerm {
		return e, fmt.Errorf("mode %q is not an octal number up to 07777", rest[0])
	}
	e.Mode = uint32(mode)
	if e.UID, err = parseID("uid", rest[1]); err != nil {
		return e, err
	}
	if e.GID, err = parseID("gid", rest[2]); err != nil {
		return e, err
	}
	rest = rest[3:]
	switch e.Type {
	case ManifestNod:
		if rest[0] != "c" && rest[0] != "b" {
			return e, fmt.Errorf("device type %q is not c or b", rest[0])
		}
		e.DevType = rest[0][0]
		if e.Major, err = parseID("major", rest[1]); err != nil {
			return e, err
		}
		if e.Minor, err = parseID("minor", rest[2]); err != nil {
			return e, err
		}
	case ManifestFile:
		for _, l := range rest {
			if strings.HasPrefix(l, "#") {
				// gen_init_cpio has no end-of-line comments: the words
				// would silently become hard links named "#", ...
				return e, fmt.Errorf("file %s: hard link name %q: comments must be on lines of their own", f[1], l)
			}
			n, err := manifestName(l)
			if err != nil {
				return e, err
			}
			e.Links = append(e.Links, n)
		}
	}
	return e, nil
}

// manifestName cleans an archive path; the root itself is not an entry.
func manifestName(s string) (string, error) {
	c := strings.TrimPrefix(path.Clean("/"+s), "/")
	if c == "" {
		return "", fmt.Errorf("name %q is the archive root", s)
	}
	if len(c)+1 > MaxNameSize {
		return "", fmt.Errorf("name longer than %d bytes", MaxNameSize-1)
	}
	return c, nil
}

func parseID(what, s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a decimal number below 2^32", what, s)
	}
	return uint32(v), nil
}

// expandEnv replaces ${NAME} with the environment variable NAME.
func expandEnv(s string) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("unterminated ${ in %q", s)
		}
		name := s[i+2 : i+j]
		v, ok := os.LookupEnv(name)
		if !ok {
			return "", fmt.Errorf("environment variable %q is not set", name)
		}
		b.WriteString(s[:i])
		b.WriteString(v)
		s = s[i+j+1:]
	}
}
