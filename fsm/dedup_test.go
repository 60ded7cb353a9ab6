package fsm

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/raftvec/raftvec/fsm/fsmpb"
)

// applyAt applies op as the entry at index with ts, bypassing the feeder's
// steady clock.
func applyAt(t *testing.T, s *Shard, index, ts uint64, op *fsmpb.Op) any {
	t.Helper()
	op.Ts = ts
	b, err := EncodeOp(op)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := s.ApplyBatch(index, [][]byte{b})
	return res[0]
}

func withID(op *fsmpb.Op, id string) *fsmpb.Op {
	op.RequestId = id
	op.Fingerprint = Fingerprint(op)
	return op
}

// A request id is remembered for a number of log entries, whatever the ops'
// timestamps say: a leader clock (or a client token) eleven minutes ahead
// must not make a retried, acknowledged write fail.
func TestDedupWindowIsCountedInEntriesNotOpTime(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	defer s.Close()
	const minute = uint64(60_000) << 18
	ts := uint64(1_700_000_000_000) << 18
	applyAt(t, s, 1, ts, createOp(1000))
	first := applyAt(t, s, 2, ts+1, withID(insertOp(false, 7), "w")).(*fsmpb.Result)
	// The next entry is stamped eleven minutes later.
	applyAt(t, s, 3, ts+11*minute, &fsmpb.Op{Kind: &fsmpb.Op_TimeTick{TimeTick: &fsmpb.TimeTick{}}})
	got, ok := s.Deduped("w", Fingerprint(insertOp(false, 7)))
	if !ok {
		t.Fatal("request id forgotten one entry later because the entry's ts jumped eleven minutes")
	}
	if got.Ts != first.Ts || got.Inserted != 1 {
		t.Fatalf("dedup answer %v, want the first attempt's %v", got, first)
	}
	// The retry applied again answers the first result, not ALREADY_EXISTS.
	if r := applyAt(t, s, 4, ts+11*minute+1, withID(insertOp(false, 7), "w")).(*fsmpb.Result); r.Code != CodeOK || r.Ts != first.Ts {
		t.Fatalf("retry applied: %v, want the first result", r)
	}
	// It is forgotten DedupWindowEntries entries later, whatever the ts.
	applyAt(t, s, 4+DedupWindowEntries+1, ts+11*minute+2, &fsmpb.Op{Kind: &fsmpb.Op_TimeTick{TimeTick: &fsmpb.TimeTick{}}})
	if _, ok := s.Deduped("w", nil); ok {
		t.Fatal("request id still remembered after the dedup window")
	}
}

// A different op under a used request id is refused, at the leader's check
// and at apply, instead of getting the first op's result.
func TestReusedRequestIDIsRefused(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	defer s.Close()
	ts := uint64(1_700_000_000_000) << 18
	applyAt(t, s, 1, ts, createOp(1000))
	applyAt(t, s, 2, ts+1, withID(insertOp(false, 1), "x"))
	other := withID(deleteOp(1), "x")
	r, ok := s.Deduped("x", other.Fingerprint)
	if !ok || !errors.Is(ResultError(r), ErrInvalid) {
		t.Fatalf("leader check of another op under id x: %v %v, want an invalid-argument refusal", r, ok)
	}
	res := applyAt(t, s, 3, ts+2, other).(*fsmpb.Result)
	if !errors.Is(ResultError(res), ErrInvalid) {
		t.Fatalf("another op under id x applied: %v, want refused", res)
	}
	if st := s.Stats(); st.LiveRows != 1 {
		t.Fatalf("%d live rows, want 1: the refused delete changed something", st.LiveRows)
	}
	// The same op under the same id is still answered.
	if r, ok := s.Deduped("x", Fingerprint(insertOp(false, 1))); !ok || r.Code != CodeOK || r.Inserted != 1 {
		t.Fatalf("retry of the first op: %v %v", r, ok)
	}
}

// No op takes the not-deleted marker as its ts, and the ts never wraps.
func TestTsNeverReachesTheSentinel(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	defer s.Close()
	ts := uint64(1_700_000_000_000) << 18
	applyAt(t, s, 1, ts, createOp(1000))
	applyAt(t, s, 2, ts+1, insertOp(false, 1))
	res := applyAt(t, s, 3, math.MaxUint64, &fsmpb.Op{Kind: &fsmpb.Op_TimeTick{TimeTick: &fsmpb.TimeTick{}}})
	if _, isErr := res.(error); !isErr {
		t.Fatalf("an op at ts MaxUint64 was applied: %v", res)
	}
	if _, applied := s.Applied(); applied != ts+1 {
		t.Fatalf("applied ts %d after the refused op, want %d", applied, ts+1)
	}
	// The next ordinary op gets an ordinary ts and sees the row.
	applyAt(t, s, 4, ts+2, insertOp(false, 2))
	if _, applied := s.Applied(); applied != ts+2 {
		t.Fatalf("applied ts %d, want %d", applied, ts+2)
	}
	if st := s.Stats(); st.LiveRows != 2 {
		t.Fatalf("%d live rows, want 2", st.LiveRows)
	}
}

// At most MaxDedupIDs request ids are remembered; the oldest go first.
func TestDedupRemembersAtMostMaxIDs(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	defer s.Close()
	ts := uint64(1_700_000_000_000) << 18
	applyAt(t, s, 1, ts, createOp(1000))
	s.mu.Lock()
	for i := 0; i < MaxDedupIDs+10; i++ {
		id := fmt.Sprintf("old-%d", i)
		s.dedup[id] = &fsmpb.Result{Index: 1}
		s.dedupAge = append(s.dedupAge, dedupEntry{index: 1, id: id})
	}
	s.mu.Unlock()
	applyAt(t, s, 2, ts+1, withID(insertOp(false, 1), "new"))
	if _, ok := s.Deduped("old-0", nil); ok {
		t.Fatal("the oldest id is still remembered beyond MaxDedupIDs")
	}
	if _, ok := s.Deduped("old-20", nil); !ok {
		t.Fatal("an id within MaxDedupIDs was forgotten")
	}
	if _, ok := s.Deduped("new", nil); !ok {
		t.Fatal("the newest id was forgotten")
	}
}
