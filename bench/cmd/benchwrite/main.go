// Command benchwrite measures write throughput and latency of a three-node
// raftvec cluster and, side by side with the same load generator, of a
// three-member etcd cluster on the same machine (see `make bench-write`).
//
// Every workload is (clients × batch): `clients` goroutines, each with its
// own client, send requests of `batch` 128-d vectors back to back for a
// fixed duration. For raftvec a request is one Insert of `batch` rows; for
// etcd it is one Txn of `batch` puts whose values are as large as one
// vector (512 bytes). The report gives rows acknowledged per second and
// the p50/p99 latency of acknowledged requests.
//
// The raftvec collection of that table has one shard. A scaling series
// follows (-shards, default 1,2,4): the same load (-series-clients ×
// -series-batch, default 32 × 100) against a collection of each shard
// count, each on a fresh three-node cluster, with the CPU time of the
// servers, of the load generator and of the whole machine over each
// window, so that the report can give the per-shard overhead.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/raftvec/raftvec/bench/internal/benchutil"
	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
)

const (
	beginMarker = "<!-- bench-write:begin -->"
	endMarker   = "<!-- bench-write:end -->"
)

type options struct {
	raftvecBin string
	etcdBin    string
	out        string
	duration   time.Duration
	clients    []int
	batches    []int
	dim        int
	keepLogs   bool
	// The scaling series: series.clients × series.batch against each shard
	// count, on a fresh three-node cluster per count.
	shards        []int
	seriesClients int
	seriesBatch   int
	idle          time.Duration
}

// result is one (system, clients, batch) measurement.
type result struct {
	rows     int64
	reqs     int64
	errs     int64
	firstErr error
	elapsed  time.Duration
	p50, p99 time.Duration
}

func (r result) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.rows) / r.elapsed.Seconds()
}

type workload struct{ clients, batch int }

func main() {
	var o options
	var clients, batches string
	flag.StringVar(&o.raftvecBin, "raftvec", "../bin/raftvec", "raftvec binary")
	flag.StringVar(&o.etcdBin, "etcd", "etcd", "etcd binary (3.4, Debian's etcd-server)")
	flag.StringVar(&o.out, "out", "../docs/benchmarks.md", "markdown file to write the results section into")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long each workload runs")
	flag.StringVar(&clients, "clients", "1,32", "concurrent client counts")
	flag.StringVar(&batches, "batches", "1,100,1000", "vectors per request")
	flag.IntVar(&o.dim, "dim", 128, "vector dimension")
	flag.BoolVar(&o.keepLogs, "keep-logs", false, "keep the temp dir (server logs) after the run")
	var shards string
	flag.StringVar(&shards, "shards", "1,2,4", "shard counts of the scaling series (raftvec only; empty = no series)")
	flag.IntVar(&o.seriesClients, "series-clients", 32, "concurrent clients in the scaling series")
	flag.IntVar(&o.seriesBatch, "series-batch", 100, "vectors per request in the scaling series")
	flag.DurationVar(&o.idle, "idle", 2*time.Second, "in the scaling series, how long to measure the idle servers' CPU before the load")
	flag.Parse()
	var err error
	if o.clients, err = benchutil.ParseInts(clients); err != nil {
		fmt.Fprintln(os.Stderr, "benchwrite: -clients:", err)
		os.Exit(2)
	}
	if o.batches, err = benchutil.ParseInts(batches); err != nil {
		fmt.Fprintln(os.Stderr, "benchwrite: -batches:", err)
		os.Exit(2)
	}
	if strings.TrimSpace(shards) != "" {
		if o.shards, err = benchutil.ParseInts(shards); err != nil {
			fmt.Fprintln(os.Stderr, "benchwrite: -shards:", err)
			os.Exit(2)
		}
	}
	if o.seriesClients <= 0 || o.seriesBatch <= 0 {
		fmt.Fprintln(os.Stderr, "benchwrite: -series-clients and -series-batch must be positive")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "benchwrite:", err)
		os.Exit(1)
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
	br, err := benchutil.NewRun("benchwrite", o.keepLogs)
	if err != nil {
		return err
	}
	defer br.Cleanup()
	ps, tmp := br.Procs, br.Dir

	var loads []workload
	for _, c := range o.clients {
		for _, b := range o.batches {
			loads = append(loads, workload{c, b})
		}
	}
	started := time.Now()

	// raftvec first, alone on the machine.
	rv := map[workload]result{}
	fmt.Println("== raftvec: starting a three-node cluster (collection with 1 shard)")
	addrs, err := benchutil.StartRaftvec(ps, raftvecBin, filepath.Join(tmp, "raftvec"))
	if err != nil {
		return fmt.Errorf("raftvec cluster: %w", err)
	}
	rvGen, err := newRaftvecGen(addrs, o.dim, 1)
	if err != nil {
		return fmt.Errorf("raftvec: %w", err)
	}
	for _, w := range loads {
		r := drive(w, o.duration, rvGen)
		rv[w] = r
		printResult("raftvec", w, r)
	}
	ps.KillAll()

	// Then etcd, alone on the machine.
	et := map[workload]result{}
	var etcdNote, etcdVersion string
	etcdBin, err := exec.LookPath(o.etcdBin)
	if err != nil {
		etcdNote = fmt.Sprintf("etcd is not available (%v; `apt-get install etcd-server` failed or was not run), so only raftvec's figures are reported.", err)
	} else {
		etcdVersion = benchutil.FirstLine(exec.Command(etcdBin, "--version"))
		fmt.Println("== etcd: starting a three-member cluster (" + etcdVersion + ")")
		eps, err := startEtcd(ps, etcdBin, filepath.Join(tmp, "etcd"))
		if err != nil {
			etcdNote = fmt.Sprintf("etcd could not be started (%v), so only raftvec's figures are reported.", err)
		} else {
			gen := newEtcdGen(eps)
			for _, w := range loads {
				r := drive(w, o.duration, gen)
				et[w] = r
				printResult("etcd", w, r)
			}
		}
		ps.KillAll()
	}
	if etcdNote != "" {
		fmt.Println("NOTE:", etcdNote)
	}

	// Last, the scaling series: raftvec alone again, one fresh cluster per
	// shard count.
	series, err := runSeries(o, ps, raftvecBin, filepath.Join(tmp, "series"))
	if err != nil {
		return fmt.Errorf("scaling series: %w", err)
	}

	section := report(o, loads, rv, et, etcdNote, etcdVersion, started) + seriesReport(o, series) + endMarker + "\n"
	if err := benchutil.WriteSection(o.out, beginMarker, endMarker, section); err != nil {
		return err
	}
	fmt.Println("wrote", o.out)
	return nil
}

func printResult(sys string, w workload, r result) {
	fmt.Printf("%-8s clients=%-3d batch=%-5d %10.0f vectors/s  p50=%-9s p99=%-9s reqs=%d errors=%d\n",
		sys, w.clients, w.batch, r.rate(), benchutil.FmtDur(r.p50), benchutil.FmtDur(r.p99), r.reqs, r.errs)
	if r.firstErr != nil {
		fmt.Printf("         first error: %v\n", r.firstErr)
	}
}

func startEtcd(ps *benchutil.Procs, bin, dir string) ([]string, error) {
	ports, err := benchutil.FreePorts(6)
	if err != nil {
		return nil, err
	}
	var names, clientURLs, peerURLs, initial []string
	for i := 0; i < 3; i++ {
		names = append(names, fmt.Sprintf("e%d", i+1))
		clientURLs = append(clientURLs, fmt.Sprintf("http://127.0.0.1:%d", ports[2*i]))
		peerURLs = append(peerURLs, fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1]))
		initial = append(initial, names[i]+"="+peerURLs[i])
	}
	for i := 0; i < 3; i++ {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		logf, err := os.Create(filepath.Join(dir, names[i]+".log"))
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(bin,
			"--name", names[i],
			"--data-dir", filepath.Join(dir, names[i]),
			"--listen-client-urls", clientURLs[i],
			"--advertise-client-urls", clientURLs[i],
			"--listen-peer-urls", peerURLs[i],
			"--initial-advertise-peer-urls", peerURLs[i],
			"--initial-cluster", strings.Join(initial, ","),
			"--initial-cluster-state", "new",
			"--initial-cluster-token", "benchwrite",
			"--max-txn-ops", "1000",
			"--max-request-bytes", "10485760",
			"--quota-backend-bytes", "8589934592",
			"--logger", "zap", "--log-level", "warn",
		)
		cmd.Stdout, cmd.Stderr = logf, logf
		err = ps.Start(cmd)
		logf.Close()
		if err != nil {
			return nil, err
		}
	}
	// Wait until the cluster has a leader and accepts a write.
	cli, err := newEtcdClient(clientURLs)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := cli.Put(ctx, "benchwrite/ready", "1")
		cancel()
		if err == nil {
			return clientURLs, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no write accepted within 30s: %w (logs: %s)", err, benchutil.Tail(filepath.Join(dir, "e1.log")))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func newEtcdClient(eps []string) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints:          eps,
		DialTimeout:        5 * time.Second,
		MaxCallSendMsgSize: 16 << 20,
		Logger:             zap.NewNop(),
	})
}

// generator makes one writer per client; write sends one request of batch
// items and returns how many were acknowledged.
type generator interface {
	newWriter() (writer, error)
}

type writer interface {
	write(ctx context.Context, batch int) error
	close()
}

// drive runs one workload: w.clients writers, each sending requests of
// w.batch items back to back until the duration is over.
func drive(w workload, d time.Duration, g generator) result {
	r := benchutil.Drive(w.clients, d, func(int) (benchutil.Worker, error) {
		wr, err := g.newWriter()
		if err != nil {
			return nil, err
		}
		return batchWorker{wr, w.batch}, nil
	})
	return result{
		rows: r.Ops * int64(w.batch), reqs: r.Reqs, errs: r.Errs, firstErr: r.FirstErr,
		elapsed: r.Elapsed, p50: r.P50, p99: r.P99,
	}
}

// batchWorker sends requests of batch items with one writer.
type batchWorker struct {
	wr    writer
	batch int
}

func (b batchWorker) Do(ctx context.Context) error { return b.wr.write(ctx, b.batch) }
func (b batchWorker) Close()                       { b.wr.close() }

// nextID hands out ids (raftvec primary keys, etcd keys) unique across the run.
var nextID atomic.Int64

// ---- raftvec ----

type raftvecGen struct {
	addrs []string
	dim   int
	pool  []float32 // maxBatch*dim random floats, shared read-only
}

// newRaftvecGen creates collection "bench" with the given number of shards
// (named explicitly: the server's default depends on the cluster size).
func newRaftvecGen(addrs []string, dim, shards int) (*raftvecGen, error) {
	// The cluster needs a leader first; retry until the collection exists.
	if err := benchutil.CreateSharded(addrs, "bench", dim, pb.Metric_L2, shards, len(addrs)); err != nil {
		return nil, err
	}
	pool := make([]float32, 1000*dim)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range pool {
		pool[i] = r.Float32()
	}
	return &raftvecGen{addrs: addrs, dim: dim, pool: pool}, nil
}

func (g *raftvecGen) newWriter() (writer, error) {
	c, err := client.New(g.addrs)
	if err != nil {
		return nil, err
	}
	return &raftvecWriter{g: g, c: c}, nil
}

type raftvecWriter struct {
	g *raftvecGen
	c *client.Client
}

func (w *raftvecWriter) write(ctx context.Context, batch int) error {
	first := nextID.Add(int64(batch)) - int64(batch)
	ids := make([]int64, batch)
	for i := range ids {
		ids[i] = first + int64(i)
	}
	vecs := w.g.pool
	if n := batch * w.g.dim; n <= len(vecs) {
		vecs = vecs[:n]
	} else {
		vecs = make([]float32, n)
		for i := 0; i < n; i += len(w.g.pool) {
			copy(vecs[i:], w.g.pool)
		}
	}
	_, err := w.c.Insert(ctx, &pb.InsertRequest{
		Collection: "bench",
		Rows:       &pb.Rows{IntIds: ids, Vectors: vecs},
	})
	return err
}

func (w *raftvecWriter) close() { w.c.Close() }

// ---- etcd ----

type etcdGen struct {
	eps   []string
	value string // as many bytes as one 128-d float32 vector
}

func newEtcdGen(eps []string) *etcdGen {
	b := make([]byte, 512)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range b {
		b[i] = byte('a' + r.IntN(26))
	}
	return &etcdGen{eps: eps, value: string(b)}
}

func (g *etcdGen) newWriter() (writer, error) {
	c, err := newEtcdClient(g.eps)
	if err != nil {
		return nil, err
	}
	return &etcdWriter{g: g, c: c}, nil
}

type etcdWriter struct {
	g *etcdGen
	c *clientv3.Client
}

// write puts batch keys in one transaction (a batch of 1 is a one-put Txn).
func (w *etcdWriter) write(ctx context.Context, batch int) error {
	first := nextID.Add(int64(batch)) - int64(batch)
	ops := make([]clientv3.Op, batch)
	for i := range ops {
		ops[i] = clientv3.OpPut(fmt.Sprintf("bench/%016d", first+int64(i)), w.g.value)
	}
	resp, err := w.c.Txn(ctx).Then(ops...).Commit()
	if err != nil {
		return err
	}
	if !resp.Succeeded {
		return errors.New("etcd txn did not succeed")
	}
	return nil
}

func (w *etcdWriter) close() { w.c.Close() }

// ---- report ----

func fmtRate(r result, ok bool) string {
	if !ok {
		return "–"
	}
	v := r.rate()
	s := fmt.Sprintf("%.0f", v)
	if r.errs > 0 {
		s += fmt.Sprintf(" (%d err)", r.errs)
	}
	return s
}

func report(o options, loads []workload, rv, et map[workload]result, etcdNote, etcdVersion string, started time.Time) string {
	var b strings.Builder
	fmt.Fprintln(&b, beginMarker)
	fmt.Fprintln(&b, "## Write throughput: raftvec vs etcd (`make bench-write`)")
	fmt.Fprintln(&b)
	fmt.Fprintf(&b, "- Command: `%s` (runs `cd bench && go run ./cmd/benchwrite -raftvec ../bin/raftvec -out ../docs/benchmarks.md $(BENCH_ARGS)`)\n", benchutil.CommandLine("bench-write"))
	fmt.Fprintf(&b, "- Date: %s\n", started.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- Machine: %s\n", benchutil.Machine())
	if etcdVersion != "" {
		fmt.Fprintf(&b, "- etcd: `%s`, three members on loopback, `--max-txn-ops 1000 --max-request-bytes 10485760`\n", etcdVersion)
	}
	fmt.Fprintf(&b, "- Each workload runs %s; raftvec and etcd run one after the other, never at the same time. Both are three-node clusters on 127.0.0.1 with default Raft timings and data on the same disk. The raftvec collection is created with `shards: 1, replicas: 3` (one Raft group with a replica on every node, like etcd), both named explicitly: the server's default shard count on three nodes is 6, and its default replica count counts the nodes registered when the request arrives, which right after start-up can be 2.\n", o.duration)
	fmt.Fprintf(&b, "- raftvec: one `Insert` of *batch* %d-d float32 vectors per request (SDK `rpc/client`). etcd: one `Txn` of *batch* puts of 512-byte values (the size of one vector) per request (`go.etcd.io/etcd/client/v3`). Keys/ids are unique across the run; each concurrent client has its own connection and sends requests back to back.\n", o.dim)
	fmt.Fprintln(&b, "- vectors/s = rows acknowledged per second; p50/p99 = latency of one acknowledged request.")
	fmt.Fprintln(&b)
	if etcdNote != "" {
		fmt.Fprintf(&b, "**%s**\n\n", etcdNote)
	}
	fmt.Fprintln(&b, "| clients | batch | raftvec vectors/s | raftvec p50 | raftvec p99 | etcd vectors/s | etcd p50 | etcd p99 | raftvec/etcd |")
	fmt.Fprintln(&b, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, w := range loads {
		r, rok := rv[w]
		e, eok := et[w]
		ratio := "–"
		if rok && eok && e.rate() > 0 {
			ratio = fmt.Sprintf("%.2f×", r.rate()/e.rate())
		}
		fmt.Fprintf(&b, "| %d | %d | %s | %s | %s | %s | %s | %s | %s |\n",
			w.clients, w.batch,
			fmtRate(r, rok), benchutil.FmtDur(r.p50), benchutil.FmtDur(r.p99),
			fmtRate(e, eok), benchutil.FmtDur(e.p50), benchutil.FmtDur(e.p99), ratio)
	}
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "This is one run on one noisy, shared 2-core machine where all three nodes of each cluster and the load generator compete for the same cores and disk: the absolute numbers are indicative only, and the raftvec/etcd ratio matters more than the absolutes.")
	return b.String()
}
