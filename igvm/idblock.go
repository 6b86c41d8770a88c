package igvm

import (
	"github.com/snpmeasure/snpmeasure/idblock"
)

// ID key and author key algorithm and curve values (SEV-SNP ABI).
const (
	IDBlockAlgoECDSAP384 = idblock.AlgoECDSAP384SHA384
	IDBlockCurveP384     = idblock.CurveP384
	idBlockVersion       = 1
)

// Block returns the 96-byte SEV-SNP ID block a VMM builds from the directive
// for SNP_LAUNCH_FINISH, as QEMU 10.2 does (backends/igvm.c,
// qigvm_directive_snp_id_block and qigvm_handle_policy): the launch digest,
// family and image IDs and guest SVN of the directive, VERSION 1 whatever
// the directive says, and the policy of the file's GUEST_POLICY.
func (b *SNPIDBlock) Block(policy uint64) *idblock.Block {
	return &idblock.Block{
		Measurement: b.LD,
		FamilyID:    b.FamilyID,
		ImageID:     b.ImageID,
		Version:     idBlockVersion,
		GuestSVN:    b.GuestSVN,
		Policy:      policy,
	}
}

// Auth returns the ID authentication information structure QEMU builds from
// the directive: the algorithms, the signatures (R and S, 72 bytes each, at
// the start of the 512-byte signature structures) and the public keys (the
// IGVM key has a reserved word after the curve that the SEV-SNP ABI's
// structure does not have).
func (b *SNPIDBlock) Auth() *idblock.Auth {
	a := &idblock.Auth{IDKeyAlgo: b.IDKeyAlgorithm, AuthorKeyAlgo: b.AuthorKeyAlgorithm}
	putSig(a.BlockSignature[:], &b.IDKeySignature)
	putSig(a.IDKeySignature[:], &b.AuthorKeySignature)
	putABIKey(a.IDKey[:], &b.IDPublicKey)
	putABIKey(a.AuthorKey[:], &b.AuthorPublicKey)
	return a
}

func putABIKey(dst []byte, k *IDBlockPublicKey) {
	le.PutUint32(dst[idblock.OffKeyCurve:], k.Curve)
	copy(dst[idblock.OffKeyQX:], k.QX[:])
	copy(dst[idblock.OffKeyQY:], k.QY[:])
}

func getABIKey(src []byte) (k IDBlockPublicKey) {
	k.Curve = le.Uint32(src[idblock.OffKeyCurve:])
	copy(k.QX[:], src[idblock.OffKeyQX:])
	copy(k.QY[:], src[idblock.OffKeyQY:])
	return k
}

// NewSNPIDBlock returns the SNP_ID_BLOCK directive igvmmeasure sign writes
// for a signed ID block: the compatibility mask of the SEV-SNP platform,
// author_key_enabled 1 when there is an author key, both algorithms 1
// (igvmmeasure sets the author key algorithm even without an author key;
// the author key fields are then zero), and the block's fields.
func NewSNPIDBlock(mask uint32, blk *idblock.Block, auth *idblock.Auth) SNPIDBlock {
	b := SNPIDBlock{
		CompatibilityMask:  mask,
		LD:                 blk.Measurement,
		FamilyID:           blk.FamilyID,
		ImageID:            blk.ImageID,
		Version:            blk.Version,
		GuestSVN:           blk.GuestSVN,
		IDKeyAlgorithm:     IDBlockAlgoECDSAP384,
		AuthorKeyAlgorithm: IDBlockAlgoECDSAP384,
		IDKeySignature:     getSig(auth.BlockSignature[:]),
		IDPublicKey:        getABIKey(auth.IDKey[:]),
	}
	if auth.HasAuthorKey() {
		b.AuthorKeyEnabled = 1
		b.AuthorKeySignature = getSig(auth.IDKeySignature[:])
		b.AuthorPublicKey = getABIKey(auth.AuthorKey[:])
	}
	return b
}

// Verify checks the directive's signatures against the ID block QEMU builds
// with the policy. The author key is checked only when author_key_enabled is
// set: igvmmeasure sign sets the author key algorithm to 1 even without an
// author key, whose fields are then zero (QEMU passes them on as they are;
// the firmware ignores them unless the launch enables the author key).
func (b *SNPIDBlock) Verify(policy uint64) (*idblock.Verification, error) {
	a := b.Auth()
	if b.AuthorKeyEnabled == 0 {
		a.AuthorKeyAlgo = idblock.AlgoNone
	}
	return a.Verify(b.Block(policy))
}
