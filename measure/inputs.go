package measure

import (
	"context"
	"errors"
	"sync"

	"github.com/snpmeasure/snpmeasure/launchdigest"
	"github.com/snpmeasure/snpmeasure/ovmf"
)

// Inputs are the files of an SNP launch, read, parsed and hashed once: every
// vCPU configuration of them (Inputs.Launch, Space) then costs a few hashes.
type Inputs struct {
	// Firmware is the parsed OVMF image.
	Firmware *ovmf.Image
	// Pages are the SHA-384 digests of its 4 KiB pages (nil with OVMFHash).
	Pages []launchdigest.Digest
	// OVMFHash is the precomputed firmware digest the launch starts from, if any.
	OVMFHash *launchdigest.Digest
	// Kernel holds the kernel, initrd and command line hashes (nil without
	// a kernel), and Cmdline the command line.
	Kernel  *launchdigest.KernelHashes
	Cmdline string
	// Files lists what was read, in the order firmware, kernel, initrd (or
	// the IGVM file); the firmware's SHA256 is set only with
	// Options.FileDigests.
	Files []File
	// IGVM is the launch of an IGVM file, for what it says of itself (its
	// policy, ID block, loader); nil for OVMF.
	IGVM *launchdigest.IGVMLaunch

	config     Config    // the files' part of the Config
	igvm       *igvmFile // open while the Inputs are used
	igvmPrefix launchdigest.Digest
}

// Config returns the configuration the inputs were opened with (its files'
// part: the mode, the files and the IGVM loader's options).
func (in *Inputs) Config() Config { return in.config }

// Close releases the files Inputs keep open (an IGVM file, read at
// offsets while configurations are enumerated).
func (in *Inputs) Close() error {
	if in.igvm != nil {
		return in.igvm.Close()
	}
	return nil
}

// Options tune how inputs are read.
type Options struct {
	// Progress, when set, is told how far the hashing of each file is.
	Progress ProgressFunc
	// FileDigests asks for the SHA-256 of every input in Result.Files (the
	// firmware is then read twice).
	FileDigests bool
	// VMSAs asks for each vCPU's VMSA page in Result.VMSAs.
	VMSAs bool
}

func (o *Options) progress() ProgressFunc {
	if o == nil {
		return nil
	}
	return o.Progress
}

// Open reads the firmware, kernel and initrd of an SNP launch (c.Mode SNP;
// the vCPU fields are not used): it checks that the firmware can launch an
// SNP guest with these inputs before reading anything large, then hashes
// the firmware pages on all CPUs while the kernel and initrd are hashed.
func Open(ctx context.Context, c *Config, o *Options) (*Inputs, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if c == nil {
		return nil, configErr("no configuration")
	}
	if c.Mode != SNP {
		return nil, configErr("Open reads the inputs of mode snp, not %q", c.Mode)
	}
	if c.IGVM != "" {
		v := *c
		if v.IGVMLoader == launchdigest.LoaderQEMU {
			v.VCPUs = 1 // the space gives the counts
		}
		if err := v.Validate(); err != nil {
			return nil, err
		}
		return openIGVMInputs(ctx, c, o)
	}
	fw, err := openFirmware(c.Firmware)
	if err != nil {
		return nil, err
	}
	defer fw.Close()
	return openSNP(ctx, c, fw, o)
}

func openSNP(ctx context.Context, c *Config, fw *firmwareFile, o *Options) (*Inputs, error) {
	if !fw.image.HasMetadata {
		return nil, fw.err(launchdigest.ErrNoMetadata)
	}
	if c.Kernel != "" {
		if _, ok := fw.image.KernelHashesSection(); !ok {
			return nil, fw.err(launchdigest.ErrNoKernelHashes)
		}
	}
	in := &Inputs{Firmware: fw.image, OVMFHash: c.OVMFHash, Cmdline: c.Cmdline}
	wait := hashKernel(ctx, c, o.progress())
	var perr, serr error
	var sum SHA256
	if c.OVMFHash == nil {
		in.Pages, perr = fw.pages(ctx, o.progress())
	}
	if o != nil && o.FileDigests && perr == nil {
		sum, serr = fw.sha256(ctx)
	}
	k, files, kerr := wait()
	if err := errors.Join(perr, serr, kerr); err != nil {
		return nil, err
	}
	in.Kernel = k
	in.Files = append([]File{{Role: "firmware", Path: c.Firmware, Size: fw.image.Size, SHA256: sum}}, files...)
	return in, nil
}

// hashKernel starts hashing the kernel and initrd of c (concurrently, while
// the caller hashes the firmware); wait returns the kernel hashes table,
// nil without a kernel.
func hashKernel(ctx context.Context, c *Config, p ProgressFunc) (wait func() (*launchdigest.KernelHashes, []File, error)) {
	if c.Kernel == "" {
		return func() (*launchdigest.KernelHashes, []File, error) { return nil, nil, nil }
	}
	k := &launchdigest.KernelHashes{Initrd: launchdigest.EmptyHash, Cmdline: launchdigest.CmdlineHash(c.Cmdline)}
	files := []File{{Role: "kernel", Path: c.Kernel}}
	if c.Initrd != "" {
		files = append(files, File{Role: "initrd", Path: c.Initrd})
	}
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i := range files {
		if files[i].Role == "initrd" && c.InitrdHash != nil {
			files[i].SHA256 = *c.InitrdHash
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := &files[i]
			f.SHA256, f.Size, errs[i] = HashFile(ctx, f.Path, p)
		}()
	}
	return func() (*launchdigest.KernelHashes, []File, error) {
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, nil, err
		}
		k.Kernel = files[0].SHA256
		if len(files) > 1 {
			k.Initrd = files[1].SHA256
		}
		return k, files, nil
	}
}

// Launch builds the SNP launch of the inputs with the vCPUs v.
func (in *Inputs) Launch(v launchdigest.VCPUs) (*launchdigest.Launch, error) {
	return launchdigest.SNP(in.Firmware, in.Pages, launchdigest.SNPConfig{VCPUs: v, Kernel: in.Kernel, OVMFHash: in.OVMFHash})
}
