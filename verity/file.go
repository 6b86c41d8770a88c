package verity

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/snpmeasure/snpmeasure/outfile"
)

// errIsDir is the error for a directory where a file is needed.
var errIsDir = errors.New("is a directory, not a file")

// OpenData opens a data file or block device and returns its size.
func OpenData(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, 0, &os.PathError{Op: "open", Path: path, Err: errIsDir}
	}
	size, err := f.Seek(0, io.SeekEnd) // works for block devices too
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, size, nil
}

// ReadSuperblockFile reads the superblock at the start of a hash file or
// device (as OpenData opens it); errors after the open name the file.
func ReadSuperblockFile(path string) (*Superblock, error) {
	f, _, err := OpenData(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sb, err := ReadSuperblock(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return sb, nil
}

// progressReader reports the bytes read from r.
type progressReader struct {
	r           io.Reader
	done, total int64
	fn          func(done, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	p.fn(min(p.done, p.total), p.total)
	return n, err
}

// withProgress wraps the data reader when a progress callback is given.
func withProgress(r io.Reader, size int64, fn func(done, total int64)) io.Reader {
	if fn == nil {
		return r
	}
	return &progressReader{r: r, total: size, fn: fn}
}

// FormatFile computes the hash tree of the file or block device dataPath and
// writes it to hashPath by the rules of package outfile: a regular hash file
// is replaced atomically only when complete, an existing block device is
// written in place. progress, if not nil, is told how much of the data is
// hashed.
func FormatFile(dataPath, hashPath string, p Params, progress func(done, total int64)) (*Result, error) {
	data, size, err := OpenData(dataPath)
	if err != nil {
		return nil, err
	}
	defer data.Close()
	out, err := outfile.Create(hashPath, outfile.Options{Inputs: []string{dataPath}, Seekable: true})
	if err != nil {
		return nil, err
	}
	res, err := Format(withProgress(data, size, progress), size, out.OS(), p)
	if err != nil {
		out.Abort()
		return nil, err
	}
	return res, out.Commit()
}

// VerifyFile verifies the hash tree in hashPath against the data in dataPath
// and the expected root hash. With p nil the parameters come from the hash
// file's superblock; otherwise p is used as given (p.NoSuperblock set for a
// hash file without one). It returns a *MismatchError when the data, tree or
// root hash disagree.
func VerifyFile(dataPath, hashPath string, rootHash []byte, p *Params, progress func(done, total int64)) (*Result, error) {
	hf, err := os.Open(hashPath)
	if err != nil {
		return nil, err
	}
	defer hf.Close()
	if st, err := hf.Stat(); err == nil && st.IsDir() {
		return nil, &os.PathError{Op: "open", Path: hashPath, Err: errIsDir}
	}
	var params Params
	if p == nil {
		sb, err := ReadSuperblock(hf)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", hashPath, err)
		}
		params = sb.Params()
		if err := params.Validate(); err != nil {
			return nil, fmt.Errorf("%s: superblock: %w", hashPath, err)
		}
	} else {
		params = *p
		if !params.NoSuperblock {
			sb, err := ReadSuperblock(hf)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", hashPath, err)
			}
			if err := checkSuperblock(sb, &params); err != nil {
				return nil, fmt.Errorf("%s: %w", hashPath, err)
			}
		}
	}
	data, size, err := OpenData(dataPath)
	if err != nil {
		return nil, err
	}
	defer data.Close()
	return Verify(withProgress(data, size, progress), size, hf, params, rootHash)
}

// SuperblockMismatchError reports a superblock that contradicts the given
// parameters.
type SuperblockMismatchError struct {
	Field       string
	Stored, Set string
}

func (e *SuperblockMismatchError) Error() string {
	return fmt.Sprintf("superblock %s is %s, not %s", e.Field, e.Stored, e.Set)
}

// checkSuperblock checks that a superblock agrees with explicit parameters.
func checkSuperblock(sb *Superblock, p *Params) error {
	mis := func(field string, a, b any) error {
		return &SuperblockMismatchError{Field: field, Stored: fmt.Sprint(a), Set: fmt.Sprint(b)}
	}
	switch {
	case sb.HashType != p.HashType:
		return mis("hash type", sb.HashType, p.HashType)
	case sb.Algorithm != p.Algorithm:
		return mis("hash algorithm", sb.Algorithm, p.Algorithm)
	case sb.DataBlockSize != p.DataBlockSize:
		return mis("data block size", sb.DataBlockSize, p.DataBlockSize)
	case sb.HashBlockSize != p.HashBlockSize:
		return mis("hash block size", sb.HashBlockSize, p.HashBlockSize)
	case p.DataBlocks != 0 && sb.DataBlocks != p.DataBlocks:
		return mis("data block count", sb.DataBlocks, p.DataBlocks)
	case string(sb.Salt) != string(p.Salt):
		return mis("salt", fmt.Sprintf("%x", sb.Salt), fmt.Sprintf("%x", p.Salt))
	}
	if p.DataBlocks == 0 {
		p.DataBlocks = sb.DataBlocks
	}
	return nil
}

// IsMismatch reports whether err says a tree or root hash did not match.
func IsMismatch(err error) bool {
	var m *MismatchError
	return errors.As(err, &m)
}
