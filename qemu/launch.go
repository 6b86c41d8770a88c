package qemu

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/snpmeasure/snpmeasure/idblock"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

// Launch describes a measured SEV-SNP launch to start with QEMU. Paths are
// printed as given; nothing is read.
type Launch struct {
	// Firmware is the OVMF image that was measured, loaded with -bios.
	Firmware string
	// Kernel, Initrd and Append are -kernel, -initrd and -append; with a
	// kernel, kernel-hashes=on makes QEMU add their hashes to the firmware.
	Kernel, Initrd, Append string
	// IGVM is an IGVM file (QEMU 10.1 and later, built with IGVM support)
	// that replaces Firmware, Kernel, Initrd and Append: it holds the
	// firmware, the initial VMSAs with their SEV_FEATURES, and may hold the
	// policy and an ID block. GuestFeatures is not checked then.
	IGVM string

	VCPUs int
	// CPUModel is the -cpu model. Empty: the first model with Signature.
	CPUModel string
	// Signature is the vCPU signature the VMSAs were measured with
	// (CPUID Fn0000_0001_EAX).
	Signature uint64
	// GuestFeatures is the measured VMSA SEV_FEATURES.
	GuestFeatures uint64
	// VMM is the VMM the measurement models: 0 or vmsa.QEMU.
	VMM vmsa.VMM
	// LegacyKVM is set when the measurement models a host whose KVM
	// predates KVM_SEV_INIT2 (x87 and MXCSR state 0 in the VMSAs).
	LegacyKVM bool

	// Policy is the guest policy of SNP_LAUNCH_START; bit 17 must be set.
	// Ignored with IGVM: QEMU applies the IGVM file's guest policy.
	Policy uint64
	// IDBlock and IDAuth are the ID block (96 bytes) and ID authentication
	// information (4096 bytes) of SNP_LAUNCH_FINISH, both or neither.
	IDBlock, IDAuth []byte
	// HostData is the 32-byte HOST_DATA, or nil.
	HostData []byte

	// MemoryMiB is the guest memory, not measured (see ParseMemory).
	MemoryMiB uint64
	// CBitPos is the host's C-bit position (CPUID 0x8000001F EBX[5:0]),
	// which QEMU compares with the host's; 0 means 51, Milan's and Genoa's.
	CBitPos int

	// Measurement is the expected launch measurement. Build checks the ID
	// block against it; Check does not need it.
	Measurement []byte
}

// CommandLine is a QEMU command line for a launch.
type CommandLine struct {
	Version Version
	// Args are the arguments of qemu-system-x86_64, the program excluded.
	Args []string
	// Notes explain what the command line relies on, one sentence each.
	Notes []string
}

// Objects returns the values of every -object argument, in order.
func (c *CommandLine) Objects() []string {
	var objs []string
	for i := 0; i+1 < len(c.Args); i++ {
		if c.Args[i] == "-object" {
			objs = append(objs, c.Args[i+1])
		}
	}
	return objs
}

// The object ids of the printed command line.
const (
	MemoryID = "ram1"
	SEVID    = "sev0"
	IGVMID   = "igvm0"
)

// Check validates the launch for QEMU version v without the measurement:
// everything Build refuses except an ID block for another measurement.
func (l *Launch) Check(v Version) error {
	_, err := l.build(v, false)
	return err
}

// Build returns the command line that starts the launch with QEMU version v
// (and later releases). A launch QEMU v cannot start as measured is a
// *RefusedError; a malformed description an *InputError; an ID block
// SNP_LAUNCH_FINISH would reject an *IDBlockError.
func (l *Launch) Build(v Version) (*CommandLine, error) {
	return l.build(v, true)
}

func (l *Launch) build(v Version, final bool) (*CommandLine, error) {
	c := &CommandLine{Version: v}
	note, err := CheckVersion(v)
	if err != nil {
		return nil, err
	}
	c.note(note)
	switch {
	case l.VMM != 0 && l.VMM != vmsa.QEMU:
		return nil, &RefusedError{Field: "vmm-type", Value: l.VMM.String(),
			Reason: fmt.Sprintf("that measurement models %s's VMM, whose vCPU state QEMU does not reproduce (use --vmm-type QEMU)", l.VMM)}
	case l.LegacyKVM:
		return nil, &RefusedError{Field: "kvm-init", Value: "legacy",
			Reason: "hosts whose KVM predates KVM_SEV_INIT2 run AMD's pre-upstream QEMU builds; upstream QEMU 9.1 and later always use KVM_SEV_INIT2"}
	case l.VCPUs < 1 || l.VCPUs > maxVCPUs:
		return nil, &RefusedError{Field: "vcpus", Value: strconv.Itoa(l.VCPUs),
			Reason: fmt.Sprintf("QEMU's q35 machine takes 1 to %d vCPUs", maxVCPUs)}
	case l.MemoryMiB < MinMemoryMiB || l.MemoryMiB > MaxMemoryMiB:
		_, err := tooBig(FormatMemory(l.MemoryMiB), l.MemoryMiB < MinMemoryMiB)
		return nil, err
	case l.IGVM == "" && l.Policy&policyReserved1 == 0:
		return nil, &InputError{Field: "policy", Value: fmt.Sprintf("%#x", l.Policy), Msg: "bit 17 is reserved and must be 1 (e.g. 0x30000)"}
	case l.IGVM == "" && l.Policy&^(policyKVMValid|policyKVMNewer) != 0:
		return nil, &RefusedError{Field: "policy", Value: fmt.Sprintf("%#x", l.Policy),
			Reason: fmt.Sprintf("bits %#x are not in KVM's SNP_POLICY_MASK_VALID, so snp_launch_start refuses the launch (MIGRATE_MA, bit 18, is never accepted: KVM has no migration agent)",
				l.Policy&^(policyKVMValid|policyKVMNewer))}
	case l.HostData != nil && len(l.HostData) != hostDataSize:
		return nil, &InputError{Field: "host-data", Msg: fmt.Sprintf("%d bytes, want %d", len(l.HostData), hostDataSize)}
	}
	cpu, note, err := cpuModel(l.CPUModel, l.Signature, v)
	if err != nil {
		return nil, err
	}
	c.note(note)
	if l.IGVM != "" {
		if err := l.checkIGVM(v); err != nil {
			return nil, err
		}
		c.note("IGVM: QEMU must be built with IGVM support (Debian's 10.0 and 11.1 packages are not); the IGVM file sets the firmware, the initial VMSAs with their SEV_FEATURES, and the policy and ID block if it has them")
	} else {
		note, err := checkFeatures(l.GuestFeatures, v)
		if err != nil {
			return nil, err
		}
		c.note(note)
	}
	authorKey, err := l.checkIDBlock(final)
	if err != nil {
		return nil, err
	}

	machine := "q35,confidential-guest-support=" + SEVID + ",memory-backend=" + MemoryID
	if l.IGVM != "" {
		machine += ",igvm-cfg=" + IGVMID
	}
	mem := FormatMemory(l.MemoryMiB)
	c.Args = []string{
		"-enable-kvm",
		"-machine", machine,
		"-object", "memory-backend-memfd,id=" + MemoryID + ",size=" + mem + ",share=true,prealloc=false",
		"-m", mem,
		"-cpu", cpu,
		"-smp", strconv.Itoa(l.VCPUs),
	}
	if l.IGVM != "" {
		// QemuOpts values double a comma; a lone one would start another option.
		c.Args = append(c.Args, "-object", "igvm-cfg,id="+IGVMID+",file="+strings.ReplaceAll(l.IGVM, ",", ",,"))
	} else {
		c.Args = append(c.Args, "-bios", l.Firmware)
		if l.Kernel != "" {
			c.Args = append(c.Args, "-kernel", l.Kernel)
			if l.Initrd != "" {
				c.Args = append(c.Args, "-initrd", l.Initrd)
			}
			c.Args = append(c.Args, "-append", l.Append)
		}
	}
	cbitpos := l.CBitPos
	if cbitpos == 0 {
		cbitpos = 51
	}
	obj := []string{"sev-snp-guest", "id=" + SEVID, "cbitpos=" + strconv.Itoa(cbitpos), "reduced-phys-bits=1"}
	if l.IGVM == "" {
		obj = append(obj, fmt.Sprintf("policy=%#x", l.Policy))
		if l.Policy&policyKVMNewer != 0 {
			c.note(fmt.Sprintf("policy bits %#x (CXL_ALLOW, MEM_AES_256_XTS, RAPL_DIS, CIPHERTEXT_HIDING, PAGE_SWAP_DISABLE) need a host kernel and SEV firmware that support them: older ones refuse the launch", l.Policy&policyKVMNewer))
		}
	}
	if l.Kernel != "" {
		obj = append(obj, "kernel-hashes=on")
	}
	if l.IDBlock != nil {
		obj = append(obj, "id-block="+base64.StdEncoding.EncodeToString(l.IDBlock), "id-auth="+base64.StdEncoding.EncodeToString(l.IDAuth))
		if authorKey {
			obj = append(obj, "author-key-enabled=on")
		}
	}
	if l.HostData != nil {
		obj = append(obj, "host-data="+base64.StdEncoding.EncodeToString(l.HostData))
	}
	c.Args = append(c.Args, "-object", strings.Join(obj, ","))
	return c, nil
}

func (c *CommandLine) note(s string) {
	if s != "" {
		c.Notes = append(c.Notes, s)
	}
}

const (
	maxVCPUs        = 4096 // q35's max_cpus since pc-q35-9.0 (hw/i386/pc_q35.c)
	policyReserved1 = 1 << 17
	// policyKVMValid is KVM's SNP_POLICY_MASK_VALID as upstream SNP host
	// support (Linux 6.11) defines it: ABI minor and major, SMT, the
	// reserved bit 17, DEBUG and SINGLE_SOCKET. policyKVMNewer are the bits
	// later kernels accept when the firmware supports them (CXL_ALLOW,
	// MEM_AES_256_XTS, RAPL_DIS, CIPHERTEXT_HIDING, PAGE_SWAP_DISABLE).
	policyKVMValid = 0xff | 0xff<<8 | 1<<16 | 1<<17 | 1<<19 | 1<<20
	policyKVMNewer = 0x1f << 21
	hostDataSize   = 32
)

// checkIGVM refuses what an IGVM launch cannot carry. The command line is
// QEMU's documented one (docs/system/igvm.rst): an igvm-cfg object with a
// file property, linked from the machine's igvm-cfg property (hw/i386/pc.c);
// qapi/qom.json IgvmCfgProperties says "Since: 10.1", and 10.0 has no
// backends/igvm.c. QEMU refuses -bios with an IGVM file.
func (l *Launch) checkIGVM(v Version) error {
	switch {
	case !v.AtLeast(v10_1):
		return &RefusedError{Field: "igvm", Value: l.IGVM, Reason: fmt.Sprintf("QEMU %s cannot load IGVM files (igvm-cfg came in 10.1)", v)}
	case l.Kernel != "" || l.Initrd != "" || l.Append != "":
		return &RefusedError{Field: "igvm", Value: l.IGVM, Reason: "an IGVM launch takes no -kernel, -initrd or -append: the IGVM file holds what is measured"}
	case l.IDBlock != nil:
		return &RefusedError{Field: "igvm", Value: l.IGVM, Reason: "QEMU takes the ID block of an IGVM launch from the IGVM file, which overrides id-block"}
	}
	return nil
}

// checkIDBlock parses the ID block and ID auth, checks their signatures,
// that the block's policy is the launch's and (final) that its measurement
// is the launch's. It reports whether the auth carries an author key.
func (l *Launch) checkIDBlock(final bool) (authorKey bool, err error) {
	if (l.IDBlock == nil) != (l.IDAuth == nil) {
		return false, &InputError{Field: "id-block", Msg: "the ID block and the ID auth go together"}
	}
	if l.IDBlock == nil {
		return false, nil
	}
	b, err := idblock.ParseBlock(l.IDBlock)
	if err != nil {
		return false, &InputError{Field: "id-block", Msg: err.Error(), Err: err}
	}
	a, err := idblock.ParseAuth(l.IDAuth)
	if err != nil {
		return false, &InputError{Field: "id-auth", Msg: err.Error(), Err: err}
	}
	if b.Policy != l.Policy {
		return false, &RefusedError{Field: "policy", Value: fmt.Sprintf("%#x", l.Policy),
			Reason: fmt.Sprintf("the ID block's policy is %#x: SNP_LAUNCH_FINISH would fail", b.Policy)}
	}
	vf, err := a.Verify(b)
	if err != nil {
		return false, &InputError{Field: "id-auth", Msg: err.Error(), Err: err}
	}
	if err := vf.Err(); err != nil {
		return false, &IDBlockError{Msg: fmt.Sprintf("id-auth: %v: SNP_LAUNCH_FINISH would reject it", err), Err: err}
	}
	if final {
		if l.Measurement == nil {
			return false, &InputError{Field: "id-block", Msg: "no launch measurement to check the ID block against"}
		}
		if !bytes.Equal(b.Measurement[:], l.Measurement) {
			return false, &IDBlockError{Msg: fmt.Sprintf("id-block: %v: it has %s, this configuration measures %s",
				ErrIDBlockMeasurement, hex.EncodeToString(b.Measurement[:]), hex.EncodeToString(l.Measurement)), Err: ErrIDBlockMeasurement}
		}
	}
	return a.HasAuthorKey(), nil
}

// SNPGuestProperties returns the properties of release v's sev-snp-guest
// object: qapi/qom.json SevSnpGuestProperties and its base
// SevCommonProperties, the same from 9.1 (the object's first release)
// through 11.1. None sets a VMSA feature (no debug-swap, no secure-tsc).
func SNPGuestProperties(v Version) []string {
	return []string{"author-key-enabled", "cbitpos", "guest-visible-workarounds", "host-data", "id-auth",
		"id-block", "kernel-hashes", "policy", "reduced-phys-bits", "sev-device", "vcek-disabled"}
}
