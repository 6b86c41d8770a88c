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

	"github.com/snpmeasure/snpmeasure/idblock"
	"github.com/snpmeasure/snpmeasure/igvm"
	"github.com/snpmeasure/snpmeasure/launchdigest"
)

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
	Pages          map[string]uint64 `json:"pages"`
	VPContexts     []IGVMVPContext   `json:"vp_contexts"`
	ParameterAreas []IGVMArea        `json:"parameter_areas"`
	IDBlock        *IGVMIDBlock      `json:"id_block"`
	// Measurement is the SEV-SNP launch digest of the igvmmeasure loader
	// (empty without an SNP platform); QEMUMeasurement the qemu loader's
	// with QEMUVCPUs vCPUs, the fewest QEMU accepts (empty when QEMU
	// refuses the file; with --ignore-unhandled-parameters when QEMU
	// refuses it for its parameters only).
	Measurement     string `json:"measurement"`
	QEMUMeasurement string `json:"qemu_measurement"`
	QEMUVCPUs       int    `json:"qemu_vcpus"`
	// LoadersAgree reports whether both loaders measure the file the same
	// (at QEMUVCPUs); Divergence names the first update and directives
	// where they part, or why QEMU refuses the file.
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

// DescribeIGVM reads an IGVM file and measures it with both loaders.
func DescribeIGVM(ctx context.Context, path string) (*IGVMDescription, error) {
	g, err := openIGVM(path)
	if err != nil {
		return nil, err
	}
	defer g.Close()
	f := g.f
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
	for h, err := range f.Directives() {
		if err != nil {
			return nil, fileErr(path, err)
		}
		d.Directives[h.Type.String()]++
		switch b := h.Body.(type) {
		case igvm.VPContext:
			d.VPContexts = append(d.VPContexts, IGVMVPContext{Directive: h.Name(), VPIndex: b.VPIndex,
				Mask: hexv(uint64(b.CompatibilityMask)), GPA: hexv(b.GPA), Kind: b.Kind.String()})
		case igvm.ParameterArea:
			d.ParameterAreas = append(d.ParameterAreas, IGVMArea{Index: b.Index, Size: b.NumberOfBytes, InitialData: b.FileOffset != 0})
		}
	}
	if _, ok := f.Platform(igvm.PlatformSEVSNP); !ok {
		return d, nil // nothing SEV-SNP to measure
	}
	c := &Config{Mode: SNP, IGVM: path}
	l, err := c.igvmLaunch(g, 0, 0)
	if err != nil {
		return nil, err
	}
	for _, s := range l.Steps {
		d.Pages[s.Type.String()] += s.Pages
	}
	md, err := l.Measure(ctx, nil)
	if err != nil {
		return nil, fileErr(path, err)
	}
	d.Measurement = md.String()
	if b := l.IDBlock; b != nil {
		d.IDBlock = &IGVMIDBlock{Directive: l.IDBlockDirective, LaunchDigest: hex.EncodeToString(b.LD[:]),
			FamilyID: hex.EncodeToString(b.FamilyID[:]), ImageID: hex.EncodeToString(b.ImageID[:]),
			AuthorKeyEnabled: b.AuthorKeyEnabled != 0, Matches: launchdigest.Digest(b.LD) == md}
	}
	// QEMU needs a vCPU for every VP context.
	vcpus := 1
	for _, v := range d.VPContexts {
		vcpus = max(vcpus, int(v.VPIndex)+1)
	}
	d.QEMUVCPUs = vcpus
	compare := func(ignore bool) (string, bool, error) {
		div, err := launchdigest.CompareIGVMLoaders(ctx, f, launchdigest.IGVMMeasureOptions{},
			launchdigest.QEMUOptions{VCPUs: vcpus, IgnoreUnhandledParameters: ignore})
		if err != nil || div == nil {
			return "", false, err
		}
		return div.String(), div.QEMUErr != nil, nil
	}
	div, refused, err := compare(false)
	if err != nil {
		return nil, fileErr(path, err)
	}
	d.LoadersAgree, d.Divergence = div == "", div
	ignore := false
	if refused {
		div2, refused2, err := compare(true)
		if err != nil {
			return nil, fileErr(path, err)
		}
		if div2 != div { // refused for its parameters only
			d.QEMUWithParameters, ignore, refused = "the loaders agree", true, refused2
			if div2 != "" {
				d.QEMUWithParameters = div2
			}
		}
	}
	if !refused {
		qc := &Config{Mode: SNP, IGVM: path, IGVMLoader: launchdigest.LoaderQEMU, VCPUs: vcpus, IgnoreUnhandledParameters: ignore}
		ql, err := qc.igvmLaunch(g, vcpus, 0)
		if err != nil {
			return nil, err
		}
		qd, err := ql.Measure(ctx, nil)
		if err != nil {
			return nil, fileErr(path, err)
		}
		d.QEMUMeasurement = qd.String()
	}
	return d, nil
}

// SignIGVM writes to w a copy of the IGVM file at path that carries an
// SNP_ID_BLOCK for its SEV-SNP launch digest (as igvmmeasure measures it,
// with c's NativeZero), signed with idKey and, when not nil, certified by
// authorKey; the block's policy is the file's GUEST_POLICY, as igvmmeasure
// sign does. It returns the ID block.
func SignIGVM(ctx context.Context, c *Config, w io.Writer, idKey, authorKey *ecdsa.PrivateKey) (*idblock.Block, error) {
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
	return blk, nil
}
