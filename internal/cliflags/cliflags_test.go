package cliflags

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snpmeasure/snpmeasure/internal/cli"
	"github.com/snpmeasure/snpmeasure/measure"
	"github.com/snpmeasure/snpmeasure/vmsa"
	"github.com/spf13/pflag"
)

// unquote splits a command line that ShellQuote built.
func unquote(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case quoted && ch == '\'':
			quoted = false
		case quoted:
			cur.WriteByte(ch)
		case ch == '\'':
			quoted, inWord = true, true
		case ch == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case ch == ' ':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unterminated quote in %s", line)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// TestCommandLineRoundTrip checks that the command search prints for a
// match parses back to that configuration.
func TestCommandLineRoundTrip(t *testing.T) {
	dir := t.TempDir()
	fw, kernel := filepath.Join(dir, "OVMF it's.fd"), filepath.Join(dir, "vmlinuz")
	for _, f := range []string{fw, kernel} {
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	genoa, err := vmsa.LookupCPUType("EPYC-Genoa")
	if err != nil {
		t.Fatal(err)
	}
	points := []measure.Point{
		{VCPUs: 1, CPU: measure.CPU{Name: genoa.Name, Signature: genoa.Signature()}, VMM: vmsa.QEMU, GuestFeatures: 0x1, KVMInit: vmsa.KVMInit2},
		{VCPUs: 64, CPU: measure.CPU{Signature: 0xa10f11}, VMM: vmsa.QEMU, GuestFeatures: 0x21, KVMInit: vmsa.KVMLegacy},
		{VCPUs: 3, CPU: measure.CPU{Name: genoa.Name, Signature: genoa.Signature()}, VMM: vmsa.EC2, GuestFeatures: 0x201, KVMInit: vmsa.KVMInit2},
		{VCPUs: 512, CPU: measure.CPU{Name: genoa.Name, Signature: genoa.Signature()}, VMM: vmsa.GCE, GuestFeatures: 0x1, KVMInit: vmsa.KVMInit2},
	}
	for _, appendArg := range []string{"", "console=ttyS0 'quoted' $HOME"} {
		for _, p := range points {
			t.Run(p.VMM.String()+"/"+p.CPU.String()+"/"+p.KVMInit.String(), func(t *testing.T) {
				sfs := pflag.NewFlagSet("search", pflag.ContinueOnError)
				s := AddSpace(sfs, SpaceDefaults{})
				args := []string{"--ovmf", fw, "--kernel", kernel}
				if appendArg != "" {
					args = append(args, "--append", appendArg)
				}
				if err := sfs.Parse(args); err != nil {
					t.Fatal(err)
				}
				words := unquote(t, s.CommandLine(p))
				if len(words) < 2 || words[0] != "snpmeasure" || words[1] != "measure" {
					t.Fatalf("command line %q", words)
				}
				mfs := pflag.NewFlagSet("measure", pflag.ContinueOnError)
				m := AddMeasure(mfs)
				if err := mfs.Parse(words[2:]); err != nil {
					t.Fatalf("%q: %v", words, err)
				}
				c, err := m.Config()
				if err != nil {
					t.Fatalf("%q: %v", words, err)
				}
				want := p.Config(&measure.Config{Mode: measure.SNP, Firmware: fw, Kernel: kernel, Cmdline: appendArg})
				if c.VCPUs != want.VCPUs || c.Signature != want.Signature || c.VMM != want.VMM || c.GuestFeatures != want.GuestFeatures ||
					c.KVMInit != want.KVMInit || c.Firmware != fw || c.Kernel != kernel || c.Cmdline != appendArg {
					t.Errorf("%q parses to %+v, want %+v", words, c, want)
				}
			})
		}
	}
}

func TestMeasurement(t *testing.T) {
	hex96 := strings.Repeat("ab", 48)
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"hex", hex96, true},
		{"0x hex", "0x" + hex96, true},
		{"spaces", " " + hex96 + "\n", true},
		{"base64", "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6ur", true},
		{"short hex", hex96[:94], false},
		{"long hex", hex96 + "ab", false},
		{"not hex", strings.Repeat("zz", 48), false},
		{"base64 of 47 bytes", "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Measurement("measurement", tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("Measurement(%q) error %v, want ok=%v", tc.in, err, tc.ok)
			}
			var ue *cli.UsageError
			if err != nil && !errors.As(err, &ue) {
				t.Errorf("error %v is not a usage error", err)
			}
			if tc.ok && m[0] != 0xab {
				t.Errorf("Measurement(%q) = %x", tc.in, m)
			}
		})
	}
}

func TestSplitIDBlockLine(t *testing.T) {
	for _, tc := range []struct {
		in          string
		block, auth string
		ok          bool
	}{
		{"id-block=QUJD,id-auth=REVG", "QUJD", "REVG", true},
		{"id-auth=REVG,id-block=QUJD\n", "QUJD", "REVG", true},
		{"id-block=QUJD", "", "", false},
		{"id-block=QUJD,id-block=QUJD,id-auth=REVG", "", "", false},
		{"id-block=QUJD,id-auth=REVG,author-key-enabled=on", "", "", false},
		{"id-block=,id-auth=REVG", "", "", false},
		{"", "", "", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			b, a, ok := SplitIDBlockLine(tc.in)
			if ok != tc.ok || (ok && (b != tc.block || a != tc.auth)) {
				t.Errorf("SplitIDBlockLine(%q) = %q, %q, %v", tc.in, b, a, ok)
			}
		})
	}
}

func TestGuestPolicy(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0x30000", 0x30000, true},
		{"196608", 0x30000, true},
		{"0x10000", 0, false}, // bit 17 reserved, must be 1
		{"0x", 0, false},
		{"-1", 0, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			v, err := GuestPolicy("policy", tc.in)
			if (err == nil) != tc.ok || (tc.ok && v != tc.want) {
				t.Errorf("GuestPolicy(%q) = %#x, %v", tc.in, v, err)
			}
		})
	}
}
