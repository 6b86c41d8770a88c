package launchdigest

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snpmeasure/snpmeasure/igvm"
)

const igvmConformanceDir = "../igvm/testdata/conformance"

func openIGVM(tb testing.TB, path string) *igvm.File {
	tb.Helper()
	fh, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { fh.Close() })
	st, err := fh.Stat()
	if err != nil {
		tb.Fatal(err)
	}
	f, err := igvm.Open(fh, st.Size())
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return f
}

// igvmmeasureRow is one run of igvmmeasure from digests.tsv.
type igvmmeasureRow struct {
	file           string
	args           string
	opts           IGVMMeasureOptions
	ignoreIDBlock  bool
	want           string // hex digest, or "" for an error
	wantErr        string // igvmmeasure's error message
	idBlockFailure bool   // printed want, then failed the ID block check
}

func parseIGVMMeasureArgs(t *testing.T, args string) (IGVMMeasureOptions, bool) {
	var o IGVMMeasureOptions
	ignore := false
	f := strings.Fields(args)
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case "-n", "--native-zero":
			o.NativeZero = true
		case "-c", "--check-kvm":
			o.CheckKVM = true
		case "-i", "--ignore-idblock":
			ignore = true
		case "-p", "--platform":
			i++
			switch f[i] {
			case "sev-snp":
				o.Platform = igvm.PlatformSEVSNP
			case "sev-es":
				o.Platform = igvm.PlatformSEVES
			case "sev":
				o.Platform = igvm.PlatformSEV
			default:
				t.Fatalf("platform %q", f[i])
			}
		case "-v", "--verbose", "-b", "--bare", "measure", "<file>":
		default:
			t.Fatalf("unknown igvmmeasure argument %q in %q", f[i], args)
		}
	}
	return o, ignore
}

func readIGVMRows(t *testing.T) []igvmmeasureRow {
	fh, err := os.Open(filepath.Join(igvmConformanceDir, "digests.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var rows []igvmmeasureRow
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) != 3 || cols[0] == "file" {
			continue
		}
		r := igvmmeasureRow{file: cols[0], args: cols[1]}
		r.opts, r.ignoreIDBlock = parseIGVMMeasureArgs(t, cols[1])
		switch res := cols[2]; {
		case strings.HasPrefix(res, "ERROR rc=1 after printing "):
			r.want, r.idBlockFailure = strings.TrimPrefix(res, "ERROR rc=1 after printing "), true
		case strings.HasPrefix(res, "ERROR"):
			r.wantErr = res
		default:
			r.want = res
		}
		rows = append(rows, r)
	}
	if len(rows) < 60 {
		t.Fatalf("%d rows in digests.tsv", len(rows))
	}
	return rows
}

// errorKind maps an igvmmeasure error message to the library's error.
func matchesIGVMMeasureError(msg string, err error) bool {
	var kvm *KVMCheckError
	switch {
	case strings.Contains(msg, "not compatible with the specified platform"):
		return errors.Is(err, ErrIGVMPlatform)
	case strings.Contains(msg, "More than one VMSA"):
		return errors.As(err, &kvm) && kvm.Check == KVMCheckVMSACount
	case strings.Contains(msg, "GPA for the VMSA"):
		return errors.As(err, &kvm) && kvm.Check == KVMCheckVMSAGPA
	case strings.Contains(msg, "CR0 in the VMSA"):
		return errors.As(err, &kvm) && kvm.Check == KVMCheckVMSACR0
	case strings.Contains(msg, "must be the final"):
		return errors.As(err, &kvm) && kvm.Check == KVMCheckVMSAOrder
	}
	return err != nil
}

// measureIGVMRow runs the library as igvmmeasure with the row's options:
// the digest (hex) and the ID block check's error.
func measureIGVMRow(t *testing.T, f *igvm.File, o IGVMMeasureOptions) (string, error, error) {
	p := o.platform()
	if p != igvm.PlatformSEVSNP {
		d, err := IGVMMeasureSEV(context.Background(), f, o)
		return hex.EncodeToString(d[:]), err, nil
	}
	l, err := IGVMMeasure(f, o)
	if err != nil {
		return "", err, nil
	}
	d, err := l.Measure(context.Background(), nil)
	if err != nil {
		return "", err, nil
	}
	return d.String(), nil, l.CheckIDBlock(d)
}

// Every run of igvmmeasure in digests.tsv, reproduced by the library.
func TestIGVMMeasureConformance(t *testing.T) {
	for _, r := range readIGVMRows(t) {
		t.Run(r.file+" "+r.args, func(t *testing.T) {
			f := openIGVM(t, filepath.Join(igvmConformanceDir, r.file))
			got, err, idErr := measureIGVMRow(t, f, r.opts)
			if r.wantErr != "" {
				if err == nil {
					t.Fatalf("digest %s, want igvmmeasure's failure %q", got, r.wantErr)
				}
				if !matchesIGVMMeasureError(r.wantErr, err) {
					t.Fatalf("error %v, want one like %q", err, r.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.EqualFold(got, r.want) {
				t.Fatalf("digest %s, want %s", got, strings.ToLower(r.want))
			}
			if r.opts.platform() != igvm.PlatformSEVSNP || r.ignoreIDBlock {
				return
			}
			var mm *IDBlockMismatchError
			switch {
			case r.idBlockFailure && !errors.As(idErr, &mm):
				t.Fatalf("ID block check: %v, want a mismatch", idErr)
			case !r.idBlockFailure && idErr != nil:
				t.Fatalf("ID block check: %v", idErr)
			}
		})
	}
}
