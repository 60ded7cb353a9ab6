package fsm

import (
	"context"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/raftvec/raftvec/fsm/fsmpb"
	"github.com/raftvec/raftvec/index"
)

func mustBuilder(t *testing.T) index.Builder {
	t.Helper()
	b, err := index.NewCPUBuilder(index.BuildOptions{Threads: 1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func runJobs(t *testing.T, s *Shard) int {
	t.Helper()
	jobs := s.IndexJobs()
	for _, j := range jobs {
		if err := j.Run(context.Background(), mustBuilder(t)); err != nil {
			t.Fatal(err)
		}
	}
	return len(jobs)
}

func createIndexOp(typ string) *fsmpb.Op {
	return &fsmpb.Op{Kind: &fsmpb.Op_CreateIndex{CreateIndex: &fsmpb.CreateIndex{Spec: &fsmpb.IndexSpec{Type: typ, M: 8, EfConstruction: 32}}}}
}

// Indexes are built for sealed segments only, survive a restart without a
// rebuild, and a corrupt blob is rebuilt rather than half-loaded.
func TestIndexesPersistAndCorruptBlobsAreRebuilt(t *testing.T) {
	dir := t.TempDir()
	f := &feeder{t: t, s: mustOpen(t, dir)}
	f.apply(createOp(10))
	var ids []int64
	for i := int64(1); i <= 35; i++ {
		ids = append(ids, i)
	}
	f.apply(insertOp(false, ids...))
	f.apply(createIndexOp("HNSW"))
	if n := runJobs(t, f.s); n != 3 {
		t.Fatalf("%d index jobs for 3 sealed segments", n)
	}
	if sealed, indexed := f.s.IndexProgress(); sealed != 3 || indexed != 3 {
		t.Fatalf("progress %d/%d, want 3/3", indexed, sealed)
	}
	search := func(s *Shard) int64 {
		res, err := s.Search(context.Background(), SearchRequest{Vectors: []float32{17, 0}, TopK: 1, Ts: f.ts})
		if err != nil {
			t.Fatal(err)
		}
		return res[0][0].IntPK
	}
	if got := search(f.s); got != 17 {
		t.Fatalf("search through the indexes found %d, want 17", got)
	}
	// A delete after the build is honoured without rebuilding (MVCC).
	f.apply(deleteOp(17))
	if got := search(f.s); got == 17 {
		t.Fatal("the index returned a row deleted after it was built")
	}
	f.s.Close()

	s := mustOpen(t, dir)
	if c := s.IndexCounters(); c.Loaded != 3 || c.Built != 0 || c.Corrupt != 0 {
		t.Fatalf("after restart counters %+v; want 3 loaded, none built", c)
	}
	if n := len(s.IndexJobs()); n != 0 {
		t.Fatalf("%d segments would be rebuilt after a restart", n)
	}
	s.Close()

	// Corrupt the blob of segment 2 behind the shard's back.
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(indexBlobKey(2))
		if err != nil {
			return err
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		v[len(v)/2] ^= 0xff
		return txn.Set(indexBlobKey(2), v)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, dir)
	defer s.Close()
	if c := s.IndexCounters(); c.Loaded != 2 || c.Corrupt != 1 {
		t.Fatalf("after corruption counters %+v; want 2 loaded and 1 corrupt", c)
	}
	if _, indexed := s.IndexProgress(); indexed != 2 {
		t.Fatalf("%d segments indexed; the corrupt one must not be loaded", indexed)
	}
	if n := runJobs(t, s); n != 1 {
		t.Fatalf("%d rebuilds, want 1", n)
	}
	if c := s.IndexCounters(); c.Built != 1 {
		t.Fatalf("counters %+v after rebuild", c)
	}
}

// A new spec replaces the old indexes; dropping the index returns the
// segments to exact search.
func TestIndexSpecChangeAndDrop(t *testing.T) {
	f := &feeder{t: t, s: mustOpen(t, t.TempDir())}
	defer f.s.Close()
	f.apply(createOp(10))
	f.apply(insertOp(false, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11))
	f.apply(createIndexOp("HNSW"))
	runJobs(t, f.s)
	f.apply(createIndexOp("IVF_FLAT"))
	if _, indexed := f.s.IndexProgress(); indexed != 0 {
		t.Fatal("indexes of the old spec survived a spec change")
	}
	if n := runJobs(t, f.s); n != 1 {
		t.Fatalf("%d builds under the new spec, want 1", n)
	}
	f.apply(&fsmpb.Op{Kind: &fsmpb.Op_DropIndex{DropIndex: &fsmpb.DropIndex{}}})
	if _, indexed := f.s.IndexProgress(); indexed != 0 || f.s.IndexSpec() != nil || len(f.s.IndexJobs()) != 0 {
		t.Fatal("drop index left an index behind")
	}
}

// IVF_PQ through the shard: a pq_m that does not divide dim is refused
// before proposing, naming the field and the limit; the default pq_m is
// resolved from the collection's dim the same way when building and when
// loading, so a restart loads the blobs instead of rebuilding them.
func TestIVFPQIndexSpecAndReload(t *testing.T) {
	dir := t.TempDir()
	f := &feeder{t: t, s: mustOpen(t, dir)}
	f.apply(createOp(10))
	sc := f.s.Schema()
	bad := &fsmpb.IndexSpec{Type: "IVF_PQ", Nlist: 2, PqM: 3}
	if err := sc.ValidateIndexSpec(bad); err == nil || !strings.Contains(err.Error(), "pq_m (3) must divide dim (2) and be at most 2") {
		t.Fatalf("pq_m 3 at dim 2: err %v", err)
	}
	if err := sc.ValidateIndexSpec(&fsmpb.IndexSpec{Type: "IVF_PQ", PqM: 2000}); err == nil || !strings.Contains(err.Error(), "pq_m (2000) must be between 1 and 1024") {
		t.Fatalf("pq_m 2000: err %v", err)
	}
	good := &fsmpb.IndexSpec{Type: "IVF_PQ", Nlist: 2}
	if err := sc.ValidateIndexSpec(good); err != nil {
		t.Fatal(err)
	}
	spec, err := IndexSpecFromProto(good, sc.Metric, sc.Dim)
	if err != nil || spec.Type != index.TypeIVFPQ || spec.Params.PQM != index.DefaultPQM(2) {
		t.Fatalf("spec %+v, %v; want IVF_PQ with pq_m %d", spec, err, index.DefaultPQM(2))
	}
	var ids []int64
	for i := int64(1); i <= 35; i++ {
		ids = append(ids, i)
	}
	f.apply(insertOp(false, ids...))
	f.apply(&fsmpb.Op{Kind: &fsmpb.Op_CreateIndex{CreateIndex: &fsmpb.CreateIndex{Spec: good}}})
	if n := runJobs(t, f.s); n != 3 {
		t.Fatalf("%d IVF_PQ jobs for 3 sealed segments", n)
	}
	res, err := f.s.Search(context.Background(), SearchRequest{Vectors: []float32{17, 0}, TopK: 1, Ts: f.ts})
	if err != nil || res[0][0].IntPK != 17 {
		t.Fatalf("search through IVF_PQ: %v, %v; want 17", res, err)
	}
	f.s.Close()
	s := mustOpen(t, dir)
	defer s.Close()
	if c := s.IndexCounters(); c.Loaded != 3 || c.Built != 0 || c.Corrupt != 0 {
		t.Fatalf("after restart counters %+v; want 3 loaded, none built", c)
	}
}
