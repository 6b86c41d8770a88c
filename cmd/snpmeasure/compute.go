package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/spf13/pflag"

	"github.com/snpmeasure/snpmeasure/launchdigest"
	"github.com/snpmeasure/snpmeasure/ovmf"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

// measureResult is the outcome of a measurement.
type measureResult struct {
	digest    []byte
	launch    *launchdigest.Launch // SNP modes
	vmsaPages []*vmsa.Page         // for --dump-vmsa, one per vCPU
	firmware  *ovmf.Image
	hashes    *launchdigest.KernelHashes
}

// firmwareFile is an opened and parsed firmware image.
type firmwareFile struct {
	path  string
	f     *os.File
	r     io.ReaderAt // f, or its contents when f is a pipe
	image *ovmf.Image
}

// openInput opens a regular file for reading, with errors that name it.
func openInput(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fileErr(path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fileErr(path, err)
	}
	if st.IsDir() {
		f.Close()
		return nil, 0, fmt.Errorf("%s: is a directory, not a file", path)
	}
	if st.Mode()&(os.ModeDevice|os.ModeCharDevice|os.ModeSocket) != 0 {
		// /dev/zero or /dev/urandom would be hashed without end; pipes
		// (process substitution) are read to their end like files.
		f.Close()
		return nil, 0, fmt.Errorf("%s: is a device, not a file", path)
	}
	return f, st.Size(), nil
}

func openFirmware(path string) (*firmwareFile, error) {
	f, size, err := openInput(path)
	if err != nil {
		return nil, err
	}
	var r io.ReaderAt = f
	if st, err := f.Stat(); err == nil && !st.Mode().IsRegular() {
		// A pipe (--ovmf <(...)) cannot be read at offsets: firmware is
		// small, so keep what it yields, up to the 4 GiB it can ever be.
		b, err := io.ReadAll(io.LimitReader(f, ovmf.MaxImageSize+1))
		if err != nil {
			f.Close()
			return nil, fileErr(path, err)
		}
		r, size = bytes.NewReader(b), int64(len(b))
	}
	if size == 0 {
		f.Close()
		return nil, fmt.Errorf("%s: empty file: not a firmware image", path)
	}
	// The reference reads the footer entry from the file's last 50 bytes
	// with Python slicing: in a file of fewer than 50 bytes that slice is
	// min(size, 50-size) bytes long, and it fails when that is shorter than
	// the 18-byte entry.
	if size < ovmf.FooterOffsetFromEnd && min(size, ovmf.FooterOffsetFromEnd-size) < ovmf.EntryHeaderSize {
		f.Close()
		return nil, fmt.Errorf("%s: %d bytes: too small to be a firmware image", path, size)
	}
	if size > ovmf.MaxImageSize {
		f.Close()
		return nil, fmt.Errorf("%s: %d bytes: firmware must fit below 4 GiB", path, size)
	}
	im, err := ovmf.Parse(r, size)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &firmwareFile{path: path, f: f, r: r, image: im}, nil
}

func (fw *firmwareFile) Close() error { return fw.f.Close() }

// pages hashes every 4 KiB page of the firmware across all CPUs.
func (fw *firmwareFile) pages() ([]launchdigest.Digest, error) {
	if fw.image.Size%ovmf.PageSize != 0 {
		return nil, fmt.Errorf("%s: size %d is not a multiple of 4096 bytes: it cannot be loaded with SNP_LAUNCH_UPDATE",
			fw.path, fw.image.Size)
	}
	p, err := launchdigest.HashPages(fw.r, fw.image.Size, progressFor(fw.path, fw.image.Size))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fw.path, err)
	}
	return p, nil
}

// hashFile returns the SHA-256 of a whole file, streamed.
func hashFile(path string) ([sha256.Size]byte, error) {
	f, size, err := openInput(path)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	defer f.Close()
	h, err := launchdigest.SHA256Stream(f, progressFor(path, size))
	if err != nil {
		return h, fileErr(path, err)
	}
	return h, nil
}

// kernelHashes hashes kernel and initrd concurrently.
func kernelHashes(kernel, initrd, cmdline string) (*launchdigest.KernelHashes, error) {
	k := &launchdigest.KernelHashes{Initrd: launchdigest.EmptyHash, Cmdline: launchdigest.CmdlineHash(cmdline)}
	var wg sync.WaitGroup
	var kerr, ierr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		k.Kernel, kerr = hashFile(kernel)
	}()
	if initrd != "" {
		k.Initrd, ierr = hashFile(initrd)
	}
	wg.Wait()
	return k, errors.Join(kerr, ierr)
}

// asyncHashes starts hashing kernel and initrd while the caller hashes firmware.
func (c *measureConfig) asyncHashes() func() (*launchdigest.KernelHashes, error) {
	if !c.hasKernel {
		return func() (*launchdigest.KernelHashes, error) { return nil, nil }
	}
	var (
		k   *launchdigest.KernelHashes
		err error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		k, err = kernelHashes(c.opts.kernel, c.opts.initrd, c.opts.appendArg)
	}()
	return func() (*launchdigest.KernelHashes, error) { <-done; return k, err }
}

// compute runs the measurement selected by the options.
func (c *measureConfig) compute() (*measureResult, error) {
	o := c.opts
	fw, err := openFirmware(o.ovmf)
	if err != nil {
		return nil, err
	}
	defer fw.Close()
	res := &measureResult{firmware: fw.image}
	switch o.mode {
	case modeOVMFHash:
		pages, err := fw.pages()
		if err != nil {
			return nil, err
		}
		d, err := launchdigest.OVMFHash(fw.image, pages)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fw.path, err)
		}
		res.digest = d[:]
		return res, nil
	case modeSEV, modeSEVES:
		return c.computeSEV(fw, res)
	case modeSVSM:
		return c.computeSVSM(fw, res)
	}
	pages, k, err := c.snpInputs(fw)
	if err != nil {
		return nil, err
	}
	res.hashes = k
	l, err := launchdigest.SNP(fw.image, pages, launchdigest.SNPConfig{VCPUs: c.vcpus, Kernel: k, OVMFHash: c.ovmfHash})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fw.path, err)
	}
	d := l.Digest()
	res.digest, res.launch = d[:], l
	if o.dumpVMSA {
		bsp, ap := launchdigest.VMSAPages(fw.image.ResetEIP, c.vcpus)
		res.vmsaPages = repeatVMSA(bsp, ap, c.vcpus.Count)
	}
	return res, nil
}

// snpInputs checks that the firmware can launch the SNP guest asked for,
// before reading anything large, then hashes its pages (unless
// --snp-ovmf-hash replaces them) while the kernel and initrd are hashed.
func (c *measureConfig) snpInputs(fw *firmwareFile) ([]launchdigest.Digest, *launchdigest.KernelHashes, error) {
	if !fw.image.HasMetadata {
		return nil, nil, fmt.Errorf("%s: %w", fw.path, launchdigest.ErrNoMetadata)
	}
	if c.hasKernel {
		if _, ok := fw.image.KernelHashesSection(); !ok {
			return nil, nil, fmt.Errorf("%s: %w", fw.path, launchdigest.ErrNoKernelHashes)
		}
	}
	wait := c.asyncHashes()
	var pages []launchdigest.Digest
	var perr error
	if c.ovmfHash == nil {
		pages, perr = fw.pages()
	}
	k, kerr := wait()
	if err := errors.Join(perr, kerr); err != nil {
		return nil, nil, err
	}
	return pages, k, nil
}

func repeatVMSA(bsp, ap *vmsa.Page, n int) []*vmsa.Page {
	out := make([]*vmsa.Page, n)
	for i := range out {
		out[i] = ap
	}
	if n > 0 {
		out[0] = bsp
	}
	return out
}

func (c *measureConfig) computeSEV(fw *firmwareFile, res *measureResult) (*measureResult, error) {
	if c.hasKernel && !fw.image.HashTableSupported() {
		return nil, fmt.Errorf("%s: %w", fw.path, launchdigest.ErrNoSEVHashTable)
	}
	if c.opts.mode == modeSEVES && !fw.image.HasResetBlock {
		return nil, fmt.Errorf("%s: %w", fw.path, launchdigest.ErrNoResetBlock)
	}
	wait := c.asyncHashes()
	k, err := wait()
	if err != nil {
		return nil, err
	}
	res.hashes = k
	v := c.vcpus
	if c.opts.mode == modeSEV {
		v.Count = 0
	}
	r := io.NewSectionReader(fw.r, 0, fw.image.Size)
	d, err := launchdigest.SEVES(fw.image, r, k, v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fw.path, err)
	}
	res.digest = d[:]
	if c.opts.dumpVMSA && v.Count > 0 {
		v.GuestFeatures = 0
		bsp, ap := launchdigest.VMSAPages(fw.image.ResetEIP, v)
		res.vmsaPages = repeatVMSA(bsp, ap, v.Count)
	}
	return res, nil
}

func (c *measureConfig) computeSVSM(fw *firmwareFile, res *measureResult) (*measureResult, error) {
	sv, err := openFirmware(c.opts.svsm)
	if err != nil {
		return nil, err
	}
	defer sv.Close()
	if !sv.image.HasSVSMInfo {
		return nil, fmt.Errorf("%s: no SVSM info entry (GUID %s) in the footer table: not an SVSM image",
			sv.path, ovmf.SVSMInfoGUID)
	}
	fwPages, err := fw.pages()
	if err != nil {
		return nil, err
	}
	svPages, err := sv.pages()
	if err != nil {
		return nil, err
	}
	l, err := launchdigest.SVSM(fw.image, fwPages, sv.image, svPages, launchdigest.SVSMConfig{
		VarsSize: c.varsSize, VCPUs: c.vcpus.Count, Signature: c.vcpus.Signature})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sv.path, err)
	}
	d := l.Digest()
	res.digest, res.launch = d[:], l
	if c.opts.dumpVMSA {
		fwGPA := fw.image.GPA(launchdigest.FirmwareEnd)
		eip := uint64(sv.image.SVSMEntry) + fwGPA - c.varsSize - uint64(sv.image.Size)
		p := vmsa.BuildSVSM(eip, c.vcpus.Signature)
		res.vmsaPages = repeatVMSA(p, p, c.vcpus.Count)
	}
	return res, nil
}

// progressFor returns a progress callback for long reads, or nil.
// It is replaced by the progress bar support when stderr is a terminal.
var progressFor = func(name string, size int64) func(int) { return nil }

// quiet silences progress output (--quiet).
var quiet bool

// addQuietFlag defines --quiet on fs once.
func addQuietFlag(fs *pflag.FlagSet) {
	if fs.Lookup("quiet") == nil {
		fs.BoolVarP(&quiet, "quiet", "q", false, "no progress bar on stderr")
	}
}
