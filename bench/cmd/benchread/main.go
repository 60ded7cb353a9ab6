// Command benchread measures search throughput and latency of a three-node
// raftvec cluster at each read level (see `make bench-read`).
//
// It starts three real raftvec processes on loopback, creates collection
// "bench" (128-d, L2, one shard with three replicas), loads 100k random
// rows in batches of 1000 with several concurrent loaders, and waits until
// the shard's three replicas report the same digest, so that followers
// have caught up. Then, for each
// level (STRONG, BOUNDED, SESSION, EVENTUAL) and each client count, it
// runs top-10 searches with random query vectors back to back for a fixed
// duration. Each client has its own SDK connection to one node, assigned
// round robin (client i talks to node i mod 3); STRONG searches that land
// on a follower are forwarded by that node to the shard leader, which is
// part of what STRONG costs. The report gives QPS and the p50/p99 latency
// of successful searches, and the STRONG/EVENTUAL QPS ratio.
//
// A scaling series follows (-shards, default 1,2,4): for each shard count
// a fresh three-node cluster with the collection split into that many
// shards and -series-rows rows, then -series-clients clients (default
// 32) at each of -series-levels (default EVENTUAL, STRONG), with the CPU
// time of the servers, of the load generator and of the whole machine
// over each window, so that the report can give the per-shard overhead.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raftvec/raftvec/bench/internal/benchutil"
	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
)

const (
	beginMarker = "<!-- bench-read:begin -->"
	endMarker   = "<!-- bench-read:end -->"
	collection  = "bench"
	topK        = 10
)

// levels are measured in this order.
var levels = []pb.ConsistencyLevel{
	pb.ConsistencyLevel_STRONG,
	pb.ConsistencyLevel_BOUNDED,
	pb.ConsistencyLevel_SESSION,
	pb.ConsistencyLevel_EVENTUAL,
}

type options struct {
	raftvecBin   string
	out          string
	duration     time.Duration
	clients      []int
	rows         int
	loadBatch    int
	loaders      int
	dim          int
	maxStaleness time.Duration
	syncTimeout  time.Duration
	keepLogs     bool
	// The scaling series: seriesClients clients at each of seriesLevels
	// against a collection of each shard count, seriesRows rows, on a
	// fresh three-node cluster per count.
	shards        []int
	seriesClients int
	seriesRows    int
	seriesLevels  []pb.ConsistencyLevel
	idle          time.Duration
	// hnsw: after the FLAT runs, index the collection with HNSW and run
	// STRONG and EVENTUAL again.
	hnsw bool
}

type workload struct {
	level   pb.ConsistencyLevel
	clients int
}

func main() {
	var o options
	var clients string
	flag.StringVar(&o.raftvecBin, "raftvec", "../bin/raftvec", "raftvec binary")
	flag.StringVar(&o.out, "out", "../docs/benchmarks.md", "markdown file to write the results section into")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long each (level, clients) workload runs")
	flag.StringVar(&clients, "clients", "1,32", "concurrent client counts")
	flag.IntVar(&o.rows, "rows", 100_000, "rows loaded before searching")
	flag.IntVar(&o.loadBatch, "load-batch", 1000, "rows per Insert while loading")
	flag.IntVar(&o.loaders, "loaders", 4, "concurrent loaders")
	flag.IntVar(&o.dim, "dim", 128, "vector dimension")
	flag.DurationVar(&o.maxStaleness, "max-staleness", 5*time.Second, "max_staleness of BOUNDED searches")
	flag.DurationVar(&o.syncTimeout, "sync-timeout", 3*time.Minute, "how long to wait for the replicas' digests to agree after loading")
	flag.BoolVar(&o.keepLogs, "keep-logs", false, "keep the temp dir (server logs) after the run")
	var shards, seriesLevels string
	flag.StringVar(&shards, "shards", "1,2,4", "shard counts of the scaling series (empty = no series)")
	flag.IntVar(&o.seriesClients, "series-clients", 32, "concurrent clients in the scaling series")
	flag.IntVar(&o.seriesRows, "series-rows", 100_000, "rows loaded for each shard count of the scaling series")
	flag.StringVar(&seriesLevels, "series-levels", "EVENTUAL,STRONG", "read levels measured in the scaling series")
	flag.DurationVar(&o.idle, "idle", 2*time.Second, "in the scaling series, how long to measure the idle servers' CPU before the load")
	flag.BoolVar(&o.hnsw, "hnsw", true, "also measure STRONG and EVENTUAL on the collection indexed with HNSW (m 16, ef_construction 200)")
	flag.Parse()
	var err error
	if o.clients, err = benchutil.ParseInts(clients); err != nil {
		fmt.Fprintln(os.Stderr, "benchread: -clients:", err)
		os.Exit(2)
	}
	if o.rows <= 0 || o.loadBatch <= 0 || o.loaders <= 0 || o.dim <= 0 || o.duration <= 0 || o.seriesClients <= 0 || o.seriesRows < topK {
		fmt.Fprintln(os.Stderr, "benchread: -rows, -load-batch, -loaders, -dim, -duration and -series-clients must be positive, -series-rows at least", topK)
		os.Exit(2)
	}
	if strings.TrimSpace(shards) != "" {
		if o.shards, err = benchutil.ParseInts(shards); err != nil {
			fmt.Fprintln(os.Stderr, "benchread: -shards:", err)
			os.Exit(2)
		}
	}
	for _, l := range strings.Split(seriesLevels, ",") {
		v, ok := pb.ConsistencyLevel_value[strings.ToUpper(strings.TrimSpace(l))]
		if !ok || v == int32(pb.ConsistencyLevel_DEFAULT) {
			fmt.Fprintf(os.Stderr, "benchread: -series-levels: %q is not a read level\n", l)
			os.Exit(2)
		}
		o.seriesLevels = append(o.seriesLevels, pb.ConsistencyLevel(v))
	}
	if ms := o.maxStaleness.Milliseconds(); ms <= 0 || ms > 1<<32-1 {
		fmt.Fprintln(os.Stderr, "benchread: -max-staleness must be between 1ms and 2^32-1 ms")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "benchread:", err)
		os.Exit(1)
	}
}

// facts are what the report says about the setup besides the measurements.
type facts struct {
	started    time.Time
	loadTime   time.Duration
	syncTime   time.Duration
	token      uint64
	digest     string
	kernel     string
	leaderPre  string // shard leader before the searches
	leaderPost string // and after them
	nodes      []string
	indexTime  time.Duration // HNSW: CreateIndex until every replica indexed
}

// measured is one table's workloads: each result, and how many reads each
// node's replicas served during it.
type measured struct {
	loads  []workload
	res    map[workload]benchutil.Result
	served map[workload][]float64
}

// measure drives each workload in turn against the cluster and counts,
// from every node's /metrics, where the reads ran.
func measure(addrs, web []string, loads []workload, o options, token uint64) measured {
	m := measured{loads: loads, res: map[workload]benchutil.Result{}, served: map[workload][]float64{}}
	for _, w := range loads {
		// Sampled once the workers are made (their warm-up searches are
		// not counted) and right after the measured window.
		var before, after []map[string]float64
		var berr, aerr error
		r := benchutil.DriveObserved(w.clients, o.duration, func(i int) (benchutil.Worker, error) {
			return newSearcher(addrs[i%len(addrs)], w.level, i, o, token)
		}, func() { before, berr = benchutil.ReadsServed(web) }, func() { after, aerr = benchutil.ReadsServed(web) })
		if berr == nil && aerr == nil && before != nil && after != nil {
			m.served[w] = benchutil.ServedBetween(before, after)
		}
		m.res[w] = r
		printResult(w, r)
		fmt.Printf("         reads served by n1 / n2 / n3: %s\n", benchutil.Shares(m.served[w]))
	}
	return m
}

// indexHNSW creates an HNSW index, seals every growing segment (Flush) and
// waits until every replica has built the index of all its sealed
// segments.
func indexHNSW(addrs []string) error {
	c, err := client.New(addrs)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if err := c.CreateIndex(ctx, &pb.CreateIndexRequest{Collection: collection, IndexType: "HNSW", M: 16, EfConstruction: 200}); err != nil {
		return err
	}
	cc, err := c.Conn(addrs[0])
	if err != nil {
		return err
	}
	if _, err := pb.NewRaftVecClient(cc).Flush(ctx, &pb.FlushRequest{Collection: collection}); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	for {
		done := true
		for _, a := range addrs {
			st, err := c.Status(ctx, a)
			if err != nil {
				return err
			}
			for _, g := range st.Groups {
				if g.Collection == collection && (g.SealedSegments == 0 || g.IndexedSegments < g.SealedSegments) {
					done = false
				}
			}
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func run(o options) error {
	raftvecBin, err := filepath.Abs(o.raftvecBin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(raftvecBin); err != nil {
		return fmt.Errorf("raftvec binary: %w (run `make build`)", err)
	}
	br, err := benchutil.NewRun("benchread", o.keepLogs)
	if err != nil {
		return err
	}
	defer br.Cleanup()
	f := facts{started: time.Now()}

	fmt.Println("== raftvec: starting a three-node cluster (collection with 1 shard)")
	dir := filepath.Join(br.Dir, "raftvec")
	addrs, httpAddrs, err := benchutil.StartRaftvecHTTP(br.Procs, raftvecBin, dir)
	if err != nil {
		return fmt.Errorf("raftvec cluster: %w", err)
	}
	f.nodes = addrs
	web := httpAddrs
	st, err := prepare(addrs, dir, o, 1, o.rows, &f)
	if err != nil {
		return err
	}
	f.kernel, f.leaderPre = st.kernel, st.leader
	token := f.token

	var loads []workload
	for _, l := range levels {
		for _, c := range o.clients {
			loads = append(loads, workload{l, c})
		}
	}
	flat := measure(addrs, web, loads, o, token)
	var hnsw *measured
	if o.hnsw {
		fmt.Println("== indexing the collection with HNSW (m 16, ef_construction 200) on every replica")
		t0 := time.Now()
		if err := indexHNSW(addrs); err != nil {
			return fmt.Errorf("hnsw: %w", err)
		}
		f.indexTime = time.Since(t0)
		fmt.Printf("   every replica's sealed segments indexed after %s\n", f.indexTime.Round(time.Millisecond))
		var hl []workload
		for _, l := range []pb.ConsistencyLevel{pb.ConsistencyLevel_STRONG, pb.ConsistencyLevel_EVENTUAL} {
			for _, c := range o.clients {
				hl = append(hl, workload{l, c})
			}
		}
		m := measure(addrs, web, hl, o, token)
		hnsw = &m
	}

	if st, err := clusterState(addrs); err == nil {
		f.leaderPost = st.leader
	} else {
		f.leaderPost = "unknown (" + err.Error() + ")"
	}
	if f.leaderPost != f.leaderPre {
		fmt.Printf("NOTE: the shard leader changed during the searches: %s -> %s\n", f.leaderPre, f.leaderPost)
	}
	br.Procs.KillAll()

	series, runs, err := runSeries(o, br.Procs, raftvecBin, filepath.Join(br.Dir, "series"))
	if err != nil {
		return fmt.Errorf("scaling series: %w", err)
	}

	section := report(o, flat, hnsw, f) + seriesReport(o, series, runs) + endMarker + "\n"
	if err := benchutil.WriteSection(o.out, beginMarker, endMarker, section); err != nil {
		return err
	}
	fmt.Println("wrote", o.out)
	return nil
}

// prepare creates the collection with the given number of shards on the
// cluster at addrs (logs in dir), loads rows rows and waits until every
// shard's replicas agree. It fills f's load and sync facts and returns
// the cluster's state once in sync.
func prepare(addrs []string, dir string, o options, shards, rows int, f *facts) (state, error) {
	if err := benchutil.CreateSharded(addrs, collection, o.dim, pb.Metric_L2, shards, len(addrs)); err != nil {
		return state{}, fmt.Errorf("%w (n1 log: %s)", err, benchutil.Tail(filepath.Join(dir, "n1.log")))
	}
	fmt.Printf("== loading %d rows into %d shard(s) (%d-d, batches of %d, %d loaders)\n", rows, shards, o.dim, o.loadBatch, o.loaders)
	t0 := time.Now()
	token, err := load(addrs, o, rows)
	if err != nil {
		return state{}, fmt.Errorf("load: %w", err)
	}
	f.loadTime, f.token = time.Since(t0), token
	fmt.Printf("   loaded in %s (%.0f rows/s), session token %d\n", f.loadTime.Round(time.Millisecond), float64(rows)/f.loadTime.Seconds(), token)

	fmt.Println("== waiting until the three replicas of every shard report the same digest")
	t0 = time.Now()
	st, err := waitInSync(addrs, shards, rows, o.syncTimeout)
	if err != nil {
		return st, err
	}
	f.syncTime = time.Since(t0)
	f.digest = st.digest
	fmt.Printf("   in sync after %s: digest %s, shard leader(s) %s, kernel %s\n", f.syncTime.Round(time.Millisecond), short(f.digest), st.leader, st.kernel)
	return st, nil
}

// load inserts rows 0..rows-1 with o.loaders goroutines sharing one SDK
// client, and returns that client's session token afterwards (the highest
// ts of the writes).
func load(addrs []string, o options, rows int) (uint64, error) {
	c, err := client.New(addrs)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	batches := (rows + o.loadBatch - 1) / o.loadBatch
	var (
		next     atomic.Int64
		done     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	stop := make(chan struct{})
	for l := 0; l < o.loaders; l++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				b := int(next.Add(1) - 1)
				if b >= batches {
					return
				}
				select {
				case <-stop:
					return
				default:
				}
				lo, hi := b*o.loadBatch, min((b+1)*o.loadBatch, rows)
				ids := make([]int64, hi-lo)
				for i := range ids {
					ids[i] = int64(lo + i)
				}
				vecs := randomVectors(rand.New(rand.NewPCG(uint64(b), 0x5eed)), len(ids)*o.dim)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				_, err := c.Insert(ctx, &pb.InsertRequest{Collection: collection, Rows: &pb.Rows{IntIds: ids, Vectors: vecs}})
				cancel()
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("insert rows [%d, %d): %w", lo, hi, err)
						close(stop)
					}
					mu.Unlock()
					return
				}
				if n := done.Add(1); n%20 == 0 || int(n) == batches {
					fmt.Printf("   %d/%d batches\n", n, batches)
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, firstErr
	}
	t := c.SessionToken()
	if t == 0 {
		return 0, errors.New("the SDK has no session token after loading")
	}
	return t, nil
}

func randomVectors(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = r.Float32()
	}
	return v
}

// state is the collection's shards as the three nodes see them.
type state struct {
	digests []string // per node, in node order: its shards' digests, in shard order
	rows    []uint64 // per node: rows over all its shards
	groups  []int    // per node: shard replicas it holds
	applied [][]uint64
	leaders []string // per shard, in shard order
	leader  string   // the only shard's leader, or leaders per node ("n1×2 n2×1")
	kernel  string
	digest  string   // the common digest, if all agree
	all     []string // per node: every group it reports, for error messages
}

func clusterState(addrs []string) (state, error) {
	c, err := client.New(addrs)
	if err != nil {
		return state{}, err
	}
	defer c.Close()
	var st state
	leaders := map[string]string{}
	var names []string
	for _, a := range addrs {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		resp, err := c.Status(ctx, a)
		cancel()
		if err != nil {
			return st, fmt.Errorf("status of %s: %w", a, err)
		}
		var gs []*pb.GroupStatus
		var all []string
		for _, x := range resp.Groups {
			if x.Collection == collection && strings.HasPrefix(x.Group, "shard-") {
				gs = append(gs, x)
			}
			all = append(all, fmt.Sprintf("%s(%q %s applied %d)", x.Group, x.Collection, x.Role, x.AppliedIndex))
		}
		st.all = append(st.all, strings.Join(all, " "))
		if len(gs) == 0 {
			return st, fmt.Errorf("node %s (%s) has no shard group of %q yet", resp.Node, a, collection)
		}
		sort.Slice(gs, func(i, j int) bool { return shardNum(gs[i].Group) < shardNum(gs[j].Group) })
		var ds []string
		var rows uint64
		var applied []uint64
		for _, g := range gs {
			ds = append(ds, g.Digest)
			rows += g.Rows
			applied = append(applied, g.AppliedIndex)
			if _, ok := leaders[g.Group]; !ok {
				names = append(names, g.Group)
				leaders[g.Group] = ""
			}
			if g.Role == "Leader" {
				leaders[g.Group] = g.Node
			} else if leaders[g.Group] == "" && g.Leader != "" {
				leaders[g.Group] = g.Leader
			}
		}
		st.digests = append(st.digests, strings.Join(ds, "/"))
		st.rows = append(st.rows, rows)
		st.groups = append(st.groups, len(gs))
		st.applied = append(st.applied, applied)
		if st.kernel == "" {
			st.kernel = resp.Kernel
		}
	}
	sort.Slice(names, func(i, j int) bool { return shardNum(names[i]) < shardNum(names[j]) })
	for _, g := range names {
		st.leaders = append(st.leaders, leaders[g])
	}
	if len(st.leaders) == 1 {
		st.leader = st.leaders[0]
	} else {
		st.leader = benchutil.LeaderSpread(st.leaders)
	}
	st.digest = st.digests[0]
	for _, d := range st.digests[1:] {
		if d != st.digest {
			st.digest = ""
		}
	}
	return st, nil
}

// shardNum is the number in a shard group's name ("shard-12" → 12).
func shardNum(group string) int {
	var n int
	fmt.Sscanf(strings.TrimPrefix(group, "shard-"), "%d", &n)
	return n
}

// waitInSync polls every node's status until each node holds a replica of
// each of the collection's shards, the replicas of every shard have the
// same digest and every node holds all rows.
func waitInSync(addrs []string, shards, rows int, timeout time.Duration) (state, error) {
	deadline := time.Now().Add(timeout)
	last := time.Time{}
	for {
		st, err := clusterState(addrs)
		if err == nil {
			for i, g := range st.groups {
				if g != shards {
					err = fmt.Errorf("node %s holds %d shard replicas of %q, want %d; it reports %s", addrs[i], g, collection, shards, st.all[i])
					break
				}
			}
		}
		if err == nil && st.digest != "" {
			full := true
			for _, n := range st.rows {
				full = full && n == uint64(rows)
			}
			if full {
				return st, nil
			}
			err = fmt.Errorf("digests agree but rows are %v, want %d each", st.rows, rows)
		} else if err == nil {
			err = fmt.Errorf("digests differ: rows %v, applied %v", st.rows, st.applied)
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("replicas not in sync after %s: %w", timeout, err)
		}
		if time.Since(last) > 2*time.Second {
			fmt.Println("  ", err)
			last = time.Now()
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// searcher is one client: its own SDK client connected to one node,
// sending one top-10 search with a fresh random query vector per request.
type searcher struct {
	c      *client.Client
	r      *rand.Rand
	level  pb.ConsistencyLevel
	stale  uint32
	token  uint64
	dim    int
	target string
}

var errShort = errors.New("short result")

func newSearcher(addr string, level pb.ConsistencyLevel, i int, o options, token uint64) (benchutil.Worker, error) {
	c, err := client.New([]string{addr})
	if err != nil {
		return nil, err
	}
	s := &searcher{
		c: c, r: rand.New(rand.NewPCG(uint64(level), uint64(i))), level: level,
		stale: uint32(o.maxStaleness.Milliseconds()), token: token, dim: o.dim, target: addr,
	}
	// Open the connection before the clock starts, with a read that does
	// not wait for anything.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Search(ctx, &pb.SearchRequest{Collection: collection, Vectors: randomVectors(s.r, o.dim), TopK: topK,
		Read: &pb.ReadOptions{Level: pb.ConsistencyLevel_EVENTUAL}}); err != nil {
		c.Close()
		return nil, fmt.Errorf("warm-up search on %s: %w", addr, err)
	}
	return s, nil
}

func (s *searcher) Do(ctx context.Context) error {
	ro := &pb.ReadOptions{Level: s.level}
	switch s.level {
	case pb.ConsistencyLevel_BOUNDED:
		ro.MaxStalenessMs = s.stale
	case pb.ConsistencyLevel_SESSION:
		ro.SessionToken = s.token
	}
	resp, err := s.c.Search(ctx, &pb.SearchRequest{Collection: collection, Vectors: randomVectors(s.r, s.dim), TopK: topK, Read: ro})
	if err != nil {
		return err
	}
	if len(resp.Results) != 1 || len(resp.Results[0].Hits) != topK {
		n := -1
		if len(resp.Results) > 0 {
			n = len(resp.Results[0].Hits)
		}
		return fmt.Errorf("%w from %s: %d result lists, %d hits in the first", errShort, s.target, len(resp.Results), n)
	}
	return nil
}

func (s *searcher) Close() { s.c.Close() }

func printResult(w workload, r benchutil.Result) {
	fmt.Printf("%-8s clients=%-3d %8.1f QPS  p50=%-9s p99=%-9s reqs=%d errors=%d\n",
		w.level, w.clients, r.OpsPerSec(), benchutil.FmtDur(r.P50), benchutil.FmtDur(r.P99), r.Reqs, r.Errs)
	if r.FirstErr != nil {
		fmt.Printf("         first error: %v\n", r.FirstErr)
	}
}

// ---- report ----

func short(d string) string {
	if len(d) > 12 {
		return d[:12]
	}
	return d
}

// n1Note says whether n1, where the 1-client runs go, led the shard.
func n1Note(f facts) string {
	switch {
	case f.leaderPre == "n1" && f.leaderPost == "n1":
		return ", which led the shard in this run, so their STRONG searches were not forwarded"
	case f.leaderPre != "n1" && f.leaderPost != "n1":
		return ", a follower in this run, so their STRONG searches were forwarded to the leader"
	}
	return ""
}

func maxInt(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

func levelDesc(l pb.ConsistencyLevel, o options) string {
	switch l {
	case pb.ConsistencyLevel_BOUNDED:
		return fmt.Sprintf("BOUNDED (%s)", o.maxStaleness)
	case pb.ConsistencyLevel_SESSION:
		return "SESSION (load token)"
	}
	return l.String()
}

func report(o options, flat measured, hnsw *measured, f facts) string {
	var b strings.Builder
	fmt.Fprintln(&b, beginMarker)
	fmt.Fprintln(&b, "## Search throughput per read level (`make bench-read`)")
	fmt.Fprintln(&b)
	fmt.Fprintf(&b, "- Command: `%s` (runs `cd bench && go run ./cmd/benchread -raftvec ../bin/raftvec -out ../docs/benchmarks.md $(BENCH_ARGS)`)\n", benchutil.CommandLine("bench-read"))
	fmt.Fprintf(&b, "- Date: %s\n", f.started.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- Machine: %s; distance kernel reported by the nodes: `%s`\n", benchutil.Machine(), f.kernel)
	fmt.Fprintf(&b, "- Cluster: three `raftvec server` processes on 127.0.0.1 with default settings (Raft timings, 100 ms time tick), data on the same disk; the load generator runs on the same machine. The collection is created with `shards: 1, replicas: 3` (one Raft group with a replica on every node), both named explicitly: the server's default shard count on three nodes is 6, and its default replica count counts the nodes registered when the request arrives, which right after start-up can be 2.\n")
	fmt.Fprintf(&b, "- Data: collection `%s`, %d-d float32, L2, %d rows of uniform random vectors in [0,1), loaded with `Insert` batches of %d rows by %d concurrent loaders sharing one SDK client (%s, %.0f rows/s). Searching started only after all three replicas reported the same digest (`%s…`, %d rows each; %s after the last write was acknowledged).\n",
		collection, o.dim, o.rows, o.loadBatch, o.loaders, f.loadTime.Round(time.Millisecond), float64(o.rows)/f.loadTime.Seconds(), short(f.digest), o.rows, f.syncTime.Round(time.Millisecond))
	fmt.Fprintf(&b, "- Searches: one query vector (uniform random), top-%d, no filter, no output fields, through the SDK (`rpc/client` `Search`). Each workload runs %s; each client has its own SDK client connected to one node, round robin over n1, n2, n3 (client *i* → node *i* mod 3; the 1-client runs use n1%s). Clients send requests back to back; each request has a 30 s deadline. A search that fails or returns fewer than %d hits counts as an error and is left out of QPS and latency.\n", topK, o.duration, n1Note(f), topK)
	leader := f.leaderPre
	if f.leaderPost != f.leaderPre {
		leader = fmt.Sprintf("%s before the searches and %s after them", f.leaderPre, f.leaderPost)
	}
	fmt.Fprintf(&b, "- Levels: STRONG = read index from the shard leader (%s): a follower asks the leader for it (one small RPC; the leader confirms its leadership with a quorum round shared by the reads that arrive meanwhile), waits until it has applied that far (at most 100 ms, else it sends the search on to the leader) and scans its own replica. BOUNDED = `max_staleness_ms` %d. SESSION = the session token the loading client held after its last write (%d). EVENTUAL = local state, no wait.\n", leader, o.maxStaleness.Milliseconds(), f.token)
	fmt.Fprintln(&b, "- QPS = successful searches per second; p50/p99 = latency of one successful search as the client sees it. *Served by* = the share of the searches that each node's replica scanned (from the nodes' `raftvec_shard_reads_served` counters), in node order n1 / n2 / n3.")
	fmt.Fprintln(&b)
	table(&b, o, flat, "FLAT (brute force)")
	if hnsw != nil {
		fmt.Fprintf(&b, "The same collection, then indexed with HNSW (m 16, ef_construction 200; CreateIndex, Flush and every replica's build took %s), default ef, STRONG and EVENTUAL only:\n\n", f.indexTime.Round(time.Millisecond))
		table(&b, o, *hnsw, "HNSW")
	}
	var errLines []string
	for _, m := range []*measured{&flat, hnsw} {
		if m == nil {
			continue
		}
		for _, w := range m.loads {
			if r := m.res[w]; r.Errs > 0 {
				errLines = append(errLines, fmt.Sprintf("  - %s, %d clients: %d of %d searches failed; first error: `%v`", levelDesc(w.level, o), w.clients, r.Errs, r.Reqs, r.FirstErr))
			}
		}
	}
	if len(errLines) > 0 {
		fmt.Fprintln(&b, "- Errors:")
		for _, l := range errLines {
			fmt.Fprintln(&b, l)
		}
	} else {
		fmt.Fprintln(&b, "- No search failed or came back short at any level.")
	}
	fmt.Fprintln(&b)
	fmt.Fprintf(&b, "In the FLAT table search is brute force: every query scans %d × %d-d vectors (≈%.1f M multiply-adds) on the replica that answers it, and on 2 cores shared by three nodes and the load generator that scan dominates the cost of every level. With %d clients the machine is CPU-bound whatever the level, so those rows mostly measure how fast the cores scan. What a level adds on top is small next to the scan: STRONG needs a read-index quorum round (in raftvec a Raft barrier: an entry of the current term that a quorum must append and commit, which also applies everything before it; one round serves all reads that arrived while it was pending) on the shard leader, which a follower asks for the read index with one small RPC before it scans its own replica; BOUNDED and SESSION check the lease or the replica's safe ts; EVENTUAL checks nothing. With 1 client nothing is shared, so each STRONG search waits for a round of its own, which shows as the 1-client gap; with many clients one round is amortised over the reads that queued behind it. A round takes as long as a write's commit (the leader's log append, then a follower's; section *Where a one-row write spends its time*), and a read that arrives while one is in flight waits for the next, so where the scan is cheap (the HNSW rows) STRONG is bound by that latency rather than by CPU. This is one run on one noisy, shared machine: the absolute numbers are indicative only, and differences of some tens of percent between levels that do the same work (BOUNDED, SESSION, EVENTUAL) are within run-to-run noise; the 32-client STRONG/EVENTUAL ratio carries that noise too, so read it as \"close to 1\" or not rather than to two decimals.\n",
		o.rows, o.dim, float64(o.rows)*float64(o.dim)/1e6, maxInt(o.clients))
	return b.String()
}

// table writes one measured table and its STRONG/EVENTUAL ratios.
func table(b *strings.Builder, o options, m measured, index string) {
	fmt.Fprintln(b, "| index | level | clients | QPS | p50 | p99 | errors | served by n1 / n2 / n3 |")
	fmt.Fprintln(b, "|---|---|---:|---:|---:|---:|---:|---|")
	for _, w := range m.loads {
		r := m.res[w]
		fmt.Fprintf(b, "| %s | %s | %d | %.1f | %s | %s | %d | %s |\n", index, levelDesc(w.level, o), w.clients, r.OpsPerSec(),
			benchutil.FmtDur(r.P50), benchutil.FmtDur(r.P99), r.Errs, benchutil.Shares(m.served[w]))
	}
	fmt.Fprintln(b)
	cs := append([]int(nil), o.clients...)
	sort.Ints(cs)
	for _, c := range cs {
		s, sok := m.res[workload{pb.ConsistencyLevel_STRONG, c}]
		e, eok := m.res[workload{pb.ConsistencyLevel_EVENTUAL, c}]
		if !sok || !eok {
			continue
		}
		ratio := "– (no EVENTUAL searches succeeded)"
		if e.OpsPerSec() > 0 {
			ratio = fmt.Sprintf("**%.2f×**", s.OpsPerSec()/e.OpsPerSec())
		}
		fmt.Fprintf(b, "- %s: STRONG/EVENTUAL QPS at %d client(s): %s (%.1f / %.1f)\n", index, c, ratio, s.OpsPerSec(), e.OpsPerSec())
	}
	fmt.Fprintln(b)
}
