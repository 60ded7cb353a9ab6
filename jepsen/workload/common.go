package workload

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/raftvec/raftvec/jepsen/check"
	"github.com/raftvec/raftvec/jepsen/cluster"
	"github.com/raftvec/raftvec/jepsen/history"
	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
)

// Dim is the dimension of every workload's vectors.
const Dim = 8

// codeScale places key and version in the last two components exactly:
// an integer below 2^24 divided by a power of two is exact in float32.
const codeScale = 1 << 20

// MaxCode is the largest key or version a vector can encode.
const MaxCode = 1<<24 - 1

// Vector is the vector written for (key, version): Dim-2 pseudo-random
// components in [0, 1) that depend only on key and version, then key and
// version scaled by 2^-20. The same (key, version) always gives the same
// vector, so an exact search for it finds it at distance 0.
func Vector(key, version int64) []float32 {
	v := make([]float32, Dim)
	s := uint64(key)*0x9E3779B97F4A7C15 ^ uint64(version)
	for i := range Dim - 2 {
		s = splitmix(s)
		v[i] = float32(s>>40) / (1 << 24)
	}
	v[Dim-2] = float32(key) / codeScale
	v[Dim-1] = float32(version) / codeScale
	return v
}

// Decode returns the key and version a vector written by Vector encodes;
// ok is false for a vector Vector did not produce.
func Decode(v []float32) (key, version int64, ok bool) {
	if len(v) != Dim {
		return 0, 0, false
	}
	k, ver := float64(v[Dim-2])*codeScale, float64(v[Dim-1])*codeScale
	if k != math.Trunc(k) || ver != math.Trunc(ver) || k < 0 || ver < 0 || k > MaxCode || ver > MaxCode {
		return 0, 0, false
	}
	key, version = int64(k), int64(ver)
	return key, version, slices.Equal(Vector(key, version), v)
}

func splitmix(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}

// RandomQuery is a query vector in the same space as Vector's.
func RandomQuery(r *rand.Rand) []float32 {
	v := make([]float32, Dim)
	for i := range Dim - 2 {
		v[i] = r.Float32()
	}
	return v
}

// SquaredL2 is the distance an L2 collection reports as the score.
func SquaredL2(a, b []float32) float32 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return float32(s)
}

// decodeHitVector decodes the little-endian float32s of a search hit.
func decodeHitVector(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// Classify maps an SDK error to an outcome: Fail only for codes that prove
// the request was refused before it could apply.
func Classify(err error) history.Outcome {
	if err == nil {
		return history.Ok
	}
	switch status.Code(err) {
	case codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.FailedPrecondition,
		codes.OutOfRange, codes.PermissionDenied, codes.Unimplemented, codes.Unauthenticated:
		return history.Fail
	}
	return history.Unknown
}

// Env is what a workload's workers share during a run.
type Env struct {
	Cluster    *cluster.Cluster
	Rec        *history.Recorder
	Collection string
	// OpTimeout bounds each operation, SDK retries included.
	OpTimeout time.Duration
	// Workers is the number of worker goroutines; process ids of worker w
	// are w, w+Workers, w+2·Workers …
	Workers int

	versions atomic.Int64
}

// NextVersion returns a version (or key) never used before in the run.
func (e *Env) NextVersion() int64 { return e.versions.Add(1) }

// Worker is one client goroutine: one process at a time, one operation at
// a time.
type Worker struct {
	Index   int
	Process int
	Rng     *rand.Rand
	// All is a client of every node, its list rotated so that workers
	// start on different nodes (a non-leader forwards to the leader).
	All *client.Client
	env *Env
	// nodes[i] is a client of node i alone.
	nodes []*client.Client
}

// NewWorker returns worker w with its own clients (they connect lazily).
func NewWorker(e *Env, w int, seed uint64) (*Worker, error) {
	addrs := e.Cluster.APIAddrs()
	k := w % len(addrs)
	all, err := client.New(append(slices.Clone(addrs[k:]), addrs[:k]...), e.Cluster.ClientOptions()...)
	if err != nil {
		return nil, err
	}
	wk := &Worker{Index: w, Process: w, Rng: rand.New(rand.NewPCG(seed, uint64(w))), All: all, env: e}
	for i := range addrs {
		c, err := e.Cluster.Client(i)
		if err != nil {
			wk.Close()
			return nil, err
		}
		wk.nodes = append(wk.nodes, c)
	}
	return wk, nil
}

// Node returns the worker's client of node i alone.
func (w *Worker) Node(i int) *client.Client { return w.nodes[i] }

// Close closes the worker's clients.
func (w *Worker) Close() {
	w.All.Close()
	for _, c := range w.nodes {
		c.Close()
	}
}

// Do runs f with the op timeout and records op with its times and outcome.
// f fills in what the operation returned. A write whose outcome is Unknown
// moves the worker to a new process.
func (w *Worker) Do(op history.Op, f func(ctx context.Context, op *history.Op) error) history.Op {
	op.Process = w.Process
	rec := do(w.env, op, f)
	if rec.Kind.IsWrite() && rec.Outcome == history.Unknown {
		w.Process += w.env.Workers
	}
	return rec
}

// Exec runs f with e's op timeout and records op (whose Process the caller
// sets) with its times and outcome; for scripted scenarios.
func Exec(e *Env, op history.Op, f func(ctx context.Context, op *history.Op) error) history.Op {
	return do(e, op, f)
}

func do(e *Env, op history.Op, f func(ctx context.Context, op *history.Op) error) history.Op {
	ctx, cancel := context.WithTimeout(context.Background(), e.OpTimeout)
	defer cancel()
	op.Call = e.Rec.Now()
	err := f(ctx, &op)
	op.Return = max(e.Rec.Now(), op.Call)
	op.Outcome = Classify(err)
	if err != nil {
		op.Error = shortError(err)
		if op.Kind.IsRead() {
			op.Keys, op.Values, op.Distances = nil, nil, nil
			if op.Kind == history.Get {
				op.Value = history.Absent
			}
		}
	}
	return e.Rec.Record(op)
}

func shortError(err error) string {
	s := err.Error()
	if st, ok := status.FromError(err); ok {
		s = st.Code().String() + ": " + st.Message()
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// FinalProcess is the process id of final reads: far from any worker's.
const FinalProcess = 1_000_000

// CheckOptions are what checkers need besides the history.
type CheckOptions struct {
	// Dir is the run directory, for the porcupine visualization.
	Dir     string
	Nemesis []history.NemesisEvent
	// RegisterTimeout bounds porcupine per key.
	RegisterTimeout time.Duration
}

// Workload is one kind of client activity with its checkers. A Workload
// value holds the state of one run: make a new one per run with New.
type Workload interface {
	Name() string
	// ServerArgs are extra server flags the workload needs (they override
	// the defaults).
	ServerArgs() []string
	// Op issues and records one operation of worker w.
	Op(w *Worker)
	// Final records the final reads after heal (Final: true), through c.
	Final(ctx context.Context, e *Env, c *client.Client) error
	// Check judges the history.
	Check(h []history.Op, o CheckOptions) []check.Result
}

// Setupper is a Workload that prepares the collection before the clients
// start (for example by creating an index).
type Setupper interface {
	Setup(ctx context.Context, c *client.Client, collection string) error
}

// NonVoterer is a Workload that wants analytics (non-voting) replicas: the
// runner adds NonVoters nodes that hold only such replicas, and the
// workload's per-node reads reach them too.
type NonVoterer interface {
	NonVoters() int
}

// Names lists the workloads.
func Names() []string {
	return []string{"register", "set", "no-resurrection", "session", "bounded", "search", "cut", "milvus-register"}
}

// New returns a fresh workload by name.
func New(name string, collection string) (Workload, error) {
	switch name {
	case "register":
		return &register{coll: collection, keys: 5, versions: newVersionLog()}, nil
	case "set":
		return &set{coll: collection}, nil
	case "no-resurrection":
		return &noResurrection{coll: collection}, nil
	case "session":
		return &session{coll: collection, keys: 8, tokens: map[int]uint64{}}, nil
	case "bounded":
		return &bounded{coll: collection, keys: 5}, nil
	case "search":
		return &searchOracle{coll: collection, keys: 200}, nil
	case "cut":
		return &cut{coll: collection, keys: 6}, nil
	case "milvus-register":
		return &milvusRegister{coll: collection, keys: 5, versions: newVersionLog()}, nil
	}
	return nil, fmt.Errorf("unknown workload %q (have %s)", name, strings.Join(Names(), ", "))
}

func strongRead() *pb.ReadOptions { return &pb.ReadOptions{Level: pb.ConsistencyLevel_STRONG} }

// GetVersions reads keys at ro and returns the version of each key found
// (missing keys are absent).
func GetVersions(ctx context.Context, c *client.Client, coll string, keys []int64, ro *pb.ReadOptions) (map[int64]int64, uint64, error) {
	resp, err := c.Get(ctx, &pb.GetRequest{Collection: coll, IntIds: keys, OutputFields: []string{"vector"}, Read: ro})
	if err != nil {
		return nil, 0, err
	}
	rows := resp.GetRows()
	if len(rows.GetVectors()) != Dim*len(rows.GetIntIds()) {
		return nil, 0, fmt.Errorf("get returned %d ids and %d floats", len(rows.GetIntIds()), len(rows.GetVectors()))
	}
	out := make(map[int64]int64, len(rows.GetIntIds()))
	for i, id := range rows.GetIntIds() {
		k, v, ok := Decode(rows.Vectors[i*Dim : (i+1)*Dim])
		if !ok || k != id {
			// A vector no write produced: recorded as a version no write
			// has, so that the checkers report it as a phantom.
			v = NoVersion
		}
		out[id] = v
	}
	return out, resp.Ts, nil
}

// NoVersion is the version recorded for a row whose vector no write of the
// run produced.
const NoVersion int64 = -1

// searchHits runs a search and returns keys, versions and scores. A hit
// whose vector does not decode gets version -1, which no write has.
func searchHits(ctx context.Context, c *client.Client, coll string, q []float32, k int, ro *pb.ReadOptions) (keys, versions []int64, scores []float32, ts uint64, err error) {
	resp, err := c.Search(ctx, &pb.SearchRequest{Collection: coll, Vectors: q, TopK: uint32(k), OutputFields: []string{"vector"}, Read: ro})
	if err != nil {
		return nil, nil, nil, 0, err
	}
	if len(resp.Results) != 1 {
		return nil, nil, nil, 0, fmt.Errorf("search returned %d result lists for one query", len(resp.Results))
	}
	for _, h := range resp.Results[0].Hits {
		key, ver, ok := Decode(decodeHitVector(h.Vector))
		if !ok || key != h.IntId {
			ver = NoVersion
		}
		keys = append(keys, h.IntId)
		versions = append(versions, ver)
		scores = append(scores, h.Score)
	}
	return keys, versions, scores, resp.Ts, nil
}

// finalGets records one Final STRONG Get per key, all from one request.
func finalGets(ctx context.Context, e *Env, c *client.Client, coll string, keys []int64) (map[int64]int64, error) {
	call := e.Rec.Now()
	got, ts, err := GetVersions(ctx, c, coll, keys, strongRead())
	ret := e.Rec.Now()
	if err != nil {
		return nil, fmt.Errorf("final read: %w", err)
	}
	for i, k := range keys {
		v, ok := got[k]
		if !ok {
			v = history.Absent
		}
		e.Rec.Record(history.Op{Process: FinalProcess + i, Kind: history.Get, Key: k, Value: v, Level: history.Strong,
			Final: true, Call: call, Return: ret, Outcome: history.Ok, Ts: ts})
	}
	return got, nil
}

// versionLog remembers recent versions written per key, for probes.
type versionLog struct {
	mu sync.Mutex
	m  map[int64][]int64
}

func newVersionLog() *versionLog { return &versionLog{m: map[int64][]int64{}} }

func (l *versionLog) add(key, v int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	vs := append(l.m[key], v)
	if len(vs) > 8 {
		vs = vs[len(vs)-8:]
	}
	l.m[key] = vs
}

func (l *versionLog) pick(r *rand.Rand, key int64) (int64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	vs := l.m[key]
	if len(vs) == 0 {
		return 0, false
	}
	return vs[r.IntN(len(vs))], true
}

func keyRange(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i + 1)
	}
	return out
}
