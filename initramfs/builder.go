package initramfs

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/u-root/u-root/pkg/cpio"
)

// Normalised permissions of directory trees.
const (
	DirPerm     = 0o755
	ExecPerm    = 0o755
	FilePerm    = 0o644
	SymlinkPerm = 0o777
)

// item is one entry to be written.
type item struct {
	path         string // cleaned, no leading slash
	mode         uint32 // type and permission bits
	uid, gid     uint32
	src          string // host file with the data of a regular file
	target       string // symbolic link target
	major, minor uint32 // device numbers
	group        *linkGroup
	origin       string // where the entry came from, for errors
}

// linkGroup ties the names of one hard-linked file together.
type linkGroup struct{}

// Builder collects the entries of a reproducible initramfs.
type Builder struct {
	// MTime is the modification time of every entry (seconds since the
	// epoch).
	MTime uint32

	// Progress, when set, is told how many bytes of file data have been
	// written of the total, as the archive is written.
	Progress func(done, total int64)

	items   map[string]*item
	exclude []fs.FileInfo
}

// Sources returns the host files whose data the archive will hold, sorted:
// an output must not be one of them.
func (b *Builder) Sources() []string {
	var out []string
	for _, it := range b.items {
		if it.mode&ModeTypeMask == ModeRegular && it.src != "" {
			out = append(out, it.src)
		}
	}
	sort.Strings(out)
	return out
}

// Exclude keeps the file fi (for example the previous output, when it lies
// inside a source tree) out of trees added later.
func (b *Builder) Exclude(fi fs.FileInfo) { b.exclude = append(b.exclude, fi) }

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder { return &Builder{items: map[string]*item{}} }

// Len returns the number of entries collected (without implied parents).
func (b *Builder) Len() int { return len(b.items) }

// set adds or replaces an entry. A directory replaced by something else
// takes its earlier contents with it.
func (b *Builder) set(it *item) {
	if old, ok := b.items[it.path]; ok && old.mode&ModeTypeMask == ModeDir && it.mode&ModeTypeMask != ModeDir {
		prefix := it.path + "/"
		for p := range b.items {
			if strings.HasPrefix(p, prefix) {
				delete(b.items, p)
			}
		}
	}
	b.items[it.path] = it
}

// Add adds a source: a directory tree, or otherwise a gen_init_cpio manifest.
func (b *Builder) Add(src string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return b.AddTree(src)
	}
	return b.AddManifest(src)
}

// normPerm is the permission a tree entry gets (see the package comment).
func normPerm(m fs.FileMode) uint32 {
	if m&0o111 != 0 {
		return ExecPerm
	}
	return FilePerm
}

// AddTree adds the contents of directory root (not root itself) with
// normalised modes, owner 0:0, and hard links detected by inode.
func (b *Builder) AddTree(root string) error {
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return err
	}
	groups := map[[2]uint64]*linkGroup{}
	return filepath.WalkDir(real, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(real, p)
		if err != nil {
			return err
		}
		if rel == "." {
			if !d.IsDir() {
				return fmt.Errorf("%s: not a directory", root)
			}
			return nil
		}
		origin := filepath.Join(root, rel)
		name := filepath.ToSlash(rel)
		if len(name)+1 > MaxNameSize {
			return fmt.Errorf("%s: path longer than %d bytes", origin, MaxNameSize-1)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		for _, x := range b.exclude {
			if os.SameFile(fi, x) {
				return nil
			}
		}
		it := &item{path: name, origin: origin}
		m := fi.Mode()
		switch t := m.Type(); {
		case t == 0:
			it.mode = ModeRegular | normPerm(m)
			it.src = p
			if fi.Size() > MaxFileSize {
				return fmt.Errorf("%s: %d bytes is more than a newc archive can hold", origin, fi.Size())
			}
			if dev, ino, nlink, ok := fileID(fi); ok && nlink > 1 {
				k := [2]uint64{dev, ino}
				if groups[k] == nil {
					groups[k] = &linkGroup{}
				}
				it.group = groups[k]
			}
		case t&fs.ModeDir != 0:
			it.mode = ModeDir | DirPerm
		case t&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if len(target) > MaxNameSize {
				return fmt.Errorf("%s: link target longer than %d bytes", origin, MaxNameSize)
			}
			it.mode = ModeSymlink | SymlinkPerm
			it.target = target
		case t&fs.ModeNamedPipe != 0:
			it.mode = ModeFIFO | normPerm(m)
		case t&fs.ModeSocket != 0:
			it.mode = ModeSocket | normPerm(m)
		case t&fs.ModeDevice != 0:
			it.mode = ModeBlock | normPerm(m)
			if t&fs.ModeCharDevice != 0 {
				it.mode = ModeChar | normPerm(m)
			}
			it.major, it.minor = rdev(fi)
		default:
			return fmt.Errorf("%s: unsupported file type %v", origin, t)
		}
		b.set(it)
		return nil
	})
}

// AddManifest adds the entries of a gen_init_cpio manifest file; relative
// locations of "file" lines are relative to the manifest's directory.
func (b *Builder) AddManifest(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	entries, err := ParseManifest(f)
	if err == nil {
		err = b.AddManifestEntries(entries, filepath.Dir(name), name)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// AddManifestEntries adds parsed manifest entries; baseDir resolves relative
// locations and origin names the manifest in errors.
func (b *Builder) AddManifestEntries(entries []ManifestEntry, baseDir, origin string) error {
	for _, e := range entries {
		where := fmt.Sprintf("%s: line %d", origin, e.Line)
		it := &item{path: e.Name, uid: e.UID, gid: e.GID, origin: where}
		perm := e.Mode & ModePerm
		switch e.Type {
		case ManifestFile:
			loc := e.Location
			if !filepath.IsAbs(loc) {
				loc = filepath.Join(baseDir, loc)
			}
			shown := e.Location // with the path it resolves to, when that differs
			if loc != e.Location {
				shown += " (" + loc + ")"
			}
			fi, err := os.Stat(loc)
			if err != nil {
				return &ManifestError{e.Line, fmt.Sprintf("file %s: %v", shown, unwrapPath(err))}
			}
			if !fi.Mode().IsRegular() {
				return &ManifestError{e.Line, fmt.Sprintf("file %s: not a regular file", shown)}
			}
			if fi.Size() > MaxFileSize {
				return &ManifestError{e.Line, fmt.Sprintf("file %s: %d bytes is more than a newc archive can hold", shown, fi.Size())}
			}
			it.mode = ModeRegular | perm
			it.src = loc
			if len(e.Links) > 0 {
				g := &linkGroup{}
				it.group = g
				for _, l := range e.Links {
					c := *it
					c.path = l
					b.set(&c)
				}
			}
		case ManifestDir:
			it.mode = ModeDir | perm
		case ManifestSlink:
			it.mode = ModeSymlink | perm
			it.target = e.Target
		case ManifestNod:
			it.mode = ModeChar | perm
			if e.DevType == 'b' {
				it.mode = ModeBlock | perm
			}
			it.major, it.minor = e.Major, e.Minor
		case ManifestPipe:
			it.mode = ModeFIFO | perm
		case ManifestSock:
			it.mode = ModeSocket | perm
		default:
			return &ManifestError{e.Line, fmt.Sprintf("unknown type %q", e.Type)}
		}
		b.set(it)
	}
	return nil
}

func unwrapPath(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

func unwrapLink(err error) error {
	if le, ok := err.(*os.LinkError); ok {
		return le.Err
	}
	return err
}

// plan returns the entries in output order, with missing parent
// directories added.
func (b *Builder) plan() ([]*item, error) {
	all := make(map[string]*item, len(b.items))
	for p, it := range b.items {
		all[p] = it
	}
	for p, it := range b.items {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			parent, ok := all[d]
			if !ok {
				all[d] = &item{path: d, mode: ModeDir | DirPerm, origin: "parent of " + it.origin}
				continue
			}
			if parent.mode&ModeTypeMask != ModeDir {
				return nil, fmt.Errorf("%s: /%s needs /%s to be a directory, but it is a %s (from %s)",
					it.origin, p, d, typeName(parent.mode), parent.origin)
			}
		}
	}
	paths := make([]string, 0, len(all))
	for p := range all {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	out := make([]*item, len(paths))
	for i, p := range paths {
		out[i] = all[p]
	}
	return out, nil
}

// readerAt hides everything of an *os.File but ReadAt, so the cpio writer
// does not close it.
// readerAt reads a source file, reporting progress.
type readerAt struct {
	f        *os.File
	progress func(int)
}

func (r readerAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.f.ReadAt(p, off)
	if r.progress != nil {
		r.progress(n)
	}
	return n, err
}

// countWriter counts bytes written.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// progress returns the callback of the data read, or nil.
func (b *Builder) progress(items []*item) func(int) {
	if b.Progress == nil {
		return nil
	}
	var total, done int64
	seen := map[*linkGroup]bool{}
	for _, it := range items {
		if it.mode&ModeTypeMask != ModeRegular || (it.group != nil && seen[it.group]) {
			continue // a hard-linked file's data is written once
		}
		seen[it.group] = it.group != nil
		if fi, err := os.Stat(it.src); err == nil {
			total += fi.Size()
		}
	}
	return func(n int) {
		done += int64(n)
		b.Progress(min(done, total), total)
	}
}

// WriteTo writes the entries as one uncompressed newc archive, trailer
// included, and returns the number of bytes written.
func (b *Builder) WriteTo(w io.Writer) (int64, error) {
	items, err := b.plan()
	if err != nil {
		return 0, err
	}
	// Hard-link groups in output order; one left alone is a plain file.
	members := map[*linkGroup][]*item{}
	for _, it := range items {
		if it.group != nil {
			members[it.group] = append(members[it.group], it)
		}
	}
	cw := &countWriter{w: w}
	rw := cpio.Newc.Writer(cw)
	progress := b.progress(items)
	var ino uint64
	groupIno := map[*linkGroup]uint64{}
	for _, it := range items {
		info := cpio.Info{
			Name:  it.path,
			Mode:  uint64(it.mode),
			UID:   uint64(it.uid),
			GID:   uint64(it.gid),
			MTime: uint64(b.MTime),
			NLink: 1,
		}
		withData := true
		if g := it.group; g != nil && len(members[g]) > 1 {
			if _, ok := groupIno[g]; !ok {
				ino++
				groupIno[g] = ino
			}
			info.Ino = groupIno[g]
			m := members[g]
			info.NLink = uint64(len(m))
			withData = m[len(m)-1] == it
		} else {
			ino++
			info.Ino = ino
		}
		rec := cpio.Record{Info: info}
		var f *os.File
		switch it.mode & ModeTypeMask {
		case ModeDir:
			rec.NLink = 2
		case ModeRegular:
			if !withData {
				break
			}
			f, err = os.Open(it.src)
			if err != nil {
				return cw.n, fmt.Errorf("%s: %w", it.origin, unwrapPath(err))
			}
			fi, err := f.Stat()
			if err != nil {
				f.Close()
				return cw.n, fmt.Errorf("%s: %w", it.origin, err)
			}
			if !fi.Mode().IsRegular() || fi.Size() > MaxFileSize {
				f.Close()
				return cw.n, fmt.Errorf("%s: no longer a regular file of at most %d bytes", it.origin, int64(MaxFileSize))
			}
			rec.ReaderAt = readerAt{f, progress}
			rec.FileSize = uint64(fi.Size())
		case ModeSymlink:
			rec.ReaderAt = strings.NewReader(it.target)
			rec.FileSize = uint64(len(it.target))
		case ModeChar, ModeBlock:
			rec.Rmajor, rec.Rminor = uint64(it.major), uint64(it.minor)
		}
		err := rw.WriteRecord(rec)
		if f != nil {
			f.Close()
		}
		if err != nil {
			return cw.n, fmt.Errorf("%s: %w", it.origin, err)
		}
	}
	if err := cpio.WriteTrailer(rw); err != nil {
		return cw.n, err
	}
	return cw.n, nil
}

// Write writes the archive to w, compressed with c (None, Gzip or Zstd).
func (b *Builder) Write(w io.Writer, c Compression) error {
	zw, err := NewCompressor(w, c)
	if err != nil {
		return err
	}
	if _, err := b.WriteTo(zw); err != nil {
		zw.Close()
		return err
	}
	return zw.Close()
}

// BuildResult describes a written initramfs.
type BuildResult struct {
	// SHA256 is the digest of the file, the value SEV's kernel-hashes
	// table carries for the initrd.
	SHA256 [sha256.Size]byte
	// Size is the size of the file in bytes.
	Size int64
}

// WriteFile writes the archive, compressed with c, to a temporary file in
// name's directory and renames it to name once complete (mode 0644). On
// error no file is left behind.
func (b *Builder) WriteFile(name string, c Compression) (*BuildResult, error) {
	if st, err := os.Stat(name); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s: is a directory, not a file", name)
	}
	dir := filepath.Dir(name)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, unwrapPath(err))
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	cw := &countWriter{w: io.MultiWriter(bw, h)}
	if err := b.Write(cw, c); err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, unwrapPath(err))
	}
	if err := tmp.Chmod(0o644); err != nil {
		return nil, fmt.Errorf("%s: %w", name, unwrapPath(err))
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, unwrapPath(err))
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return nil, fmt.Errorf("%s: %w", name, unwrapLink(err))
	}
	ok = true
	res := &BuildResult{Size: cw.n}
	h.Sum(res.SHA256[:0])
	return res, nil
}
