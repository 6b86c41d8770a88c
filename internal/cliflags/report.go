package cliflags

import (
	"github.com/snpmeasure/snpmeasure/report"
	"github.com/spf13/pflag"
)

// AddReportChecks defines verify's flags for the chain and the checks of
// an attestation report on fs; they fill c (see report.Config).
func AddReportChecks(fs *pflag.FlagSet, c *report.Config) {
	fs.StringVar(&c.VCEK, "vcek", "", "the VCEK (or VLEK) `FILE` AMD's KDS issued, DER or PEM; a PEM bundle with the ASK and ARK too")
	fs.StringArrayVar(&c.CertChains, "cert-chain", nil, "a `FILE` of more intermediate certificates (a KDS cert_chain: ASK/ASVK and ARK); repeatable")
	fs.StringVar(&c.ASK, "ask", "", "an ASK or ASVK certificate `FILE` (an intermediate: it must be signed by the trusted ARK)")
	fs.StringVar(&c.ARK, "ark", "", "an ARK certificate `FILE`: it must be the trusted ARK itself")
	fs.StringArrayVar(&c.TrustARKs, "trust-ark", nil, "trust the ARK in this `FILE` (PEM or DER; repeatable) instead of AMD's built-in ones")
	fs.StringVar(&c.Product, "product", "", "Milan, Genoa or Turin: the product line, for VERSION 2 reports that do not name it")
	fs.StringArrayVar(&c.CRLs, "crl", nil, "a `FILE` with a CRL saved from AMD's KDS (DER or PEM): fail if the ASK/ASVK or key is revoked; repeatable")
	fs.StringVar(&c.At, "at", "", "check certificate validity as of this RFC 3339 time instead of now")
	fs.StringVar(&c.Measurement, "measurement", "", "expected MEASUREMENT (96 hex digits, or base64) instead of the measure flags")
	fs.StringVar(&c.HostData, "host-data", "", "check HOST_DATA (32 bytes, hex)")
	fs.StringVar(&c.ReportData, "report-data", "", "check REPORT_DATA (64 bytes, hex)")
	fs.StringVar(&c.Policy, "policy", "", "check the guest POLICY exactly (0x-hex or decimal); replaces the debug and migrate-ma defaults")
	fs.StringVar(&c.VMPL, "vmpl", "", "the VMPL the report must have been requested at, 0-3 (default 0)")
	fs.BoolVar(&c.AllowDebug, "allow-debug", false, "accept a policy that allows debugging (default: DEBUG must be 0)")
	fs.BoolVar(&c.AllowMigrationAgent, "allow-migration-agent", false, "accept a policy that allows a migration agent (default: MIGRATE_MA must be 0)")
	fs.BoolVar(&c.NoProvisional, "no-provisional", false, "refuse provisional firmware: COMMITTED_TCB and version must equal the current ones")
	fs.StringVar(&c.FamilyID, "family-id", "", "check FAMILY_ID (16 bytes, hex)")
	fs.StringVar(&c.ImageID, "image-id", "", "check IMAGE_ID (16 bytes, hex)")
	fs.StringVar(&c.IDKeyDigest, "id-key-digest", "", "check ID_KEY_DIGEST (48 bytes, hex)")
	fs.StringVar(&c.AuthorKeyDigest, "author-key-digest", "", "check AUTHOR_KEY_DIGEST (48 bytes, hex)")
	fs.BoolVar(&c.RequireIDBlock, "require-id-block", false, "require an ID block signed by a trusted ID key or author key")
	fs.StringArrayVar(&c.TrustedIDKeys, "trusted-id-key", nil, "a trusted ID `KEY`: a PEM public key (or certificate, or private key) file, or its 48-byte digest in hex; repeatable")
	fs.StringArrayVar(&c.TrustedAuthorKeys, "trusted-author-key", nil, "a trusted author `KEY`, as --trusted-id-key; repeatable")
	fs.StringVar(&c.ReportID, "report-id", "", "check REPORT_ID (32 bytes, hex)")
	fs.StringVar(&c.ReportIDMA, "report-id-ma", "", "check REPORT_ID_MA (32 bytes, hex)")
	fs.StringVar(&c.ChipID, "chip-id", "", "check CHIP_ID (64 bytes, hex; 8 bytes for a Turin hardware ID)")
	fs.StringVar(&c.MinGuestSVN, "min-guest-svn", "", "lowest acceptable GUEST_SVN")
	fs.StringVar(&c.MinTCB, "min-tcb", "", "lowest acceptable TCB (REPORTED, COMMITTED, CURRENT): 0x-hex TCB_VERSION or bl=N,tee=N,snp=N,ucode=N (Turin: fmc=N,bl=N,...)")
	fs.StringVar(&c.MinLaunchTCB, "min-launch-tcb", "", "lowest acceptable LAUNCH_TCB, as --min-tcb")
	fs.StringVar(&c.MinBuild, "min-build", "", "lowest acceptable firmware CURRENT_BUILD (0-255)")
	fs.StringVar(&c.MinVersion, "min-version", "", "lowest acceptable firmware API version, MAJOR.MINOR (1.55)")
	fs.StringVar(&c.PlatformInfo, "platform-info", "", "required PLATFORM_INFO bits: smt=0,tsme=1,ecc=1,rapl-dis=1,ciphertext-hiding=1,alias-check-complete=1,tio=0, or VALUE/MASK")
}
