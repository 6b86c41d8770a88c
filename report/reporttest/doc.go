// Package reporttest makes SEV-SNP attestation reports and AMD-style
// certificate chains signed with go-sev-guest's test-only keys, for tests:
// NewPKI builds ARK → ASK → VCEK and ARK → ASVK → VLEK with AMD's names
// and KDS extensions for a product line (Turin's FMC and 8-byte hardware
// ID included), NewReport lays out a report, Sign signs it, Table builds an
// extended report's certificate table. Nothing it signs may ever be
// trusted: the keys are public.
//
// Only tests import it: the snpmeasure binary does not link go-sev-guest.
package reporttest
