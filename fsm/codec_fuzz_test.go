package fsm

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/raftvec/raftvec/fsm/fsmpb"
)

// FuzzDecodeOp feeds arbitrary bytes to the op decoder: it must never
// panic, and what it accepts must survive a round trip unchanged.
func FuzzDecodeOp(f *testing.F) {
	for _, op := range []*fsmpb.Op{createOp(10), insertOp(false, 1, 2), insertOp(true, 3), deleteOp(1),
		{Ts: 1 << 20, Kind: &fsmpb.Op_TimeTick{TimeTick: &fsmpb.TimeTick{}}}} {
		b, err := EncodeOp(op)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		op, err := DecodeOp(b)
		if err != nil {
			return
		}
		again, err := EncodeOp(op)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		op2, err := DecodeOp(again)
		if err != nil {
			t.Fatalf("decode of re-encoded op: %v", err)
		}
		if !proto.Equal(op, op2) {
			t.Fatalf("round trip changed the op: %v vs %v", op, op2)
		}
	})
}
