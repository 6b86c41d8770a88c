package qemu

import (
	"fmt"
	"math/bits"
	"strings"
)

// SEV_FEATURES bits of the VMSA (AMD APM vol. 2, "SEV_FEATURES").
const (
	FeatureSNPActive           = 1 << 0
	FeatureVirtualTOM          = 1 << 1
	FeatureReflectVC           = 1 << 2
	FeatureRestrictedInjection = 1 << 3
	FeatureAlternateInjection  = 1 << 4
	FeatureDebugSwap           = 1 << 5
	FeaturePreventHostIBS      = 1 << 6
	FeatureBTBIsolation        = 1 << 7
	FeatureSecureTSC           = 1 << 9
)

var featureNames = map[uint64]string{
	FeatureSNPActive:           "SNP active",
	FeatureVirtualTOM:          "virtual TOM",
	FeatureReflectVC:           "reflect #VC",
	FeatureRestrictedInjection: "restricted injection",
	FeatureAlternateInjection:  "alternate injection",
	FeatureDebugSwap:           "DebugSwap",
	FeaturePreventHostIBS:      "prevent host IBS",
	FeatureBTBIsolation:        "BTB isolation",
	FeatureSecureTSC:           "Secure TSC",
}

// FeatureNames names the bits of a SEV_FEATURES value, e.g. "DebugSwap
// (0x20)"; unnamed bits as "bit N (0x...)".
func FeatureNames(f uint64) []string {
	var names []string
	for f != 0 {
		b := uint64(1) << bits.TrailingZeros64(f)
		f &^= b
		if n, ok := featureNames[b]; ok {
			names = append(names, fmt.Sprintf("%s (%#x)", n, b))
		} else {
			names = append(names, fmt.Sprintf("bit %d (%#x)", bits.TrailingZeros64(b), b))
		}
	}
	return names
}

// checkFeatures decides the guest features of a launch without IGVM.
//
// Where SEV_FEATURES comes from, for QEMU 9.1 and later:
//   - QEMU creates SNP guests as KVM_X86_SNP_VM and initializes them with
//     KVM_SEV_INIT2, whose vmsa_features it leaves 0 unless an IGVM file's
//     VMSA asks for features (target/i386/sev.c, sev_common_kvm_init, 10.2:
//     "args.vmsa_features" is set only under "if (x86machine->igvm)").
//     No release up to 11.1 has a sev-snp-guest property that sets a VMSA
//     feature: the properties are those of qapi/qom.json SevSnpGuestProperties
//     (policy, guest-visible-workarounds, id-block, id-auth,
//     author-key-enabled, host-data, vcek-disabled, plus sev-device,
//     cbitpos, reduced-phys-bits and kernel-hashes), and Debian's 10.0.2 and
//     11.1.3 refuse debug-swap and secure-tsc ("Invalid parameter").
//   - KVM (Linux 6.10 and later, arch/x86/kvm/svm/sev.c __sev_guest_init)
//     sets SEV_FEATURES to exactly the vmsa_features it is given, plus SNP
//     active for SNP VMs. Its debug_swap module parameter (kvm_amd
//     debug_swap, on by default) and the CPU's Secure TSC support only put
//     those bits in the set KVM_X86_SEV_VMSA_FEATURES reports as allowed:
//     they turn nothing on by themselves.
//
// So a QEMU launch without IGVM measures SEV_FEATURES 0x1. 0x21 (DebugSwap)
// is what AMD's pre-upstream SNP host kernels (6.6/6.7 based, with KVM's
// debug_swap on by default) measured, with AMD's own QEMU builds that
// predate QEMU 9.1; no upstream QEMU command line launches it, and none
// launches Secure TSC (0x200) either. Everything but 0x1 is refused.
func checkFeatures(f uint64, v Version) (note string, err error) {
	refuse := func(format string, args ...any) (string, error) {
		return "", &RefusedError{Field: "guest-features", Value: fmt.Sprintf("%#x", f), Reason: fmt.Sprintf(format, args...)}
	}
	if f&FeatureSNPActive == 0 {
		return refuse("bit 0 (SNP active) is set in the VMSAs of every SEV-SNP guest")
	}
	if f == FeatureSNPActive {
		return "guest features 0x1: KVM_SEV_INIT2 (Linux 6.11+ hosts) puts SNP active alone in SEV_FEATURES, as QEMU asks for no VMSA feature", nil
	}
	extra := f &^ FeatureSNPActive
	why := fmt.Sprintf("QEMU %s cannot launch %s: no sev-snp-guest property sets a VMSA feature, and KVM_SEV_INIT2 sets exactly those QEMU asks for (none without IGVM)", v, strings.Join(FeatureNames(extra), ", "))
	if extra&FeatureDebugSwap != 0 {
		why += "; kvm_amd's debug_swap only allows DebugSwap. 0x21 was measured on AMD's pre-upstream SNP host kernels (6.6/6.7) with their own QEMU builds"
	}
	return refuse("%s", why)
}
