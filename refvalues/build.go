package refvalues

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/snpmeasure/snpmeasure/measure"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

// Build measures every configuration of s with the inputs in and returns
// the document, written by toolVersion. in must come from measure.Open
// with Options.FileDigests, so that the firmware's SHA-256 is known.
// Measurements are listed in the order of Inputs.Enumerate.
func Build(ctx context.Context, in *measure.Inputs, s *measure.Space, toolVersion string) (*Document, error) {
	if in == nil {
		return nil, errors.New("refvalues: no inputs (measure.Open)")
	}
	d := New(toolVersion)
	for _, f := range in.Files {
		file := &File{Name: filepath.Base(f.Path), Size: f.Size, SHA256: SHA256(f.SHA256)}
		switch f.Role {
		case "firmware":
			d.Inputs.Firmware = NewFirmware(file.Name, file.SHA256, in.Firmware)
		case "igvm":
			c := in.Config()
			d.Inputs.IGVM = &IGVMFile{File: *file, Loader: in.IGVM.Loader.String(), NativeZero: c.NativeZero, CheckKVM: c.CheckKVM,
				IgnoreUnhandledParameters: c.IgnoreUnhandledParameters}
			if in.IGVM.HasPolicy {
				p := Hex(in.IGVM.Policy)
				d.Inputs.IGVM.Policy = &p
			}
		case "kernel":
			d.Inputs.Kernel = file
		case "initrd":
			d.Inputs.Initrd = file
		}
	}
	if in.OVMFHash != nil {
		h := Measurement384(*in.OVMFHash)
		d.Inputs.SNPOVMFHash = &h
	}
	if in.Kernel != nil {
		d.Inputs.Cmdline = &in.Cmdline
	}
	d.Measurements = make([]Measurement, 0, s.Size())
	err := in.Enumerate(ctx, s, func(p measure.Point) bool {
		m := Measurement{VCPUs: p.VCPUs, VCPUType: p.CPU.Name, VCPUSig: Hex(p.CPU.Signature), VMMType: p.VMM.String(),
			GuestFeatures: Hex(p.GuestFeatures), Measurement: Measurement384(p.Measurement)}
		if p.KVMInit != vmsa.KVMInit2 {
			m.KVMInit = p.KVMInit.String()
		}
		d.Measurements = append(d.Measurements, m)
		return true
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}
