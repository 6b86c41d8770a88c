package initramfs

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// FormatError reports malformed input at a byte offset.
type FormatError struct {
	// Offset is the offset of the problem in the file, or, for a problem
	// inside a compressed segment, the offset of that segment.
	Offset int64
	// Compression is the compression of the segment the problem is in;
	// None when Offset locates the problem itself.
	Compression Compression
	// InnerOffset is the offset of the problem in the decompressed data of
	// the segment (Compression != None).
	InnerOffset int64
	// Msg says what is wrong.
	Msg string
	// Err is the underlying error, if any (a decompressor's, or an I/O
	// error).
	Err error
}

func (e *FormatError) Error() string {
	msg := e.Msg
	if e.Err != nil {
		if msg != "" {
			msg += ": "
		}
		msg += strings.ReplaceAll(e.Err.Error(), "\n", " ")
	}
	if e.Compression == None {
		return fmt.Sprintf("offset %#x: %s", e.Offset, msg)
	}
	return fmt.Sprintf("offset %#x of the %s data at offset %#x: %s", e.InnerOffset, e.Compression, e.Offset, msg)
}

func (e *FormatError) Unwrap() error { return e.Err }

// countReader counts the bytes consumed from a buffered reader. It is an
// io.ByteReader, so the gzip reader consumes exactly its member from it.
type countReader struct {
	br *bufio.Reader
	n  int64
}

func newCountReader(r io.Reader) *countReader {
	return &countReader{br: bufio.NewReaderSize(r, 64<<10)}
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.br.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countReader) ReadByte() (byte, error) {
	b, err := c.br.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

func (c *countReader) peek(n int) ([]byte, error) { return c.br.Peek(n) }

// Reader reads the entries of an initramfs sequentially, like archive/tar:
// Next advances to the next entry and Read reads a regular file's data.
type Reader struct {
	outer *countReader
	src   *countReader // outer, or the current segment's decompressed data
	dec   io.Closer    // the current segment's decompressor, if it has one
	tail  *zeroTracker // what the current segment's decompressor read
	seg   Segment

	inArchive bool // between an archive's first header and its trailer
	nseg      int  // segments seen
	narchive  int  // archives seen
	cur       *Entry
	err       error // sticky

	// The data of the last record read (the trailer's too).
	rec       *Entry
	pending   bool   // data or padding not yet consumed and checked
	remaining int64  // unread data
	pad       int64  // padding after the data
	dataOff   int64  // offset of the data
	sum       uint32 // byte sum of the data read so far (070702)
}

// NewReader returns a Reader of the initramfs in r.
func NewReader(r io.Reader) *Reader {
	o := newCountReader(r)
	return &Reader{outer: o, src: o}
}

// errAt builds a FormatError at offset off of the current source.
func (r *Reader) errAt(off int64, err error, format string, args ...any) *FormatError {
	e := &FormatError{Offset: off, Msg: fmt.Sprintf(format, args...), Err: err}
	if r.src != r.outer {
		e.Compression = r.seg.Compression
		e.Offset = r.seg.Offset
		e.InnerOffset = off
	}
	return e
}

// readErr turns a read failure at offset off into a FormatError; what says
// what was being read.
func (r *Reader) readErr(off int64, err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		switch {
		case what == "" && r.src != r.outer:
			what = "the compressed data ends unexpectedly"
		case what == "":
			what = "unexpected end of input"
		case r.src != r.outer && errors.Is(err, io.ErrUnexpectedEOF):
			what += " (the compressed data ends unexpectedly)"
		}
		return r.errAt(off, nil, "%s", what)
	}
	if r.src != r.outer {
		return r.errAt(off, err, "%s", r.seg.Compression.String())
	}
	return r.errAt(off, err, "read error")
}

// Next advances to the next entry and returns it; io.EOF after the last.
func (r *Reader) Next() (*Entry, error) {
	if r.err != nil {
		return nil, r.err
	}
	e, err := r.next()
	if err != nil {
		r.err = err
		return nil, err
	}
	return e, nil
}

func (r *Reader) next() (*Entry, error) {
	if err := r.skipData(); err != nil {
		return nil, err
	}
	r.cur = nil
	for {
		if !r.inArchive {
			ok, err := r.findArchive()
			if err != nil {
				return nil, err
			}
			if !ok {
				if r.narchive == 0 {
					return nil, r.errAt(r.outer.n, nil, "no cpio archive found")
				}
				return nil, io.EOF
			}
			r.inArchive = true
			r.seg.Archive = r.narchive
			r.narchive++
		}
		e, err := r.readHeader()
		if err != nil {
			return nil, err
		}
		if e == nil { // trailer
			r.inArchive = false
			continue
		}
		return e, nil
	}
}

// findArchive skips zero padding and opens compressed segments until the
// source is at the start of a cpio archive; false at the end of the input.
func (r *Reader) findArchive() (bool, error) {
	for {
		// Skip zero padding.
		var b byte
		var err error
		for {
			b, err = r.src.ReadByte()
			if err != nil || b != 0 {
				break
			}
		}
		if err != nil {
			if err != io.EOF {
				if r.src != r.outer && r.zeroTail() {
					r.endSegment()
					return false, nil
				}
				return false, r.readErr(r.src.n, err, "")
			}
			if r.src == r.outer {
				return false, nil
			}
			r.endSegment()
			continue
		}
		// Put the byte back.
		if err := r.src.br.UnreadByte(); err != nil {
			return false, r.errAt(r.src.n, err, "")
		}
		r.src.n--
		off := r.src.n
		if b == '0' {
			if off%4 != 0 {
				return false, r.errAt(off, nil, "cpio header at an offset that is not a multiple of 4")
			}
			if r.src == r.outer {
				r.seg = Segment{Index: r.nseg, Offset: off, Compression: None}
				r.nseg++
			}
			return true, nil
		}
		if r.src != r.outer {
			head, _ := r.src.peek(8)
			return false, r.errAt(off, nil, "unexpected data after a cpio trailer: % x", head)
		}
		if err := r.openSegment(); err != nil {
			return false, err
		}
	}
}

// Magic numbers of the compressed formats the kernel unpacks.
var magics = []struct {
	c     Compression
	magic []byte
}{
	{Gzip, []byte{0x1f, 0x8b}},
	{Bzip2, []byte("BZh")},
	{XZ, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}},
	{LZMA, []byte{0x5d, 0x00, 0x00}},
	{LZ4, []byte{0x02, 0x21, 0x4c, 0x18}}, // legacy format
	{LZ4, []byte{0x04, 0x22, 0x4d, 0x18}}, // frame format
	{Zstd, []byte{0x28, 0xb5, 0x2f, 0xfd}},
	{LZO, []byte{0x89, 'L', 'Z', 'O'}},
}

// DetectCompression returns the compression whose magic starts head, and
// false when head starts with none of them.
func DetectCompression(head []byte) (Compression, bool) {
	for _, m := range magics {
		if bytes.HasPrefix(head, m.magic) {
			return m.c, true
		}
	}
	return None, false
}

// openSegment starts decompressing the segment at the outer position.
func (r *Reader) openSegment() error {
	off := r.outer.n
	head, _ := r.outer.peek(16)
	c, ok := DetectCompression(head)
	if !ok {
		if len(head) > 8 {
			head = head[:8]
		}
		return r.errAt(off, nil, "not a cpio archive and no known compression (bytes % x)", head)
	}
	r.seg = Segment{Index: r.nseg, Offset: off, Compression: c}
	r.nseg++
	fail := func(err error) error {
		return &FormatError{Offset: off, Msg: c.String(), Err: err}
	}
	// Decompressors other than gzip's read on to the end of the input.
	r.tail = &zeroTracker{r: r.outer}
	in := r.tail
	var dec io.Reader
	switch c {
	case Gzip:
		r.tail = nil
		z, err := gzip.NewReader(r.outer)
		if err != nil {
			return fail(err)
		}
		z.Multistream(false) // the segment ends with the member
		dec, r.dec = z, z
	case Bzip2:
		dec = bzip2.NewReader(in)
	case XZ:
		if err := checkXZDict(r.outer); err != nil {
			return fail(err)
		}
		z, err := xz.NewReader(in)
		if err != nil {
			return fail(err)
		}
		dec = z
	case LZMA:
		h, _ := r.outer.peek(5)
		if len(h) == 5 {
			if d := binary.LittleEndian.Uint32(h[1:]); d > MaxWindowSize {
				return fail(fmt.Errorf("dictionary of %d bytes exceeds the limit of %d", d, MaxWindowSize))
			}
		}
		z, err := lzma.NewReader(in)
		if err != nil {
			return fail(err)
		}
		dec = z
	case LZ4:
		dec = lz4.NewReader(in)
	case Zstd:
		z, err := zstd.NewReader(in,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(MaxWindowSize))
		if err != nil {
			return fail(err)
		}
		dec, r.dec = z, zstdCloser{z}
	default:
		return fail(fmt.Errorf("%s compression is not supported", c))
	}
	r.src = newCountReader(dec)
	return nil
}

type zstdCloser struct{ d *zstd.Decoder }

func (z zstdCloser) Close() error { z.d.Close(); return nil }

// endSegment returns to the outer input after a compressed segment.
func (r *Reader) endSegment() {
	if r.dec != nil {
		r.dec.Close()
		r.dec = nil
	}
	r.src = r.outer
	r.tail = nil
}

// zeroTracker passes the input to a decompressor and counts the zero bytes
// at the end of what it passed.
type zeroTracker struct {
	r     *countReader
	zeros int64
}

func (z *zeroTracker) Read(p []byte) (int, error) {
	n, err := z.r.Read(p)
	z.track(p[:n])
	return n, err
}

func (z *zeroTracker) ReadByte() (byte, error) {
	b, err := z.r.ReadByte()
	if err == nil {
		z.track([]byte{b})
	}
	return b, err
}

func (z *zeroTracker) track(p []byte) {
	i := len(p)
	for i > 0 && p[i-1] == 0 {
		i--
	}
	if i > 0 {
		z.zeros = 0
	}
	z.zeros += int64(len(p) - i)
}

// minZeroTail is the shortest zero padding accepted after a compressed
// segment whose decompressor rejects it.
const minZeroTail = 4

// zeroTail reports whether a decompressor that failed after the segment's
// last complete archive failed on zero padding: what it read last and the
// rest of the input are zero bytes, at least minZeroTail of them. The
// kernel skips such padding. It consumes the rest of the input.
func (r *Reader) zeroTail() bool {
	if r.tail == nil {
		return false
	}
	n := r.tail.zeros
	buf := make([]byte, 32<<10)
	for {
		k, err := r.outer.Read(buf)
		for _, b := range buf[:k] {
			if b != 0 {
				return false
			}
		}
		n += int64(k)
		if err == io.EOF {
			return n >= minZeroTail
		}
		if err != nil {
			return false
		}
	}
}

// checkXZDict rejects an xz stream whose first block asks for a dictionary
// larger than MaxWindowSize (the decompressor allocates it up front).
func checkXZDict(c *countReader) error {
	const streamHeader = 12
	h, _ := c.peek(streamHeader + 1)
	if len(h) <= streamHeader || h[streamHeader] == 0 {
		return nil // short (the decoder reports it) or no blocks
	}
	size := (int(h[streamHeader]) + 1) * 4
	h, _ = c.peek(streamHeader + size)
	if len(h) < streamHeader+size {
		return nil
	}
	bh := h[streamHeader : streamHeader+size]
	flags := bh[1]
	p := 2
	uvarint := func() (uint64, bool) {
		v, n := binary.Uvarint(bh[p:])
		if n <= 0 {
			return 0, false
		}
		p += n
		return v, true
	}
	if flags&0x40 != 0 {
		if _, ok := uvarint(); !ok {
			return nil
		}
	}
	if flags&0x80 != 0 {
		if _, ok := uvarint(); !ok {
			return nil
		}
	}
	for i := 0; i <= int(flags&3); i++ {
		id, ok := uvarint()
		if !ok {
			return nil
		}
		n, ok := uvarint()
		if !ok || uint64(len(bh)-p) < n {
			return nil
		}
		if id == 0x21 && n == 1 { // LZMA2
			bits := bh[p] & 0x3f
			if bits > 40 {
				return nil
			}
			var dict uint64 = 0xffffffff
			if bits < 40 {
				dict = uint64(2|bits&1) << (bits/2 + 11)
			}
			if dict > MaxWindowSize {
				return fmt.Errorf("dictionary of %d bytes exceeds the limit of %d", dict, MaxWindowSize)
			}
		}
		p += int(n)
	}
	return nil
}

// readFull reads len(p) bytes from the current source.
func (r *Reader) readFull(p []byte) (int, error) {
	return io.ReadFull(r.src, p)
}

// readHeader reads one header and name; nil, nil for the trailer.
func (r *Reader) readHeader() (*Entry, error) {
	var h [NewcHeaderSize]byte
	off := r.src.n
	if n, err := r.readFull(h[:]); err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return nil, r.readErr(off, err, "archive ends without a "+TrailerName+" record")
		}
		return nil, r.readErr(off, err, fmt.Sprintf("truncated cpio header (%d of %d bytes)", n, NewcHeaderSize))
	}
	magic := string(h[:6])
	if magic != NewcMagic && magic != NewcCRCMagic {
		if magic == "070707" {
			return nil, r.errAt(off, nil, "old portable (odc) cpio header: only newc archives are supported")
		}
		return nil, r.errAt(off, nil, "bad cpio magic %q (want %q)", magic, NewcMagic)
	}
	var f [13]uint32
	for i := range f {
		v, ok := parseHex8(h[6+8*i : 14+8*i])
		if !ok {
			return nil, r.errAt(off+int64(6+8*i), nil, "cpio header field %s is not 8 hex digits: %q", fieldNames[i], h[6+8*i:14+8*i])
		}
		f[i] = v
	}
	e := &Entry{
		Ino:       f[0],
		Mode:      f[1],
		UID:       f[2],
		GID:       f[3],
		NLink:     f[4],
		MTime:     f[5],
		Size:      int64(f[6]),
		DevMajor:  f[7],
		DevMinor:  f[8],
		RDevMajor: f[9],
		RDevMinor: f[10],
		Check:     f[12],
		CRC:       magic == NewcCRCMagic,
		Offset:    off,
		Segment:   r.seg,
	}
	nameSize := int64(f[11])
	if nameSize == 0 {
		return nil, r.errAt(off+offNameSize, nil, "cpio name size 0")
	}
	if nameSize > MaxNameSize {
		return nil, r.errAt(off+offNameSize, nil, "cpio name size %d exceeds the limit of %d", nameSize, MaxNameSize)
	}
	name := make([]byte, nameSize+pad4(NewcHeaderSize+nameSize))
	if n, err := r.readFull(name); err != nil {
		return nil, r.readErr(off+NewcHeaderSize+int64(n), err, fmt.Sprintf("archive ends inside a cpio name (%d of %d bytes)", min(int64(n), nameSize), nameSize))
	}
	name = name[:nameSize]
	if name[nameSize-1] != 0 {
		return nil, r.errAt(off+NewcHeaderSize, nil, "cpio name is not NUL-terminated")
	}
	if i := bytes.IndexByte(name, 0); i < int(nameSize-1) {
		return nil, r.errAt(off+NewcHeaderSize, nil, "cpio name contains a NUL byte at position %d", i)
	}
	e.Name = string(name[:nameSize-1])
	r.rec = e
	r.pending = true
	r.dataOff = r.src.n
	r.remaining = e.Size
	r.pad = pad4(e.Size)
	r.sum = 0
	if e.Name == TrailerName {
		if err := r.skipData(); err != nil {
			return nil, err
		}
		return nil, nil
	}
	r.cur = e
	if e.IsSymlink() {
		if e.Size > MaxNameSize {
			return nil, r.errAt(off+offFileSize, nil, "symbolic link %q: target of %d bytes exceeds the limit of %d", e.Name, e.Size, MaxNameSize)
		}
		target := make([]byte, e.Size)
		if _, err := io.ReadFull(r, target); err != nil {
			return nil, err
		}
		e.Linkname = string(target)
	}
	return e, nil
}

func pad4(n int64) int64 { return (4 - n%4) % 4 }

// parseHex8 parses 8 hex digits.
func parseHex8(b []byte) (uint32, bool) {
	var v uint32
	for _, c := range b {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint32(d)
	}
	return v, true
}

// Read reads the data of the current entry (a regular file's contents).
func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.remaining == 0 {
		if r.pending {
			if err := r.finishData(); err != nil {
				r.err = err
				return 0, err
			}
		}
		return 0, io.EOF
	}
	if int64(len(p)) > r.remaining {
		p = p[:r.remaining]
	}
	n, err := r.src.Read(p)
	if r.rec.CRC {
		for _, b := range p[:n] {
			r.sum += uint32(b)
		}
	}
	r.remaining -= int64(n)
	if err != nil && r.remaining > 0 {
		done := r.rec.Size - r.remaining
		r.err = r.readErr(r.dataOff+done, err, fmt.Sprintf("data of %q ends after %d of %d bytes", r.rec.Name, done, r.rec.Size))
		return n, r.err
	}
	if r.remaining == 0 {
		if err := r.finishData(); err != nil {
			r.err = err
			return n, err
		}
	}
	return n, nil
}

// finishData skips the padding after the data and checks the checksum.
func (r *Reader) finishData() error {
	r.pending = false
	if r.pad > 0 {
		var b [3]byte
		if n, err := r.readFull(b[:r.pad]); err != nil {
			return r.readErr(r.src.n-int64(n), err, "archive ends inside padding")
		}
		r.pad = 0
	}
	if e := r.rec; e.CRC && e.IsRegular() && r.sum != e.Check {
		return r.errAt(e.Offset+offCheck, nil, "checksum of %q is %#08x, the header says %#08x", e.Name, r.sum, e.Check)
	}
	return nil
}

// skipData discards the rest of the last record's data and its padding.
func (r *Reader) skipData() error {
	if !r.pending {
		return nil
	}
	if r.remaining > 0 {
		_, err := io.Copy(io.Discard, r)
		return err
	}
	return r.finishData()
}
