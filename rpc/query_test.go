package rpc_test

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/shard"
)

// scalarSchema: id, vector (dim 4, L2), cat int64, price double, category
// varchar, meta json (nullable).
func scalarSchema(name string) *pb.CollectionSchema {
	return &pb.CollectionSchema{Name: name, Fields: []*pb.FieldSchema{
		{Name: "id", Type: pb.FieldType_INT64, PrimaryKey: true},
		{Name: "vector", Type: pb.FieldType_FLOAT_VECTOR, Dim: dim, Metric: pb.Metric_L2},
		{Name: "cat", Type: pb.FieldType_INT64},
		{Name: "price", Type: pb.FieldType_DOUBLE},
		{Name: "category", Type: pb.FieldType_VARCHAR, MaxLength: 32},
		{Name: "meta", Type: pb.FieldType_JSON, Nullable: true},
	}}
}

type scalarRow struct {
	id       int64
	vec      []float32
	cat      int64
	price    float64
	category string
}

func scalarRows(rng *rand.Rand, from, n int) ([]scalarRow, *pb.Rows) {
	var rows []scalarRow
	pbr := &pb.Rows{}
	cols := map[string]*pb.FieldColumn{"cat": {Name: "cat"}, "price": {Name: "price"}, "category": {Name: "category"}, "meta": {Name: "meta"}}
	for i := 0; i < n; i++ {
		r := scalarRow{id: int64(from + i), cat: int64((from + i) % 100), price: float64(rng.Intn(100)), category: []string{"a", "b", "c"}[rng.Intn(3)]}
		for d := 0; d < dim; d++ {
			r.vec = append(r.vec, rng.Float32())
		}
		rows = append(rows, r)
		pbr.IntIds = append(pbr.IntIds, r.id)
		pbr.Vectors = append(pbr.Vectors, r.vec...)
		cols["cat"].Values = append(cols["cat"].Values, &pb.Value{Kind: &pb.Value_Int64{Int64: r.cat}})
		cols["price"].Values = append(cols["price"].Values, &pb.Value{Kind: &pb.Value_Double{Double: r.price}})
		cols["category"].Values = append(cols["category"].Values, &pb.Value{Kind: &pb.Value_Varchar{Varchar: r.category}})
		meta := &pb.Value{Kind: &pb.Value_Json{Json: []byte(fmt.Sprintf(`{"color":%q}`, []string{"red", "blue"}[i%2]))}}
		if i%5 == 0 {
			meta = &pb.Value{} // null
		}
		cols["meta"].Values = append(cols["meta"].Values, meta)
	}
	for _, k := range []string{"cat", "price", "category", "meta"} {
		pbr.Fields = append(pbr.Fields, cols[k])
	}
	return rows, pbr
}

func l2(a, b []float32) float32 {
	var s float32
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return s
}

func mustScalarCollection(t *testing.T, c *testCluster, name string, n int) []scalarRow {
	t.Helper()
	ctx := ctxT(t, 60*time.Second)
	cl := c.client()
	if err := cl.CreateCollection(ctx, &pb.CreateCollectionRequest{Schema: scalarSchema(name), Shards: 1}); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(11))
	var all []scalarRow
	for b := 0; b < n; b += 500 {
		rows, pbr := scalarRows(rng, b, min(500, n-b))
		if _, err := cl.Insert(ctx, &pb.InsertRequest{Collection: name, Rows: pbr}); err != nil {
			t.Fatal(err)
		}
		all = append(all, rows...)
	}
	return all
}

// A filter that passes 1% of rows still fills top_k, with exactly the
// rows a brute-force search over the passing rows finds.
func TestFilteredSearchFillsTopK(t *testing.T) {
	c := mustCluster(t, 3, func(hc *shard.HostConfig) { hc.SealRows = 400 })
	rows := mustScalarCollection(t, c, "fs", 3000)
	ctx := ctxT(t, 30*time.Second)
	cl := c.client()
	q := []float32{0.5, 0.5, 0.5, 0.5}
	res, err := cl.Search(ctx, &pb.SearchRequest{Collection: "fs", Vectors: q, TopK: 10, Filter: "cat == 7", OutputFields: []string{"cat"}})
	if err != nil {
		t.Fatal(err)
	}
	var pass []scalarRow
	for _, r := range rows {
		if r.cat == 7 {
			pass = append(pass, r)
		}
	}
	sort.Slice(pass, func(i, j int) bool {
		di, dj := l2(q, pass[i].vec), l2(q, pass[j].vec)
		return di < dj || (di == dj && pass[i].id < pass[j].id)
	})
	hits := res.Results[0].Hits
	if len(hits) != 10 {
		t.Fatalf("filtered search returned %d hits, want top_k 10 (30 rows pass)", len(hits))
	}
	for i, h := range hits {
		if h.IntId != pass[i].id {
			t.Fatalf("hit %d = %d, want %d (exact oracle)", i, h.IntId, pass[i].id)
		}
		if h.Fields[0].GetInt64() != 7 {
			t.Fatalf("hit %d has cat %d", i, h.Fields[0].GetInt64())
		}
	}
	// A bad expression says where and what.
	_, err = cl.Search(ctx, &pb.SearchRequest{Collection: "fs", Vectors: q, TopK: 10, Filter: "cat == "})
	if err == nil || !strings.Contains(err.Error(), "position") {
		t.Fatalf("bad filter: %v", err)
	}
	_, err = cl.Search(ctx, &pb.SearchRequest{Collection: "fs", Vectors: q, TopK: 10, Filter: `price == "x"`})
	if err == nil || !strings.Contains(err.Error(), "price") {
		t.Fatalf("ill-typed filter: %v", err)
	}
}

// Delete by expression removes exactly what a query of the same
// expression returns.
func TestDeleteByExpressionMatchesQuery(t *testing.T) {
	c := mustCluster(t, 3, func(hc *shard.HostConfig) { hc.SealRows = 300 })
	mustScalarCollection(t, c, "de", 1000)
	ctx := ctxT(t, 30*time.Second)
	cl := c.client()
	const filter = `price < 30 and category in ["a", "b"] and meta["color"] == "red"`
	q, err := cl.Query(ctx, &pb.QueryRequest{Collection: "de", Filter: filter})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Rows.IntIds) == 0 {
		t.Fatal("the expression matches nothing; the test shows nothing")
	}
	d, err := cl.Delete(ctx, &pb.DeleteRequest{Collection: "de", Filter: filter})
	if err != nil {
		t.Fatal(err)
	}
	if int(d.Deleted) != len(q.Rows.IntIds) {
		t.Fatalf("delete by expression removed %d rows; the query returned %d", d.Deleted, len(q.Rows.IntIds))
	}
	after, err := cl.Query(ctx, &pb.QueryRequest{Collection: "de", Filter: filter})
	if err != nil || len(after.Rows.IntIds) != 0 {
		t.Fatalf("after delete the query returns %d rows (%v)", len(after.GetRows().GetIntIds()), err)
	}
	got, _ := cl.Get(ctx, &pb.GetRequest{Collection: "de", IntIds: q.Rows.IntIds})
	if len(got.Rows.IntIds) != 0 {
		t.Fatal("deleted rows are still found by id")
	}
	rest, _ := cl.Query(ctx, &pb.QueryRequest{Collection: "de", Filter: "id >= 0"})
	if len(rest.Rows.IntIds)+int(d.Deleted) != 1000 {
		t.Fatalf("%d rows left + %d deleted != 1000", len(rest.Rows.IntIds), d.Deleted)
	}
}

// Compaction leaves search results and counts unchanged and every replica
// with the same segments.
func TestCompactionKeepsResultsAndReplicasAlike(t *testing.T) {
	c := mustCluster(t, 3, func(hc *shard.HostConfig) { hc.SealRows = 100; hc.CompactInterval = 0 })
	rows := mustScalarCollection(t, c, "cp", 600)
	ctx := ctxT(t, 30*time.Second)
	cl := c.client()
	var del []int64
	for _, r := range rows[:300] {
		if r.id%3 != 0 {
			del = append(del, r.id)
		}
	}
	if _, err := cl.Delete(ctx, &pb.DeleteRequest{Collection: "cp", IntIds: del}); err != nil {
		t.Fatal(err)
	}
	snapshot := func() string {
		var b strings.Builder
		for i := 0; i < 5; i++ {
			res, err := cl.Search(ctx, &pb.SearchRequest{Collection: "cp", Vectors: rows[i*50].vec, TopK: 10})
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range res.Results[0].Hits {
				fmt.Fprintf(&b, "%d:%g ", h.IntId, h.Score)
			}
		}
		q, err := cl.Query(ctx, &pb.QueryRequest{Collection: "cp", Filter: "id >= 0"})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "rows=%d", len(q.Rows.IntIds))
		return b.String()
	}
	before := snapshot()
	merged, err := cl.Compact(ctx, "cp")
	if err != nil {
		t.Fatal(err)
	}
	if merged < 3 {
		t.Fatalf("compaction merged %d segments; three had deletes", merged)
	}
	if after := snapshot(); after != before {
		t.Fatalf("compaction changed results:\n before %s\n after  %s", before, after)
	}
	digests := c.converge("cp")
	for _, d := range digests {
		if d != digests[0] {
			t.Fatal("replicas differ after compaction")
		}
	}
	if st := c.replicas("cp")[0].FSM().Stats(); len(st.Segments) >= 7 {
		t.Fatalf("still %d segments after compaction", len(st.Segments))
	}
}

// Partitions: inserts go to one, reads can be limited to some, dropping
// one deletes its rows.
func TestPartitions(t *testing.T) {
	c := mustCluster(t, 3, nil)
	mustCreate(t, c, "pt")
	ctx := ctxT(t, 30*time.Second)
	cl := c.client()
	if err := cl.CreatePartition(ctx, "pt", "p1"); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "pt", Rows: vecRows([]int64{1, 2}, dim), PartitionName: "p1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "pt", Rows: vecRows([]int64{3, 4}, dim)}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "pt", Rows: vecRows([]int64{5}, dim), PartitionName: "nope"}); err == nil {
		t.Fatal("insert into an unknown partition succeeded")
	}
	res, err := cl.Search(ctx, &pb.SearchRequest{Collection: "pt", Vectors: vecRows([]int64{4}, dim).Vectors, TopK: 4, PartitionNames: []string{"p1"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range res.Results[0].Hits {
		if h.IntId > 2 {
			t.Fatalf("search limited to p1 returned %d", h.IntId)
		}
	}
	names, _ := cl.ListPartitions(ctx, "pt")
	if strings.Join(names, ",") != "_default,p1" {
		t.Fatalf("partitions %v", names)
	}
	if err := cl.DropPartition(ctx, "pt", "p1"); err != nil {
		t.Fatal(err)
	}
	got, _ := cl.Get(ctx, &pb.GetRequest{Collection: "pt", IntIds: []int64{1, 2, 3, 4}})
	if fmt.Sprint(got.Rows.IntIds) != "[3 4]" {
		t.Fatalf("after dropping p1 rows %v remain", got.Rows.IntIds)
	}
	if err := cl.DropPartition(ctx, "pt", "_default"); err == nil {
		t.Fatal("the default partition was dropped")
	}
}

// Range search returns only hits inside the range.
func TestRangeSearch(t *testing.T) {
	c := mustCluster(t, 3, nil)
	mustCreate(t, c, "rs")
	mustInsert(t, c, "rs", seq(0, 50))
	ctx := ctxT(t, 20*time.Second)
	radius, rangeFilter := float32(40), float32(5)
	res, err := c.client().Search(ctx, &pb.SearchRequest{Collection: "rs", Vectors: vecRows([]int64{10}, dim).Vectors, TopK: 50,
		Radius: &radius, RangeFilter: &rangeFilter})
	if err != nil {
		t.Fatal(err)
	}
	hits := res.Results[0].Hits
	// Rows are [id, id+.1, id+.2, id+.3]: the distance to row 10 is 4*(id-10)^2.
	// 5 <= d < 40 keeps |id-10| in {2, 3}: four rows.
	if len(hits) != 4 {
		t.Fatalf("range search returned %d hits: %v", len(hits), hits)
	}
	for _, h := range hits {
		if h.Score < rangeFilter || h.Score >= radius {
			t.Fatalf("hit %d with distance %v is outside [%v, %v)", h.IntId, h.Score, rangeFilter, radius)
		}
	}
}
