package progress

import (
	"strings"
	"sync"
	"testing"

	"github.com/snpmeasure/snpmeasure/internal/testtool"
)

// lastFrame returns the text of the last line drawn in out.
func lastFrame(out string) string {
	frames := strings.Split(out, "\r\x1b[K")
	return strings.TrimSuffix(frames[len(frames)-1], "\r")
}

func TestProgressBar(t *testing.T) {
	out := &testtool.SyncBuffer{}
	l := &Line{Out: out}
	const size = 100 << 20
	p := l.Add("/some/dir/initrd.img", size)
	if p == nil {
		t.Fatal("no bar for a 100 MiB file on a terminal")
	}
	if got := lastFrame(out.String()); !strings.HasPrefix(got, "hashing initrd.img   0% [>") {
		t.Errorf("first frame %q", got)
	}
	for range 50 {
		p(1 << 20)
	}
	got := lastFrame(out.String())
	if want := "hashing initrd.img  50% [===============>              ] 50 MiB / 100 MiB"; got != want {
		t.Errorf("half way: %q, want %q", got, want)
	}
	frames := strings.Count(out.String(), "\r\x1b[K")
	for range 50 {
		p(1 << 20)
	}
	s := out.String()
	if !strings.HasSuffix(s, "\r\x1b[K") || lastFrame(s) != "" {
		t.Errorf("the line is not erased at the end: %q", s[max(0, len(s)-120):])
	}
	// One frame per percent at most (plus the first and the erase).
	if n := strings.Count(s, "\r\x1b[K"); n-frames > 51 || n > 103 {
		t.Errorf("%d frames for 100 updates", n)
	}
	if strings.Contains(s, "\n") {
		t.Error("the bar printed a newline")
	}
}

// TestProgressConcurrent hashes two files at once: one line shows both,
// and it is erased when both are done (run with -race).
func TestProgressConcurrent(t *testing.T) {
	out := &testtool.SyncBuffer{}
	l := &Line{Out: out}
	a := l.Add("kernel", 64<<20)
	b := l.Add("initrd", 192<<20)
	if a == nil || b == nil {
		t.Fatal("no bars")
	}
	if got := lastFrame(out.String()); !strings.HasPrefix(got, "hashing 2 files   0%") || !strings.HasSuffix(got, "0 B / 256 MiB") {
		t.Errorf("combined frame %q", got)
	}
	var wg sync.WaitGroup
	for _, c := range []struct {
		p    func(int)
		size int
	}{{a, 64 << 20}, {b, 192 << 20}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for done := 0; done < c.size; done += 1 << 20 {
				c.p(1 << 20)
			}
		}()
	}
	wg.Wait()
	s := out.String()
	if !strings.HasSuffix(s, "\r\x1b[K") {
		t.Errorf("line not erased: %q", s[max(0, len(s)-120):])
	}
	if !strings.Contains(s, "hashing initrd ") && !strings.Contains(s, "hashing kernel ") {
		t.Error("no single-file frame after the first file finished")
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1 KiB", 64 << 20: "64 MiB", 3 << 29: "1.5 GiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}
