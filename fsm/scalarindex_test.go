package fsm

import (
	"context"
	"fmt"
	"math/rand"
	"reflect"
	"testing"

	"github.com/raftvec/raftvec/fsm/fsmpb"
	"github.com/raftvec/raftvec/search/expr"
)

// Filters answered through scalar indexes on sealed segments return what a
// plain column scan returns, and the indexes are actually used.
func TestScalarIndexMatchesScan(t *testing.T) {
	f := &feeder{t: t, s: mustOpen(t, t.TempDir())}
	defer f.s.Close()
	schema := &fsmpb.Schema{Name: "c", Fields: []*fsmpb.Field{
		{Name: "id", Type: fsmpb.FieldType_INT64, PrimaryKey: true},
		{Name: "vector", Type: fsmpb.FieldType_FLOAT_VECTOR, Dim: 2, Metric: fsmpb.Metric_L2},
		{Name: "cat", Type: fsmpb.FieldType_INT64, Nullable: true},
		{Name: "name", Type: fsmpb.FieldType_VARCHAR, MaxLength: 8},
		{Name: "price", Type: fsmpb.FieldType_DOUBLE},
	}}
	f.apply(&fsmpb.Op{Kind: &fsmpb.Op_CreateCollection{CreateCollection: &fsmpb.CreateCollection{Schema: schema, SealRows: 50}}})
	sc := f.s.Schema()
	rng := rand.New(rand.NewSource(5))
	in := RowsInput{}
	cat, name, price := FieldValues{Name: "cat"}, FieldValues{Name: "name"}, FieldValues{Name: "price"}
	for i := 0; i < 230; i++ {
		in.IntPKs = append(in.IntPKs, int64(i))
		in.Vectors = append(in.Vectors, rng.Float32(), rng.Float32())
		var c *fsmpb.Value
		if rng.Intn(10) > 0 {
			c = &fsmpb.Value{Kind: &fsmpb.Value_Int64{Int64: int64(rng.Intn(20))}}
		}
		cat.Values = append(cat.Values, c)
		name.Values = append(name.Values, &fsmpb.Value{Kind: &fsmpb.Value_Varchar{Varchar: fmt.Sprintf("n%d", rng.Intn(6))}})
		price.Values = append(price.Values, &fsmpb.Value{Kind: &fsmpb.Value_Double{Double: float64(rng.Intn(100))}})
	}
	in.Fields = []FieldValues{cat, name, price}
	rows, err := sc.BuildRows(in, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	f.apply(&fsmpb.Op{Kind: &fsmpb.Op_Insert{Insert: &fsmpb.Insert{Rows: rows}}})
	f.apply(deleteOp(3, 60, 61))
	ctx := context.Background()
	for _, text := range []string{
		"cat == 7", "cat < 5", "cat >= 15", "3 > cat", "cat in [1, 2, 19]", `name == "n2"`, `name in ["n0", "n5"]`,
		"id < 100", "id in [4, 60, 200]", `cat <= 10 and name == "n1"`, `cat > 2 and price < 50`, "cat == 7 and id > 120",
		"cat != 7", "cat == 7 or price < 10", "cat < 5.5", "not (cat == 7)",
	} {
		prog, err := sc.CompileFilter(text)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		got, err := f.s.Query(ctx, QueryRequest{Filter: Filter{Expr: prog}, Ts: f.ts, Limit: MaxQueryRow})
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		// The same filter by a plain scan of every segment.
		var want []int64
		_, views, err := f.s.readViews(f.ts, Filter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range views {
			bits := expr.NewBitset(v.n)
			if err := prog.Eval(v, bits); err != nil {
				t.Fatal(err)
			}
			for r := 0; r < v.n; r++ {
				if bits.Test(r) && v.Visible(uint32(r)) {
					want = append(want, v.intPKs[r])
				}
			}
		}
		if g := idsOf(got); !reflect.DeepEqual(g, append([]int64{}, want...)) {
			t.Fatalf("%s: indexed %v, scan %v", text, g, want)
		}
	}
	used := 0
	for _, g := range f.s.segs {
		g.scalar.mu.Lock()
		used += len(g.scalar.cols)
		g.scalar.mu.Unlock()
	}
	if used == 0 {
		t.Fatal("no scalar index was built: the indexed path was not exercised")
	}
}
