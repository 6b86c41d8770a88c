package initramfs

import (
	"compress/gzip"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// Fixed compressor settings: part of what makes the output reproducible.
const (
	// GzipLevel is the gzip (deflate) level of built archives.
	GzipLevel = 6
	// ZstdWindowSize is the zstd window of built archives (8 MiB).
	ZstdWindowSize = 8 << 20
)

// ZstdLevel is the zstd encoder level of built archives.
const ZstdLevel = zstd.SpeedBetterCompression

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// NewCompressor returns a writer that compresses to w with c: None, Gzip (no
// name, no timestamp, level GzipLevel) or Zstd (one goroutine, level
// ZstdLevel, window ZstdWindowSize, with a checksum). Close flushes it but
// does not close w.
func NewCompressor(w io.Writer, c Compression) (io.WriteCloser, error) {
	switch c {
	case None:
		return nopWriteCloser{w}, nil
	case Gzip:
		z, err := gzip.NewWriterLevel(w, GzipLevel)
		if err != nil {
			return nil, err
		}
		// The zero Header: no name, no comment, ModTime 0, OS 255 (unknown).
		return z, nil
	case Zstd:
		return zstd.NewWriter(w,
			zstd.WithEncoderLevel(ZstdLevel),
			zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(ZstdWindowSize),
			zstd.WithEncoderCRC(true),
			zstd.WithZeroFrames(true))
	}
	return nil, fmt.Errorf("cannot write %s compression (want none, gzip or zstd)", c)
}
