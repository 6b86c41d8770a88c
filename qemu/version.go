package qemu

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Version is a QEMU release, major.minor (the micro number of a stable
// release changes no option, so it is not kept).
type Version struct{ Major, Minor int }

// The releases this package was checked against, oldest first. QEMU makes
// three releases a year, X.0 to X.2.
var (
	v9_1  = Version{9, 1} // first release with sev-snp-guest (SNP upstream)
	v9_2  = Version{9, 2}
	v10_0 = Version{10, 0} // Debian bookworm-backports (10.0.2) and trixie
	v10_1 = Version{10, 1} // EPYC-Turin, IGVM (igvm-cfg)
	v10_2 = Version{10, 2}
	v11_0 = Version{11, 0}
	v11_1 = Version{11, 1} // Debian sid (11.1.3)
)

// Releases lists every release this package knows, oldest first.
func Releases() []Version {
	return []Version{v9_1, v9_2, v10_0, v10_1, v10_2, v11_0, v11_1}
}

// Newest is the newest release the facts of this package were checked
// against; see CheckVersion for what newer minor releases get.
func Newest() Version { return v11_1 }

// String returns "major.minor".
func (v Version) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// AtLeast reports whether v is o or later.
func (v Version) AtLeast(o Version) bool {
	return v.Major > o.Major || (v.Major == o.Major && v.Minor >= o.Minor)
}

var versionRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})(\.(0|[1-9][0-9]{0,3}))?$`)
})

// ParseVersion reads "MAJOR.MINOR" or "MAJOR.MINOR.MICRO" (e.g. 10.0.2, as
// qemu-system-x86_64 --version prints it). It does not say whether the
// version is supported: CheckVersion does.
func ParseVersion(s string) (Version, error) {
	m := versionRE().FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Version{}, &InputError{Field: "qemu-version", Value: s, Msg: "want MAJOR.MINOR, e.g. 10.0"}
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return Version{major, minor}, nil
}

// CheckVersion says whether Build can target v. Every release from 9.1 to
// Newest is supported. A later minor release of Newest's major (11.2) is
// accepted with a note: the command line uses only what Newest has, and QEMU
// removes an option only after deprecating it for two releases. Releases
// that do not exist (X.3 and later) and later majors are refused with a
// *RefusedError.
func CheckVersion(v Version) (note string, err error) {
	refuse := func(format string, args ...any) (string, error) {
		return "", &RefusedError{Field: "qemu-version", Value: v.String(), Reason: fmt.Sprintf(format, args...)}
	}
	newest := Newest()
	switch {
	case !v.AtLeast(v9_1):
		return refuse("upstream QEMU launches SEV-SNP guests from 9.1 on (sev-snp-guest, KVM_SEV_INIT2)")
	case v.Minor > 2:
		return refuse("no such release (QEMU releases are X.0, X.1 and X.2)")
	case v.Major > newest.Major:
		return refuse("newer than every release snpmeasure knows (%s to %s), and a new major may drop options; target %s", v9_1, newest, newest)
	case v.AtLeast(Version{newest.Major, newest.Minor + 1}):
		return fmt.Sprintf("QEMU %s is newer than %s, the newest release this command line was checked against: it uses only what %s has", v, newest, newest), nil
	}
	return "", nil
}
