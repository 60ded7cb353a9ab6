package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/raftvec/raftvec/bench/internal/benchutil"
)

func pct(x float64) string {
	switch {
	case x >= 0.1:
		return fmt.Sprintf("%.1f%%", 100*x)
	default:
		return fmt.Sprintf("%.2f%%", 100*x)
	}
}

func report(o options, ds *dataset, cases []filterCase, results []runResult, f facts) string {
	caseIdx := map[int]int{}
	for i, c := range cases {
		caseIdx[c.threshold] = i
	}
	sorted := append([]runResult(nil), results...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if caseIdx[a.threshold] != caseIdx[b.threshold] {
			return caseIdx[a.threshold] < caseIdx[b.threshold]
		}
		if a.mode != b.mode {
			return a.mode == "HNSW"
		}
		return a.ef < b.ef
	})

	var b strings.Builder
	fmt.Fprintln(&b, beginMarker)
	fmt.Fprintln(&b, "## Filtered search: QPS and recall per filter selectivity (`make bench-filter`)")
	fmt.Fprintln(&b)
	fmt.Fprintf(&b, "- Command: `%s` (runs `cd bench && go run ./cmd/benchfilter -raftvec ../bin/raftvec -out ../docs/benchmarks.md $(BENCH_ARGS)`; installs Debian's `dataset-fashion-mnist` if missing)\n", benchutil.CommandLine("bench-filter"))
	fmt.Fprintf(&b, "- Date: %s\n", f.started.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- Machine: %s; distance kernel reported by the nodes: `%s`; index builder: `%s`\n", benchutil.Machine(), f.kernel, f.builder)
	fmt.Fprintf(&b, "- Cluster: three `raftvec server` processes on 127.0.0.1, default settings except `--seal-rows %d`; the benchmark client runs on the same machine.\n", o.sealRows)
	layout := fmt.Sprintf("That makes %d sealed segments of %d rows in the collection's one shard (%d segments in all; the growing one is empty); the three replicas reported the same digest (`%s…`) %s after the last write.",
		f.sealed, o.sealRows, f.segments, short(f.digest), f.syncTime.Round(time.Millisecond))
	if f.shards > 1 {
		layout = fmt.Sprintf("The collection has %d shards (rows go to shards by primary-key hash), %d sealed segments in all; every shard's three replicas reported the same digest %s after the last write.",
			f.shards, f.sealed, f.syncTime.Round(time.Millisecond))
	}
	fmt.Fprintf(&b, "- Data: the `bench-index` dataset, Fashion-MNIST (`%s`): the %d train images as the collection `%s` (`id` int64 primary key = row number, `vector` %d-d float32 pixel values 0–255, L2, and `category` int64 = splitmix64(id) mod 1000, a synthetic field uniform over 0–999), loaded in id order by one loader with `Insert` batches of %d rows (%s). %s\n",
		f.dataDir, ds.rows, collection, ds.dim, o.loadBatch, f.loadTime.Round(time.Millisecond), layout)
	fmt.Fprintf(&b, "- Index: `CreateIndex` HNSW, M=%d, efConstruction=%d, through the SDK; every node reported `indexed_segments == sealed_segments` (%d) %s after the call (all three nodes build at once on the 2 cores). For the FLAT rows the index was dropped (`DropIndex`; no node had an indexed segment %s later), so every segment is scanned exactly.\n",
		o.m, o.efConstruction, f.sealed, f.buildTime.Round(time.Second), f.dropTime.Round(time.Millisecond))
	fmt.Fprintf(&b, "- Queries: the first %d of the 10000 t10k test images, top-%d, filter `category < t`, one client with its own SDK connection to n1 (shard leader(s) in this run: %s), one search at a time, read level EVENTUAL (local state, no read-index round, so what is timed is the search itself: filter evaluation, segment search, merge, gRPC). %d untimed searches precede each run. QPS = searches / wall time of the run; p50/p99 = latency of one search as the client sees it.\n",
		ds.nq, topK, f.leader, o.warmup)
	fmt.Fprintf(&b, "- Recall@10 is against exact ground truth computed in the benchmark process before the cluster started (%s): brute force over the train rows that pass the filter, in integer arithmetic on the raw pixels; a returned row counts when its exact distance is at most the 10th true distance (ties at the boundary are not misses). *Wrong* counts returned rows that the filter rejects; *short* counts answers with fewer than 10 hits.\n",
		f.truthTime.Round(time.Millisecond))
	fmt.Fprintf(&b, "- *Graph segments* is how many of the %d sealed segments take HNSW's filtered graph search rather than an exact scan of the admitted rows, predicted with the engine's rule (below) from the same 512 sampled rows it looks at (\"?\" when the collection has several shards, whose row layout the benchmark does not know).\n", f.sealed)
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "| filter | rows passing | index | ef | graph segments | QPS | p50 | p99 | recall@10 | wrong | short | errors |")
	fmt.Fprintln(&b, "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range sorted {
		c := cases[caseIdx[r.threshold]]
		ef, graph := "–", "–"
		if r.mode == "HNSW" {
			ef, graph = fmt.Sprint(r.ef), r.graphText()
		}
		fmt.Fprintf(&b, "| `%s` | %d (%s) | %s | %s | %s | %.1f | %s | %s | %.4f | %d | %d | %d |\n",
			c.expr, c.passing, pct(c.selectivity(ds.rows)), r.mode, ef, graph, r.qps(), benchutil.FmtDur(r.p50), benchutil.FmtDur(r.p99), r.recall, r.bad, r.short, r.errs)
	}
	fmt.Fprintln(&b)
	var errLines []string
	for _, r := range sorted {
		if r.errs > 0 {
			errLines = append(errLines, fmt.Sprintf("  - `category < %d`, %s ef=%d: %d of %d searches failed; first error: `%v`", r.threshold, r.mode, r.ef, r.errs, r.errs+r.n, r.firstErr))
		}
	}
	if len(errLines) > 0 {
		fmt.Fprintln(&b, "- Errors:")
		for _, l := range errLines {
			fmt.Fprintln(&b, l)
		}
		fmt.Fprintln(&b)
	}

	// The engine's rule, with this run's numbers.
	n := float64(o.sealRows)
	var cut []string
	for _, ef := range o.efs {
		s := math.Sqrt(float64(max(ef, topK)*2*o.m) / (2 * n))
		cut = append(cut, fmt.Sprintf("ef=%d: s < %s", ef, pct(s)))
	}
	fmt.Fprintf(&b, "**Low selectivity.** Filtering is not a post-filter: the filter becomes an allow-bitset per segment (on a sealed segment, `category < t` is answered from a sorted scalar index of the column, built on first use, so its cost follows the rows that pass), and the segment's search only admits rows in it, so top-k stays filled however few rows pass. With an HNSW index, `HNSW.Search` first estimates the admitted fraction *s* of the segment from 512 evenly spaced rows; a graph search would have to expand about ef/*s* nodes, most of them rejected, so when 2·*s*²·*n* < ef·2M it scores the admitted rows exactly instead (here *n* = %d rows per segment and 2M = %d, so the exact path is taken at %s). A graph search that still finds fewer than k admitted rows falls back to the exact scan too. So at low selectivity the graph is not used at all: those rows are exact (recall %s) and cost about what the FLAT baseline costs, since both compute distances only for the admitted rows.%s\n",
		o.sealRows, 2*o.m, strings.Join(cut, ", "), lowRecall(sorted), graphVsFlat(sorted, cases, ds.rows))
	fmt.Fprintln(&b)
	fmt.Fprintf(&b, "This is one run on one noisy, shared 2-core machine, with all three nodes and the client competing for the cores (and whatever else ran: the 1-minute load average was %s before the searches and %s after them): the absolute QPS is indicative only. Recall does not depend on the load, only on the graphs n1 built (each replica builds its own); with more than one build thread an HNSW graph depends on scheduling (see `index/builder.go`), so recall on the graph path can differ slightly from run to run.\n", f.loadPre, f.loadPost)
	fmt.Fprintln(&b, endMarker)
	return b.String()
}

// lowRecall describes the recall of the HNSW rows whose segments all took
// the exact path.
func lowRecall(rs []runResult) string {
	lo, hi, any := 2.0, -1.0, false
	for _, r := range rs {
		if r.mode == "HNSW" && r.graph == 0 && r.n > 0 {
			lo, hi, any = math.Min(lo, r.recall), math.Max(hi, r.recall), true
		}
	}
	if !any {
		return "not measured in this run: no HNSW row is known to have taken the exact path on every segment"
	}
	if lo == hi {
		return fmt.Sprintf("%.4f in every such row of this run", lo)
	}
	return fmt.Sprintf("%.4f–%.4f in such rows of this run", lo, hi)
}

// graphVsFlat compares, for each filter where some segment took the graph
// search, the HNSW rows with the FLAT row of the same filter.
func graphVsFlat(rs []runResult, cases []filterCase, rows int) string {
	var out []string
	for _, c := range cases {
		var flat *runResult
		var graph []runResult
		for i, r := range rs {
			if r.threshold != c.threshold {
				continue
			}
			if r.mode == "FLAT" {
				flat = &rs[i]
			} else if r.graph > 0 {
				graph = append(graph, r)
			}
		}
		if len(graph) == 0 {
			continue
		}
		var parts []string
		for _, r := range graph {
			p := fmt.Sprintf("ef=%d (graph on %s sealed segments): %.1f QPS at recall %.4f", r.ef, r.graphText(), r.qps(), r.recall)
			if flat != nil && flat.qps() > 0 {
				p += fmt.Sprintf(" (%.2f× FLAT's QPS)", r.qps()/flat.qps())
			}
			parts = append(parts, p)
		}
		line := fmt.Sprintf(" At `%s` (%s of rows pass) the graph search runs: %s", c.expr, pct(c.selectivity(rows)), strings.Join(parts, "; "))
		if flat != nil {
			line += fmt.Sprintf("; FLAT: %.1f QPS at recall %.4f", flat.qps(), flat.recall)
		}
		out = append(out, line+".")
	}
	if len(out) == 0 {
		for _, r := range rs {
			if r.graph < 0 {
				return " With several shards the benchmark does not know the segments' rows, so it cannot tell which took the graph search."
			}
		}
		return " In this run no segment took the graph search at any of the filters, so the HNSW rows are all exact."
	}
	return strings.Join(out, "")
}
