package measure

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"slices"
	"strings"

	"github.com/snpmeasure/snpmeasure/idblock"
	"github.com/snpmeasure/snpmeasure/igvm"
	"github.com/snpmeasure/snpmeasure/launchdigest"
)

// MaxListedIGVM is the most VP contexts and parameter areas an
// IGVMDescription lists one by one; beyond it, it counts them.
const MaxListedIGVM = 16

// IGVMDescription is what an IGVM file holds and how it is measured, as
// `snpmeasure igvm show` prints it.
type IGVMDescription struct {
	File          string `json:"file"`
	Size          int64  `json:"size"`
	FormatVersion uint32 `json:"format_version"`
	// Platforms are the SUPPORTED_PLATFORM headers; Policies the
	// GUEST_POLICY headers.
	Platforms []IGVMPlatform `json:"platforms"`
	Policies  []IGVMPolicy   `json:"policies"`
	// Directives counts the directives by type name.
	Directives map[string]int `json:"directives"`
	// Pages counts the SNP page updates the igvmmeasure loader makes, by page type.
	Pages map[string]uint64 `json:"pages"`
	// VPContexts and ParameterAreas list the VP_CONTEXT and PARAMETER_AREA
	// directives in file order when there are at most MaxListedIGVM of
	// them (VPContextCount and ParameterAreaCount count them all), so that
	// a description takes bounded memory; ParameterAreaBytes is the size of
	// all the areas and AreasWithData the number with initial data.
	VPContexts         []IGVMVPContext `json:"vp_contexts"`
	VPContextCount     int             `json:"vp_context_count"`
	ParameterAreas     []IGVMArea      `json:"parameter_areas"`
	ParameterAreaCount int             `json:"parameter_area_count"`
	ParameterAreaBytes uint64          `json:"parameter_area_bytes"`
	AreasWithData      int             `json:"parameter_areas_with_initial_data"`
	IDBlock            *IGVMIDBlock    `json:"id_block"`
	// Measurement is the SEV-SNP launch digest of the igvmmeasure loader
	// (empty without an SNP platform, or when IGVMMeasureRefusal says why
	// that loader does not measure the file).
	Measurement        string `json:"measurement"`
	IGVMMeasureRefusal string `json:"igvmmeasure_refusal,omitempty"`
	// QEMUMeasurement is what QEMU 10.2 measures with QEMUVCPUs vCPUs, the
	// fewest it accepts. It is empty when QEMU refuses the file
	// (QEMURefusal says why; QEMUIgnoringParameters is then the digest of
	// --ignore-unhandled-parameters when only the parameters stop QEMU),
	// and when QEMUNeedsVCPUType says that a vCPU's VMSA depends on the
	// vCPU type (it has no VP context in the file).
	QEMUMeasurement        string `json:"qemu_measurement"`
	QEMUVCPUs              int    `json:"qemu_vcpus"`
	QEMURefusal            string `json:"qemu_refusal,omitempty"`
	QEMUIgnoringParameters string `json:"qemu_measurement_ignoring_parameters,omitempty"`
	QEMUNeedsVCPUType      string `json:"qemu_needs_vcpu_type,omitempty"`
	// LoadersAgree reports whether both loaders measure the file the same
	// (at QEMUVCPUs); Divergence names the first update and directives
	// where they part, or why a loader does not measure the file.
	LoadersAgree bool   `json:"loaders_agree"`
	Divergence   string `json:"divergence,omitempty"`
	// QEMUWithParameters is, for a file QEMU 10.2 refuses for its MADT,
	// DEVICE_TREE, ... parameters, the comparison with a QEMU that fills
	// them (--ignore-unhandled-parameters).
	QEMUWithParameters string `json:"qemu_with_parameters,omitempty"`
}

// IGVMPlatform is a SUPPORTED_PLATFORM header.
type IGVMPlatform struct {
	Type              string `json:"type"`
	Mask              string `json:"compatibility_mask"`
	Version           uint16 `json:"platform_version"`
	SharedGPABoundary string `json:"shared_gpa_boundary"`
}

// IGVMPolicy is a GUEST_POLICY header.
type IGVMPolicy struct {
	Mask   string `json:"compatibility_mask"`
	Policy string `json:"policy"`
}

// IGVMVPContext is a VP_CONTEXT directive.
type IGVMVPContext struct {
	Directive string `json:"directive"`
	VPIndex   uint16 `json:"vp_index"`
	Mask      string `json:"compatibility_mask"`
	GPA       string `json:"gpa"`
	Kind      string `json:"kind"`
}

// IGVMArea is a PARAMETER_AREA directive.
type IGVMArea struct {
	Index       uint32 `json:"index"`
	Size        uint64 `json:"size"`
	InitialData bool   `json:"initial_data"`
}

// IGVMIDBlock is the SNP ID block igvmmeasure checks.
type IGVMIDBlock struct {
	Directive        string `json:"directive"`
	LaunchDigest     string `json:"launch_digest"`
	FamilyID         string `json:"family_id"`
	ImageID          string `json:"image_id"`
	AuthorKeyEnabled bool   `json:"author_key_enabled"`
	// Matches reports whether the launch digest is the measured one.
	Matches bool `json:"matches"`
}

func hexv(v uint64) string { return fmt.Sprintf("%#x", v) }

// DescribeIGVM reads an IGVM file and measures it with both loaders, each
// launch replayed once.
func DescribeIGVM(ctx context.Context, path string) (*IGVMDescription, error) {
	g, err := openIGVM(path)
	if err != nil {
		return nil, err
	}
	defer g.Close()
	return describeIGVM(ctx, g)
}

func describeIGVM(ctx context.Context, g *igvmFile) (*IGVMDescription, error) {
	f, path := g.f, g.path
	d := &IGVMDescription{File: path, Size: f.Size(), FormatVersion: f.Fixed.FormatVersion, Platforms: []IGVMPlatform{},
		Policies: []IGVMPolicy{}, Directives: map[string]int{}, Pages: map[string]uint64{}, VPContexts: []IGVMVPContext{},
		ParameterAreas: []IGVMArea{}}
	for _, h := range f.Platforms {
		p := h.Body.(igvm.SupportedPlatform)
		d.Platforms = append(d.Platforms, IGVMPlatform{Type: p.PlatformType.String(), Mask: hexv(uint64(p.CompatibilityMask)),
			Version: p.PlatformVersion, SharedGPABoundary: hexv(p.SharedGPABoundary)})
	}
	for _, h := range f.Initializations {
		if p, ok := h.Body.(igvm.GuestPolicy); ok {
			d.Policies = append(d.Policies, IGVMPolicy{Mask: hexv(uint64(p.CompatibilityMask)), Policy: hexv(p.Policy)})
		}
	}
	snpMask, snp := f.Platform(igvm.PlatformSEVSNP)
	// QEMU needs a vCPU for every VP context of the SEV-SNP platform.
	var lastVP *igvm.Header
	for h, err := range f.Directives() {
		if err != nil {
			return nil, fileErr(path, err)
		}
		d.Directives[h.Type.String()]++
		switch b := h.Body.(type) {
		case igvm.VPContext:
			if d.VPContextCount++; d.VPContextCount <= MaxListedIGVM {
				d.VPContexts = append(d.VPContexts, IGVMVPContext{Directive: h.Name(), VPIndex: b.VPIndex,
					Mask: hexv(uint64(b.CompatibilityMask)), GPA: hexv(b.GPA), Kind: b.Kind.String()})
			}
			if snp {
				lastVP = higherVP(lastVP, h, snpMask)
			}
		case igvm.ParameterArea:
			d.ParameterAreaBytes += b.NumberOfBytes
			if b.FileOffset != 0 {
				d.AreasWithData++
			}
			if d.ParameterAreaCount++; d.ParameterAreaCount <= MaxListedIGVM {
				d.ParameterAreas = append(d.ParameterAreas, IGVMArea{Index: b.Index, Size: b.NumberOfBytes, InitialData: b.FileOffset != 0})
			}
		}
	}
	if d.VPContextCount > MaxListedIGVM {
		d.VPContexts = []IGVMVPContext{}
	}
	if d.ParameterAreaCount > MaxListedIGVM {
		d.ParameterAreas = []IGVMArea{}
	}
	if !snp {
		return d, nil // nothing SEV-SNP to measure
	}
	m, err := launchdigest.IGVMMeasure(f, launchdigest.IGVMMeasureOptions{})
	if err != nil {
		if !launchdigest.IsIGVMRefusal(err) {
			return nil, fileErr(path, err)
		}
		d.IGVMMeasureRefusal, m = err.Error(), nil
	} else {
		for _, s := range m.Steps {
			d.Pages[s.Type.String()] += s.Pages
		}
	}
	q, ignoring, refusal, err := describeQEMU(f, d, lastVP)
	if err != nil {
		return nil, fileErr(path, err)
	}
	// One replay of each launch gives both digests and where they part.
	var md, qd launchdigest.Digest
	var div *launchdigest.LoaderDivergence
	switch {
	case m != nil && q != nil:
		c, err := launchdigest.CompareIGVMLaunches(ctx, m, q)
		if err != nil {
			return nil, fileErr(path, err)
		}
		md, qd, div = c.IGVMMeasure, c.QEMU, c.Divergence
	case m != nil:
		md, err = m.Measure(ctx, nil)
	case q != nil:
		qd, err = q.Measure(ctx, nil)
	}
	if err != nil {
		return nil, fileErr(path, err)
	}
	if m != nil {
		d.Measurement = md.String()
		if b := m.IDBlock; b != nil {
			d.IDBlock = &IGVMIDBlock{Directive: m.IDBlockDirective, LaunchDigest: hex.EncodeToString(b.LD[:]),
				FamilyID: hex.EncodeToString(b.FamilyID[:]), ImageID: hex.EncodeToString(b.ImageID[:]),
				AuthorKeyEnabled: b.AuthorKeyEnabled != 0, Matches: launchdigest.Digest(b.LD) == md}
		}
	}
	switch {
	case q == nil || d.QEMUNeedsVCPUType != "":
	case ignoring:
		d.QEMUIgnoringParameters = qd.String()
	default:
		d.QEMUMeasurement = qd.String()
	}
	switch {
	case m == nil:
		d.Divergence = "the igvmmeasure loader does not measure the file"
	case refusal != nil:
		d.Divergence = (&launchdigest.LoaderDivergence{QEMUErr: refusal}).String()
		if ignoring {
			d.QEMUWithParameters = "the loaders agree"
			if div != nil {
				d.QEMUWithParameters = div.String()
			}
		}
	default:
		d.LoadersAgree = div == nil
		if div != nil {
			d.Divergence = div.String()
		}
	}
	return d, nil
}

// higherVP returns h when it is a VP context of the mask for a higher VP
// index than last, else last.
func higherVP(last *igvm.Header, h igvm.Header, mask uint32) *igvm.Header {
	v, ok := h.Body.(igvm.VPContext)
	if !ok || v.CompatibilityMask&mask == 0 || (last != nil && v.VPIndex <= last.Body.(igvm.VPContext).VPIndex) {
		return last
	}
	return &h
}

// describeQEMU builds the qemu loader's launch of f with the fewest vCPUs
// QEMU accepts (one more than the VP index of lastVP, the VP context of the
// SEV-SNP platform with the highest index). A launch the loader refuses is
// nil, with refusal and d.QEMURefusal saying why; when only its unhandled
// parameters stop QEMU, the launch is that of --ignore-unhandled-parameters
// (ignoring true).
func describeQEMU(f *igvm.File, d *IGVMDescription, lastVP *igvm.Header) (q *launchdigest.IGVMLaunch, ignoring bool, refusal, err error) {
	vcpus := 1
	if lastVP != nil {
		vp := int(lastVP.Body.(igvm.VPContext).VPIndex)
		if vp >= MaxVCPUs {
			refusal = &launchdigest.DirectiveError{Directive: lastVP.Name(), Offset: lastVP.Offset, Err: launchdigest.ErrQEMURefuses,
				Msg: fmt.Sprintf("a VP context for vCPU %d, but a QEMU guest has at most %d vCPUs", vp, MaxVCPUs)}
			d.QEMURefusal = refusal.Error()
			return nil, false, refusal, nil
		}
		vcpus = vp + 1
	}
	d.QEMUVCPUs = vcpus
	q, err = launchdigest.IGVMQEMU(f, launchdigest.QEMUOptions{VCPUs: vcpus})
	if err != nil {
		if !launchdigest.IsIGVMRefusal(err) {
			return nil, false, nil, err
		}
		refusal, d.QEMURefusal = err, err.Error()
		q2, err2 := launchdigest.IGVMQEMU(f, launchdigest.QEMUOptions{VCPUs: vcpus, IgnoreUnhandledParameters: true})
		switch {
		case err2 == nil:
			q, ignoring = q2, true
		case !launchdigest.IsIGVMRefusal(err2):
			return nil, false, nil, err2
		case err2.Error() != err.Error():
			d.QEMUWithParameters = (&launchdigest.LoaderDivergence{QEMUErr: err2}).String()
		}
	}
	if q != nil {
		if i, ok := q.VCPUs.ResetVCPU(vcpus); ok {
			d.QEMUNeedsVCPUType = fmt.Sprintf("vCPU %d has no VP context in the file: QEMU gives it its reset VMSA, which holds the vCPU signature (measure --igvm-loader qemu --vcpus %d --vcpu-type ...)", i, vcpus)
		}
	}
	return q, ignoring, refusal, nil
}

// IGVMSigned is what SignIGVM wrote.
type IGVMSigned struct {
	// Block is the ID block, for the igvmmeasure loader's digest.
	Block *idblock.Block
	// QEMUNote, when not empty, says that QEMU 10.2 measures the file
	// otherwise (the qemu loader with the fewest vCPUs QEMU accepts), so
	// that a QEMU launch with this ID block fails at SNP_LAUNCH_FINISH.
	QEMUNote string
}

// SignIGVM writes to w a copy of the IGVM file at path that carries an
// SNP_ID_BLOCK for its SEV-SNP launch digest (as igvmmeasure measures it,
// with c's NativeZero), signed with idKey and, when not nil, certified by
// authorKey; the block's policy is the file's GUEST_POLICY, as igvmmeasure
// sign does. It also measures the file with the qemu loader, to say when
// QEMU would not accept the block.
func SignIGVM(ctx context.Context, c *Config, w io.Writer, idKey, authorKey *ecdsa.PrivateKey) (*IGVMSigned, error) {
	g, err := openIGVM(c.IGVM)
	if err != nil {
		return nil, err
	}
	defer g.Close()
	l, err := launchdigest.IGVMMeasure(g.f, launchdigest.IGVMMeasureOptions{NativeZero: c.NativeZero})
	if err != nil {
		return nil, fileErr(c.IGVM, err)
	}
	if !l.HasPolicy {
		return nil, fileErr(c.IGVM, errors.New("no GUEST_POLICY for the SEV-SNP platform: the ID block needs the launch policy"))
	}
	ld, err := l.Measure(ctx, nil)
	if err != nil {
		return nil, fileErr(c.IGVM, err)
	}
	note, err := qemuSignNote(ctx, g.f, l.Mask, ld)
	if err != nil {
		return nil, fileErr(c.IGVM, err)
	}
	blk := idblock.NewBlock(ld)
	blk.Policy = l.Policy
	auth, err := idblock.NewAuth(rand.Reader, blk, idKey, authorKey)
	if err != nil {
		return nil, err
	}
	if err := igvm.WithIDBlock(w, g.f, igvm.NewSNPIDBlock(l.Mask, blk, auth)); err != nil {
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
			return nil, err // the output's own error, naming the output
		}
		return nil, fileErr(c.IGVM, err)
	}
	return &IGVMSigned{Block: blk, QEMUNote: note}, nil
}

// qemuSignNote measures f with the qemu loader as igvm show does (the
// fewest vCPUs QEMU accepts) and says how its digest differs from ld, the
// digest being signed; "" when they are equal or QEMU refuses the file.
func qemuSignNote(ctx context.Context, f *igvm.File, mask uint32, ld launchdigest.Digest) (string, error) {
	var lastVP *igvm.Header
	for h, err := range f.Directives() {
		if err != nil {
			return "", err
		}
		lastVP = higherVP(lastVP, h, mask)
	}
	var d IGVMDescription
	q, ignoring, _, err := describeQEMU(f, &d, lastVP)
	if err != nil || q == nil {
		return "", err
	}
	qd, err := q.Measure(ctx, nil)
	if err != nil || qd == ld {
		return "", err
	}
	n := vcpuCount(d.QEMUVCPUs)
	how := fmt.Sprintf("QEMU 10.2 measures this file as %s (qemu loader, %s)", qd, n)
	if i, ok := q.VCPUs.ResetVCPU(d.QEMUVCPUs); ok {
		how = fmt.Sprintf("QEMU 10.2 measures this file otherwise (qemu loader, %s: vCPU %d has no VP context, so QEMU measures a reset VMSA holding the vCPU signature)", n, i)
	} else if ignoring {
		how = fmt.Sprintf("a QEMU that fills the file's parameters measures it as %s (qemu loader with --ignore-unhandled-parameters, %s)", qd, n)
	}
	return how + ", not as the signed " + ld.String() + ": a QEMU launch with this ID block fails at SNP_LAUNCH_FINISH", nil
}

func vcpuCount(n int) string {
	if n == 1 {
		return "1 vCPU"
	}
	return fmt.Sprintf("%d vCPUs", n)
}

// WriteText writes the description as igvm show prints it: one line per
// platform, policy, VP context and parameter area, then what each loader
// measures and whether they agree.
func (d *IGVMDescription) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "IGVM %s: format version %d, %d bytes\n", d.File, d.FormatVersion, d.Size)
	for _, p := range d.Platforms {
		fmt.Fprintf(&b, "platform %s: mask %s, version %d, shared GPA boundary %s\n", p.Type, p.Mask, p.Version, p.SharedGPABoundary)
	}
	for _, p := range d.Policies {
		fmt.Fprintf(&b, "guest policy %s for mask %s\n", p.Policy, p.Mask)
	}
	fmt.Fprintf(&b, "directives:%s\n", countList(d.Directives))
	if len(d.Pages) > 0 {
		fmt.Fprintf(&b, "SEV-SNP page updates (igvmmeasure):%s\n", countList(d.Pages))
	}
	for _, v := range d.VPContexts {
		fmt.Fprintf(&b, "%s: VP %d, mask %s, GPA %s, %s\n", v.Directive, v.VPIndex, v.Mask, v.GPA, v.Kind)
	}
	if d.VPContextCount > len(d.VPContexts) {
		fmt.Fprintf(&b, "VP contexts: %d, too many to list\n", d.VPContextCount)
	}
	for _, a := range d.ParameterAreas {
		fmt.Fprintf(&b, "parameter area %d: %d bytes, initial data %v\n", a.Index, a.Size, a.InitialData)
	}
	if d.ParameterAreaCount > len(d.ParameterAreas) {
		fmt.Fprintf(&b, "parameter areas: %d, too many to list: %d bytes in all, %d with initial data\n", d.ParameterAreaCount, d.ParameterAreaBytes, d.AreasWithData)
	}
	if blk := d.IDBlock; blk != nil {
		fmt.Fprintf(&b, "ID block (%s): launch digest %s (matches: %v), author key %v\n", blk.Directive, blk.LaunchDigest, blk.Matches, blk.AuthorKeyEnabled)
	}
	if d.Measurement != "" || d.IGVMMeasureRefusal != "" {
		writeIGVMMeasurements(&b, d)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeIGVMMeasurements writes what each loader measures and how they compare.
func writeIGVMMeasurements(b *strings.Builder, d *IGVMDescription) {
	if d.IGVMMeasureRefusal != "" {
		fmt.Fprintf(b, "measurement (igvmmeasure loader): not measured: %s\n", d.IGVMMeasureRefusal)
	} else {
		fmt.Fprintf(b, "measurement (igvmmeasure loader): %s\n", d.Measurement)
	}
	qemu := "qemu loader"
	if d.QEMUVCPUs > 0 {
		qemu += ", " + vcpusText(d.QEMUVCPUs)
	}
	switch {
	case d.QEMUMeasurement != "":
		fmt.Fprintf(b, "measurement (%s): %s\n", qemu, d.QEMUMeasurement)
	case d.QEMURefusal != "":
		fmt.Fprintf(b, "measurement (%s): not measured: %s\n", qemu, d.QEMURefusal)
	case d.QEMUNeedsVCPUType != "":
		fmt.Fprintf(b, "measurement (%s): depends on the vCPU type: %s\n", qemu, d.QEMUNeedsVCPUType)
	}
	if d.QEMUIgnoringParameters != "" {
		fmt.Fprintf(b, "measurement (qemu loader with --ignore-unhandled-parameters, %s; QEMU 10.2 itself refuses the file): %s\n",
			vcpusText(d.QEMUVCPUs), d.QEMUIgnoringParameters)
	} else if d.QEMURefusal != "" && d.QEMUNeedsVCPUType != "" {
		fmt.Fprintf(b, "measurement (qemu loader with --ignore-unhandled-parameters, %s): depends on the vCPU type: %s\n", vcpusText(d.QEMUVCPUs), d.QEMUNeedsVCPUType)
	}
	switch {
	case d.LoadersAgree:
		fmt.Fprintf(b, "loaders: the igvmmeasure and qemu loaders measure this file the same (%s)\n", vcpusText(d.QEMUVCPUs))
	case d.IGVMMeasureRefusal == "" && d.QEMURefusal == "":
		fmt.Fprintf(b, "loaders: they differ: %s\n", d.Divergence)
	}
	if d.QEMUWithParameters != "" {
		fmt.Fprintf(b, "loaders, with a QEMU that fills those parameters (--ignore-unhandled-parameters): %s\n", d.QEMUWithParameters)
	}
}

// countList formats a map of counts as " KEY N, KEY N" in key order.
func countList[V int | uint64](m map[string]V) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf(" %s %d", k, m[k]))
	}
	return strings.Join(parts, ",")
}

// vcpusText says "1 vCPU" or "N vCPUs".
func vcpusText(n int) string {
	if n == 1 {
		return "1 vCPU"
	}
	return fmt.Sprintf("%d vCPUs", n)
}
