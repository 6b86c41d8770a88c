package launchdigest_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snpmeasure/snpmeasure/internal/pyarg"
	"github.com/snpmeasure/snpmeasure/launchdigest"
	"github.com/snpmeasure/snpmeasure/ovmf"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

const inputs = "../testdata/inputs"

// vectorArgs is the subset of sev-snp-measure flags a successful vector uses.
type vectorArgs map[string]string

// parseVectorArgs reads "--flag value" pairs; -v and --dump-vmsa take no value.
func parseVectorArgs(t *testing.T, argv string) vectorArgs {
	words := splitQuoted(argv)
	a := vectorArgs{}
	for i := 0; i < len(words); i++ {
		w := strings.TrimLeft(words[i], "-")
		if w == "v" || w == "dump-vmsa" {
			a[w] = "1"
			continue
		}
		if k, v, ok := strings.Cut(w, "="); ok {
			a[k] = v
			continue
		}
		if i+1 >= len(words) {
			t.Fatalf("flag %q has no value in %q", w, argv)
		}
		a[w] = words[i+1]
		i++
	}
	return a
}

// splitQuoted splits on spaces, honouring single quotes (all the vectors use).
func splitQuoted(s string) []string {
	var out []string
	var cur strings.Builder
	in, quoted := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			quoted, in = !quoted, true
		case r == ' ' && !quoted:
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

func readInput(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(inputs, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseImage(t *testing.T, name string) ([]byte, *ovmf.Image) {
	t.Helper()
	b := readInput(t, name)
	im, err := ovmf.Parse(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b, im
}

func pagesOf(t *testing.T, b []byte) []launchdigest.Digest {
	t.Helper()
	p, err := launchdigest.HashPages(bytes.NewReader(b), int64(len(b)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (a vectorArgs) num(t *testing.T, k string, def uint64) uint64 {
	s, ok := a[k]
	if !ok {
		return def
	}
	v, err := pyarg.Uint(s) // Python's int(x, 0), as the reference reads it
	if err != nil {
		t.Fatalf("--%s %q: %v", k, s, err)
	}
	return v
}

// vcpus resolves the vCPU flags with the reference's precedence.
func (a vectorArgs) vcpus(t *testing.T) launchdigest.VCPUs {
	v := launchdigest.VCPUs{Count: int(a.num(t, "vcpus", 0)), VMM: vmsa.QEMU, GuestFeatures: a.num(t, "guest-features", 1)}
	if s, ok := a["vmm-type"]; ok {
		m, err := vmsa.ParseVMM(s)
		if err != nil {
			t.Fatal(err)
		}
		v.VMM = m
	}
	if s, ok := a["kvm-init"]; ok {
		k, err := vmsa.ParseKVMInit(s)
		if err != nil {
			t.Fatal(err)
		}
		v.KVMInit = k
	}
	switch {
	case a["vcpu-family"] != "":
		v.Signature = vmsa.Signature(int(a.num(t, "vcpu-family", 0)), int(a.num(t, "vcpu-model", 0)), int(a.num(t, "vcpu-stepping", 0)))
	case a["vcpu-sig"] != "":
		v.Signature = a.num(t, "vcpu-sig", 0)
	case a["vcpu-type"] != "":
		c, err := vmsa.LookupCPUType(a["vcpu-type"])
		if err != nil {
			t.Fatal(err)
		}
		v.Signature = c.Signature()
	}
	return v
}

func (a vectorArgs) kernelHashes(t *testing.T) *launchdigest.KernelHashes {
	if a["kernel"] == "" {
		return nil
	}
	k := &launchdigest.KernelHashes{Initrd: launchdigest.EmptyHash, Cmdline: launchdigest.CmdlineHash(a["append"])}
	var err error
	if k.Kernel, err = launchdigest.SHA256Stream(bytes.NewReader(readInput(t, a["kernel"])), nil); err != nil {
		t.Fatal(err)
	}
	if a["initrd"] != "" {
		if k.Initrd, err = launchdigest.SHA256Stream(bytes.NewReader(readInput(t, a["initrd"])), nil); err != nil {
			t.Fatal(err)
		}
	}
	return k
}

// measure computes a vector's digest through the library alone.
func measure(t *testing.T, a vectorArgs) []byte {
	fwBytes, fw := parseImage(t, a["ovmf"])
	switch a["mode"] {
	case "snp:ovmf-hash":
		d, err := launchdigest.OVMFHash(fw, pagesOf(t, fwBytes))
		if err != nil {
			t.Fatal(err)
		}
		return d[:]
	case "sev", "seves":
		v := a.vcpus(t)
		if a["mode"] == "sev" {
			v.Count = 0
		}
		d, err := launchdigest.SEVES(fw, bytes.NewReader(fwBytes), a.kernelHashes(t), v)
		if err != nil {
			t.Fatal(err)
		}
		return d[:]
	case "snp:svsm":
		svBytes, sv := parseImage(t, a["svsm"])
		vars := a.num(t, "vars-size", 0)
		if f := a["vars-file"]; f != "" {
			vars = uint64(len(readInput(t, f)))
		}
		v := a.vcpus(t)
		l, err := launchdigest.SVSM(fw, pagesOf(t, fwBytes), sv, pagesOf(t, svBytes),
			launchdigest.SVSMConfig{VarsSize: vars, VCPUs: v.Count, Signature: v.Signature, KVMInit: v.KVMInit})
		if err != nil {
			t.Fatal(err)
		}
		d := l.Digest()
		return d[:]
	}
	cfg := launchdigest.SNPConfig{VCPUs: a.vcpus(t), Kernel: a.kernelHashes(t)}
	var pages []launchdigest.Digest
	if h := a["snp-ovmf-hash"]; h != "" {
		d, err := launchdigest.ParseDigest(strings.ToLower(h))
		if err != nil {
			t.Fatal(err)
		}
		cfg.OVMFHash = &d
	} else {
		pages = pagesOf(t, fwBytes)
	}
	l, err := launchdigest.SNP(fw, pages, cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := l.Digest()
	return d[:]
}

// TestConformanceVectors computes every successful conformance vector
// through the library (the CLI is tested separately in cmd/snpmeasure).
func TestConformanceVectors(t *testing.T) {
	var lines []string
	for _, file := range []string{"../testdata/vectors.tsv", "../testdata/reference-vectors.tsv", "../testdata/legacy-vectors.tsv"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.Split(strings.TrimSpace(string(data)), "\n")[1:]...)
	}
	n := 0
	for _, line := range lines {
		f := strings.SplitN(line, "\t", 4)
		id, expect, want, argv := f[0], f[1], f[2], f[3]
		if expect != "ok" {
			continue
		}
		n++
		t.Run(id, func(t *testing.T) {
			a := parseVectorArgs(t, argv)
			got := measure(t, a)
			want = want[strings.LastIndex(want, " ")+1:] // drop the -v prefix
			var wantBytes []byte
			var err error
			if a["output-format"] == "base64" && a["mode"] != "snp:ovmf-hash" {
				wantBytes, err = base64.StdEncoding.DecodeString(want)
			} else {
				wantBytes, err = hex.DecodeString(want)
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, wantBytes) {
				t.Errorf("digest %x, want %x", got, wantBytes)
			}
		})
	}
	if n < 250 {
		t.Fatalf("only %d vectors", n)
	}
}

// TestSNPResumesFromOVMFHash checks that the firmware digest is a valid
// starting point: measuring from it equals measuring the pages.
func TestSNPResumesFromOVMFHash(t *testing.T) {
	for _, name := range []string{"sid-OVMF.amdsev.fd", "bookworm-OVMF.fd", "fx-svsm_ovmf.fd"} {
		t.Run(name, func(t *testing.T) {
			b, fw := parseImage(t, name)
			pages := pagesOf(t, b)
			h, err := launchdigest.OVMFHash(fw, pages)
			if err != nil {
				t.Fatal(err)
			}
			v := launchdigest.VCPUs{Count: 3, VMM: vmsa.QEMU, Signature: 0xa00f11, GuestFeatures: 1}
			full, err := launchdigest.SNP(fw, pages, launchdigest.SNPConfig{VCPUs: v})
			if err != nil {
				t.Fatal(err)
			}
			resumed, err := launchdigest.SNP(fw, nil, launchdigest.SNPConfig{VCPUs: v, OVMFHash: &h})
			if err != nil {
				t.Fatal(err)
			}
			if full.Digest() != resumed.Digest() {
				t.Errorf("resumed digest %s, full %s", resumed.Digest(), full.Digest())
			}
			if resumed.NumUpdates() != full.NumUpdates()-uint64(len(pages)) {
				t.Errorf("resumed launch has %d updates, want %d", resumed.NumUpdates(), full.NumUpdates()-uint64(len(pages)))
			}
		})
	}
}
