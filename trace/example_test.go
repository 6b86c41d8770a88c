package trace_test

import (
	"bytes"
	"fmt"

	"github.com/snpmeasure/snpmeasure/launchdigest"
	"github.com/snpmeasure/snpmeasure/trace"
)

// Write two small launches that differ in one page and compare them.
func Example() {
	launch := func(page byte) *launchdigest.Launch {
		return &launchdigest.Launch{Steps: []launchdigest.Step{
			{Source: "ovmf", Type: launchdigest.PageNormal, GPA: 0xffffe000, Pages: 2, Stride: launchdigest.PageSize,
				Contents: []launchdigest.Digest{{1}, {page}}},
			{Source: "vmsa", Type: launchdigest.PageVMSA, GPA: 0xfffffffff000, Pages: 1, Contents: []launchdigest.Digest{{9}}},
		}}
	}
	var a, b bytes.Buffer
	trace.Write(&a, launch(2))
	trace.Write(&b, launch(3))
	fmt.Print(a.String()[:71], "…\n")
	d, err := trace.DiffReaders(trace.NewReader(&a, "a.jsonl"), trace.NewReader(&b, "b.jsonl"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d)
	for _, g := range d.BySource {
		fmt.Println(g.Source, g.A, g.B, g.Differing)
	}
	// Output:
	// {"index":0,"gpa":"0xffffe000","page_type":"NORMAL","source":"ovmf+0x0",…
	// first difference at update 1 (ovmf+0x1000): contents differ
	// ovmf 2 2 1
	// vmsa 1 1 0
}
