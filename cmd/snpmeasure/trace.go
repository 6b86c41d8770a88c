package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"

	"github.com/snpmeasure/snpmeasure/launchdigest"
)

// traceRecord is one line of a --trace file: one SNP_LAUNCH_UPDATE.
type traceRecord struct {
	Index    uint64 `json:"index"`
	GPA      string `json:"gpa"`
	PageType string `json:"page_type"`
	Source   string `json:"source"`
	Contents string `json:"contents"`
	Digest   string `json:"digest"`
}

// writeTrace writes the launch as JSON Lines.
func writeTrace(w io.Writer, l *launchdigest.Launch) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for u, d := range l.Updates() {
		rec := traceRecord{
			Index:    u.Index,
			GPA:      fmt.Sprintf("%#x", u.GPA),
			PageType: u.Type.String(),
			Source:   u.Source,
			Contents: hex.EncodeToString(u.Contents[:]),
			Digest:   hex.EncodeToString(d[:]),
		}
		if err := enc.Encode(&rec); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func writeTraceFile(path string, l *launchdigest.Launch) error {
	return writeAtomic(path, func(w io.Writer) error { return writeTrace(w, l) })
}
