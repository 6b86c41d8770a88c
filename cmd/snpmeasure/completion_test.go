package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/snpmeasure/snpmeasure/internal/cliflags"
)

// complete runs the bash completion function on a command line whose last
// word is being completed, and returns the candidates.
func complete(t *testing.T, script string, words ...string) []string {
	t.Helper()
	prog := script + "\nCOMP_WORDS=(" + shellWords(words) + ")\nCOMP_CWORD=" + strconv.Itoa(len(words)-1) +
		"\n_snpmeasure\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
	out, err := exec.Command("bash", "-c", prog).CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	return strings.Fields(string(out))
}

func shellWords(ws []string) string {
	q := make([]string, len(ws))
	for i, w := range ws {
		q[i] = cliflags.ShellQuote(w)
	}
	return strings.Join(q, " ")
}

func TestCompletion(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	r := runInProcess("completion", "bash")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if r2 := runInProcess("completion", "bash"); r2.stdout != r.stdout {
		t.Error("the script differs from run to run")
	}
	for _, tc := range []struct {
		words []string
		want  []string // all present
		not   []string // none present
	}{
		{[]string{"snpmeasure", "ver"}, []string{"verify", "verity"}, []string{"search"}},
		{[]string{"snpmeasure", "--mode", ""}, []string{"snp", "snp:svsm", "seves"}, nil},
		{[]string{"snpmeasure", "--vcpu-t"}, []string{"--vcpu-type"}, nil},
		{[]string{"snpmeasure", "--vcpu-type", "EPYC-G"}, []string{"EPYC-Genoa", "EPYC-Genoa-v1"}, []string{"EPYC-Milan"}},
		{[]string{"snpmeasure", "initramfs", ""}, []string{"build", "ls", "diff"}, nil},
		{[]string{"snpmeasure", "initramfs", "build", "--comp"}, []string{"--compress"}, nil},
		{[]string{"snpmeasure", "initramfs", "build", "--compress", ""}, []string{"zstd"}, nil},
		{[]string{"snpmeasure", "refvalues", "--format", ""}, []string{"corim", "rvps"}, nil},
		{[]string{"snpmeasure", "verity", "format", "--format", ""}, nil, []string{"corim"}},
		{[]string{"snpmeasure", "search", "--kvm"}, []string{"--kvm-init"}, nil},
		{[]string{"snpmeasure", "verify", "--re"}, []string{"--report", "--report-data"}, nil},
	} {
		t.Run(strings.Join(tc.words, " "), func(t *testing.T) {
			got := strings.Join(complete(t, r.stdout, tc.words...), " ")
			for _, w := range tc.want {
				if !strings.Contains(" "+got+" ", " "+w+" ") {
					t.Errorf("candidates %q lack %q", got, w)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(" "+got+" ", " "+w+" ") {
					t.Errorf("candidates %q have %q", got, w)
				}
			}
		})
	}
	for _, sh := range []string{"zsh", "fish"} {
		if r := runInProcess("completion", sh); r.code != 0 || !strings.Contains(r.stdout, "snpmeasure") {
			t.Errorf("%s: exit %d", sh, r.code)
		}
	}
	if r := runInProcess("completion", "tcsh"); r.code != 2 {
		t.Errorf("tcsh: exit %d, want 2", r.code)
	}
	// fish parses what we print, when it is installed.
	if _, err := exec.LookPath("fish"); err == nil {
		f := filepath.Join(t.TempDir(), "c.fish")
		os.WriteFile(f, []byte(runInProcess("completion", "fish").stdout), 0o644)
		if out, err := exec.Command("fish", "--no-execute", f).CombinedOutput(); err != nil {
			t.Errorf("fish: %v\n%s", err, out)
		}
	}
}
