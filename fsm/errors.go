package fsm

import (
	"errors"
	"fmt"
	"github.com/raftvec/raftvec/fsm/fsmpb"
)

var (
	// ErrInvalid marks a request that fails validation. The wrapped message
	// names the field and the limit.
	ErrInvalid = errors.New("invalid argument")
	// ErrAlreadyExists is returned for an insert of a primary key that is
	// live. Upsert is the way to replace a row.
	ErrAlreadyExists = errors.New("already exists")
	// ErrNotReady is returned by a shard that has no collection yet.
	ErrNotReady = errors.New("shard has no collection yet")
	// ErrDropped is returned by a shard whose collection was dropped.
	ErrDropped = errors.New("collection dropped")
	// ErrCorrupt marks durable state or a log entry that cannot be decoded.
	ErrCorrupt = errors.New("corrupt state")
	// ErrClosed is returned by a shard after Close.
	ErrClosed = errors.New("shard closed")
	// ErrTsTooOld is returned for a read at a ts older than the oldest one
	// the shard can still answer.
	ErrTsTooOld = errors.New("read timestamp too old")
)

// invalidf returns an ErrInvalid with a message.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Result codes stored in fsmpb.Result.Code for ops refused at apply time.
const (
	CodeOK            = 0
	CodeAlreadyExists = 1
	CodeNotReady      = 2
	CodeDropped       = 3
	CodeRequestReused = 4
)

// reused says whether an op with fingerprint fp under a request id that
// already has result r asks for something else. Results stored before
// fingerprints existed match anything.
func reused(r *fsmpb.Result, fp []byte) bool {
	return len(fp) > 0 && len(r.Fingerprint) > 0 && string(fp) != string(r.Fingerprint)
}

func reusedMessage(id string) string {
	return fmt.Sprintf("request_id %q was already used by a different request; use a new request id", id)
}

func codeError(code uint32, msg string) error {
	switch code {
	case CodeOK:
		return nil
	case CodeAlreadyExists:
		return fmt.Errorf("%w: %s", ErrAlreadyExists, msg)
	case CodeNotReady:
		return ErrNotReady
	case CodeDropped:
		return ErrDropped
	case CodeRequestReused:
		return fmt.Errorf("%w: %s", ErrInvalid, msg)
	}
	return fmt.Errorf("apply refused op (code %d): %s", code, msg)
}

// ErrNotFound marks an unknown collection, node or field.
var ErrNotFound = errors.New("not found")

// ResultError turns a result refused at apply time into an error.
func ResultError(r *fsmpb.Result) error { return codeError(r.Code, r.Message) }
