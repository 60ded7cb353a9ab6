package fsm

import (
	"crypto/sha256"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/raftvec/raftvec/fsm/fsmpb"
)

// Fingerprint identifies what an op asks for, apart from its ts, request id
// and fingerprint: a retry of the same request has the same fingerprint, a
// different request reusing the id does not. The leader sets it before
// proposing; apply keeps it with the op's result.
func Fingerprint(op *fsmpb.Op) []byte {
	ts, id, fp := op.Ts, op.RequestId, op.Fingerprint
	op.Ts, op.RequestId, op.Fingerprint = 0, "", nil
	b, err := EncodeOp(op)
	op.Ts, op.RequestId, op.Fingerprint = ts, id, fp
	if err != nil {
		return nil
	}
	sum := sha256.Sum256(b)
	return sum[:16]
}

// EncodeOp returns the log form of an op.
func EncodeOp(op *fsmpb.Op) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(op)
}

// DecodeOp parses the log form of an op. An error means the entry is corrupt.
func DecodeOp(b []byte) (*fsmpb.Op, error) {
	op := new(fsmpb.Op)
	if err := proto.Unmarshal(b, op); err != nil {
		return nil, fmt.Errorf("%w: decode op: %v", ErrCorrupt, err)
	}
	if op.Kind == nil {
		return nil, fmt.Errorf("%w: op has no kind", ErrCorrupt)
	}
	if ins := op.GetInsert(); ins != nil {
		if err := checkRowsShape(ins.Rows); err != nil {
			return nil, err
		}
	}
	return op, nil
}

// checkRowsShape checks the structural invariants Apply relies on, so that
// a corrupt entry is caught at decode rather than as an index panic.
func checkRowsShape(r *fsmpb.Rows) error {
	if r == nil {
		return fmt.Errorf("%w: insert without rows", ErrCorrupt)
	}
	n := len(r.IntPks)
	if len(r.StrPks) > 0 {
		if n > 0 {
			return fmt.Errorf("%w: rows carry both int and varchar keys", ErrCorrupt)
		}
		n = len(r.StrPks)
	}
	if n == 0 {
		return nil // auto-id rows: Apply derives the count from the vectors
	}
	for _, c := range r.Columns {
		m := len(c.Bools) + len(c.Int64S) + len(c.Doubles) + len(c.Strings) + len(c.Jsons)
		if m != n || (len(c.Nulls) != 0 && len(c.Nulls) != n) {
			return fmt.Errorf("%w: column %q has %d values for %d rows", ErrCorrupt, c.Field, m, n)
		}
	}
	return nil
}
