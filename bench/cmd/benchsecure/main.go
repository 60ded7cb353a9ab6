// Command benchsecure measures what TLS and authentication cost: write and
// search throughput of a three-node cluster with TLS on every link (client
// API, Raft, node-to-node forwards), encrypted gossip and every request
// authenticated by password, against the same cluster in plaintext
// without authentication, in one run with the two interleaved. Results go
// into docs/benchmarks.md between the bench-secure markers.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/raftvec/raftvec/certs"
	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"

	"github.com/raftvec/raftvec/bench/internal/benchutil"
)

const (
	dim      = 128
	rows     = 20000
	password = "bench-root-password"
)

type workload struct {
	name    string
	clients int
	search  bool
	batch   int
}

var workloads = []workload{
	{"write, batch 1", 1, false, 1},
	{"write, batch 1", 32, false, 1},
	{"write, batch 100", 32, false, 100},
	{"search (EVENTUAL, top-10)", 1, true, 0},
	{"search (EVENTUAL, top-10)", 32, true, 0},
	{"search (STRONG, top-10)", 32, true, 0},
}

func main() {
	bin := flag.String("raftvec", "../bin/raftvec", "raftvec binary")
	out := flag.String("out", "", "markdown file to write the section into")
	dur := flag.Duration("duration", 5*time.Second, "length of each workload")
	rounds := flag.Int("rounds", 2, "interleaved rounds of each mode")
	flag.Parse()
	if err := run(*bin, *out, *dur, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "benchsecure:", err)
		os.Exit(1)
	}
}

type mode struct {
	name   string
	secure bool
}

func run(bin, out string, dur time.Duration, rounds int) error {
	r, err := benchutil.NewRun("benchsecure", false)
	if err != nil {
		return err
	}
	defer r.Cleanup()
	modes := []mode{{"plaintext, no auth", false}, {"TLS + auth", true}}
	// results[mode][workload] holds one measurement per round.
	results := make([][][]benchutil.Result, len(modes))
	for m := range modes {
		results[m] = make([][]benchutil.Result, len(workloads))
	}
	for round := 0; round < rounds; round++ {
		for mi, m := range modes {
			dir := filepath.Join(r.Dir, fmt.Sprintf("%d-%v", round, m.secure))
			res, err := measure(r.Procs, bin, dir, m.secure, dur)
			r.Procs.KillAll()
			if err != nil {
				return fmt.Errorf("%s, round %d: %w", m.name, round+1, err)
			}
			for wi := range workloads {
				results[mi][wi] = append(results[mi][wi], res[wi])
				fmt.Fprintf(os.Stderr, "round %d %-20s %-28s %3d clients: %.0f/s\n", round+1, m.name, workloads[wi].name, workloads[wi].clients, rate(res[wi], workloads[wi]))
			}
		}
	}
	section := report(modes, results, dur, rounds)
	fmt.Print(section)
	if out != "" {
		return benchutil.WriteSection(out, "<!-- bench-secure:begin -->", "<!-- bench-secure:end -->", section)
	}
	return nil
}

// rate is rows/s for writes, searches/s for searches.
func rate(r benchutil.Result, w workload) float64 {
	if w.search {
		return r.OpsPerSec()
	}
	return r.OpsPerSec() * float64(w.batch)
}

// secureArgs writes a CA, one node certificate shared by the three nodes
// (a benchmark shortcut: in production each node has its own), a gossip
// key and the root password into dir.
func secureArgs(dir string) ([]string, []client.Option, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	caCert, caKey, err := certs.NewCA("bench CA", time.Hour)
	if err != nil {
		return nil, nil, err
	}
	c, k, err := certs.Issue(caCert, caKey, "bench-node", []string{"127.0.0.1"}, true, time.Hour)
	if err != nil {
		return nil, nil, err
	}
	key, err := certs.NewGossipKey()
	if err != nil {
		return nil, nil, err
	}
	files := map[string][]byte{"ca.crt": caCert, "node.crt": c, "node.key": k, "gossip.key": []byte(key), "root": []byte(password)}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return nil, nil, err
		}
	}
	p := func(n string) string { return filepath.Join(dir, n) }
	tlsCfg, err := certs.ClientTLS(p("ca.crt"))
	if err != nil {
		return nil, nil, err
	}
	return []string{"--tls-cert", p("node.crt"), "--tls-key", p("node.key"), "--tls-ca", p("ca.crt"),
			"--gossip-key-file", p("gossip.key"), "--auth", "--root-password-file", p("root")},
		[]client.Option{client.WithTLS(tlsCfg), client.WithPassword("root", password)}, nil
}

func measure(ps *benchutil.Procs, bin, dir string, secure bool, dur time.Duration) ([]benchutil.Result, error) {
	var extra []string
	var opts []client.Option
	if secure {
		var err error
		if extra, opts, err = secureArgs(filepath.Join(dir, "certs")); err != nil {
			return nil, err
		}
	}
	addrs, err := benchutil.StartRaftvecWith(ps, bin, dir, extra...)
	if err != nil {
		return nil, err
	}
	admin, err := client.New(addrs, opts...)
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	if err := create(admin); err != nil {
		return nil, err
	}
	if err := load(admin); err != nil {
		return nil, err
	}
	var next atomic.Int64
	next.Store(rows + 1)
	var out []benchutil.Result
	for _, w := range workloads {
		res := benchutil.Drive(w.clients, dur, func(i int) (benchutil.Worker, error) {
			c, err := client.New([]string{addrs[i%3]}, opts...)
			if err != nil {
				return nil, err
			}
			level := pb.ConsistencyLevel_EVENTUAL
			if strings.Contains(w.name, "STRONG") {
				level = pb.ConsistencyLevel_STRONG
			}
			return &worker{c: c, w: w, next: &next, rng: rand.New(rand.NewPCG(uint64(i), 7)), level: level}, nil
		})
		if res.FirstErr != nil && res.Ops == 0 {
			return nil, fmt.Errorf("%s: %w", w.name, res.FirstErr)
		}
		out = append(out, res)
	}
	return out, nil
}

func create(c *client.Client) error {
	req := &pb.CreateCollectionRequest{Schema: &pb.CollectionSchema{Name: "bench"}, Dim: dim, Metric: pb.Metric_L2, Shards: 1, Replicas: 3}
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err := c.CreateCollection(ctx, req)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("create collection: %w", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func vectors(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n*dim)
	for i := range v {
		v[i] = rng.Float32()
	}
	return v
}

func load(c *client.Client) error {
	rng := rand.New(rand.NewPCG(1, 2))
	for start := 1; start <= rows; start += 1000 {
		ids := make([]int64, 1000)
		for i := range ids {
			ids[i] = int64(start + i)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := c.Insert(ctx, &pb.InsertRequest{Collection: "bench", Rows: &pb.Rows{IntIds: ids, Vectors: vectors(rng, 1000)}})
		cancel()
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
	}
	return nil
}

type worker struct {
	c     *client.Client
	w     workload
	next  *atomic.Int64
	rng   *rand.Rand
	level pb.ConsistencyLevel
}

func (w *worker) Do(ctx context.Context) error {
	if w.w.search {
		r, err := w.c.Search(ctx, &pb.SearchRequest{Collection: "bench", Vectors: vectors(w.rng, 1), TopK: 10,
			Read: &pb.ReadOptions{Level: w.level}})
		if err == nil && len(r.GetResults()) == 0 {
			err = errors.New("no results")
		}
		return err
	}
	first := w.next.Add(int64(w.w.batch)) - int64(w.w.batch)
	ids := make([]int64, w.w.batch)
	for i := range ids {
		ids[i] = first + int64(i)
	}
	_, err := w.c.Insert(ctx, &pb.InsertRequest{Collection: "bench", Rows: &pb.Rows{IntIds: ids, Vectors: vectors(w.rng, w.w.batch)}})
	return err
}

func (w *worker) Close() { w.c.Close() }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func report(modes []mode, results [][][]benchutil.Result, dur time.Duration, rounds int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- bench-secure:begin -->\n## Cost of TLS and authentication (`make bench-secure`)\n\n")
	fmt.Fprintf(&b, "- Command: `%s` (runs `cd bench && go run ./cmd/benchsecure -raftvec ../bin/raftvec -out ../docs/benchmarks.md $(BENCH_ARGS)`)\n", benchutil.CommandLine("bench-secure"))
	fmt.Fprintf(&b, "- Date: %s\n- Machine: %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), benchutil.Machine())
	fmt.Fprintf(&b, "- Two three-node clusters on 127.0.0.1, started one after the other, never at once, %d rounds interleaved (plaintext, secure, plaintext, …); each workload runs %s; the table shows the median of the rounds. Collection: 1 shard × 3 replicas, 128-d L2, %d rows loaded before the workloads (searches are brute force over them). Each client has its own SDK client connected to one node (client *i* → node *i* mod 3), its routing table sends writes straight to the shard leader (over TLS, with the password, when secured); searches are served by the node the client is connected to (STRONG ones after a read-index call to the leader, node to node).\n", rounds, dur, rows)
	fmt.Fprintf(&b, "- *TLS + auth*: `--tls-cert/--tls-key/--tls-ca` (TLS 1.3 on the client API, mutual TLS on Raft and on forwards), `--gossip-key-file`, `--auth`; every request carries root's password (`authorization` metadata, checked against the bcrypt hash once and then against a cached SHA-256), and the request layer checks the privilege. *plaintext*: the same flags without those.\n\n")
	fmt.Fprintf(&b, "| workload | clients | plaintext | TLS + auth | TLS+auth / plaintext |\n|---|---:|---:|---:|---:|\n")
	for wi, w := range workloads {
		var med [2]float64
		for mi := range modes {
			var xs []float64
			for _, r := range results[mi][wi] {
				xs = append(xs, rate(r, w))
			}
			med[mi] = median(xs)
		}
		unit := "rows/s"
		if w.search {
			unit = "searches/s"
		}
		ratio := 0.0
		if med[0] > 0 {
			ratio = med[1] / med[0]
		}
		fmt.Fprintf(&b, "| %s | %d | %.0f %s | %.0f %s | **%.2f×** |\n", w.name, w.clients, med[0], unit, med[1], unit, ratio)
	}
	fmt.Fprintf(&b, "\nOne run on one shared 2-core machine on which the three nodes and the load generator compete for the cores: read the ratios, not the absolute rates, and ratios within about ±10%% of 1 as noise.\n<!-- bench-secure:end -->\n")
	return b.String()
}
