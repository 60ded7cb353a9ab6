package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/raftvec/raftvec/jepsen/check"
	"github.com/raftvec/raftvec/jepsen/cluster"
	"github.com/raftvec/raftvec/jepsen/history"
	"github.com/raftvec/raftvec/jepsen/nemesis"
	"github.com/raftvec/raftvec/jepsen/workload"
	"github.com/raftvec/raftvec/rpc/pb"
)

// Collection is the name of the collection every run uses.
const Collection = "jepsen"

// Config configures one run.
type Config struct {
	// Binary is the raftvec server executable.
	Binary string
	// RunsDir receives one directory per run.
	RunsDir  string
	Workload string
	Nemesis  string
	// Nodes is the cluster size; 0 means 3, or the nemesis's minimum.
	Nodes    int
	Duration time.Duration
	Workers  int
	// Rate is operations per second per worker.
	Rate      float64
	OpTimeout time.Duration
	Schedule  nemesis.Schedule
	Seed      uint64
	// ServerArgs are appended to every node's flags after the suite's and
	// the workload's (for example an unsafe mode).
	ServerArgs []string
	// RegisterTimeout bounds porcupine per key.
	RegisterTimeout time.Duration
	// Shards is the collection's shard count, where the server supports
	// several (see setShards); 0 leaves the server's default.
	Shards int
	// KeepData keeps the nodes' data directories after the run.
	KeepData bool
	// Secure runs the cluster with TLS everywhere and authentication on
	// (the suite's clients authenticate as root).
	Secure bool
	// Command reproduces the run (shown in the report).
	Command string
	Logf    func(format string, args ...any)
}

// DefaultConfig returns the settings of a full run.
func DefaultConfig() Config {
	return Config{
		RunsDir:         "jepsen/runs",
		Duration:        60 * time.Second,
		Workers:         10,
		Rate:            10,
		OpTimeout:       2 * time.Second,
		Schedule:        nemesis.Schedule{Quiet: 3 * time.Second, Hold: 3 * time.Second},
		Seed:            1,
		RegisterTimeout: 60 * time.Second,
		Shards:          2,
	}
}

// Validate checks the config.
func (c Config) Validate() error {
	switch {
	case c.Binary == "":
		return errors.New("runner: binary must be set")
	case c.Workers < 1 || c.Workers > 100:
		return fmt.Errorf("runner: workers (%d) must be between 1 and 100", c.Workers)
	case c.Rate <= 0 || c.Rate > 1000:
		return fmt.Errorf("runner: rate (%g) must be in (0, 1000] ops/s per worker", c.Rate)
	case c.Duration <= 0:
		return fmt.Errorf("runner: duration (%s) must be positive", c.Duration)
	case c.OpTimeout < 100*time.Millisecond:
		return fmt.Errorf("runner: op timeout (%s) must be at least 100ms", c.OpTimeout)
	}
	return nil
}

// RunSeed derives the seed of one workload × nemesis run from the suite's
// seed, so that runs differ in their choices but each can be replayed.
func RunSeed(seed uint64, workload, nemesis string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(workload + "\x00" + nemesis))
	return seed ^ h.Sum64()
}

// Result is the outcome of one run or control.
type Result struct {
	Workload string `json:"workload"`
	Nemesis  string `json:"nemesis"`
	Nodes    int    `json:"nodes"`
	Dir      string `json:"dir"`
	// Control names a scripted control ("" for a workload run); Unsafe
	// says whether it ran against an unsafe server, in which case it must
	// come out red.
	Control string `json:"control,omitempty"`
	Unsafe  bool   `json:"unsafe,omitempty"`
	// Scenario marks a scripted scenario (see Scenarios) rather than a
	// control.
	Scenario bool           `json:"scenario,omitempty"`
	Results  []check.Result `json:"results"`
	Counts   map[string]int `json:"counts"`
	Elapsed  time.Duration  `json:"elapsed"`
	// Err is a harness failure: the run could not be carried out or
	// finished (no final read), which is a failure in itself.
	Err string `json:"error,omitempty"`
	// Expected lists what the verdict must show: "green", or the
	// checker:anomaly pairs a negative control must report.
	Expected []string `json:"expected"`
	// Pass is whether the verdict is the expected one.
	Pass bool `json:"pass"`
	// Secure: the cluster ran with TLS and authentication.
	Secure bool `json:"secure,omitempty"`
}

// Valid reports whether every checker passed and the harness did not fail.
func (r *Result) Valid() bool { return r.Err == "" && check.AllValid(r.Results) }

// Name is workload × nemesis, or the control's name.
func (r *Result) Name() string {
	if r.Control != "" {
		return r.Control
	}
	if r.Secure {
		return r.Workload + " × " + r.Nemesis + " (TLS+auth)"
	}
	return r.Workload + " × " + r.Nemesis
}

func (c Config) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}

// run holds what every kind of run (workload or control) sets up.
type run struct {
	cfg      Config
	dir      string
	dataDir  string
	started  time.Time
	cluster  *cluster.Cluster
	histFile *os.File
	rec      *history.Recorder
	timeline *nemesis.Timeline
	env      *workload.Env
}

// newRun creates the run directory, starts the cluster and the collection
// with a voter of each shard on each of the first voters nodes (the others
// hold no replica until a workload adds an analytics replica there). The
// caller must call close on the run it returns, even with an error.
func newRun(ctx context.Context, cfg Config, name string, nodes, voters int, args []string) (*run, error) {
	r := &run{cfg: cfg, started: time.Now()}
	r.dir = filepath.Join(cfg.RunsDir, r.started.Format("20060102T150405.000")+"-"+name)
	if err := os.MkdirAll(filepath.Join(r.dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	var err error
	if r.dataDir, err = os.MkdirTemp("", "raftvec-jepsen-"); err != nil {
		return r, err
	}
	r.cluster, err = cluster.New(cluster.Config{
		Binary: cfg.Binary, Nodes: nodes, DataDir: r.dataDir, LogDir: filepath.Join(r.dir, "logs"),
		Args: append(cluster.FastArgs(), args...), Secure: cfg.Secure,
	})
	if err != nil {
		return r, err
	}
	if r.histFile, err = os.Create(filepath.Join(r.dir, "history.jsonl")); err != nil {
		return r, err
	}
	if err := r.cluster.StartAll(); err != nil {
		return r, err
	}
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := r.cluster.WaitHealthy(sctx, ""); err != nil {
		return r, err
	}
	admin, err := r.cluster.Client()
	if err != nil {
		return r, err
	}
	defer admin.Close()
	// As many voters as nodes, so that partitions of five nodes split the
	// shard groups themselves.
	req := &pb.CreateCollectionRequest{Schema: &pb.CollectionSchema{Name: Collection},
		Dim: workload.Dim, Metric: pb.Metric_L2, Replicas: uint32(voters)}
	setShards(req, cfg.Shards)
	if err := admin.CreateCollection(sctx, req); err != nil {
		return r, fmt.Errorf("create collection: %w", err)
	}
	r.rec = history.NewRecorder(history.Clock(time.Now()), r.histFile)
	r.timeline = nemesis.NewTimeline(r.rec.Now)
	r.env = &workload.Env{Cluster: r.cluster, Rec: r.rec, Collection: Collection, OpTimeout: cfg.OpTimeout, Workers: cfg.Workers}
	return r, nil
}

// setShards sets the request's shard count when the API has one (the
// "shards" field arrives with multi-shard collections; before that every
// collection has one shard and n is ignored). It is set by name so that the
// suite builds against the API before and after that field.
func setShards(req *pb.CreateCollectionRequest, n int) {
	if n <= 0 {
		return
	}
	m := req.ProtoReflect()
	if fd := m.Descriptor().Fields().ByName("shards"); fd != nil && fd.Kind() == protoreflect.Uint32Kind {
		m.Set(fd, protoreflect.ValueOfUint32(uint32(n)))
	}
}

func (r *run) close() {
	if r.cluster != nil {
		r.cluster.Close()
	}
	if r.histFile != nil {
		r.histFile.Close()
	}
	if r.dataDir != "" && !r.cfg.KeepData {
		os.RemoveAll(r.dataDir)
	}
}

// Run carries out one workload × nemesis run.
func Run(ctx context.Context, cfg Config) *Result {
	res := &Result{Workload: cfg.Workload, Nemesis: cfg.Nemesis, Expected: []string{"green"}, Secure: cfg.Secure}
	start := time.Now()
	defer func() {
		res.Elapsed = time.Since(start).Round(time.Millisecond)
		res.Pass = res.Valid()
	}()
	if err := cfg.Validate(); err != nil {
		res.Err = err.Error()
		return res
	}
	fault, err := nemesis.ByName(cfg.Nemesis)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	wl, err := workload.New(cfg.Workload, Collection)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	spare := nemesis.SpareNodes(fault)
	nodes, voters := topology(cfg.Nodes, fault.MinNodes(), spare, wl)
	if nodes > voters && spare == 0 {
		// An analytics replica needs a node without a voter of any shard:
		// with one shard, placement leaves one of the four nodes free.
		cfg.Shards = 1
	}
	res.Nodes = nodes
	args := append(wl.ServerArgs(), cfg.ServerArgs...)
	r, err := newRun(ctx, cfg, cfg.Workload+"-"+cfg.Nemesis, nodes, voters, args)
	if r != nil {
		res.Dir = r.dir
		defer r.close()
	}
	if err == nil {
		err = r.setup(ctx, wl, voters, spare == 0)
	}
	if err != nil {
		res.Err = "setup: " + err.Error()
		return res
	}
	cfg.logf("run %s × %s on %d nodes for %s: %s", cfg.Workload, cfg.Nemesis, nodes, cfg.Duration, r.dir)

	// The run: workers and nemesis side by side.
	var workers []*workload.Worker
	for w := range cfg.Workers {
		worker, err := workload.NewWorker(r.env, w, cfg.Seed)
		if err != nil {
			for _, wk := range workers {
				wk.Close()
			}
			res.Err = err.Error()
			return res
		}
		workers = append(workers, worker)
	}
	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	var wg sync.WaitGroup
	for _, worker := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer worker.Close()
			work(runCtx, worker, wl, cfg.Rate)
		}()
	}
	nenv := &nemesis.Env{Cluster: r.cluster, Collection: Collection, Timeline: r.timeline,
		Rng: rand.New(rand.NewPCG(cfg.Seed, 0x6e656d)), Logf: cfg.Logf}
	wg.Add(1)
	go func() {
		defer wg.Done()
		nemesis.Run(runCtx, fault, nenv, cfg.Schedule)
	}()
	wg.Wait()
	cancel()

	var errs []error
	if err := r.settle(ctx); err != nil {
		errs = append(errs, err)
	} else if err := r.final(ctx, wl); err != nil {
		errs = append(errs, err)
	}
	reports, notes := converge(ctx, r.cluster, 15*time.Second)
	if ctx.Err() != nil {
		errs = append(errs, fmt.Errorf("interrupted: %w", ctx.Err()))
	}
	ops := r.rec.Ops()
	if err := r.rec.Err(); err != nil {
		errs = append(errs, fmt.Errorf("history: %w", err))
	}
	events := r.timeline.Events()
	results := wl.Check(ops, workload.CheckOptions{Dir: r.dir, Nemesis: events, RegisterTimeout: cfg.RegisterTimeout})
	conv := check.Convergence(reports)
	conv.Notes = append(conv.Notes, notes...)
	results = append(results, conv, processHealth(r.cluster.Crashes()))
	res.Results, res.Counts = results, history.Counts(ops)
	if err := errors.Join(errs...); err != nil {
		res.Err = err.Error()
	}
	res.Elapsed, res.Pass = time.Since(start).Round(time.Millisecond), res.Valid()
	if err := r.writeFiles(res, ops, events, cfg.Workload, cfg.Nemesis); err != nil {
		res.Err = strings.TrimPrefix(res.Err+"; ", "; ") + "report: " + err.Error()
	}
	return res
}

// topology returns the cluster size and the number of voters per shard:
// three nodes, or the nemesis's minimum, every one a voter; a workload that
// asks for analytics replicas gets that many more nodes, which hold only
// analytics replicas, when the nemesis needs no more than three voters.
// nodes, when not 0, overrides the size (voters then fill it).
func topology(nodes, minNodes, spare int, wl workload.Workload) (int, int) {
	if nodes > 0 {
		return nodes, max(1, nodes-spare)
	}
	if spare > 0 {
		return 3 + spare, 3
	}
	voters := max(3, minNodes)
	if nv, ok := wl.(workload.NonVoterer); ok && voters == 3 {
		return voters + nv.NonVoters(), voters
	}
	return voters, voters
}

// setup adds, when analytics is set, an analytics replica on each node
// that holds no replica of the collection (there are nodes - voters of
// them; otherwise they stay spare, for the nemesis), lets the workload
// prepare the collection, and waits until every node holds a replica and
// agrees on the leaders.
func (r *run) setup(ctx context.Context, wl workload.Workload, voters int, analytics bool) error {
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	c, err := r.cluster.Client()
	if err != nil {
		return err
	}
	defer c.Close()
	if analytics && r.cluster.Size() > voters {
		desc, err := c.DescribeCollection(sctx, Collection)
		if err != nil {
			return err
		}
		held := map[string]bool{}
		for _, sh := range desc.Shards {
			for _, n := range sh.Replicas {
				held[n] = true
			}
		}
		for _, n := range r.cluster.Nodes() {
			if held[n.ID] {
				continue
			}
			if err := c.AddReplica(sctx, Collection, n.ID, true); err != nil {
				return fmt.Errorf("add analytics replica on %s: %w", n.ID, err)
			}
		}
	}
	if s, ok := wl.(workload.Setupper); ok {
		if err := s.Setup(sctx, c, Collection); err != nil {
			return err
		}
	}
	return r.cluster.WaitHealthy(sctx, Collection)
}

// work runs one worker's operations at about rate per second until ctx
// ends. Each operation has its own timeout, so the last one may finish a
// little after ctx.
func work(ctx context.Context, w *workload.Worker, wl workload.Workload, rate float64) {
	interval := time.Duration(float64(time.Second) / rate)
	// Workers start spread over one interval.
	if !sleepCtx(ctx, time.Duration(w.Rng.Int64N(int64(interval)+1))) {
		return
	}
	for ctx.Err() == nil {
		t0 := time.Now()
		wl.Op(w)
		wait := interval/2 + time.Duration(w.Rng.Int64N(int64(interval)+1)) - time.Since(t0)
		if wait > 0 && !sleepCtx(ctx, wait) {
			return
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// settle ends every run the same way: heal, kill -9 and restart every
// node, wait for leaders.
func (r *run) settle(ctx context.Context) error {
	t := r.rec.Now()
	hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	healErr := r.cluster.Heal(hctx)
	r.timeline.Add(t, r.rec.Now(), "heal", "heal every fault: resume, reconnect, reset clocks and apply delays", nil)
	if healErr != nil {
		r.cfg.logf("heal: %v", healErr)
	}
	t = r.rec.Now()
	var errs []error
	for i := range r.cluster.Size() {
		errs = append(errs, r.cluster.Kill(i))
	}
	errs = append(errs, r.cluster.StartAll())
	all := make([]int, r.cluster.Size())
	for i := range all {
		all[i] = i
	}
	r.timeline.Add(t, r.rec.Now(), "restart", "kill -9 every node, then restart all", r.cluster.IDs(all))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	if err := r.cluster.WaitHealthy(wctx, Collection); err != nil {
		return fmt.Errorf("after restart: %w", err)
	}
	return nil
}

// final takes the workload's final reads with a fresh client, retrying
// while the cluster settles (a read that fails records nothing).
func (r *run) final(ctx context.Context, wl workload.Workload) error {
	c, err := r.cluster.Client()
	if err != nil {
		return err
	}
	defer c.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = wl.Final(fctx, r.env, c)
		cancel()
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			break
		}
		r.cfg.logf("final read: %v; retrying", err)
		time.Sleep(500 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("final read: %w", err)
	}
	return nil
}

// processHealth reports server processes that exited without being
// killed: a crash under test is a failure even when no checker notices.
func processHealth(crashes []string) check.Result {
	r := check.Result{Name: "processes", Valid: len(crashes) == 0, Counts: map[string]int{"crashes": len(crashes)}}
	for _, c := range crashes {
		r.Anomalies = append(r.Anomalies, check.Anomaly{Kind: "crash", Message: c + " (see its log)"})
	}
	return r
}

// writeFiles writes nemesis.jsonl, results.json and index.html.
func (r *run) writeFiles(res *Result, ops []history.Op, events []history.NemesisEvent, wl, nem string) error {
	var errs []error
	np := filepath.Join(r.dir, "nemesis.jsonl")
	errs = append(errs, history.WriteNemesisFile(np, events))
	b, err := json.MarshalIndent(res, "", "  ")
	if err == nil {
		err = os.WriteFile(filepath.Join(r.dir, "results.json"), b, 0o644)
	}
	errs = append(errs, err)
	files := []check.Link{
		{Label: "history.jsonl", Path: "history.jsonl"},
		{Label: "nemesis.jsonl", Path: "nemesis.jsonl"},
		{Label: "results.json", Path: "results.json"},
	}
	for _, n := range r.cluster.Nodes() {
		files = append(files, check.Link{Label: n.ID + " server log", Path: filepath.ToSlash(filepath.Join("logs", n.ID+".log"))})
	}
	title := wl + " × " + nem
	if res.Control != "" {
		title = res.Workload + ": " + res.Control
	}
	results := slices.Clone(res.Results)
	if res.Err != "" {
		results = append(results, check.Result{Name: "harness", Valid: false,
			Anomalies: []check.Anomaly{{Kind: "harness-error", Message: res.Err}}})
	}
	errs = append(errs, check.WriteReport(filepath.Join(r.dir, "index.html"), check.Report{
		Title: title, Workload: wl, Nemesis: nem, Command: r.cfg.Command, Started: r.started,
		Duration: time.Since(r.started).Round(time.Millisecond), Results: results,
		Counts: history.Counts(ops), Timeline: events, Files: files,
	}))
	return errors.Join(errs...)
}
