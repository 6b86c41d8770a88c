package measure

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync/atomic"

	"github.com/snpmeasure/snpmeasure/launchdigest"
	"github.com/snpmeasure/snpmeasure/ovmf"
)

// ProgressFunc is told, from the goroutine that hashes a file, how many of
// its total bytes are done; done == total once the file is finished. It may
// be called from several goroutines at once, for different files.
type ProgressFunc func(file string, done, total int64)

// FileError is an input file that cannot be used: it names the file; Err
// says why (an *ovmf.FormatError carries the offset in the file).
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// fileErr wraps err for path, dropping the path an *os.PathError repeats.
func fileErr(path string, err error) error {
	var fe *FileError
	if errors.As(err, &fe) && fe.Path == path {
		return err
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &FileError{Path: path, Err: err}
}

// ErrDevice is returned for device files other than empty ones: /dev/zero or
// /dev/urandom would be read without end.
var ErrDevice = errors.New("is a device, not a file")

// OpenInput opens a file to be read whole: a regular file, a pipe (process
// substitution), or a character device that reads as empty (/dev/null, which
// sev-snp-measure measures as empty input). Directories and other devices
// are refused. size is -1 when it is not known in advance (a pipe).
func OpenInput(path string) (f *os.File, size int64, err error) {
	f, err = os.Open(path)
	if err != nil {
		return nil, 0, fileErr(path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fileErr(path, err)
	}
	m := st.Mode()
	switch {
	case m.IsDir():
		f.Close()
		return nil, 0, fileErr(path, errors.New("is a directory, not a file"))
	case m.IsRegular():
		return f, st.Size(), nil
	case m&os.ModeNamedPipe != 0:
		return f, -1, nil
	case m&os.ModeCharDevice != 0:
		// Accepted only when it reads as empty: nothing is lost by
		// reading one byte, since it must not have any.
		var b [1]byte
		if n, rerr := f.Read(b[:]); n == 0 && rerr == io.EOF {
			return f, 0, nil
		}
	}
	f.Close()
	return nil, 0, fileErr(path, ErrDevice)
}

// ctxReader fails reads once ctx is done, so that hashing a large file stops
// when the caller gives up.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

type ctxReaderAt struct {
	ctx context.Context
	r   io.ReaderAt
}

func (c ctxReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.ReadAt(p, off)
}

// progress adapts a ProgressFunc to the per-block callbacks of launchdigest.
func progress(p ProgressFunc, name string, total int64) func(int) {
	if p == nil || total <= 0 {
		return nil
	}
	var done atomic.Int64 // firmware pages are hashed by several goroutines
	return func(n int) {
		p(name, min(done.Add(int64(n)), total), total)
	}
}

// HashFile returns the SHA-256 and size of a whole file (see OpenInput),
// streamed: memory does not depend on its size.
func HashFile(ctx context.Context, path string, p ProgressFunc) (sum SHA256, size int64, err error) {
	f, total, err := OpenInput(path)
	if err != nil {
		return sum, 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := launchdigest.HashStream(h, ctxReader{ctx, f}, progress(p, path, total))
	if err != nil {
		return sum, 0, fileErr(path, err)
	}
	h.Sum(sum[:0])
	return sum, n, nil
}

// firmwareFile is an opened and parsed firmware (or SVSM) image.
type firmwareFile struct {
	path  string
	f     *os.File    // as opened: a regular file, or a pipe spooled to r
	r     io.ReaderAt // f, or the spool of a pipe
	image *ovmf.Image
}

// openFirmware opens and parses a firmware image. A pipe (--ovmf <(...))
// is spooled to an unnamed temporary file to be read at offsets.
func openFirmware(path string) (*firmwareFile, error) {
	f, r, size, err := openAt(path, ovmf.MaxImageSize, "firmware must fit below 4 GiB", nil)
	if err != nil {
		return nil, err
	}
	fw := &firmwareFile{path: path, f: f, r: r}
	if err := checkFirmwareSize(size); err != nil {
		fw.Close()
		return nil, fileErr(path, err)
	}
	if fw.image, err = ovmf.Parse(fw.r, size); err != nil {
		fw.Close()
		return nil, fileErr(path, err)
	}
	return fw, nil
}

// openAt opens an input to be read at offsets (OpenInput): a regular file
// is read in place; a pipe is copied, up to limit bytes (why says what the
// limit is), into an unnamed temporary file in os.TempDir, so that memory
// stays constant whatever the size. Closing f closes the spool too.
func openAt(path string, limit int64, why string, head func([]byte) error) (f *os.File, r io.ReaderAt, size int64, err error) {
	f, size, err = OpenInput(path)
	if err != nil || size >= 0 {
		return f, f, size, err
	}
	// The first bytes are checked before the rest is copied: a pipe of
	// something else fails at once, not after gigabytes.
	first := make([]byte, 64)
	n, err := io.ReadFull(f, first)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		f.Close()
		return nil, nil, 0, fileErr(path, err)
	}
	if head != nil {
		if err := head(first[:n]); err != nil {
			f.Close()
			return nil, nil, 0, fileErr(path, err)
		}
	}
	spool, err := os.CreateTemp("", ".snpmeasure-pipe-*")
	if err != nil {
		f.Close()
		return nil, nil, 0, fileErr(path, spoolErr(err))
	}
	os.Remove(spool.Name()) // unnamed: nothing is left behind, whatever happens
	size, err = io.Copy(markWrites{spool}, io.LimitReader(io.MultiReader(bytes.NewReader(first[:n]), f), limit+1))
	f.Close()
	var we *writeError
	switch {
	case errors.As(err, &we):
		spool.Close()
		return nil, nil, 0, fileErr(path, spoolErr(we.err))
	case err != nil:
		spool.Close()
		return nil, nil, 0, fileErr(path, err)
	case size > limit:
		spool.Close()
		return nil, nil, 0, fileErr(path, fmt.Errorf("more than %d bytes: %s", limit, why))
	}
	return spool, spool, size, nil
}

// spoolErr says that copying a pipe to the temporary directory failed, and
// where, without the temporary file's own (removed) name.
func spoolErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("copying the pipe to a temporary file in %s ($TMPDIR): %v", os.TempDir(), err)
}

// writeError marks an error of the spool's writes, as io.Copy does not.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }

type markWrites struct{ w io.Writer }

func (m markWrites) Write(p []byte) (int, error) {
	n, err := m.w.Write(p)
	if err != nil {
		err = &writeError{err}
	}
	return n, err
}

// checkFirmwareSize refuses sizes no firmware image has. The reference reads
// the footer entry from the last 50 bytes with Python slicing: in a file of
// fewer than 50 bytes that slice is min(size, 50-size) bytes long, and it
// fails when that is shorter than the 18-byte entry.
func checkFirmwareSize(size int64) error {
	switch {
	case size == 0:
		return errors.New("empty file: not a firmware image")
	case size < ovmf.FooterOffsetFromEnd && min(size, ovmf.FooterOffsetFromEnd-size) < ovmf.EntryHeaderSize:
		return fmt.Errorf("%d bytes: too small to be a firmware image", size)
	case size > ovmf.MaxImageSize:
		return fmt.Errorf("%d bytes: firmware must fit below 4 GiB", size)
	}
	return nil
}

func (fw *firmwareFile) Close() error { return fw.f.Close() }

// err wraps an error about the image with its path.
func (fw *firmwareFile) err(err error) error { return fileErr(fw.path, err) }

// pages hashes every 4 KiB page of the image across all CPUs.
func (fw *firmwareFile) pages(ctx context.Context, p ProgressFunc) ([]launchdigest.Digest, error) {
	size := fw.image.Size
	if size%ovmf.PageSize != 0 {
		return nil, fw.err(fmt.Errorf("size %d is not a multiple of 4096 bytes: it cannot be loaded with SNP_LAUNCH_UPDATE", size))
	}
	pages, err := launchdigest.HashPages(ctxReaderAt{ctx, fw.r}, size, progress(p, fw.path, size))
	if err != nil {
		return nil, fw.err(err)
	}
	return pages, nil
}

// sha256 hashes the whole image, for the record of what was measured.
func (fw *firmwareFile) sha256(ctx context.Context) (SHA256, error) {
	t := newSHATee(io.NewSectionReader(fw.r, 0, fw.image.Size))
	if _, err := io.Copy(io.Discard, ctxReader{ctx, t}); err != nil {
		return SHA256{}, fw.err(err)
	}
	return t.sum(), nil
}

// shaTee computes the SHA-256 of what is read through it.
type shaTee struct {
	r io.Reader
	h hash.Hash
}

func newSHATee(r io.Reader) *shaTee { return &shaTee{r: r, h: sha256.New()} }

func (t *shaTee) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.h.Write(p[:n])
	return n, err
}

func (t *shaTee) sum() (s SHA256) {
	t.h.Sum(s[:0])
	return s
}
