package expr

import (
	"fmt"
	"math/rand"
	"testing"
)

const benchRows = 1 << 20

// benchTable has 1M rows: age uniform in [0, 100) with 10% nulls, name one
// of 1000 product names, meta a small JSON object.
func benchTable(b *testing.B) *table {
	b.Helper()
	rng := rand.New(rand.NewSource(1))
	tb := newTable(benchRows)
	ages := make([]int64, benchRows)
	nulls := NewBitset(benchRows)
	names := make([]string, benchRows)
	for i := range ages {
		ages[i] = int64(rng.Intn(100))
		if rng.Intn(10) == 0 {
			nulls.Set(i)
		}
		names[i] = fmt.Sprintf("product-%03d-%s", rng.Intn(1000), []string{"red", "blue", "green"}[rng.Intn(3)])
	}
	tb.cols["age"] = ages
	tb.nulls["age"] = nulls
	tb.cols["name"] = names
	return tb
}

func benchEval(b *testing.B, src string, tb *table) {
	p, err := Compile(src, testSchema)
	if err != nil {
		b.Fatal(err)
	}
	var out Bitset
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := p.Eval(tb, &out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchRows, "ns/row")
	b.ReportMetric(float64(out.Count())/benchRows*100, "%pass")
}

func BenchmarkEvalIntCompare(b *testing.B) { benchEval(b, `age < 30`, benchTable(b)) }

func BenchmarkEvalIntRange(b *testing.B) { benchEval(b, `age >= 20 and age < 30`, benchTable(b)) }

func BenchmarkEvalIntIn(b *testing.B) { benchEval(b, `age in [1, 7, 42, 99]`, benchTable(b)) }

func BenchmarkEvalLikePrefix(b *testing.B) { benchEval(b, `name like "product-1%"`, benchTable(b)) }

func BenchmarkEvalLikeInfix(b *testing.B) { benchEval(b, `name like "%-42%"`, benchTable(b)) }

func BenchmarkEvalLikeGeneral(b *testing.B) {
	benchEval(b, `name like "product-_2_-%e%"`, benchTable(b))
}

func BenchmarkEvalJSON(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	const n = 1 << 16
	tb := newTable(n)
	metas := make([][]byte, n)
	for i := range metas {
		metas[i] = fmt.Appendf(nil, `{"color":%q,"size":%d,"tags":["a","b"]}`, []string{"red", "blue", "green"}[rng.Intn(3)], rng.Intn(100))
	}
	tb.cols["meta"] = metas
	p, err := Compile(`meta["color"] == "red" and meta["size"] < 50`, testSchema)
	if err != nil {
		b.Fatal(err)
	}
	var out Bitset
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Eval(tb, &out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/row")
}

func BenchmarkCompile(b *testing.B) {
	const src = `age > 18 and price < 100.5 and name like "a%" and meta["color"] in ["red", "blue"] or id in [1, 2, 3]`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(src, testSchema); err != nil {
			b.Fatal(err)
		}
	}
}
