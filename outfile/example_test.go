package outfile_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/snpmeasure/snpmeasure/outfile"
)

// Replace a file only once its new contents are complete; refuse to
// overwrite an input.
func Example() {
	dir, _ := os.MkdirTemp("", "outfile")
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "firmware.fd")
	os.WriteFile(in, []byte("firmware"), 0o644)
	out := filepath.Join(dir, "refvalues.json")

	f, err := outfile.Create(out, outfile.Options{Stdout: os.Stdout, Inputs: []string{in}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Fprintln(f, `{"version": 1}`)
	if err := f.Commit(); err != nil {
		fmt.Println(err)
	}
	b, _ := os.ReadFile(out)
	fmt.Print(string(b))

	_, err = outfile.Create(in, outfile.Options{Inputs: []string{in}})
	fmt.Println(err != nil)
	// Output:
	// {"version": 1}
	// true
}
