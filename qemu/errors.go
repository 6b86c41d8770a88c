package qemu

import "errors"

// A RefusedError says that the launch cannot be started as measured with
// the target QEMU version (or with QEMU at all), and why: a property, -cpu
// model or launch path that version does not have, guest features no QEMU
// command line produces, memory beyond what the printed machine addresses.
type RefusedError struct {
	Field  string // the part of the launch, named as snpmeasure's flags name it: "guest-features", "cpu", "memory"...
	Value  string // the refused value, if one
	Reason string
}

func (e *RefusedError) Error() string {
	return fieldValue(e.Field, e.Value) + ": refusing: " + e.Reason
}

// An InputError says that the launch description itself is malformed: a
// size, a length or a syntax, whatever the QEMU version.
type InputError struct {
	Field string
	Value string
	Msg   string
	// Err is the cause, when another package's error is the reason.
	Err error
}

func (e *InputError) Error() string { return fieldValue(e.Field, e.Value) + ": " + e.Msg }

// Unwrap returns the cause.
func (e *InputError) Unwrap() error { return e.Err }

// An IDBlockError says that SNP_LAUNCH_FINISH would reject the ID block:
// it is for another measurement (Err is ErrIDBlockMeasurement), or one of
// its signatures does not verify (Err is the idblock error).
type IDBlockError struct {
	Msg string
	Err error
}

// ErrIDBlockMeasurement is wrapped when an ID block is for another launch.
var ErrIDBlockMeasurement = errors.New("the ID block is for another launch measurement")

func (e *IDBlockError) Error() string { return e.Msg }

func (e *IDBlockError) Unwrap() error { return e.Err }

func fieldValue(field, value string) string {
	if value == "" {
		return field
	}
	return field + " " + value
}
