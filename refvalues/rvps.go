package refvalues

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Trustee reference value provider service (RVPS) message fields.
const (
	// RVPSMessageVersion is the only message version RVPS accepts.
	RVPSMessageVersion = "0.1.0"
	// RVPSProvenanceType selects RVPS's sample extractor, which stores each
	// key of the provenance as a reference value without checking signatures.
	RVPSProvenanceType = "sample"
)

// Reference value names that Trustee's default SNP policy
// (attestation-service ear_default_policy_cpu.rego) queries.
const (
	RVPSLaunchMeasurement = "snp_launch_measurement"
	RVPSGuestABIMajor     = "snp_guest_abi_major"
	RVPSGuestABIMinor     = "snp_guest_abi_minor"
	RVPSSMTAllowed        = "snp_smt_allowed"
	RVPSSingleSocket      = "snp_single_socket"
)

// Guest policy bits (SEV-SNP firmware ABI, guest policy structure).
const (
	PolicyABIMinorMask  = 0xff
	PolicyABIMajorShift = 8
	PolicySMT           = 1 << 16
	PolicyReserved1     = 1 << 17 // must be 1
	PolicyMigrateMA     = 1 << 18
	PolicyDebug         = 1 << 19
	PolicySingleSocket  = 1 << 20
)

// RVPSMessage is what `rvps-tool register --path FILE` reads and what the
// KBS reference-value endpoint accepts.
type RVPSMessage struct {
	Version string `json:"version"`
	Type    string `json:"type"`
	// Payload is the base64 of the provenance (RVPSProvenance).
	Payload string `json:"payload"`
}

// rvpsProvenance is the sample provenance: each key is one reference value.
// snp_launch_measurement is a list (the policy tests membership with "in");
// the policy keys are single values (the policy compares them with "==").
type rvpsProvenance struct {
	LaunchMeasurement []string `json:"snp_launch_measurement"`
	GuestABIMajor     *uint64  `json:"snp_guest_abi_major,omitempty"`
	GuestABIMinor     *uint64  `json:"snp_guest_abi_minor,omitempty"`
	SMTAllowed        *bool    `json:"snp_smt_allowed,omitempty"`
	SingleSocket      *bool    `json:"snp_single_socket,omitempty"`
}

// RVPSProvenance returns the sample provenance JSON: the distinct launch
// measurements as lowercase hex under snp_launch_measurement and, when the
// document has a policy, the policy reference values.
func (d *Document) RVPSProvenance() ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	p := rvpsProvenance{}
	for _, m := range d.distinctMeasurements() {
		p.LaunchMeasurement = append(p.LaunchMeasurement, m.String())
	}
	if d.Policy != nil {
		pol := uint64(*d.Policy)
		minor := pol & PolicyABIMinorMask
		major := (pol >> PolicyABIMajorShift) & 0xff
		smt := pol&PolicySMT != 0
		single := pol&PolicySingleSocket != 0
		p.GuestABIMajor, p.GuestABIMinor, p.SMTAllowed, p.SingleSocket = &major, &minor, &smt, &single
	}
	return json.Marshal(&p)
}

// RVPSMessage returns the message that registers the reference values.
func (d *Document) RVPSMessage() (*RVPSMessage, error) {
	p, err := d.RVPSProvenance()
	if err != nil {
		return nil, err
	}
	return &RVPSMessage{
		Version: RVPSMessageVersion,
		Type:    RVPSProvenanceType,
		Payload: base64.StdEncoding.EncodeToString(p),
	}, nil
}

// EncodeRVPS writes the RVPS message as indented JSON.
func (d *Document) EncodeRVPS(w io.Writer) error {
	m, err := d.RVPSMessage()
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// DecodeRVPS parses an RVPS message of the sample type and returns its
// provenance as reference value name -> JSON value.
func DecodeRVPS(data []byte) (map[string]json.RawMessage, error) {
	var m RVPSMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("RVPS message: %w", err)
	}
	if m.Version != RVPSMessageVersion {
		return nil, fmt.Errorf("RVPS message version %q: want %q", m.Version, RVPSMessageVersion)
	}
	if m.Type != RVPSProvenanceType {
		return nil, fmt.Errorf("RVPS message type %q: want %q", m.Type, RVPSProvenanceType)
	}
	p, err := base64.StdEncoding.DecodeString(m.Payload)
	if err != nil {
		return nil, fmt.Errorf("RVPS message payload: %w", err)
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(p, &out); err != nil {
		return nil, fmt.Errorf("RVPS provenance: %w", err)
	}
	if out == nil {
		return nil, errors.New("RVPS provenance: not a JSON object")
	}
	return out, nil
}
