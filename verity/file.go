package verity

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// errIsDir is the error for a directory where a file is needed.
var errIsDir = errors.New("is a directory, not a file")

// openData opens a data file or block device and returns its size.
func openData(path string) (*os.File, int64, error) {
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

// FormatFile computes the hash tree of the file or block device dataPath and
// writes it to hashPath. A regular hash file is written to a temporary file
// in the same directory and renamed into place only when complete; an
// existing block device is written in place.
func FormatFile(dataPath, hashPath string, p Params) (*Result, error) {
	data, size, err := openData(dataPath)
	if err != nil {
		return nil, err
	}
	defer data.Close()
	if dst, err := os.Stat(hashPath); err == nil {
		if dfi, err := data.Stat(); err == nil && os.SameFile(dst, dfi) {
			return nil, fmt.Errorf("%s: the hash file must not be the data file", hashPath)
		}
		if dst.IsDir() {
			return nil, &os.PathError{Op: "create", Path: hashPath, Err: errIsDir}
		}
		if dst.Mode()&os.ModeDevice != 0 {
			f, err := os.OpenFile(hashPath, os.O_RDWR, 0)
			if err != nil {
				return nil, err
			}
			res, err := Format(data, size, f, p)
			if cerr := f.Close(); err == nil && cerr != nil {
				err = cerr
			}
			return res, err
		}
	}
	dir := filepath.Dir(hashPath)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(hashPath)+".tmp*")
	if err != nil {
		// Name the file asked for, not the temporary one.
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &os.PathError{Op: "create", Path: hashPath, Err: err}
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	res, err := Format(data, size, tmp, p)
	if err != nil {
		return nil, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), hashPath); err != nil {
		var le *os.LinkError
		if errors.As(err, &le) {
			err = le.Err
		}
		return nil, &os.PathError{Op: "rename", Path: hashPath, Err: err}
	}
	ok = true
	return res, nil
}

// VerifyFile verifies the hash tree in hashPath against the data in dataPath
// and the expected root hash. With p nil the parameters come from the hash
// file's superblock; otherwise p is used as given (p.NoSuperblock set for a
// hash file without one). It returns a *MismatchError when the data, tree or
// root hash disagree.
func VerifyFile(dataPath, hashPath string, rootHash []byte, p *Params) (*Result, error) {
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
	data, size, err := openData(dataPath)
	if err != nil {
		return nil, err
	}
	defer data.Close()
	return Verify(data, size, hf, params, rootHash)
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
