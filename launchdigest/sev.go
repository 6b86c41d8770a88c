package launchdigest

import (
	"crypto/sha256"
	"io"

	"github.com/snpmeasure/snpmeasure/ovmf"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

// SEVDigestSize is the size of SEV and SEV-ES launch digests (SHA-256).
const SEVDigestSize = sha256.Size

// ErrNoSEVHashTable is returned when a kernel is given for SEV or SEV-ES and
// the firmware cannot verify it.
var ErrNoSEVHashTable = ErrNoHashTable

// SEV returns the SEV launch digest: SHA-256 of the firmware, followed by the
// padded hashes table when a kernel is given. firmware yields the image fw
// was parsed from.
func SEV(fw *ovmf.Image, firmware io.Reader, kernel *KernelHashes) ([SEVDigestSize]byte, error) {
	return SEVES(fw, firmware, kernel, VCPUs{})
}

// SEVES returns the SEV-ES launch digest: as SEV, then one VMSA page per vCPU
// (SEV_FEATURES 0). With v.Count 0 it is the SEV digest.
func SEVES(fw *ovmf.Image, firmware io.Reader, kernel *KernelHashes, v VCPUs) ([SEVDigestSize]byte, error) {
	var out [SEVDigestSize]byte
	if kernel != nil && !fw.HashTableSupported() {
		return out, ErrNoSEVHashTable
	}
	var bsp, ap *vmsa.Page
	if v.Count > 0 {
		if !fw.HasResetBlock {
			return out, ErrNoResetBlock
		}
		if v.Count > 1 && fw.ResetEIP == 0 {
			return out, ErrZeroAPEIP
		}
		v.GuestFeatures = 0
		bsp, ap = VMSAPages(fw.ResetEIP, v)
	}
	h := sha256.New()
	if _, err := HashStream(h, firmware, nil); err != nil {
		return out, err
	}
	if kernel != nil {
		t := kernel.Table()
		h.Write(t[:])
	}
	for i := range v.Count {
		if i == 0 {
			h.Write(bsp[:])
		} else {
			h.Write(ap[:])
		}
	}
	h.Sum(out[:0])
	return out, nil
}
