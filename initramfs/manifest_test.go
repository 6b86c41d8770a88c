package initramfs

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestInitramfsParseManifest(t *testing.T) {
	t.Setenv("SNPMEASURE_TEST_DIR", "/opt/build")
	in := `# comment
file /init ./build/init 0755 0 0

dir /etc 0755 0 0
	slink /bin/sh busybox 0777 0 0
nod /dev/console 0600 0 0 c 5 1
pipe /run/p 0644 1 2
sock /run/s 0755 3 4
file bin/busybox ${SNPMEASURE_TEST_DIR}/busybox 0755 0 0 /bin/ls //usr/../bin/cat
`
	got, err := ParseManifest(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []ManifestEntry{
		{Line: 2, Type: "file", Name: "init", Location: "./build/init", Mode: 0o755},
		{Line: 4, Type: "dir", Name: "etc", Mode: 0o755},
		{Line: 5, Type: "slink", Name: "bin/sh", Target: "busybox", Mode: 0o777},
		{Line: 6, Type: "nod", Name: "dev/console", Mode: 0o600, DevType: 'c', Major: 5, Minor: 1},
		{Line: 7, Type: "pipe", Name: "run/p", Mode: 0o644, UID: 1, GID: 2},
		{Line: 8, Type: "sock", Name: "run/s", Mode: 0o755, UID: 3, GID: 4},
		{Line: 9, Type: "file", Name: "bin/busybox", Location: "/opt/build/busybox", Mode: 0o755, Links: []string{"bin/ls", "bin/cat"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestInitramfsParseManifestErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"frob /x 0755 0 0", "line 1: unknown type \"frob\""},
		{"file /bin/busybox ./busybox 0755 0 0 /bin/ls # links", "comments must be on lines of their own"},
		{"\n\ndir /x 0755 0", "line 3: dir takes 4 fields, not 3"},
		{"dir /x 0755 0 0 extra", "line 1: dir takes 4 fields, not 5"},
		{"dir /x 0999 0 0", "line 1: mode \"0999\" is not an octal number"},
		{"dir /x 017777 0 0", "line 1: mode \"017777\" is not an octal number up to 07777"},
		{"dir /x 0755 -1 0", "line 1: uid \"-1\" is not a decimal number"},
		{"dir /x 0755 0 4294967296", "line 1: gid \"4294967296\" is not a decimal number"},
		{"nod /x 0600 0 0 x 1 2", "line 1: device type \"x\" is not c or b"},
		{"dir / 0755 0 0", "line 1: name \"/\" is the archive root"},
		{"dir /.. 0755 0 0", "line 1: name \"/..\" is the archive root"},
		{"file /x ${SNPMEASURE_UNSET_VARIABLE} 0644 0 0", "line 1: environment variable \"SNPMEASURE_UNSET_VARIABLE\" is not set"},
		{"file /x ${OOPS 0644 0 0", "line 1: unterminated ${"},
		{"dir /x\x00 0755 0 0", "line 1: NUL byte"},
		{"dir /" + strings.Repeat("x", 70000) + " 0755 0 0", "line 1: line longer than"},
	} {
		_, err := ParseManifest(strings.NewReader(tc.in))
		var me *ManifestError
		if !errors.As(err, &me) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.40q: err = %v, want %q", tc.in, err, tc.want)
		}
	}
}

// FuzzManifest: the parser never panics, and what it accepts is clean.
func FuzzManifest(f *testing.F) {
	f.Add(testManifest)
	f.Add("file /init init 0755 0 0 /a /b\nnod /dev/null 0666 0 0 c 1 3\n")
	f.Add("slink /x ../../y 0777 0 0\n# c\n\npipe /p 0 0 0\nsock /s 7777 4294967295 1")
	f.Add("file /a ${HOME}/x 0644 0 0")
	f.Fuzz(func(t *testing.T, in string) {
		es, err := ParseManifest(strings.NewReader(in))
		if err != nil {
			var me *ManifestError
			if !errors.As(err, &me) {
				t.Fatalf("%T error %v", err, err)
			}
			return
		}
		for _, e := range es {
			for _, n := range append([]string{e.Name}, e.Links...) {
				if n == "" || strings.HasPrefix(n, "/") || strings.Contains(n, "//") || n == ".." || strings.HasPrefix(n, "../") || len(n) >= MaxNameSize {
					t.Fatalf("line %d: unclean name %q", e.Line, n)
				}
			}
			if e.Mode > ModePerm {
				t.Fatalf("mode %o", e.Mode)
			}
			if e.Type == ManifestFile && e.Location == "" {
				t.Fatalf("file without a location")
			}
		}
	})
}
