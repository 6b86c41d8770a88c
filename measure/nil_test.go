package measure_test

import (
	"context"
	"errors"
	"testing"

	"github.com/snpmeasure/snpmeasure/measure"
	"github.com/snpmeasure/snpmeasure/report"
	"github.com/snpmeasure/snpmeasure/trace"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

// TestNilAndZeroValues: the entry points answer missing arguments with an
// error, never a panic (a nil context inside a hashing goroutine would
// crash the caller's process).
func TestNilAndZeroValues(t *testing.T) {
	var ce *measure.ConfigError
	if _, err := measure.Measure(nil, &measure.Config{Mode: measure.OVMFHash, Firmware: inputs + "sid-OVMF.amdsev.fd"}, nil); err != nil {
		t.Errorf("nil context: %v", err)
	}
	if _, err := measure.Measure(context.Background(), nil, nil); !errors.As(err, &ce) {
		t.Errorf("nil config: %v", err)
	}
	if _, err := measure.Open(context.Background(), nil, nil); !errors.As(err, &ce) {
		t.Errorf("Open nil config: %v", err)
	}
	in, err := measure.Open(context.Background(), &measure.Config{Mode: measure.SNP, Firmware: inputs + "sid-OVMF.amdsev.fd"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if _, err := in.Search(context.Background(), nil, [48]byte{}); !errors.As(err, &ce) {
		t.Errorf("Search nil space: %v", err)
	}
	bad := &measure.Space{VCPUs: []int{1}, CPUs: []measure.CPU{{Signature: 1}}, VMMs: []vmsa.VMM{99}, GuestFeatures: []uint64{1}}
	if _, err := in.Search(context.Background(), bad, [48]byte{}); !errors.As(err, &ce) {
		t.Errorf("unknown VMM: %v", err)
	}
	dup := &measure.Space{VCPUs: []int{1}, CPUs: []measure.CPU{{Signature: 1}, {Signature: 1}}, VMMs: []vmsa.VMM{vmsa.QEMU}, GuestFeatures: []uint64{1}}
	if _, err := in.Search(context.Background(), dup, [48]byte{}); !errors.As(err, &ce) {
		t.Errorf("duplicate CPU: %v", err)
	}
	if res := (&report.Report{}).Verify(nil); res.OK || len(res.Failed()) == 0 {
		t.Errorf("zero report verified: %+v", res)
	}
	if err := trace.Write(nil, nil); err == nil {
		t.Error("trace.Write of no launch")
	}
}
