package fsm

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/raftvec/raftvec/fsm/fsmpb"
)

func mustOpen(t *testing.T, dir string) *Shard {
	t.Helper()
	o := DefaultOptions()
	o.Dir = dir
	o.Fatal = func(err error) { t.Fatalf("fatal: %v", err) }
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// applier feeds ops to a shard as consecutive log entries.
type feeder struct {
	t     *testing.T
	s     *Shard
	index uint64
	ts    uint64
}

func (f *feeder) apply(op *fsmpb.Op) *fsmpb.Result {
	f.t.Helper()
	f.index++
	f.ts += 1 << 18
	op.Ts = f.ts
	b, err := EncodeOp(op)
	if err != nil {
		f.t.Fatal(err)
	}
	res, _ := f.s.ApplyBatch(f.index, [][]byte{b})
	r, _ := res[0].(*fsmpb.Result)
	return r
}

func createOp(sealRows uint32) *fsmpb.Op {
	return &fsmpb.Op{Kind: &fsmpb.Op_CreateCollection{CreateCollection: &fsmpb.CreateCollection{
		Schema: SimpleSchema("c", 2, fsmpb.Metric_L2, false), SealRows: sealRows}}}
}

func insertOp(upsert bool, ids ...int64) *fsmpb.Op {
	var vecs []float32
	for _, id := range ids {
		vecs = append(vecs, float32(id), 0)
	}
	return &fsmpb.Op{Kind: &fsmpb.Op_Insert{Insert: &fsmpb.Insert{Upsert: upsert, Rows: &fsmpb.Rows{IntPks: ids, Vectors: vecs}}}}
}

func deleteOp(ids ...int64) *fsmpb.Op {
	return &fsmpb.Op{Kind: &fsmpb.Op_Delete{Delete: &fsmpb.Delete{IntPks: ids}}}
}

func ids(rows []Row) []int64 {
	var out []int64
	for _, r := range rows {
		out = append(out, r.IntPK)
	}
	return out
}

func TestApplySearchDeleteMVCC(t *testing.T) {
	f := &feeder{t: t, s: mustOpen(t, t.TempDir())}
	defer f.s.Close()
	f.apply(createOp(3))
	f.apply(insertOp(false, 1, 2, 3, 4, 5))
	beforeDelete := f.ts
	if r := f.apply(deleteOp(2, 99)); r.Deleted != 1 {
		t.Fatalf("deleted %d rows, want 1", r.Deleted)
	}
	ctx := context.Background()
	search := func(ts uint64) []int64 {
		res, err := f.s.Search(ctx, SearchRequest{Vectors: []float32{2, 0}, TopK: 2, Ts: ts})
		if err != nil {
			t.Fatal(err)
		}
		return ids(res[0])
	}
	if got := search(beforeDelete); got[0] != 2 {
		t.Fatalf("search before delete = %v, want 2 first", got)
	}
	if got := search(f.ts); got[0] == 2 || got[1] == 2 {
		t.Fatalf("search after delete = %v, still has 2", got)
	}
	// Insert of a live key is refused as a whole; upsert replaces.
	if r := f.apply(insertOp(false, 6, 1)); r.Code != CodeAlreadyExists {
		t.Fatalf("insert of live key: code %d", r.Code)
	}
	if got, _ := f.s.Get(ctx, []int64{6}, nil, f.ts, nil); len(got) != 0 {
		t.Fatal("row 6 of a refused batch is visible")
	}
	beforeUpsert := f.ts
	f.apply(insertOp(true, 1))
	got, _ := f.s.Get(ctx, []int64{1, 2}, nil, beforeUpsert, []string{"vector"})
	if len(got) != 1 || got[0].IntPK != 1 {
		t.Fatalf("get at past ts = %+v", got)
	}
	st := f.s.Stats()
	if len(st.Segments) != 3 || !st.Segments[0].Sealed || st.Segments[0].Rows != 3 {
		t.Fatalf("segments = %+v; want 3-row sealed segments", st.Segments)
	}
	if st.LiveRows != 4 {
		t.Fatalf("live rows = %d, want 4", st.LiveRows)
	}
}

func TestDedupAndRestartSkip(t *testing.T) {
	dir := t.TempDir()
	f := &feeder{t: t, s: mustOpen(t, dir)}
	f.apply(createOp(100))
	op := insertOp(false, 7)
	op.RequestId = "r1"
	r1 := f.apply(op)
	op2 := insertOp(false, 7)
	op2.RequestId = "r1"
	if r2 := f.apply(op2); r2.Code != 0 || r2.Ts != r1.Ts {
		t.Fatalf("retry got %+v, want the first result %+v", r2, r1)
	}
	digest := f.s.Digest()
	f.s.Close()

	s := mustOpen(t, dir)
	defer s.Close()
	if s.Digest() != digest {
		t.Fatal("digest changed across restart")
	}
	// Replay the whole log: every entry is skipped.
	for i := uint64(1); i <= f.index; i++ {
		s.ApplyBatch(i, [][]byte{{0xff}}) // would be corrupt if decoded
	}
	if c := s.Counters(); c.Applied != 0 || c.Skipped != f.index || c.OpenedAt != f.index {
		t.Fatalf("counters %+v, want 0 applied and %d skipped", c, f.index)
	}
}

type memSink struct {
	bytes.Buffer
	cancelled bool
}

func (m *memSink) ID() string    { return "mem" }
func (m *memSink) Cancel() error { m.cancelled = true; return nil }
func (m *memSink) Close() error  { return nil }

var _ raft.SnapshotSink = (*memSink)(nil)

func TestSnapshotRestore(t *testing.T) {
	f := &feeder{t: t, s: mustOpen(t, t.TempDir())}
	defer f.s.Close()
	f.apply(createOp(2))
	f.apply(insertOp(false, 1, 2, 3))
	f.apply(deleteOp(1))
	snap, err := f.s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var sink memSink
	if err := snap.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	data := sink.Bytes()

	other := mustOpen(t, t.TempDir())
	defer other.Close()
	// A truncated or corrupted stream is refused and changes nothing.
	for _, bad := range [][]byte{data[:len(data)-3], flip(data, len(data)/2)} {
		if err := other.Restore(io.NopCloser(bytes.NewReader(bad))); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("restore of a bad stream: %v, want ErrCorrupt", err)
		}
		if other.Schema() != nil {
			t.Fatal("bad restore changed the shard")
		}
	}
	if err := other.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
		t.Fatal(err)
	}
	if other.Digest() != f.s.Digest() {
		t.Fatal("restored digest differs")
	}
	if i, _ := other.Applied(); i != f.index {
		t.Fatalf("restored applied index %d, want %d", i, f.index)
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x40
	return c
}

// A restore waits for snapshots still streaming from the database it
// replaces (a lagging replica can be sent a snapshot while it is taking one
// of its own).
func TestRestoreWaitsForPinnedSnapshot(t *testing.T) {
	f := &feeder{t: t, s: mustOpen(t, t.TempDir())}
	defer f.s.Close()
	f.apply(createOp(10))
	f.apply(insertOp(false, 1, 2))
	var full memSink
	sn, _ := f.s.Snapshot()
	sn.Persist(&full)
	sn.Release()

	pinned, err := f.s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- f.s.Restore(io.NopCloser(bytes.NewReader(full.Bytes()))) }()
	// Give the restore time to get as far as it can: with the pin it stops
	// before touching the database; without it, it would close it.
	time.Sleep(time.Second)
	select {
	case err := <-done:
		t.Fatalf("restore finished (%v) while a snapshot was still pinned", err)
	default:
	}
	persisted := make(chan error, 1)
	var sink memSink
	go func() { persisted <- pinned.Persist(&sink) }()
	select {
	case err := <-persisted:
		if err != nil {
			t.Fatalf("persist of the pinned snapshot: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("persist of the pinned snapshot hangs: its database was closed under it")
	}
	pinned.Release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sink.Bytes(), full.Bytes()) {
		t.Fatal("pinned snapshot streamed different state")
	}
}
