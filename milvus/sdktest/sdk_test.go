package sdktest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

const (
	flowDim   = 8
	flowRows  = 10000
	flowBatch = 2000
)

// flowRow is one row of TestGoSDKFlow's data, kept locally to check what
// the server returns.
type flowRow struct {
	id    int64
	vec   []float32
	age   int32
	price float64
	name  string
	ok    bool
	rank  *int64 // nullable
	metaK string
	metaN int64
	color string // dynamic field
}

func (r flowRow) metaJSON() []byte {
	b, _ := json.Marshal(map[string]any{"k": r.metaK, "n": r.metaN})
	return b
}

var colors = []string{"red", "green", "blue"}

func genFlowRows() []flowRow {
	rng := rand.New(rand.NewPCG(20240601, 7))
	rows := make([]flowRow, flowRows)
	for i := range rows {
		r := flowRow{
			id:    int64(i + 1),
			vec:   make([]float32, flowDim),
			age:   int32(rng.IntN(80)),
			price: float64(rng.IntN(100000)) / 100,
			name:  fmt.Sprintf("name-%05d", i+1),
			ok:    rng.IntN(2) == 0,
			metaK: "w",
			metaN: int64(rng.IntN(10)),
			color: colors[rng.IntN(len(colors))],
		}
		for d := range r.vec {
			r.vec[d] = rng.Float32()
		}
		if rng.IntN(4) == 0 {
			r.metaK = "v"
		}
		if i%5 != 0 {
			v := int64(rng.IntN(1000))
			r.rank = &v
		}
		rows[i] = r
	}
	return rows
}

// insertColumns builds the SDK insert/upsert option for rows.
func flowColumns(coll string, rows []flowRow) *columnsOpt {
	ids := make([]int64, len(rows))
	vecs := make([][]float32, len(rows))
	ages := make([]int32, len(rows))
	prices := make([]float64, len(rows))
	names := make([]string, len(rows))
	oks := make([]bool, len(rows))
	var ranks []int64
	valid := make([]bool, len(rows))
	metas := make([][]byte, len(rows))
	cols := make([]string, len(rows))
	for i, r := range rows {
		ids[i], vecs[i], ages[i], prices[i], names[i], oks[i] = r.id, r.vec, r.age, r.price, r.name, r.ok
		if r.rank != nil {
			ranks = append(ranks, *r.rank)
			valid[i] = true
		}
		metas[i] = r.metaJSON()
		cols[i] = r.color
	}
	rankCol, err := column.NewNullableColumnInt64("rank", ranks, valid)
	return &columnsOpt{opt: milvusclient.NewColumnBasedInsertOption(coll).
		WithInt64Column("id", ids).
		WithFloatVectorColumn("vec", flowDim, vecs).
		WithInt32Column("age", ages).
		WithColumns(column.NewColumnDouble("price", prices)).
		WithVarcharColumn("name", names).
		WithBoolColumn("ok", oks).
		WithColumns(rankCol, column.NewColumnJSONBytes("meta", metas)).
		// Not in the schema: goes to the dynamic field.
		WithVarcharColumn("color", cols), err: err}
}

type columnsOpt struct {
	opt interface {
		milvusclient.InsertOption
		milvusclient.UpsertOption
	}
	err error
}

func l2sq(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return s
}

// checkHitFields checks that the k-th hit (or query row) of rs carries the
// row's values in every output field.
func checkRowFields(t *testing.T, what string, rs milvusclient.ResultSet, k int, r flowRow) {
	t.Helper()
	get := func(name string) column.Column {
		c := rs.GetColumn(name)
		if c == nil {
			var have []string
			for _, f := range rs.Fields {
				have = append(have, f.Name())
			}
			t.Fatalf("%s: output field %q missing from the result (have %v)", what, name, have)
		}
		return c
	}
	if v, err := get("age").GetAsInt64(k); err != nil || v != int64(r.age) {
		t.Fatalf("%s: id %d: age = %v (%v), want %d", what, r.id, v, err, r.age)
	}
	if v, err := get("price").GetAsDouble(k); err != nil || math.Abs(v-r.price) > 1e-9 {
		t.Fatalf("%s: id %d: price = %v (%v), want %v", what, r.id, v, err, r.price)
	}
	if v, err := get("name").GetAsString(k); err != nil || v != r.name {
		t.Fatalf("%s: id %d: name = %q (%v), want %q", what, r.id, v, err, r.name)
	}
	if v, err := get("ok").GetAsBool(k); err != nil || v != r.ok {
		t.Fatalf("%s: id %d: ok = %v (%v), want %v", what, r.id, v, err, r.ok)
	}
	rc := get("rank")
	isNull, err := rc.IsNull(k)
	if err != nil {
		t.Fatalf("%s: id %d: rank IsNull: %v", what, r.id, err)
	}
	if r.rank == nil {
		if !isNull {
			v, _ := rc.Get(k)
			t.Fatalf("%s: id %d: rank = %v, want null", what, r.id, v)
		}
	} else {
		v, err := rc.GetAsInt64(k)
		if isNull || err != nil || v != *r.rank {
			t.Fatalf("%s: id %d: rank = %v (null %v, %v), want %d", what, r.id, v, isNull, err, *r.rank)
		}
	}
	mv, err := get("meta").Get(k)
	if err != nil {
		t.Fatalf("%s: id %d: meta: %v", what, r.id, err)
	}
	mb, _ := mv.([]byte)
	var m struct {
		K string `json:"k"`
		N int64  `json:"n"`
	}
	if err := json.Unmarshal(mb, &m); err != nil || m.K != r.metaK || m.N != r.metaN {
		t.Fatalf("%s: id %d: meta = %s (%v), want %s", what, r.id, mb, err, r.metaJSON())
	}
	if v, err := get("color").GetAsString(k); err != nil || v != r.color {
		t.Fatalf("%s: id %d: dynamic color = %q (%v), want %q", what, r.id, v, err, r.color)
	}
}

var flowOutput = []string{"age", "price", "name", "ok", "rank", "meta", "color"}

func TestGoSDKFlow(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	defer cancel()
	mc := c.sdk(0)
	const coll = "sdkflow"

	schema := entity.NewSchema().WithName(coll).WithDynamicFieldEnabled(true).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true).WithIsAutoID(false)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(flowDim)).
		WithField(entity.NewField().WithName("age").WithDataType(entity.FieldTypeInt32)).
		WithField(entity.NewField().WithName("price").WithDataType(entity.FieldTypeDouble)).
		WithField(entity.NewField().WithName("name").WithDataType(entity.FieldTypeVarChar).WithMaxLength(64)).
		WithField(entity.NewField().WithName("ok").WithDataType(entity.FieldTypeBool)).
		WithField(entity.NewField().WithName("rank").WithDataType(entity.FieldTypeInt64).WithNullable(true)).
		WithField(entity.NewField().WithName("meta").WithDataType(entity.FieldTypeJSON))
	if err := mc.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(coll, schema).WithShardNum(2)); err != nil {
		t.Fatalf("CreateCollection(%s, 2 shards): %v", coll, err)
	}
	if has, err := mc.HasCollection(ctx, milvusclient.NewHasCollectionOption(coll)); err != nil || !has {
		t.Fatalf("HasCollection(%s) after create = %v, %v; want true", coll, has, err)
	}

	// Insert.
	rows := genFlowRows()
	byID := map[int64]flowRow{}
	for _, r := range rows {
		byID[r.id] = r
	}
	for off := 0; off < len(rows); off += flowBatch {
		batch := rows[off : off+flowBatch]
		o := flowColumns(coll, batch)
		if o.err != nil {
			t.Fatalf("building the nullable rank column: %v", o.err)
		}
		res, err := mc.Insert(ctx, o.opt)
		if err != nil {
			t.Fatalf("Insert rows %d..%d: %v", off+1, off+flowBatch, err)
		}
		if res.InsertCount != int64(len(batch)) {
			t.Fatalf("Insert rows %d..%d: InsertCount = %d, want %d", off+1, off+flowBatch, res.InsertCount, len(batch))
		}
		if res.IDs == nil || res.IDs.Len() != len(batch) {
			t.Fatalf("Insert rows %d..%d: %v IDs returned, want %d", off+1, off+flowBatch, res.IDs, len(batch))
		}
		for k := 0; k < res.IDs.Len(); k++ {
			if id, err := res.IDs.GetAsInt64(k); err != nil || id != batch[k].id {
				t.Fatalf("Insert rows %d..%d: IDs[%d] = %d (%v), want %d", off+1, off+flowBatch, k, id, err, batch[k].id)
			}
		}
	}

	// Index and load.
	it, err := mc.CreateIndex(ctx, milvusclient.NewCreateIndexOption(coll, "vec", index.NewHNSWIndex(entity.L2, 16, 64)))
	if err != nil {
		t.Fatalf("CreateIndex(HNSW M=16 efConstruction=64 L2): %v", err)
	}
	actx, acancel := context.WithTimeout(ctx, 40*time.Second)
	if err := it.Await(actx); err != nil {
		acancel()
		t.Fatalf("CreateIndex task Await (DescribeIndex until Finished): %v", err)
	}
	acancel()
	idxNames, err := mc.ListIndexes(ctx, milvusclient.NewListIndexOption(coll))
	if err != nil || len(idxNames) != 1 {
		t.Fatalf("ListIndexes(%s) = %v, %v; want one index", coll, idxNames, err)
	}
	idx, err := mc.DescribeIndex(ctx, milvusclient.NewDescribeIndexOption(coll, idxNames[0]))
	if err != nil {
		t.Fatalf("DescribeIndex(%s, %q): %v", coll, idxNames[0], err)
	}
	if p := idx.Params(); !strings.EqualFold(p["index_type"], "HNSW") || p["metric_type"] != "L2" || idx.State != index.IndexState(commonpb.IndexState_Finished) {
		t.Fatalf("DescribeIndex(%s, %q): params %v, state %v; want index_type HNSW, metric_type L2, state Finished", coll, idxNames[0], p, idx.State)
	} else {
		t.Logf("DescribeIndex(%s, %q): params %v, %d/%d rows indexed", coll, idxNames[0], p, idx.IndexedRows, idx.TotalRows)
	}
	lt, err := mc.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(coll))
	if err != nil {
		t.Fatalf("LoadCollection: %v", err)
	}
	actx, acancel = context.WithTimeout(ctx, 30*time.Second)
	if err := lt.Await(actx); err != nil {
		acancel()
		t.Fatalf("LoadCollection task Await (GetLoadingProgress until 100): %v", err)
	}
	acancel()

	count := func(filter string) int64 {
		t.Helper()
		o := milvusclient.NewQueryOption(coll).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong)
		if filter != "" {
			o = o.WithFilter(filter)
		}
		rs, err := mc.Query(ctx, o)
		if err != nil {
			t.Fatalf("Query count(*) filter %q: %v", filter, err)
		}
		col := rs.GetColumn("count(*)")
		if col == nil || col.Len() != 1 {
			t.Fatalf("Query count(*) filter %q: no single count(*) column in the result (%d fields, result count %d)", filter, len(rs.Fields), rs.ResultCount)
		}
		n, err := col.GetAsInt64(0)
		if err != nil {
			t.Fatalf("Query count(*) filter %q: %v", filter, err)
		}
		return n
	}
	live := func(pred func(flowRow) bool) int64 {
		var n int64
		for _, r := range byID {
			if pred(r) {
				n++
			}
		}
		return n
	}

	// Counts.
	if n := count(""); n != flowRows {
		t.Fatalf("count(*) after inserting %d rows = %d", flowRows, n)
	}
	f1 := `age > 30 and meta["k"] == "v"`
	p1 := func(r flowRow) bool { return r.age > 30 && r.metaK == "v" }
	if n, want := count(f1), live(p1); n != want {
		t.Fatalf("count(*) with filter %s = %d, want %d", f1, n, want)
	}
	f2 := `color == "red" and price < 500.0`
	p2 := func(r flowRow) bool { return r.color == "red" && r.price < 500 }
	if n, want := count(f2), live(p2); n != want {
		t.Fatalf("count(*) with filter %s (dynamic field) = %d, want %d", f2, n, want)
	}

	// Query rows by id with every output field, null rank included.
	{
		ids := []int64{1, 2, 3, 6, 7777}
		rs, err := mc.Query(ctx, milvusclient.NewQueryOption(coll).WithFilter("id in [1, 2, 3, 6, 7777]").
			WithOutputFields(append([]string{"id"}, flowOutput...)...).WithConsistencyLevel(entity.ClStrong))
		if err != nil {
			t.Fatalf("Query id in %v: %v", ids, err)
		}
		if rs.ResultCount != len(ids) {
			t.Fatalf("Query id in %v: %d rows, want %d", ids, rs.ResultCount, len(ids))
		}
		idc := rs.GetColumn("id")
		if idc == nil {
			t.Fatalf("Query id in %v: no id column", ids)
		}
		seen := map[int64]bool{}
		for k := 0; k < rs.ResultCount; k++ {
			id, err := idc.GetAsInt64(k)
			if err != nil {
				t.Fatal(err)
			}
			r, ok := byID[id]
			if !ok || seen[id] {
				t.Fatalf("Query id in %v returned id %d", ids, id)
			}
			seen[id] = true
			checkRowFields(t, "Query id in [...]", rs, k, r)
		}
	}

	// Search: nq 2, topk 10, a filter on a scalar, a JSON key and a
	// dynamic key.
	filter := `age > 30 and meta["k"] == "v" and color == "red"`
	pred := func(r flowRow) bool { return r.age > 30 && r.metaK == "v" && r.color == "red" }
	var queries []flowRow
	for _, r := range rows {
		if pred(r) && len(queries) < 2 {
			queries = append(queries, r)
		}
	}
	search := func(what string, filter string, pred func(flowRow) bool, qs [][]float32, wantTop []int64) []milvusclient.ResultSet {
		t.Helper()
		vecs := make([]entity.Vector, len(qs))
		for i, q := range qs {
			vecs[i] = entity.FloatVector(q)
		}
		o := milvusclient.NewSearchOption(coll, 10, vecs).WithANNSField("vec").WithOutputFields(flowOutput...).
			WithConsistencyLevel(entity.ClStrong)
		if filter != "" {
			o = o.WithFilter(filter)
		}
		res, err := mc.Search(ctx, o)
		if err != nil {
			t.Fatalf("%s: Search filter %q: %v", what, filter, err)
		}
		if len(res) != len(qs) {
			t.Fatalf("%s: Search nq=%d returned %d result sets", what, len(qs), len(res))
		}
		matching := int(live(pred))
		recallHit, recallWant := 0, 0
		for qi, rs := range res {
			if rs.Err != nil {
				t.Fatalf("%s: result set %d: %v", what, qi, rs.Err)
			}
			if want := min(10, matching); rs.ResultCount != want {
				t.Fatalf("%s: result set %d has %d hits, want %d (%d rows match %q)", what, qi, rs.ResultCount, want, matching, filter)
			}
			if rs.IDs == nil || rs.IDs.Len() != rs.ResultCount || len(rs.Scores) != rs.ResultCount {
				t.Fatalf("%s: result set %d: %d hits but ids %v and %d scores", what, qi, rs.ResultCount, rs.IDs, len(rs.Scores))
			}
			seen := map[int64]bool{}
			for k := 0; k < rs.ResultCount; k++ {
				id, err := rs.IDs.GetAsInt64(k)
				if err != nil {
					t.Fatal(err)
				}
				r, ok := byID[id]
				if !ok {
					t.Fatalf("%s: result set %d hit %d: id %d is not a live row", what, qi, k, id)
				}
				if seen[id] {
					t.Fatalf("%s: result set %d: id %d twice", what, qi, id)
				}
				seen[id] = true
				if !pred(r) {
					t.Fatalf("%s: result set %d: id %d does not match %q (age %d, meta %s, color %s)", what, qi, id, filter, r.age, r.metaJSON(), r.color)
				}
				checkRowFields(t, fmt.Sprintf("%s: search hit %d of query %d", what, k, qi), rs, k, r)
				if d := l2sq(qs[qi], r.vec); math.Abs(float64(rs.Scores[k])-d) > 1e-3*(1+d) {
					t.Fatalf("%s: result set %d: id %d has score %v, want its squared L2 distance %v", what, qi, id, rs.Scores[k], d)
				}
				if k > 0 && rs.Scores[k] < rs.Scores[k-1]-1e-6 {
					t.Fatalf("%s: result set %d: L2 scores not ascending: %v", what, qi, rs.Scores)
				}
			}
			if wantTop != nil {
				if id, _ := rs.IDs.GetAsInt64(0); id != wantTop[qi] {
					t.Fatalf("%s: result set %d: top hit %d, want %d (the query is that row's own vector)", what, qi, id, wantTop[qi])
				}
			}
			// Recall against brute force over the matching rows.
			var cand []flowRow
			for _, r := range byID {
				if pred(r) {
					cand = append(cand, r)
				}
			}
			sort.Slice(cand, func(a, b int) bool {
				da, db := l2sq(qs[qi], cand[a].vec), l2sq(qs[qi], cand[b].vec)
				if da != db {
					return da < db
				}
				return cand[a].id < cand[b].id
			})
			for _, r := range cand[:min(10, len(cand))] {
				recallWant++
				if seen[r.id] {
					recallHit++
				}
			}
		}
		if recallWant > 0 && float64(recallHit) < 0.8*float64(recallWant) {
			t.Fatalf("%s: recall %d/%d against brute force is below 0.8", what, recallHit, recallWant)
		}
		t.Logf("%s: filter %q, %d matching rows, recall %d/%d", what, filter, matching, recallHit, recallWant)
		return res
	}
	search("initial search", filter, pred, [][]float32{queries[0].vec, queries[1].vec}, []int64{queries[0].id, queries[1].id})

	// Upsert ids 1..100 with changed values.
	var ups []flowRow
	for id := int64(1); id <= 100; id++ {
		r := byID[id]
		r.age = 99
		r.name = fmt.Sprintf("upserted-%d", id)
		r.price += 1000
		r.ok = !r.ok
		r.metaK, r.metaN = "u", -1
		r.color = "purple"
		v := id * 3
		r.rank = &v
		nv := make([]float32, flowDim)
		for d := range nv {
			nv[d] = r.vec[d] + 2
		}
		r.vec = nv
		ups = append(ups, r)
	}
	uo := flowColumns(coll, ups)
	ur, err := mc.Upsert(ctx, uo.opt)
	if err != nil {
		t.Fatalf("Upsert ids 1..100: %v", err)
	}
	if ur.UpsertCount != int64(len(ups)) {
		t.Fatalf("Upsert ids 1..100: UpsertCount = %d, want %d", ur.UpsertCount, len(ups))
	}
	for _, r := range ups {
		byID[r.id] = r
	}

	// Delete by id list, then by a scalar expression.
	var delIDs []string
	for id := int64(101); id <= 150; id++ {
		delIDs = append(delIDs, fmt.Sprint(id))
		delete(byID, id)
	}
	delExpr := "id in [" + strings.Join(delIDs, ", ") + "]"
	dr, err := mc.Delete(ctx, milvusclient.NewDeleteOption(coll).WithExpr(delExpr))
	if err != nil {
		t.Fatalf("Delete %s: %v", delExpr, err)
	}
	if dr.DeleteCount != 50 {
		t.Fatalf("Delete id in [101..150]: DeleteCount = %d, want 50", dr.DeleteCount)
	}
	var young []int64
	for id, r := range byID {
		if r.age < 20 {
			young = append(young, id)
		}
	}
	for _, id := range young {
		delete(byID, id)
	}
	dr, err = mc.Delete(ctx, milvusclient.NewDeleteOption(coll).WithExpr("age < 20"))
	if err != nil {
		t.Fatalf("Delete age < 20: %v", err)
	}
	if dr.DeleteCount != int64(len(young)) {
		t.Fatalf("Delete age < 20: DeleteCount = %d, want %d (the live rows with age < 20)", dr.DeleteCount, len(young))
	}

	// Strong reads see all of it at once.
	if n, want := count(""), int64(len(byID)); n != want {
		t.Fatalf("count(*) (Strong) after upsert and deletes = %d, want %d", n, want)
	}
	if n := count("age < 20"); n != 0 {
		t.Fatalf("count(*) age < 20 (Strong) after deleting them = %d, want 0", n)
	}
	if n := count(delExpr); n != 0 {
		t.Fatalf("count(*) id in [101..150] (Strong) after deleting them = %d, want 0", n)
	}
	if n, want := count(f1), live(p1); n != want {
		t.Fatalf("count(*) with filter %s after the changes = %d, want %d", f1, n, want)
	}
	{
		rs, err := mc.Query(ctx, milvusclient.NewQueryOption(coll).WithFilter(delExpr+" or age < 20").
			WithOutputFields("id").WithConsistencyLevel(entity.ClStrong).WithLimit(100))
		if err != nil {
			t.Fatalf("Query deleted rows: %v", err)
		}
		if rs.ResultCount != 0 {
			t.Fatalf("Query %s or age < 20 (Strong) right after deleting them returned %d rows", delExpr, rs.ResultCount)
		}
	}
	{
		rs, err := mc.Query(ctx, milvusclient.NewQueryOption(coll).WithFilter("id <= 100").
			WithOutputFields(append([]string{"id"}, flowOutput...)...).WithConsistencyLevel(entity.ClStrong))
		if err != nil {
			t.Fatalf("Query upserted rows: %v", err)
		}
		if rs.ResultCount != 100 {
			t.Fatalf("Query id <= 100 (Strong) after upsert: %d rows, want 100", rs.ResultCount)
		}
		idc := rs.GetColumn("id")
		for k := 0; k < rs.ResultCount; k++ {
			id, err := idc.GetAsInt64(k)
			if err != nil {
				t.Fatal(err)
			}
			checkRowFields(t, "Query id <= 100 after upsert", rs, k, byID[id])
		}
	}
	if n := count(`color == "purple"`); n != 100 {
		t.Fatalf(`count(*) color == "purple" (dynamic, upserted) = %d, want 100`, n)
	}
	purple := func(r flowRow) bool { return r.color == "purple" }
	search("search after upsert", `color == "purple"`, purple, [][]float32{byID[5].vec, byID[42].vec}, []int64{5, 42})
	// Unfiltered search near deleted rows: none of them comes back.
	var nearDeleted [][]float32
	for _, r := range rows {
		if r.id >= 101 && r.id <= 150 {
			nearDeleted = append(nearDeleted, r.vec)
			if len(nearDeleted) == 2 {
				break
			}
		}
	}
	search("search near deleted rows", "", func(flowRow) bool { return true }, nearDeleted, nil)
	search("filtered search after changes", filter, pred, [][]float32{queries[0].vec, queries[1].vec}, nil)

	// DescribeCollection.
	desc, err := mc.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(coll))
	if err != nil {
		t.Fatalf("DescribeCollection: %v", err)
	}
	if desc.Name != coll || desc.Schema == nil {
		t.Fatalf("DescribeCollection: name %q, schema %v", desc.Name, desc.Schema)
	}
	if !desc.Schema.EnableDynamicField {
		t.Fatalf("DescribeCollection: enable_dynamic_field is false")
	}
	if desc.ShardNum != 2 {
		t.Fatalf("DescribeCollection: shards_num = %d, want 2", desc.ShardNum)
	}
	want := []struct {
		name     string
		typ      entity.FieldType
		pk       bool
		nullable bool
		param    string
		value    string
	}{
		{"id", entity.FieldTypeInt64, true, false, "", ""},
		{"vec", entity.FieldTypeFloatVector, false, false, entity.TypeParamDim, "8"},
		{"age", entity.FieldTypeInt32, false, false, "", ""},
		{"price", entity.FieldTypeDouble, false, false, "", ""},
		{"name", entity.FieldTypeVarChar, false, false, entity.TypeParamMaxLength, "64"},
		{"ok", entity.FieldTypeBool, false, false, "", ""},
		{"rank", entity.FieldTypeInt64, false, true, "", ""},
		{"meta", entity.FieldTypeJSON, false, false, "", ""},
	}
	fields := map[string]*entity.Field{}
	var names []string
	for _, f := range desc.Schema.Fields {
		fields[f.Name] = f
		names = append(names, fmt.Sprintf("%s:%v", f.Name, f.DataType))
	}
	for _, w := range want {
		f, ok := fields[w.name]
		if !ok {
			t.Fatalf("DescribeCollection: field %q missing (fields %v)", w.name, names)
		}
		if f.DataType != w.typ || f.PrimaryKey != w.pk || f.Nullable != w.nullable || f.AutoID {
			t.Fatalf("DescribeCollection: field %q is %v pk=%v nullable=%v auto_id=%v, want %v pk=%v nullable=%v auto_id=false",
				w.name, f.DataType, f.PrimaryKey, f.Nullable, f.AutoID, w.typ, w.pk, w.nullable)
		}
		if w.param != "" && f.TypeParams[w.param] != w.value {
			t.Fatalf("DescribeCollection: field %q type params %v, want %s=%s", w.name, f.TypeParams, w.param, w.value)
		}
	}
	for _, f := range desc.Schema.Fields {
		if f.IsDynamic {
			continue
		}
		found := false
		for _, w := range want {
			found = found || w.name == f.Name
		}
		if !found {
			t.Fatalf("DescribeCollection: unexpected field %q (%v); fields %v", f.Name, f.DataType, names)
		}
	}

	// Drop.
	if err := mc.DropCollection(ctx, milvusclient.NewDropCollectionOption(coll)); err != nil {
		t.Fatalf("DropCollection: %v", err)
	}
	if has, err := mc.HasCollection(ctx, milvusclient.NewHasCollectionOption(coll)); err != nil || has {
		t.Fatalf("HasCollection(%s) after drop = %v, %v; want false, nil (DescribeCollection must answer CollectionNotFound)", coll, has, err)
	}
	names2, err := mc.ListCollections(ctx, milvusclient.NewListCollectionOption())
	if err != nil {
		t.Fatalf("ListCollections after drop: %v", err)
	}
	for _, n := range names2 {
		if n == coll {
			t.Fatalf("ListCollections after drop still lists %s", coll)
		}
	}
}
