package measure

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/snpmeasure/snpmeasure/launchdigest"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

// Mode is the kind of guest launch, as sev-snp-measure's --mode names it.
type Mode string

// The guest modes.
const (
	SEV   Mode = "sev"   // SEV: SHA-256 of the firmware and kernel hashes
	SEVES Mode = "seves" // SEV-ES: SEV plus one VMSA per vCPU
	SNP   Mode = "snp"   // SEV-SNP: the SHA-384 launch digest of the attestation report
	// OVMFHash is the SNP digest of the firmware pages alone, to be given
	// back as Config.OVMFHash.
	OVMFHash Mode = "snp:ovmf-hash"
	// SVSM is an SNP launch of COCONUT-SVSM below OVMF.
	SVSM Mode = "snp:svsm"
)

// Modes lists every mode in sev-snp-measure's order.
var Modes = []Mode{SEV, SEVES, SNP, OVMFHash, SVSM}

// MaxVCPUs is the most vCPUs a launch can have: KVM's KVM_MAX_VCPUS and
// QEMU's q35 limit.
const MaxVCPUs = 4096

// DefaultGuestFeatures is sev-snp-measure's default SEV_FEATURES: SNP
// active, as KVM sets it on Linux 6.8 and later.
const DefaultGuestFeatures = 0x1

// Config describes one launch to measure: the files and the vCPU
// configuration. Paths name files; OpenInput says which kinds are accepted.
type Config struct {
	Mode Mode
	// Firmware is the OVMF image (every mode).
	Firmware string
	// Kernel, Initrd and Cmdline are what QEMU's kernel-hashes=on measures;
	// Initrd and Cmdline need a Kernel. An empty Initrd is measured as
	// empty input.
	Kernel, Initrd, Cmdline string
	// InitrdHash is the initrd's SHA-256 when it is already known (an
	// archive just written): Initrd then only names it and is not read.
	InitrdHash *SHA256
	// VCPUs is the number of vCPUs, one VMSA each; not used by SEV and
	// OVMFHash.
	VCPUs int
	// VMM is who builds the VMSAs; zero means QEMU.
	VMM vmsa.VMM
	// Signature is the vCPU signature (CPUID Fn0000_0001_EAX), see
	// vmsa.CPUType.Signature.
	Signature uint64
	// GuestFeatures is VMSA.SEV_FEATURES of SNP guests (DefaultGuestFeatures
	// on current hosts); SEV-ES VMSAs have 0.
	GuestFeatures uint64
	// KVMInit is how the host's KVM initialises the guest (QEMU VMSAs).
	KVMInit vmsa.KVMInit
	// OVMFHash, for mode SNP, replaces the firmware pages with their
	// precomputed digest (the OVMFHash mode's output for the same image).
	OVMFHash *launchdigest.Digest
	// SVSM is the COCONUT-SVSM image and VarsSize the size of the OVMF
	// variable store between it and the firmware (mode SVSM; 0 for an
	// empty store, as sev-snp-measure measures an empty --vars-file).
	SVSM     string
	VarsSize uint64

	// IGVM is an IGVM file launched instead of Firmware (modes SNP, SEVES
	// and SEV; the file holds what is measured), and IGVMLoader how it is
	// measured: launchdigest.LoaderIGVMMeasure (the zero value: bit-exact
	// with COCONUT-SVSM's igvmmeasure, the VMSAs the file holds) or
	// LoaderQEMU (what QEMU 10.2 and KVM measure: VCPUs VMSAs, rebuilt).
	IGVM       string
	IGVMLoader launchdigest.IGVMLoader
	// NativeZero and CheckKVM are igvmmeasure's -n and -c.
	NativeZero, CheckKVM bool
	// IgnoreIDBlock is igvmmeasure's measure -i: an ID block holding
	// another launch digest is not an error.
	IgnoreIDBlock bool
	// IgnoreUnhandledParameters (qemu loader) measures the parameter
	// usages QEMU 10.2 has no handler for (MADT, DEVICE_TREE, ...) as a
	// QEMU that fills them does (their areas are unmeasured); QEMU 10.2
	// itself refuses such files.
	IgnoreUnhandledParameters bool
}

// ConfigError is a Config that describes no possible launch; callers may
// treat it as a usage error.
type ConfigError struct{ Msg string }

func (e *ConfigError) Error() string { return e.Msg }

func configErr(format string, args ...any) error {
	return &ConfigError{Msg: fmt.Sprintf(format, args...)}
}

// vmm returns the VMM, QEMU for the zero value.
func (c *Config) vmm() vmsa.VMM {
	if c.VMM == 0 {
		return vmsa.QEMU
	}
	return c.VMM
}

// vcpus returns the vCPU description of the launch.
func (c *Config) vcpus() launchdigest.VCPUs {
	v := launchdigest.VCPUs{Count: c.VCPUs, VMM: c.vmm(), Signature: c.Signature, KVMInit: c.KVMInit}
	if c.Mode == SNP {
		v.GuestFeatures = c.GuestFeatures
	}
	return v
}

// hasVMSAs reports whether the mode measures VMSAs.
func (c *Config) hasVMSAs() bool { return c.Mode != SEV && c.Mode != OVMFHash }

// Validate checks that c describes a launch, without reading any file.
func (c *Config) Validate() error {
	if c == nil {
		return configErr("no configuration")
	}
	known := false
	for _, m := range Modes {
		known = known || c.Mode == m
	}
	if !known {
		return configErr("unknown mode %q (want sev, seves, snp, snp:ovmf-hash or snp:svsm)", c.Mode)
	}
	if c.IGVM != "" {
		return c.validateIGVM()
	}
	if c.Firmware == "" {
		return configErr("no firmware image given")
	}
	if c.Mode == OVMFHash {
		return nil
	}
	if c.Kernel == "" && (c.Initrd != "" || c.Cmdline != "") {
		return configErr("an initrd or a command line needs a kernel")
	}
	if c.Kernel != "" && c.Mode != SVSM && !utf8.ValidString(c.Cmdline) {
		return configErr("kernel command line %q is not valid UTF-8", c.Cmdline)
	}
	switch vm := c.vmm(); vm {
	case vmsa.QEMU:
	case vmsa.EC2, vmsa.GCE:
		if c.KVMInit != vmsa.KVMInit2 {
			return configErr("KVM initialisation %s applies to QEMU VMSAs only: %s builds its own", c.KVMInit, vm)
		}
	default:
		return configErr("unknown VMM %v", vm)
	}
	if c.hasVMSAs() && (c.VCPUs < 1 || c.VCPUs > MaxVCPUs) {
		return configErr("%d vCPUs: want 1 to %d", c.VCPUs, MaxVCPUs)
	}
	if c.OVMFHash != nil && c.Mode != SNP {
		return configErr("a precomputed firmware digest only works with mode snp")
	}
	if c.Mode == SVSM {
		switch {
		case c.vmm() != vmsa.QEMU:
			return configErr("mode snp:svsm is only implemented for the QEMU VMM")
		case c.SVSM == "":
			return configErr("mode snp:svsm needs an SVSM image")
		}
	}
	return nil
}

// File is an input file as it was read.
type File struct {
	// Role says what the file is: firmware, kernel, initrd, svsm or vars.
	Role string `json:"role"`
	Path string `json:"path"`
	Size int64  `json:"size"`
	// SHA256 is the digest of the whole file.
	SHA256 SHA256 `json:"sha256"`
}

// SHA256 is a SHA-256 digest; it marshals as lower-case hex.
type SHA256 [sha256.Size]byte

func (s SHA256) String() string { return hex.EncodeToString(s[:]) }

// MarshalText returns the digest as hex.
func (s SHA256) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads 64 hex digits.
func (s *SHA256) UnmarshalText(b []byte) error {
	if hex.DecodedLen(len(b)) != sha256.Size {
		return fmt.Errorf("SHA-256 of %d hex digits, want %d", len(b), 2*sha256.Size)
	}
	_, err := hex.Decode(s[:], b)
	return err
}

// ErrNotSVSM is returned for an SVSM image without the SVSM info entry.
var ErrNotSVSM = errors.New("no SVSM info entry in the footer table: not an SVSM image")
