package fsm

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/raftvec/raftvec/fsm/fsmpb"
)

func TestPlanCompaction(t *testing.T) {
	p := DefaultCompactionPolicy()
	seg := func(id uint64, sealed bool, rows, deleted int) SegmentUsage {
		return SegmentUsage{ID: id, Sealed: sealed, Rows: rows, Deleted: deleted}
	}
	for _, tc := range []struct {
		name   string
		segs   []SegmentUsage
		manual bool
		want   []uint64
	}{
		{"nothing to do", []SegmentUsage{seg(1, true, 100, 0), seg(2, true, 100, 10), seg(3, false, 5, 0)}, false, nil},
		{"a third deleted", []SegmentUsage{seg(1, true, 100, 30), seg(2, true, 100, 0)}, false, []uint64{1}},
		{"two small ones merge", []SegmentUsage{seg(1, true, 10, 0), seg(2, true, 100, 0), seg(3, true, 20, 0)}, false, []uint64{1, 3}},
		{"one small alone stays", []SegmentUsage{seg(1, true, 10, 0), seg(2, true, 100, 0)}, false, nil},
		{"a small one joins a deleted one", []SegmentUsage{seg(4, true, 10, 0), seg(2, true, 100, 50)}, false, []uint64{2, 4}},
		{"the growing segment is never picked", []SegmentUsage{seg(1, false, 100, 90)}, false, nil},
		{"manual takes any deletes", []SegmentUsage{seg(1, true, 100, 1), seg(2, true, 100, 0)}, true, []uint64{1}},
		{"manual merges full clean segments", []SegmentUsage{seg(1, true, 100, 0), seg(2, true, 100, 0)}, true, []uint64{1, 2}},
		{"manual with one clean segment does nothing", []SegmentUsage{seg(1, true, 100, 0)}, true, nil},
	} {
		if got := PlanCompaction(tc.segs, 100, p, tc.manual); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: plan = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func compactOp(segs ...uint64) *fsmpb.Op {
	return &fsmpb.Op{Kind: &fsmpb.Op_Compact{Compact: &fsmpb.Compact{Segments: segs}}}
}

// Compaction keeps every live row and what reads at or after its ts see,
// refuses older reads, and survives a restart.
func TestCompactionKeepsLiveRows(t *testing.T) {
	dir := t.TempDir()
	f := &feeder{t: t, s: mustOpen(t, dir)}
	f.apply(createOp(10))
	var ids []int64
	for i := int64(1); i <= 35; i++ {
		ids = append(ids, i)
	}
	f.apply(insertOp(false, ids...))
	f.apply(deleteOp(2, 4, 6, 12, 14))
	beforeCompaction := f.ts
	ctx := context.Background()
	state := func(s *Shard) ([]int64, []int64) {
		res, err := s.Search(ctx, SearchRequest{Vectors: []float32{13, 0}, TopK: 8, Ts: f.ts})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, ids, nil, f.ts, nil)
		if err != nil {
			t.Fatal(err)
		}
		return idsOf(res[0]), idsOf(got)
	}
	wantSearch, wantGet := state(f.s)
	r := f.apply(compactOp(1, 2, 99))
	if r.Deleted != 2 {
		t.Fatalf("merged %d segments, want 2 (99 does not exist)", r.Deleted)
	}
	st := f.s.Stats()
	if len(st.Segments) != 3 || st.Segments[1].ID != 5 || !st.Segments[1].Sealed || st.Segments[1].Rows != 15 {
		t.Fatalf("segments after compaction: %+v", st.Segments)
	}
	if s, g := state(f.s); !reflect.DeepEqual(s, wantSearch) || !reflect.DeepEqual(g, wantGet) {
		t.Fatalf("compaction changed reads: search %v→%v, get %v→%v", wantSearch, s, wantGet, g)
	}
	if _, err := f.s.Get(ctx, ids, nil, beforeCompaction, nil); !errors.Is(err, ErrTsTooOld) {
		t.Fatalf("read below the horizon: %v, want ErrTsTooOld", err)
	}
	// Writes go on: upsert a moved row, insert new rows.
	f.apply(insertOp(true, 13))
	f.apply(insertOp(false, 40))
	wantSearch, wantGet = state(f.s)
	digest := f.s.Digest()
	f.s.Close()

	s := mustOpen(t, dir)
	defer s.Close()
	if s.Digest() != digest {
		t.Fatal("digest changed across a restart after compaction")
	}
	if gs, gg := state(s); !reflect.DeepEqual(gs, wantSearch) || !reflect.DeepEqual(gg, wantGet) {
		t.Fatalf("restart after compaction changed reads: search %v→%v, get %v→%v", wantSearch, gs, wantGet, gg)
	}
	if st := s.Stats(); st.LiveRows != 31 {
		t.Fatalf("%d live rows, want 31", st.LiveRows)
	}
}

func idsOf(rows []Row) []int64 {
	out := []int64{}
	for _, r := range rows {
		out = append(out, r.IntPK)
	}
	return out
}
