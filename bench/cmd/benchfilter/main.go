// Command benchfilter measures filtered search on a three-node raftvec
// cluster (see `make bench-filter`): QPS and recall@10 at filter
// selectivities of about 50%, 10%, 1% and 0.1%, with an HNSW index and,
// as a baseline, without one (FLAT).
//
// It reads Fashion-MNIST (the bench-index dataset: Debian's
// dataset-fashion-mnist, or $RAFTVEC_FASHION_MNIST), gives every train row
// a synthetic int64 field category = splitmix64(id) mod 1000, and computes
// the exact filtered top-10 of every test query by brute force in integer
// arithmetic before any server starts. Then it starts three real raftvec
// processes with a small --seal-rows, so that the 60k rows land in several
// sealed segments, creates collection "filterbench" (id int64 primary key,
// vector 784-d L2, category int64; one shard unless -shards says
// otherwise), loads the train rows in id order with one loader, waits
// until the three replicas agree, creates an HNSW index through the SDK
// and waits until every node reports all sealed segments indexed. For each filter `category < t` and each ef it sends the test
// queries one at a time from a single client connected to n1, at EVENTUAL
// level (so what is timed is the search, not a read-index round), and
// scores each answer against the exact truth. Last it drops the index,
// waits until no node has one, and runs the same filters exactly (FLAT).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/raftvec/raftvec/bench/internal/benchutil"
	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	beginMarker = "<!-- bench-filter:begin -->"
	endMarker   = "<!-- bench-filter:end -->"
	collection  = "filterbench"
	topK        = 10
)

type options struct {
	raftvecBin     string
	out            string
	queries        int
	warmup         int
	thresholds     []int
	efs            []int
	m              int
	efConstruction int
	sealRows       int
	rows           int
	loadBatch      int
	shards         int
	flat           bool
	indexTimeout   time.Duration
	syncTimeout    time.Duration
	keepLogs       bool
}

func main() {
	var o options
	var thresholds, efs string
	flag.StringVar(&o.raftvecBin, "raftvec", "../bin/raftvec", "raftvec binary")
	flag.StringVar(&o.out, "out", "../docs/benchmarks.md", "markdown file to write the results section into")
	flag.IntVar(&o.queries, "queries", 1000, "test queries per (filter, index, ef) run (the first N of t10k)")
	flag.IntVar(&o.warmup, "warmup", 20, "untimed searches before each run")
	flag.StringVar(&thresholds, "thresholds", "500,100,10,1", "filters `category < t` (category is in 0..999)")
	flag.StringVar(&efs, "efs", "64,128", "HNSW search ef values")
	flag.IntVar(&o.m, "m", 16, "HNSW M")
	flag.IntVar(&o.efConstruction, "ef-construction", 200, "HNSW efConstruction")
	flag.IntVar(&o.sealRows, "seal-rows", 10000, "server --seal-rows: rows per sealed segment")
	flag.IntVar(&o.rows, "rows", 0, "train rows to load (0 = all 60000)")
	flag.IntVar(&o.loadBatch, "load-batch", 1000, "rows per Insert while loading")
	flag.IntVar(&o.shards, "shards", 1, "shards of the collection (0 = the server's default, which depends on the node count)")
	flag.BoolVar(&o.flat, "flat", true, "also run every filter without an index (FLAT baseline)")
	flag.DurationVar(&o.indexTimeout, "index-timeout", 10*time.Minute, "how long to wait for every node to build its indexes")
	flag.DurationVar(&o.syncTimeout, "sync-timeout", 3*time.Minute, "how long to wait for the replicas to agree after loading")
	flag.BoolVar(&o.keepLogs, "keep-logs", false, "keep the temp dir (server logs) after the run")
	flag.Parse()
	var err error
	if o.thresholds, err = benchutil.ParseInts(thresholds); err != nil {
		fail(2, "-thresholds: %v", err)
	}
	if o.efs, err = benchutil.ParseInts(efs); err != nil {
		fail(2, "-efs: %v", err)
	}
	if o.queries <= 0 || o.warmup < 0 || o.sealRows <= 0 || o.loadBatch <= 0 || o.rows < 0 || o.shards < 0 || o.m <= 0 || o.efConstruction <= 0 {
		fail(2, "-queries, -seal-rows, -load-batch, -m and -ef-construction must be positive; -warmup, -rows and -shards not negative")
	}
	for _, t := range o.thresholds {
		if t > 1000 {
			fail(2, "-thresholds: %d is above 1000", t)
		}
	}
	if err := run(o); err != nil {
		fail(1, "%v", err)
	}
}

func fail(code int, format string, a ...any) {
	fmt.Fprintf(os.Stderr, "benchfilter: "+format+"\n", a...)
	os.Exit(code)
}

// dataset is the train rows (the collection) and the test queries, as raw
// pixels, with each row's category.
type dataset struct {
	dim     int
	rows    int
	train   []byte
	queries []byte
	nq      int
	cat     []int64
}

// filterCase is one filter with its exact answers.
type filterCase struct {
	threshold int
	expr      string
	passing   int // rows that pass
	truth     []truth
}

func (f filterCase) selectivity(rows int) float64 { return float64(f.passing) / float64(rows) }

// runResult is one measured run: a filter under one index setting.
type runResult struct {
	threshold int
	mode      string // "HNSW" or "FLAT"
	ef        int    // 0 for FLAT
	graph     int    // sealed segments predicted to take the graph search (-1: unknown)
	sealed    int
	n         int // searches that succeeded
	errs      int
	firstErr  error
	short     int // answers with fewer than min(k, passing) hits
	bad       int // hits the filter rejects (or unknown ids)
	recall    float64
	elapsed   time.Duration
	p50, p99  time.Duration
}

// graphText is "graph/sealed", or "?" when the segment layout is unknown.
func (r runResult) graphText() string {
	if r.graph < 0 {
		return "?"
	}
	return fmt.Sprintf("%d/%d", r.graph, r.sealed)
}

func (r runResult) qps() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.n) / r.elapsed.Seconds()
}

// facts are what the report says about the setup besides the measurements.
type facts struct {
	started   time.Time
	truthTime time.Duration
	loadTime  time.Duration
	syncTime  time.Duration
	buildTime time.Duration
	dropTime  time.Duration
	shards    int
	sealed    int // sealed segments per replica set (all shards)
	segments  int
	digest    string // of the only shard ("" with several)
	kernel    string
	builder   string
	leader    string
	dataDir   string
	loadPre   string // 1-minute load average before the searches
	loadPost  string // and after them
}

// loadAvg is the machine's 1-minute load average ("unknown" off Linux).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	if fs := strings.Fields(string(b)); len(fs) > 0 {
		return fs[0]
	}
	return "unknown"
}

func run(o options) error {
	raftvecBin, err := filepath.Abs(o.raftvecBin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(raftvecBin); err != nil {
		return fmt.Errorf("raftvec binary: %w (run `make build`)", err)
	}
	f := facts{started: time.Now(), dataDir: benchutil.FashionDir()}

	fmt.Println("== reading Fashion-MNIST from", f.dataDir)
	ds, err := loadData(f.dataDir, o)
	if err != nil {
		return err
	}
	fmt.Printf("   %d train rows, %d queries, %d-d\n", ds.rows, ds.nq, ds.dim)

	fmt.Println("== exact filtered top-10 by brute force")
	t0 := time.Now()
	cases := make([]filterCase, len(o.thresholds))
	for i, t := range o.thresholds {
		var allowed []int64
		for id := 0; id < ds.rows; id++ {
			if ds.cat[id] < int64(t) {
				allowed = append(allowed, int64(id))
			}
		}
		cases[i] = filterCase{threshold: t, expr: fmt.Sprintf("category < %d", t), passing: len(allowed),
			truth: groundTruth(ds.train, ds.dim, ds.queries, allowed, topK, 2)}
		fmt.Printf("   %-16s %6d rows pass (%.2f%%)\n", cases[i].expr, len(allowed), 100*cases[i].selectivity(ds.rows))
	}
	f.truthTime = time.Since(t0)
	fmt.Printf("   done in %s\n", f.truthTime.Round(time.Millisecond))

	br, err := benchutil.NewRun("benchfilter", o.keepLogs)
	if err != nil {
		return err
	}
	defer br.Cleanup()
	fmt.Printf("== raftvec: starting a three-node cluster (--seal-rows %d)\n", o.sealRows)
	dir := filepath.Join(br.Dir, "raftvec")
	addrs, err := benchutil.StartRaftvecWith(br.Procs, raftvecBin, dir, "--seal-rows", fmt.Sprint(o.sealRows))
	if err != nil {
		return fmt.Errorf("raftvec cluster: %w", err)
	}
	n1log := filepath.Join(dir, "n1.log")
	c, err := client.New(addrs)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := createCollection(c, ds.dim, o.shards); err != nil {
		return fmt.Errorf("%w (n1 log: %s)", err, benchutil.Tail(n1log))
	}

	fmt.Printf("== loading %d rows in id order (batches of %d, one loader)\n", ds.rows, o.loadBatch)
	t0 = time.Now()
	if err := load(c, ds, o.loadBatch); err != nil {
		return fmt.Errorf("load: %w (n1 log: %s)", err, benchutil.Tail(n1log))
	}
	f.loadTime = time.Since(t0)
	fmt.Printf("   loaded in %s (%.0f rows/s)\n", f.loadTime.Round(time.Millisecond), float64(ds.rows)/f.loadTime.Seconds())

	fmt.Println("== waiting until the three replicas agree")
	t0 = time.Now()
	st, err := waitFor(c, addrs, o.syncTimeout, func(st clusterState) error {
		if err := st.agree(); err != nil {
			return err
		}
		for i, node := range st.nodes {
			if rows, _, _, _ := st.totals(i); rows != ds.rows {
				return fmt.Errorf("node %s has %d rows, want %d", node, rows, ds.rows)
			}
		}
		if len(st.groups[0]) == 1 && st.groups[0][0].SealedSegments != uint32(ds.rows/o.sealRows) {
			return fmt.Errorf("node %s has %d sealed segments, want %d", st.nodes[0], st.groups[0][0].SealedSegments, ds.rows/o.sealRows)
		}
		return nil
	})
	if err != nil {
		return err
	}
	f.syncTime = time.Since(t0)
	f.shards, f.kernel, f.builder, f.leader = len(st.groups[0]), st.kernel, st.builder, st.leaders()
	_, f.segments, f.sealed, _ = st.totals(0)
	f.digest = st.groups[0][0].Digest
	if f.shards > 1 {
		f.digest = ""
	}
	fmt.Printf("   in sync after %s: %d shard(s), %d segments (%d sealed) per replica set, shard leader(s) %s\n", f.syncTime.Round(time.Millisecond), f.shards, f.segments, f.sealed, f.leader)
	if f.sealed == 0 {
		return fmt.Errorf("no sealed segment: nothing to index (lower -seal-rows)")
	}

	fmt.Printf("== CreateIndex HNSW (M=%d, efConstruction=%d); waiting until every node has indexed all %d sealed segments\n", o.m, o.efConstruction, f.sealed)
	t0 = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	err = c.CreateIndex(ctx, &pb.CreateIndexRequest{Collection: collection, IndexType: "HNSW", M: uint32(o.m), EfConstruction: uint32(o.efConstruction)})
	cancel()
	if err != nil {
		return fmt.Errorf("create index: %w", err)
	}
	if _, err := waitFor(c, addrs, o.indexTimeout, func(st clusterState) error {
		var prog []string
		done := true
		for i, node := range st.nodes {
			_, _, sealed, indexed := st.totals(i)
			prog = append(prog, fmt.Sprintf("%s %d/%d", node, indexed, sealed))
			done = done && sealed == f.sealed && indexed == sealed
		}
		if !done {
			return fmt.Errorf("%4.0fs, sealed segments indexed: %s", time.Since(t0).Seconds(), strings.Join(prog, ", "))
		}
		return nil
	}); err != nil {
		return err
	}
	f.buildTime = time.Since(t0)
	fmt.Printf("   indexed on all nodes after %s\n", f.buildTime.Round(time.Millisecond))

	s, err := newSearcher(addrs[0])
	if err != nil {
		return err
	}
	defer s.close()
	var results []runResult
	f.loadPre = loadAvg()
	fmt.Println("== searching; 1-minute load average", f.loadPre)
	for _, fc := range cases {
		for _, ef := range o.efs {
			r := s.measure(ds, fc, o, ef)
			r.mode = "HNSW"
			r.graph, r.sealed = -1, f.sealed
			if f.shards == 1 { // the segment layout is known only with one shard
				r.graph, r.sealed = graphSegments(ds.rows, o.sealRows, func(id int64) bool { return ds.cat[id] < int64(fc.threshold) }, ef, topK, o.m)
			}
			printResult(r)
			results = append(results, r)
		}
	}

	if o.flat {
		fmt.Println("== DropIndex; waiting until no node has an index")
		t0 = time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err = c.DropIndex(ctx, collection)
		cancel()
		if err != nil {
			return fmt.Errorf("drop index: %w", err)
		}
		if _, err := waitFor(c, addrs, time.Minute, func(st clusterState) error {
			for i, node := range st.nodes {
				if _, _, _, indexed := st.totals(i); indexed != 0 {
					return fmt.Errorf("node %s: %d segments still indexed", node, indexed)
				}
			}
			return nil
		}); err != nil {
			return err
		}
		f.dropTime = time.Since(t0)
		for _, fc := range cases {
			r := s.measure(ds, fc, o, 0)
			r.mode = "FLAT"
			printResult(r)
			results = append(results, r)
		}
	}

	for _, r := range results {
		if r.n == 0 {
			return fmt.Errorf("category < %d, %s ef=%d: no search succeeded: %v", r.threshold, r.mode, r.ef, r.firstErr)
		}
	}
	f.loadPost = loadAvg()
	fmt.Println("   1-minute load average after the searches", f.loadPost)
	section := report(o, ds, cases, results, f)
	if err := benchutil.WriteSection(o.out, beginMarker, endMarker, section); err != nil {
		return err
	}
	fmt.Println("wrote", o.out)
	return nil
}

func loadData(dir string, o options) (*dataset, error) {
	rows, dim, train, err := benchutil.ReadIDXBytes(filepath.Join(dir, "train-images-idx3-ubyte.gz"))
	if err != nil {
		return nil, fmt.Errorf("fashion-mnist train set: %w (install dataset-fashion-mnist or set RAFTVEC_FASHION_MNIST)", err)
	}
	nq, qdim, queries, err := benchutil.ReadIDXBytes(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"))
	if err != nil {
		return nil, fmt.Errorf("fashion-mnist test set: %w", err)
	}
	if qdim != dim {
		return nil, fmt.Errorf("fashion-mnist: train rows are %d-d, test rows %d-d", dim, qdim)
	}
	if o.rows > 0 && o.rows < rows {
		rows, train = o.rows, train[:o.rows*dim]
	}
	if o.queries < nq {
		nq, queries = o.queries, queries[:o.queries*dim]
	}
	ds := &dataset{dim: dim, rows: rows, train: train, queries: queries, nq: nq, cat: make([]int64, rows)}
	for id := range ds.cat {
		ds.cat[id] = category(int64(id))
	}
	return ds, nil
}

func toFloats(px []byte) []float32 {
	v := make([]float32, len(px))
	for i, b := range px {
		v[i] = float32(b)
	}
	return v
}

// createCollection creates the collection, retrying for up to a minute
// while the cluster elects its leaders.
func createCollection(c *client.Client, dim, shards int) error {
	req := &pb.CreateCollectionRequest{Schema: &pb.CollectionSchema{Name: collection, Fields: []*pb.FieldSchema{
		{Name: "id", Type: pb.FieldType_INT64, PrimaryKey: true},
		{Name: "vector", Type: pb.FieldType_FLOAT_VECTOR, Dim: uint32(dim), Metric: pb.Metric_L2},
		{Name: "category", Type: pb.FieldType_INT64},
	}}, Shards: uint32(shards)}
	deadline := time.Now().Add(time.Minute)
	for tried := false; ; tried = true {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err := c.CreateCollection(ctx, req)
		cancel()
		// An attempt that failed (timed out) may have created it after all.
		if err == nil || (tried && status.Code(err) == codes.AlreadyExists) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("create collection: %w", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// load inserts the train rows in id order, one batch at a time, so that
// sealed segment j holds ids [j·seal_rows, (j+1)·seal_rows).
func load(c *client.Client, ds *dataset, batch int) error {
	batches := (ds.rows + batch - 1) / batch
	for b := 0; b < batches; b++ {
		lo, hi := b*batch, min((b+1)*batch, ds.rows)
		ids := make([]int64, hi-lo)
		cats := make([]*pb.Value, hi-lo)
		for i := range ids {
			ids[i] = int64(lo + i)
			cats[i] = &pb.Value{Kind: &pb.Value_Int64{Int64: ds.cat[lo+i]}}
		}
		rows := &pb.Rows{IntIds: ids, Vectors: toFloats(ds.train[lo*ds.dim : hi*ds.dim]),
			Fields: []*pb.FieldColumn{{Name: "category", Values: cats}}}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		_, err := c.Insert(ctx, &pb.InsertRequest{Collection: collection, Rows: rows})
		cancel()
		if err != nil {
			return fmt.Errorf("insert rows [%d, %d): %w", lo, hi, err)
		}
		if (b+1)%10 == 0 || b+1 == batches {
			fmt.Printf("   %d/%d batches\n", b+1, batches)
		}
	}
	return nil
}

// clusterState is the collection's shard groups as each node reports
// them.
type clusterState struct {
	nodes   []string            // node ids, in address order
	groups  [][]*pb.GroupStatus // per node, its replicas of the collection's shards, by group name
	kernel  string
	builder string
}

func clusterStatus(c *client.Client, addrs []string) (clusterState, error) {
	var st clusterState
	for _, a := range addrs {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		resp, err := c.Status(ctx, a)
		cancel()
		if err != nil {
			return st, fmt.Errorf("status of %s: %w", a, err)
		}
		var gs []*pb.GroupStatus
		for _, x := range resp.Groups {
			if x.Collection == collection && strings.HasPrefix(x.Group, "shard-") {
				gs = append(gs, x)
			}
		}
		if len(gs) == 0 {
			return st, fmt.Errorf("node %s (%s) has no shard group of %q yet", resp.Node, a, collection)
		}
		slices.SortFunc(gs, func(x, y *pb.GroupStatus) int { return strings.Compare(x.Group, y.Group) })
		st.nodes = append(st.nodes, resp.Node)
		st.groups = append(st.groups, gs)
		if st.kernel == "" {
			st.kernel, st.builder = resp.Kernel, resp.IndexBuilder
		}
	}
	return st, nil
}

// agree checks that every node holds a replica of the same shards and that
// the replicas of each shard have the same digest.
func (st clusterState) agree() error {
	ref := st.groups[0]
	for i, gs := range st.groups[1:] {
		node := st.nodes[i+1]
		if len(gs) != len(ref) {
			return fmt.Errorf("node %s has %d shard replicas, node %s %d", node, len(gs), st.nodes[0], len(ref))
		}
		for j, g := range gs {
			if g.Group != ref[j].Group {
				return fmt.Errorf("node %s has %s where node %s has %s", node, g.Group, st.nodes[0], ref[j].Group)
			}
			if g.Digest != ref[j].Digest {
				return fmt.Errorf("%s: digests differ (%s on %s, %s on %s)", g.Group, short(ref[j].Digest), st.nodes[0], short(g.Digest), node)
			}
		}
	}
	return nil
}

// totals sums node i's replicas.
func (st clusterState) totals(i int) (rows, segments, sealed, indexed int) {
	for _, g := range st.groups[i] {
		rows += int(g.Rows)
		segments += int(g.Segments)
		sealed += int(g.SealedSegments)
		indexed += int(g.IndexedSegments)
	}
	return rows, segments, sealed, indexed
}

// leaders names each shard's leader, as the first node that knows it says.
func (st clusterState) leaders() string {
	var out []string
	for j := range st.groups[0] {
		l := ""
		for i := range st.groups {
			if j >= len(st.groups[i]) {
				continue
			}
			g := st.groups[i][j]
			if g.Role == "Leader" {
				l = g.Node
				break
			}
			if l == "" {
				l = g.Leader
			}
		}
		if l == "" {
			l = "unknown"
		}
		out = append(out, l)
	}
	return strings.Join(out, ", ")
}

// waitFor polls every node's status until ok accepts it.
func waitFor(c *client.Client, addrs []string, timeout time.Duration, ok func(clusterState) error) (clusterState, error) {
	deadline := time.Now().Add(timeout)
	last := time.Now()
	for {
		st, err := clusterStatus(c, addrs)
		if err == nil {
			if err = ok(st); err == nil {
				return st, nil
			}
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("not ready after %s: %w", timeout, err)
		}
		if time.Since(last) > 5*time.Second {
			fmt.Println("  ", err)
			last = time.Now()
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// searcher is the single benchmark client: one SDK client connected to one
// node only.
type searcher struct {
	c    *client.Client
	addr string
}

func newSearcher(addr string) (*searcher, error) {
	c, err := client.New([]string{addr})
	if err != nil {
		return nil, err
	}
	return &searcher{c: c, addr: addr}, nil
}

func (s *searcher) close() { s.c.Close() }

func (s *searcher) search(q []float32, filter string, ef int) ([]int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := s.c.Search(ctx, &pb.SearchRequest{Collection: collection, Vectors: q, TopK: topK, Filter: filter,
		Ef: uint32(ef), Read: &pb.ReadOptions{Level: pb.ConsistencyLevel_EVENTUAL}})
	if err != nil {
		return nil, err
	}
	if len(resp.Results) != 1 {
		return nil, fmt.Errorf("%d result lists for one query", len(resp.Results))
	}
	ids := make([]int64, len(resp.Results[0].Hits))
	for i, h := range resp.Results[0].Hits {
		ids[i] = h.IntId
	}
	return ids, nil
}

// measure sends the queries one at a time (after o.warmup untimed ones)
// and scores every answer. ef 0 leaves the server's default.
func (s *searcher) measure(ds *dataset, fc filterCase, o options, ef int) runResult {
	r := runResult{threshold: fc.threshold, ef: ef}
	qs := make([][]float32, ds.nq)
	for i := range qs {
		qs[i] = toFloats(ds.queries[i*ds.dim : (i+1)*ds.dim])
	}
	for i := 0; i < o.warmup; i++ {
		_, _ = s.search(qs[i%ds.nq], fc.expr, ef)
	}
	answers := make([][]int64, ds.nq)
	lats := make([]time.Duration, 0, ds.nq)
	start := time.Now()
	for i, q := range qs {
		t0 := time.Now()
		ids, err := s.search(q, fc.expr, ef)
		lat := time.Since(t0)
		if err != nil {
			r.errs++
			if r.firstErr == nil {
				r.firstErr = err
			}
			continue
		}
		answers[i] = ids
		lats = append(lats, lat)
	}
	r.elapsed = time.Since(start)
	slices.Sort(lats)
	r.p50, r.p99 = benchutil.Percentile(lats, 0.50), benchutil.Percentile(lats, 0.99)
	pass := func(id int64) bool { return id >= 0 && int(id) < ds.rows && ds.cat[id] < int64(fc.threshold) }
	good, want := 0, 0
	for i, ids := range answers {
		if ids == nil {
			continue
		}
		r.n++
		q := ds.queries[i*ds.dim : (i+1)*ds.dim]
		g, bad := score(ids, fc.truth[i], pass, func(id int64) int32 { return sqDist(q, ds.train[int(id)*ds.dim:(int(id)+1)*ds.dim]) })
		good += g
		want += len(fc.truth[i].ids)
		r.bad += bad
		if len(ids) < len(fc.truth[i].ids) {
			r.short++
		}
	}
	if want > 0 {
		r.recall = float64(good) / float64(want)
	}
	return r
}

func printResult(r runResult) {
	mode := r.mode
	if r.ef > 0 {
		mode = fmt.Sprintf("%s ef=%d (graph on %s)", r.mode, r.ef, r.graphText())
	}
	fmt.Printf("   category < %-4d %-28s %8.1f QPS  recall@10=%.4f  p50=%-8s p99=%-8s short=%d bad=%d errors=%d\n",
		r.threshold, mode, r.qps(), r.recall, benchutil.FmtDur(r.p50), benchutil.FmtDur(r.p99), r.short, r.bad, r.errs)
	if r.firstErr != nil {
		fmt.Println("      first error:", r.firstErr)
	}
}

func short(d string) string {
	if len(d) > 12 {
		return d[:12]
	}
	return d
}
