package main

import (
	"io"
	"math"
	"strings"
	"testing"
)

const sample = `go: some noise
raftvec build_threads=2 build_s=10.000
raftvec graph_bytes_per_vector=141.4
raftvec ef=10 recall@10=0.9300 qps=20000
raftvec ef=20 recall@10=0.9800 qps=13000
raftvec ef=40 recall@10=0.9940 qps=8000
raftvec ef=80 recall@10=0.9980 qps=5000
raftvec ef=160 recall@10=0.9990 qps=3000
hnswlib build_threads=2 build_s=15.000
hnswlib graph_bytes_per_vector=144.4
hnswlib ef=10 recall@10=0.9300 qps=19000
hnswlib ef=20 recall@10=0.9800 qps=12000
hnswlib ef=40 recall@10=0.9940 qps=7000
hnswlib ef=80 recall@10=0.9980 qps=4000
hnswlib ef=160 recall@10=0.9990 qps=3100
hnswlib build_threads=2 build_s=13.000
hnswlib graph_bytes_per_vector=144.4
hnswlib ef=10 recall@10=0.9300 qps=21000
raftvec build_threads=2 build_s=11.000
raftvec graph_bytes_per_vector=141.4
raftvec ef=10 recall@10=0.9300 qps=18000
`

func TestParseAndCompare(t *testing.T) {
	runs := parseProgLines(strings.NewReader(sample), io.Discard)
	if len(runs["raftvec"]) != 2 || len(runs["hnswlib"]) != 2 {
		t.Fatalf("runs: raftvec %d hnswlib %d", len(runs["raftvec"]), len(runs["hnswlib"]))
	}
	if p := runs["raftvec"][0].ef[40]; p.recall != 0.994 || p.qps != 8000 {
		t.Fatalf("ef=40: %+v", p)
	}
	h := compareHNSW(runs["raftvec"], runs["hnswlib"], 2, "")
	if h.rv.buildS != 10.5 || h.hn.buildS != 14 {
		t.Fatalf("build medians %v %v", h.rv.buildS, h.hn.buildS)
	}
	if got := h.efRatio[10]; math.Abs(got-19000.0/20000) > 1e-9 {
		t.Fatalf("ef=10 ratio %v", got)
	}
	if !h.goalBuildMet || !h.goalQPSMet {
		t.Fatalf("goal: build %v qps %v (%s)", h.goalBuildMet, h.goalQPSMet, h.goalQPSWhy)
	}
	// 0.98 is a measured point of both curves.
	for _, e := range h.equal {
		if e.target == 0.98 && (!e.ok || e.rvQPS != 13000 || e.hnQPS != 12000) {
			t.Fatalf("at 0.98: %+v", e)
		}
	}
}

func TestQPSAt(t *testing.T) {
	c := []point{{0.9, 1000}, {0.99, 100}}
	if q, ok := qpsAt(c, 0.945); !ok || math.Abs(q-math.Sqrt(1000*100)) > 1e-6 {
		t.Fatalf("midpoint: %v %v", q, ok)
	}
	if _, ok := qpsAt(c, 0.995); ok {
		t.Fatal("extrapolated above the curve")
	}
	if _, ok := qpsAt(c, 0.8); ok {
		t.Fatal("extrapolated below the curve")
	}
}

func TestParseBench(t *testing.T) {
	ls := parseBench("BenchmarkScan1Mx128/ratio-2   31  37178305 ns/op  28880.87 MB/s  0.9882 scan/bw\nPASS\n")
	if len(ls) != 1 || ls[0].name != "BenchmarkScan1Mx128/ratio" || ls[0].metrics["scan/bw"] != 0.9882 || ls[0].metrics["MB/s"] != 28880.87 {
		t.Fatalf("%+v", ls)
	}
}
