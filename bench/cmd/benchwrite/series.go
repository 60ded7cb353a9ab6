package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/raftvec/raftvec/bench/internal/benchutil"
)

// runSeries runs the scaling series: the same load (o.seriesClients ×
// o.seriesBatch) against a collection of each shard count in o.shards,
// each on a fresh three-node cluster so that no run inherits another's
// data or Raft groups. CPU time of the servers, of this process and of
// the whole machine is sampled over exactly the measured window.
func runSeries(o options, ps *benchutil.Procs, bin, dir string) ([]benchutil.ScalePoint, error) {
	var pts []benchutil.ScalePoint
	w := workload{o.seriesClients, o.seriesBatch}
	for i, n := range o.shards {
		fmt.Printf("== scaling series: %d shard(s), fresh three-node cluster\n", n)
		cdir := filepath.Join(dir, fmt.Sprintf("%d-shards-%d", i+1, n)) // a fresh data dir even if a count repeats
		addrs, err := benchutil.StartRaftvec(ps, bin, cdir)
		if err != nil {
			return nil, fmt.Errorf("raftvec cluster: %w", err)
		}
		gen, err := newRaftvecGen(addrs, o.dim, n)
		if err != nil {
			ps.KillAll()
			return nil, fmt.Errorf("%d shards: %w (n1 log: %s)", n, err, benchutil.Tail(filepath.Join(cdir, "n1.log")))
		}
		leaders, err := benchutil.ShardLeaders(addrs, "bench", 30*time.Second)
		if err != nil {
			ps.KillAll()
			return nil, err
		}
		idle := ps.MeasureIdle(o.idle)
		var c0, c1 benchutil.CPUSample
		r := benchutil.DriveObserved(w.clients, o.duration, func(int) (benchutil.Worker, error) {
			wr, err := gen.newWriter()
			if err != nil {
				return nil, err
			}
			return batchWorker{wr, w.batch}, nil
		}, func() { c0 = ps.SampleCPU() }, func() { c1 = ps.SampleCPU() })
		ps.KillAll()
		p := benchutil.ScalePoint{
			Shards: n, Units: r.Ops * int64(w.batch), P50: r.P50, P99: r.P99, Errs: r.Errs,
			CPU: c1.Since(c0), Idle: idle, Leaders: leaders,
		}
		if r.Elapsed > 0 {
			p.Rate = float64(p.Units) / r.Elapsed.Seconds()
		}
		fmt.Printf("shards=%-2d %10.0f vectors/s  p50=%-9s p99=%-9s errors=%d  leaders %s  CPU %s  CPU/vector %s  idle servers %.3f CPUs\n",
			n, p.Rate, benchutil.FmtDur(p.P50), benchutil.FmtDur(p.P99), p.Errs, benchutil.LeaderSpread(leaders),
			benchutil.CPUCell(p.CPU), benchutil.FmtCPU(p.CPUPerUnit()), idle.Cores(idle.Children))
		if r.FirstErr != nil {
			fmt.Printf("          first error: %v\n", r.FirstErr)
		}
		pts = append(pts, p)
	}
	return pts, nil
}

func seriesReport(o options, pts []benchutil.ScalePoint) string {
	if len(pts) == 0 {
		return ""
	}
	var b strings.Builder
	what := fmt.Sprintf("%d clients × batch %d", o.seriesClients, o.seriesBatch)
	fmt.Fprintln(&b)
	fmt.Fprintf(&b, "### Scaling with shards (raftvec, %s)\n", what)
	fmt.Fprintln(&b)
	fmt.Fprintf(&b, "- The same load (%s, %s, %d-d vectors, the generator of the table above) against collection `bench` created with `shards` = %s and `replicas: 3`; each shard count runs on a fresh three-node cluster on 127.0.0.1, so every node holds a replica of every shard and rows go to shards by primary-key hash. Each client's SDK keeps the collection's routing table (on by default): it splits every batch by primary-key hash and sends each shard's part straight to that shard's leader, all parts at once, and the request is done when the last part is acknowledged. Shard leaders are wherever the groups' elections put them (column *leaders*).\n",
		what, o.duration, o.dim, joinInts(o.shards))
	fmt.Fprintf(&b, "- *CPU busy* is the machine's busy CPU time over the measured window (all CPUs, from `/proc/stat`), split into CPUs kept busy by the three raftvec servers (*srv*), by the load generator (*gen*) and by every other process on the machine (*other*). *CPU/vector* = (servers + generator CPU time) / vectors acknowledged: the cost of a vector, independent of how busy the machine was (it includes the servers' background work, which *idle servers* measures: CPUs the three servers kept busy over %s with no requests, right before the load).\n", o.idle)
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "| shards | vectors/s | p50 | p99 | errors | leaders | CPU busy | CPU/vector | servers' CPU/vector | idle servers (CPUs) |")
	fmt.Fprintln(&b, "|---:|---:|---:|---:|---:|---|---|---:|---:|---:|")
	for _, p := range pts {
		fmt.Fprintf(&b, "| %d | %.0f | %s | %s | %d | %s | %s | %s | %s | %.3f |\n", p.Shards, p.Rate, benchutil.FmtDur(p.P50), benchutil.FmtDur(p.P99), p.Errs,
			benchutil.LeaderSpread(p.Leaders), benchutil.CPUCell(p.CPU), benchutil.FmtCPU(p.CPUPerUnit()), benchutil.FmtCPU(p.ServerCPUPerUnit()), p.Idle.Cores(p.Idle.Children))
	}
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "Per-shard overhead:")
	fmt.Fprintln(&b)
	for _, l := range benchutil.ScaleOverhead(pts, what, "vector") {
		fmt.Fprintln(&b, l)
	}
	if l := benchutil.IdleOverhead(pts, what); l != "" {
		fmt.Fprintln(&b, l)
	}
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "On one 2-core machine this series cannot show scale-out: the three nodes are processes on the same two cores, so a shard added is another Raft group (log, fsync, heartbeats, apply loop) on the same CPUs, not more CPUs. What it measures is what each shard costs: the SDK splits every batch into one part per shard and sends S RPCs instead of one, each part is a Raft entry of its own on its own group (so a batch of 100 becomes S proposals on S groups, each of which appends to and fsyncs its own log file on every replica, and S commits to wait for; a group batches the entries of concurrent requests, but S groups cannot share one append), and the request is acknowledged only when the slowest part is. The benefit sharding is for — each shard's leader and disk on different machines — needs as many machines as shards.")
	return b.String()
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}
