package measure

import (
	"context"
	"errors"
	"io"

	"github.com/snpmeasure/snpmeasure/launchdigest"
	"github.com/snpmeasure/snpmeasure/ovmf"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

// Result is a measured launch.
type Result struct {
	// Digest is the launch measurement: 48 bytes (SHA-384) for the SNP
	// modes, the MEASUREMENT of the attestation report; 32 (SHA-256) for
	// SEV and SEV-ES.
	Digest []byte
	// Launch is every SNP_LAUNCH_UPDATE in order (SNP and SVSM modes):
	// Launch.Updates walks them with the digest after each.
	Launch *launchdigest.Launch
	// Firmware is the parsed firmware image.
	Firmware *ovmf.Image
	// Kernel holds the kernel hashes table, nil without a kernel.
	Kernel *launchdigest.KernelHashes
	// VMSAs are the VMSA pages, one per vCPU (with Options.VMSAs).
	VMSAs []*vmsa.Page
	// Files lists the input files read (SHA256 set with Options.FileDigests).
	Files []File
	// IGVM is the launch of an IGVM file in mode SNP (its loader, ID block,
	// policy, VMSAs); nil otherwise.
	IGVM *launchdigest.IGVMLaunch

	closer io.Closer
}

// Close releases the IGVM file whose pages Launch reads (it hashes them
// again when walked, rather than keeping a digest per page); after Close
// such a Launch cannot be walked. It does nothing for other launches.
func (r *Result) Close() error {
	if r == nil || r.closer == nil {
		return nil
	}
	c := r.closer
	r.closer = nil
	return c.Close()
}

// Measure computes the launch measurement of c. Errors about a file are a
// *FileError; a Config that describes no launch is a *ConfigError. o may
// be nil. For an IGVM file whose ID block holds another launch digest,
// Measure returns the Result together with an error for which
// IsIDBlockMismatch is true (unless c.IgnoreIDBlock).
func Measure(ctx context.Context, c *Config, o *Options) (*Result, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.IGVM != "" {
		return measureIGVM(ctx, c, o)
	}
	fw, err := openFirmware(c.Firmware)
	if err != nil {
		return nil, err
	}
	defer fw.Close()
	res := &Result{Firmware: fw.image}
	switch c.Mode {
	case OVMFHash:
		err = measureOVMFHash(ctx, c, fw, o, res)
	case SEV, SEVES:
		err = measureSEV(ctx, c, fw, o, res)
	case SVSM:
		err = measureSVSM(ctx, c, fw, o, res)
	default:
		err = measureSNP(ctx, c, fw, o, res)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

func wantVMSAs(o *Options) bool { return o != nil && o.VMSAs }

func measureOVMFHash(ctx context.Context, c *Config, fw *firmwareFile, o *Options, res *Result) error {
	pages, err := fw.pages(ctx, o.progress())
	if err != nil {
		return err
	}
	d, err := launchdigest.OVMFHash(fw.image, pages)
	if err != nil {
		return fw.err(err)
	}
	res.Digest = d[:]
	f := File{Role: "firmware", Path: c.Firmware, Size: fw.image.Size}
	if o != nil && o.FileDigests {
		if f.SHA256, err = fw.sha256(ctx); err != nil {
			return err
		}
	}
	res.Files = []File{f}
	return nil
}

func measureSNP(ctx context.Context, c *Config, fw *firmwareFile, o *Options, res *Result) error {
	in, err := openSNP(ctx, c, fw, o)
	if err != nil {
		return err
	}
	l, err := in.Launch(c.vcpus())
	if err != nil {
		return fw.err(err)
	}
	d := l.Digest()
	res.Digest, res.Launch, res.Kernel, res.Files = d[:], l, in.Kernel, in.Files
	if wantVMSAs(o) {
		res.VMSAs = repeatVMSA(launchdigest.VMSAPages(fw.image.ResetEIP, c.vcpus()))(c.VCPUs)
	}
	return nil
}

// repeatVMSA returns a function giving n pages: the BSP's, then the APs'.
func repeatVMSA(bsp, ap *vmsa.Page) func(n int) []*vmsa.Page {
	return func(n int) []*vmsa.Page {
		out := make([]*vmsa.Page, n)
		for i := range out {
			out[i] = ap
		}
		if n > 0 {
			out[0] = bsp
		}
		return out
	}
}

func measureSEV(ctx context.Context, c *Config, fw *firmwareFile, o *Options, res *Result) error {
	if c.Kernel != "" && !fw.image.HashTableSupported() {
		return fw.err(launchdigest.ErrNoSEVHashTable)
	}
	if c.Mode == SEVES && !fw.image.HasResetBlock {
		return fw.err(launchdigest.ErrNoResetBlock)
	}
	k, files, err := hashKernel(ctx, c, o.progress())()
	if err != nil {
		return err
	}
	v := c.vcpus()
	if c.Mode == SEV {
		v.Count = 0
	}
	// One pass over the firmware gives both the digest and its SHA-256.
	r := io.Reader(io.NewSectionReader(fw.r, 0, fw.image.Size))
	digests := o != nil && o.FileDigests
	var fwHash *shaTee
	if digests {
		fwHash = newSHATee(r)
		r = fwHash
	}
	d, err := launchdigest.SEVES(fw.image, ctxReader{ctx, r}, k, v)
	if err != nil {
		return fw.err(err)
	}
	res.Digest, res.Kernel = d[:], k
	f := File{Role: "firmware", Path: c.Firmware, Size: fw.image.Size}
	if digests {
		f.SHA256 = fwHash.sum()
	}
	res.Files = append([]File{f}, files...)
	if wantVMSAs(o) && v.Count > 0 {
		v.GuestFeatures = 0
		res.VMSAs = repeatVMSA(launchdigest.VMSAPages(fw.image.ResetEIP, v))(v.Count)
	}
	return nil
}

func measureSVSM(ctx context.Context, c *Config, fw *firmwareFile, o *Options, res *Result) error {
	sv, err := openFirmware(c.SVSM)
	if err != nil {
		return err
	}
	defer sv.Close()
	if !sv.image.HasSVSMInfo {
		return sv.err(ErrNotSVSM)
	}
	var fwPages, svPages []launchdigest.Digest
	var ferr, serr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		svPages, serr = sv.pages(ctx, o.progress())
	}()
	fwPages, ferr = fw.pages(ctx, o.progress())
	<-done
	if err := errors.Join(ferr, serr); err != nil {
		return err
	}
	cfg := launchdigest.SVSMConfig{VarsSize: c.VarsSize, VCPUs: c.VCPUs, Signature: c.Signature, KVMInit: c.KVMInit}
	l, err := launchdigest.SVSM(fw.image, fwPages, sv.image, svPages, cfg)
	if err != nil {
		return sv.err(err)
	}
	d := l.Digest()
	res.Digest, res.Launch = d[:], l
	res.Files = []File{{Role: "firmware", Path: c.Firmware, Size: fw.image.Size}, {Role: "svsm", Path: c.SVSM, Size: sv.image.Size}}
	if o != nil && o.FileDigests {
		for i, f := range []*firmwareFile{fw, sv} {
			if res.Files[i].SHA256, err = f.sha256(ctx); err != nil {
				return err
			}
		}
	}
	if wantVMSAs(o) {
		p := vmsa.BuildSVSM(launchdigest.SVSMEntryEIP(fw.image, sv.image, c.VarsSize), c.Signature, c.KVMInit)
		res.VMSAs = repeatVMSA(p, p)(c.VCPUs)
	}
	return nil
}
