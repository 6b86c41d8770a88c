package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var updateREADME = flag.Bool("update-readme", false, "rewrite the outputs of the README's console examples from real runs")

// readmeCommand is one "$ command" of a console example and the output the
// README shows for it. A line "..." stands for any number of lines.
type readmeCommand struct {
	line     int // of the "$ " line in the README
	command  string
	expected []string
	outStart int // index in the README's lines of the first output line
	outEnd   int // one past the last
}

// readmeExamples parses the ```console blocks of the README. Comment lines
// "<!-- readme: COMMAND -->" just before a block are run first, silently
// (to make the files an example needs); "<!-- readme: skip -->" leaves
// the block out.
func readmeExamples(lines []string) (cmds []readmeCommand, setups map[int][]string) {
	setups = map[int][]string{}
	for i := 0; i < len(lines); i++ {
		if lines[i] != "```console" {
			continue
		}
		var setup []string
		skip := false
		for j := i - 1; j >= 0 && strings.HasPrefix(lines[j], "<!-- readme: "); j-- {
			c := strings.TrimSuffix(strings.TrimPrefix(lines[j], "<!-- readme: "), " -->")
			if c == "skip" {
				skip = true
			}
			setup = append([]string{c}, setup...)
		}
		i++
		var cur *readmeCommand
		for ; i < len(lines) && lines[i] != "```"; i++ {
			if strings.HasPrefix(lines[i], "$ ") {
				if cur != nil && !skip {
					cmds = append(cmds, *cur)
				}
				cur = &readmeCommand{line: i + 1, command: strings.TrimPrefix(lines[i], "$ ")}
				for strings.HasSuffix(lines[i], "\\") && i+1 < len(lines) {
					i++
					cur.command += "\n" + lines[i]
				}
				cur.outStart, cur.outEnd = i+1, i+1
				if len(setup) > 0 && !skip {
					setups[len(cmds)] = setup
					setup = nil
				}
				continue
			}
			if cur != nil {
				cur.expected = append(cur.expected, lines[i])
				cur.outEnd = i + 1
			}
		}
		if cur != nil && !skip {
			cmds = append(cmds, *cur)
		}
	}
	return cmds, setups
}

// matchOutput compares output lines with the expected ones, where "..."
// matches any run of lines.
func matchOutput(expected, got []string) bool {
	if len(expected) == 0 {
		return len(got) == 0
	}
	if expected[0] == "..." {
		for k := 0; k <= len(got); k++ {
			if matchOutput(expected[1:], got[k:]) {
				return true
			}
		}
		return false
	}
	return len(got) > 0 && got[0] == expected[0] && matchOutput(expected[1:], got[1:])
}

// elide keeps the README's "..." in an updated output: the lines before it
// and after it are taken from the real output.
func elide(expected, got []string) []string {
	i := -1
	for k, l := range expected {
		if l == "..." {
			i = k
			break
		}
	}
	if i < 0 {
		return got
	}
	after := len(expected) - i - 1
	if i+after > len(got) {
		return got
	}
	out := append(append([]string{}, got[:i]...), "...")
	return append(out, got[len(got)-after:]...)
}

// TestREADME runs the README's console examples with the built CLI, in
// order, in a scratch directory that sees the repository's test data, and
// checks that each prints what the README shows (stdout and stderr
// together). -update-readme rewrites the shown outputs.
func TestREADME(t *testing.T) {
	bash := "bash"
	if _, err := exec.LookPath(bash); err != nil {
		t.Skip("bash is not installed")
	}
	bin := snpmeasureBinary(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readmePath := filepath.Join(root, "README.md")
	raw, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	cmds, setups := readmeExamples(lines)
	if len(cmds) < 20 {
		t.Fatalf("found %d console examples in the README: the parser is broken", len(cmds))
	}
	work := t.TempDir()
	for _, d := range []string{"testdata", "cmd", "report", "igvm"} {
		if err := os.Symlink(filepath.Join(root, d), filepath.Join(work, d)); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"R=cmd/snpmeasure/testdata/reports", "I=testdata/inputs", "G=report/testdata/genuine", "LC_ALL=C", "TZ=UTC")
	// One shell runs every command, so that files and $? carry over as in a
	// terminal; a marker after each command separates the outputs.
	const marker = "@@readme-example-end@@"
	var script strings.Builder
	script.WriteString("set +e\n")
	for i, c := range cmds {
		for _, s := range setups[i] {
			fmt.Fprintf(&script, "{ %s; } >/dev/null 2>&1\n", s)
		}
		fmt.Fprintf(&script, "%s 2>&1\n__status=$?\necho %s\n(exit $__status)\n", c.command, marker)
	}
	script.WriteString("exit 0\n")
	cmd := exec.Command(bash, "--noprofile", "--norc", "-c", script.String())
	cmd.Dir, cmd.Env = work, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("running the examples: %v\n%s", err, out.String())
	}
	outputs := strings.Split(out.String(), marker+"\n")
	if len(outputs) != len(cmds)+1 {
		t.Fatalf("%d outputs for %d commands:\n%s", len(outputs)-1, len(cmds), out.String())
	}
	changed := false
	for i := len(cmds) - 1; i >= 0; i-- { // from the end, so that line numbers stay valid while updating
		c := cmds[i]
		got := strings.Split(strings.TrimSuffix(outputs[i], "\n"), "\n")
		if outputs[i] == "" {
			got = nil
		}
		if matchOutput(c.expected, got) {
			continue
		}
		if *updateREADME {
			lines = append(lines[:c.outStart], append(elide(c.expected, got), lines[c.outEnd:]...)...)
			changed = true
			continue
		}
		t.Errorf("README.md:%d: $ %s\nprints:\n%s\nthe README shows:\n%s", c.line, c.command, strings.Join(got, "\n"), strings.Join(c.expected, "\n"))
	}
	if changed {
		if err := os.WriteFile(readmePath, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("README.md updated")
	}
}
