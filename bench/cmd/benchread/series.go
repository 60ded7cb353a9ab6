package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/raftvec/raftvec/bench/internal/benchutil"
	"github.com/raftvec/raftvec/rpc/pb"
)

// seriesPoint is one (shard count, level) measurement of the series.
type seriesPoint struct {
	level pb.ConsistencyLevel
	benchutil.ScalePoint
}

// seriesRun is one shard count's cluster: its load facts and points.
type seriesRun struct {
	shards int
	f      facts
	leader string // leaders per node after loading
}

// runSeries runs the scaling series: for each shard count in o.shards, a
// fresh three-node cluster, collection `bench` with that many shards and
// o.seriesRows rows, then o.seriesClients clients at each level in
// o.seriesLevels. CPU time of the servers, of this process and of the
// whole machine is sampled over exactly each measured window.
func runSeries(o options, ps *benchutil.Procs, bin, dir string) ([]seriesPoint, []seriesRun, error) {
	var pts []seriesPoint
	var runs []seriesRun
	for i, n := range o.shards {
		fmt.Printf("== scaling series: %d shard(s), fresh three-node cluster\n", n)
		cdir := filepath.Join(dir, fmt.Sprintf("%d-shards-%d", i+1, n)) // a fresh data dir even if a count repeats
		addrs, err := benchutil.StartRaftvec(ps, bin, cdir)
		if err != nil {
			return nil, nil, fmt.Errorf("raftvec cluster: %w", err)
		}
		var f facts
		st, err := prepare(addrs, cdir, o, n, o.seriesRows, &f)
		if err != nil {
			ps.KillAll()
			return nil, nil, fmt.Errorf("%d shards: %w", n, err)
		}
		runs = append(runs, seriesRun{shards: n, f: f, leader: st.leader})
		idle := ps.MeasureIdle(o.idle)
		for _, l := range o.seriesLevels {
			var c0, c1 benchutil.CPUSample
			r := benchutil.DriveObserved(o.seriesClients, o.duration, func(i int) (benchutil.Worker, error) {
				return newSearcher(addrs[i%len(addrs)], l, i, o, f.token)
			}, func() { c0 = ps.SampleCPU() }, func() { c1 = ps.SampleCPU() })
			p := seriesPoint{level: l, ScalePoint: benchutil.ScalePoint{
				Shards: n, Units: r.Ops, Rate: r.OpsPerSec(), P50: r.P50, P99: r.P99, Errs: r.Errs,
				CPU: c1.Since(c0), Idle: idle, Leaders: st.leaders,
			}}
			fmt.Printf("shards=%-2d %-8s clients=%-3d %8.1f QPS  p50=%-9s p99=%-9s errors=%d  CPU %s  CPU/query %s\n",
				n, l, o.seriesClients, p.Rate, benchutil.FmtDur(p.P50), benchutil.FmtDur(p.P99), p.Errs,
				benchutil.CPUCell(p.CPU), benchutil.FmtCPU(p.CPUPerUnit()))
			if r.FirstErr != nil {
				fmt.Printf("          first error: %v\n", r.FirstErr)
			}
			pts = append(pts, p)
		}
		ps.KillAll()
	}
	return pts, runs, nil
}

func seriesReport(o options, pts []seriesPoint, runs []seriesRun) string {
	if len(pts) == 0 {
		return ""
	}
	var b strings.Builder
	var lv []string
	for _, l := range o.seriesLevels {
		lv = append(lv, l.String())
	}
	fmt.Fprintln(&b)
	fmt.Fprintf(&b, "### Scaling with shards (%d clients, %s)\n", o.seriesClients, strings.Join(lv, " and "))
	fmt.Fprintln(&b)
	var loads []string
	for _, r := range runs {
		loads = append(loads, fmt.Sprintf("%d shard%s: loaded in %s, replicas in sync %s later, leaders %s",
			r.shards, plural(r.shards), r.f.loadTime.Round(10_000_000), r.f.syncTime.Round(10_000_000), r.leader))
	}
	fmt.Fprintf(&b, "- The same search load (%d clients round robin over n1, n2, n3, top-%d, one random query vector, %s per level, the searchers of the table above) against collection `%s` created with `shards` = %s and `replicas: 3`; each shard count runs on a fresh three-node cluster on 127.0.0.1 loaded with %d rows the same way as above (%s), so every node holds a replica of every shard. With one shard a search is served in one step (STRONG on the shard's leader, forwarded there by followers). With several, the node a search reaches fans it out: it first agrees on one read ts with every shard (STRONG: a read-index round on each shard's leader, a gRPC hop when the leader is another node, taking the highest ts; EVENTUAL: each local replica's serving ts, taking the lowest), then searches each shard's local replica as of that ts (waiting until it has applied it) and merges the shards' top-%d lists.\n",
		o.seriesClients, topK, o.duration, collection, joinInts(o.shards), o.seriesRows, strings.Join(loads, "; "), topK)
	fmt.Fprintf(&b, "- *CPU busy* is the machine's busy CPU time over the measured window (all CPUs, from `/proc/stat`), split into CPUs kept busy by the three raftvec servers (*srv*), by the load generator (*gen*) and by every other process on the machine (*other*). *CPU/query* = (servers + generator CPU time) / successful searches: the cost of a search, independent of how busy the machine was. The brute-force scan is the same total work at every shard count (the rows are split, not copied), so the growth of CPU/query with shards is the per-shard overhead. CPU/query includes the servers' background work, which *idle servers* measures (CPUs the three servers kept busy over %s with no requests, after loading and before the first level); where QPS is low that background weighs on CPU/query.\n", o.idle)
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "| shards | level | QPS | p50 | p99 | errors | CPU busy | CPU/query | servers' CPU/query | idle servers (CPUs) |")
	fmt.Fprintln(&b, "|---:|---|---:|---:|---:|---:|---|---:|---:|---:|")
	for _, p := range pts {
		fmt.Fprintf(&b, "| %d | %s | %.1f | %s | %s | %d | %s | %s | %s | %.3f |\n", p.Shards, p.level, p.Rate, benchutil.FmtDur(p.P50), benchutil.FmtDur(p.P99), p.Errs,
			benchutil.CPUCell(p.CPU), benchutil.FmtCPU(p.CPUPerUnit()), benchutil.FmtCPU(p.ServerCPUPerUnit()), p.Idle.Cores(p.Idle.Children))
	}
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "Per-shard overhead:")
	fmt.Fprintln(&b)
	for _, l := range o.seriesLevels {
		var sp []benchutil.ScalePoint
		for _, p := range pts {
			if p.level == l {
				sp = append(sp, p.ScalePoint)
			}
		}
		for _, line := range benchutil.ScaleOverhead(sp, l.String(), "query") {
			fmt.Fprintln(&b, line)
		}
	}
	var idle []benchutil.ScalePoint
	for _, p := range pts {
		if p.level == o.seriesLevels[0] {
			idle = append(idle, p.ScalePoint)
		}
	}
	if l := benchutil.IdleOverhead(idle, "Both levels"); l != "" {
		fmt.Fprintln(&b, l)
	}
	var errLines []string
	for _, p := range pts {
		if p.Errs > 0 {
			errLines = append(errLines, fmt.Sprintf("  - %d shards, %s: %d searches failed or came back short", p.Shards, p.level, p.Errs))
		}
	}
	if len(errLines) > 0 {
		fmt.Fprintln(&b, "- Errors:")
		for _, l := range errLines {
			fmt.Fprintln(&b, l)
		}
	}
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "On one 2-core machine this series cannot show scale-out: the three nodes are processes on the same two cores, so splitting the rows over more shards does not add cores to scan them with; the scan's total work stays the same and is only cut into more pieces. What grows with the shard count is the per-search fixed cost, paid once per shard: a read-ts request and a search request per shard (in-process here, since every node holds a replica of every shard, except STRONG's read-ts requests to leaders on other nodes), one more partial top-k to merge, and for STRONG one read-index round (a Raft barrier committed by a quorum) per shard instead of one. From 1 to 2 shards STRONG also changes shape: the scans move from the one leader to whichever node the client reached, which spreads them over the three nodes. STRONG across shards also has a cost of another kind, which shows as a p50 that grows by tens of milliseconds per shard, much more than STRONG's CPU per query does: from the code (`shard.Replica.ReadTs`, `tickLoop`), each shard's read-index answer is the ts of the last entry it applied, the node takes the highest, and every other shard must apply an entry with a later ts before it can serve the read as of it. A shard that takes no writes gets such an entry only from its time tick, proposed after 100 ms without proposals (checked on a 100 ms ticker), so a STRONG search over idle shards waits for other shards' next ticks; this read-only series never writes. Sharding pays off when each shard's replicas have cores of their own, which needs more machines than this one.")
	return b.String()
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
