package nemesis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/raftvec/raftvec/jepsen/cluster"
	"github.com/raftvec/raftvec/jepsen/history"
	"github.com/raftvec/raftvec/rpc/pb"
)

// Timeline records nemesis events. It is safe for concurrent use.
type Timeline struct {
	now func() int64
	mu  sync.Mutex
	evs []history.NemesisEvent
}

// NewTimeline returns a timeline reading the run's clock.
func NewTimeline(now func() int64) *Timeline { return &Timeline{now: now} }

// Now is the run's clock.
func (t *Timeline) Now() int64 { return t.now() }

// Add records an event that started at start and, when end is not zero,
// was healed at end.
func (t *Timeline) Add(start, end int64, kind, desc string, nodes []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.evs = append(t.evs, history.NemesisEvent{Time: start, End: end, Kind: kind, Description: desc, Nodes: nodes})
}

// Events returns the events in start order.
func (t *Timeline) Events() []history.NemesisEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := slices.Clone(t.evs)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time < out[j].Time })
	return out
}

// Env is what a fault acts on.
type Env struct {
	Cluster *cluster.Cluster
	// Collection is the workload's collection; "the leader" is the leader
	// of its shard.
	Collection string
	Timeline   *Timeline
	Rng        *rand.Rand
	// Logf reports harness problems (a fault that could not be injected).
	Logf func(format string, args ...any)
}

func (e *Env) logf(format string, args ...any) {
	if e.Logf != nil {
		e.Logf(format, args...)
	}
}

// Injection is one fault in place: what it is and how to heal it.
type Injection struct {
	Kind        string
	Description string
	Nodes       []int
	// Heal undoes the fault; nil when there is nothing to undo.
	Heal func(ctx context.Context) error
}

// Fault is one kind of fault.
type Fault interface {
	Name() string
	// MinNodes is the smallest cluster the fault makes sense on.
	MinNodes() int
	// Inject puts the fault in place. Faults are injected one at a time.
	Inject(ctx context.Context, e *Env) (Injection, error)
}

// Schedule is how a nemesis alternates quiet periods and faults. Each
// period is drawn uniformly from [d/2, 3d/2].
type Schedule struct {
	Quiet time.Duration
	Hold  time.Duration
}

func jitter(r *rand.Rand, d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d/2 + time.Duration(r.Int64N(int64(d)+1))
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Run injects f repeatedly until ctx ends: a quiet period, the fault, a
// hold, the heal. A fault in place when ctx ends is healed before Run
// returns, with a context of its own. Errors injecting are logged and the
// schedule goes on.
func Run(ctx context.Context, f Fault, e *Env, s Schedule) {
	for {
		if !sleep(ctx, jitter(e.Rng, s.Quiet)) {
			return
		}
		start := e.Timeline.Now()
		inj, err := f.Inject(ctx, e)
		if err != nil {
			// A fault may be half in place (one of two kills failed):
			// heal what there is at once.
			e.logf("nemesis %s: %v", f.Name(), err)
			e.Timeline.Add(start, e.Timeline.Now(), "error", fmt.Sprintf("%s failed: %v", f.Name(), err), nil)
		}
		if inj.Heal == nil {
			if err == nil && inj.Kind != "none" {
				e.Timeline.Add(start, e.Timeline.Now(), inj.Kind, inj.Description, e.Cluster.IDs(inj.Nodes))
			}
			continue
		}
		if err == nil {
			sleep(ctx, jitter(e.Rng, s.Hold))
		}
		hctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := inj.Heal(hctx); err != nil {
			e.logf("nemesis %s: heal: %v", f.Name(), err)
		}
		cancel()
		e.Timeline.Add(start, e.Timeline.Now(), inj.Kind, inj.Description, e.Cluster.IDs(inj.Nodes))
	}
}

// --- the catalogue ---

// Names lists every fault the catalogue has, in the order runs use.
func Names() []string {
	out := make([]string, 0, len(catalogue))
	for _, f := range catalogue {
		out = append(out, f.Name())
	}
	return out
}

// ByName returns the fault called name.
func ByName(name string) (Fault, error) {
	for _, f := range catalogue {
		if f.Name() == name {
			return f, nil
		}
	}
	if why, ok := Unsupported[name]; ok {
		return nil, fmt.Errorf("nemesis %q is not available: %s", name, why)
	}
	return nil, fmt.Errorf("unknown nemesis %q (have %s)", name, strings.Join(Names(), ", "))
}

// Unsupported are the faults the issue asks for that the server cannot be
// driven to yet, with the reason; runs skip them.
var Unsupported = map[string]string{}

var catalogue = []Fault{
	none{},
	kill{name: "kill-one", pick: pickRandom(1)},
	kill{name: "kill-leader", pick: pickLeader},
	kill{name: "kill-majority", pick: pickMajority},
	kill{name: "kill-all", pick: pickAll},
	pauseLeader{},
	partition{name: "partition-one", nodes: 3, topo: topoIsolateRandom},
	partition{name: "partition-leader", nodes: 3, topo: topoIsolateLeader},
	partition{name: "partition-halves", nodes: 3, topo: topoHalves},
	partition{name: "partition-bridge", nodes: 5, topo: topoBridge},
	partition{name: "partition-ring", nodes: 5, topo: topoRing},
	clockSkew{},
	slowApply{},
	shardMove{},
	wipeRejoin{},
	mix{},
}

type none struct{}

func (none) Name() string  { return "none" }
func (none) MinNodes() int { return 1 }
func (none) Inject(context.Context, *Env) (Injection, error) {
	return Injection{Kind: "none"}, nil
}

// --- choosing nodes ---

type picker func(ctx context.Context, e *Env) ([]int, string)

func all(e *Env) []int {
	out := make([]int, e.Cluster.Size())
	for i := range out {
		out[i] = i
	}
	return out
}

func shuffled(e *Env) []int {
	out := all(e)
	e.Rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func pickRandom(n int) picker {
	return func(_ context.Context, e *Env) ([]int, string) {
		out := shuffled(e)[:n]
		slices.Sort(out)
		return out, "random"
	}
}

// leader finds the shard leader, waiting briefly for an election; with no
// leader it falls back to a random node and says so.
func leader(ctx context.Context, e *Env) (int, string) {
	lctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if i, err := e.Cluster.WaitLeader(lctx, e.Collection); err == nil {
		return i, "leader"
	}
	return e.Rng.IntN(e.Cluster.Size()), "random (no leader found)"
}

func pickLeader(ctx context.Context, e *Env) ([]int, string) {
	i, how := leader(ctx, e)
	return []int{i}, how
}

func pickMajority(_ context.Context, e *Env) ([]int, string) {
	out := shuffled(e)[:e.Cluster.Size()/2+1]
	slices.Sort(out)
	return out, "majority"
}

func pickAll(_ context.Context, e *Env) ([]int, string) { return all(e), "all" }

// --- process faults ---

type kill struct {
	name string
	pick picker
}

func (k kill) Name() string  { return k.name }
func (k kill) MinNodes() int { return 1 }
func (k kill) Inject(ctx context.Context, e *Env) (Injection, error) {
	nodes, how := k.pick(ctx, e)
	var errs []error
	for _, i := range nodes {
		errs = append(errs, e.Cluster.Kill(i))
	}
	inj := Injection{
		Kind:        "kill",
		Description: fmt.Sprintf("kill -9 %s (%s), then restart", strings.Join(e.Cluster.IDs(nodes), ","), how),
		Nodes:       nodes,
		Heal: func(context.Context) error {
			var errs []error
			for _, i := range nodes {
				errs = append(errs, e.Cluster.Start(i))
			}
			return errors.Join(errs...)
		},
	}
	return inj, errors.Join(errs...)
}

type pauseLeader struct{}

func (pauseLeader) Name() string  { return "pause-leader" }
func (pauseLeader) MinNodes() int { return 3 }
func (pauseLeader) Inject(ctx context.Context, e *Env) (Injection, error) {
	i, how := leader(ctx, e)
	if err := e.Cluster.Pause(i); err != nil {
		return Injection{}, err
	}
	return Injection{
		Kind:        "pause",
		Description: fmt.Sprintf("SIGSTOP %s (%s), then SIGCONT", e.Cluster.Node(i).ID, how),
		Nodes:       []int{i},
		Heal:        func(context.Context) error { return e.Cluster.Resume(i) },
	}, nil
}

// --- network faults ---

type topology func(ctx context.Context, e *Env) (links []Link, nodes []int, desc string)

func topoIsolateRandom(_ context.Context, e *Env) ([]Link, []int, string) {
	x := e.Rng.IntN(e.Cluster.Size())
	return Isolate(x, e.Cluster.Size()), []int{x}, "isolate " + e.Cluster.Node(x).ID
}

func topoIsolateLeader(ctx context.Context, e *Env) ([]Link, []int, string) {
	x, how := leader(ctx, e)
	return Isolate(x, e.Cluster.Size()), []int{x}, fmt.Sprintf("isolate %s (%s)", e.Cluster.Node(x).ID, how)
}

func topoHalves(_ context.Context, e *Env) ([]Link, []int, string) {
	minority, links := Halves(shuffled(e))
	return links, minority, "minority " + strings.Join(e.Cluster.IDs(minority), ",") + " | majority"
}

func topoBridge(_ context.Context, e *Env) ([]Link, []int, string) {
	order := shuffled(e)
	b, links := Bridge(order)
	m := len(order) / 2
	return links, []int{b}, fmt.Sprintf("%s | bridge %s | %s",
		strings.Join(e.Cluster.IDs(order[:m]), ","), e.Cluster.Node(b).ID, strings.Join(e.Cluster.IDs(order[m+1:]), ","))
}

func topoRing(_ context.Context, e *Env) ([]Link, []int, string) {
	order := shuffled(e)
	return Ring(order), order, "majorities ring " + strings.Join(e.Cluster.IDs(order), "-")
}

type partition struct {
	name  string
	nodes int
	topo  topology
}

func (p partition) Name() string  { return p.name }
func (p partition) MinNodes() int { return p.nodes }
func (p partition) Inject(ctx context.Context, e *Env) (Injection, error) {
	links, nodes, desc := p.topo(ctx, e)
	inj := Injection{
		Kind:        "partition",
		Description: desc,
		Nodes:       nodes,
		Heal: func(ctx context.Context) error {
			var errs []error
			for _, i := range e.Cluster.Up() {
				errs = append(errs, e.Cluster.InjectFault(ctx, i, &pb.InjectFaultRequest{UnblockAll: true}))
			}
			return errors.Join(errs...)
		},
	}
	return inj, e.Cluster.Cut(ctx, links)
}

// --- clocks and applies ---

type clockSkew struct{}

func (clockSkew) Name() string  { return "clock-skew" }
func (clockSkew) MinNodes() int { return 1 }
func (clockSkew) Inject(ctx context.Context, e *Env) (Injection, error) {
	x := e.Rng.IntN(e.Cluster.Size())
	ms := 200 + e.Rng.Int64N(1800)
	if e.Rng.IntN(2) == 0 {
		ms = -ms
	}
	if err := e.Cluster.InjectFault(ctx, x, &pb.InjectFaultRequest{ClockOffsetMs: ms, SetClockOffset: true}); err != nil {
		return Injection{}, err
	}
	return Injection{
		Kind:        "clock",
		Description: fmt.Sprintf("clock of %s offset by %+dms", e.Cluster.Node(x).ID, ms),
		Nodes:       []int{x},
		Heal: func(ctx context.Context) error {
			if !e.Cluster.Running(x) {
				return nil // a restart resets the offset
			}
			return e.Cluster.InjectFault(ctx, x, &pb.InjectFaultRequest{SetClockOffset: true})
		},
	}, nil
}

type slowApply struct{}

func (slowApply) Name() string  { return "slow-apply" }
func (slowApply) MinNodes() int { return 1 }
func (slowApply) Inject(ctx context.Context, e *Env) (Injection, error) {
	x := e.Rng.IntN(e.Cluster.Size())
	ms := uint32(20 + e.Rng.IntN(80))
	if err := e.Cluster.InjectFault(ctx, x, &pb.InjectFaultRequest{ApplyDelayMs: ms, SetApplyDelay: true}); err != nil {
		return Injection{}, err
	}
	return Injection{
		Kind:        "slow-apply",
		Description: fmt.Sprintf("every apply on %s delayed %dms", e.Cluster.Node(x).ID, ms),
		Nodes:       []int{x},
		Heal: func(ctx context.Context) error {
			if !e.Cluster.Running(x) {
				return nil
			}
			return e.Cluster.InjectFault(ctx, x, &pb.InjectFaultRequest{SetApplyDelay: true})
		},
	}, nil
}

// --- membership ---

// SpareNodes is how many nodes beyond the three voters a fault needs left
// without a replica (0 for most).
func SpareNodes(f Fault) int {
	if s, ok := f.(interface{ SpareNodes() int }); ok {
		return s.SpareNodes()
	}
	return 0
}

// shardMove changes membership under the workload, through the admin API:
// it moves a random shard's voter to the spare node that holds none of it
// (add a non-voter, catch up, promote, remove the old voter: a membership
// change of two steps), or hands a random shard's leadership to another
// voter. There is nothing to heal: a move finishes on its own, and the
// next injection waits for it (the server refuses a second move of a
// moving shard).
type shardMove struct{}

func (shardMove) Name() string    { return "shard-move" }
func (shardMove) MinNodes() int   { return 4 }
func (shardMove) SpareNodes() int { return 1 }
func (shardMove) Inject(ctx context.Context, e *Env) (Injection, error) {
	desc, err := e.Cluster.Describe(ctx, e.Collection)
	if err != nil {
		return Injection{}, err
	}
	if len(desc.Shards) == 0 {
		return Injection{}, errors.New("the collection has no shards")
	}
	sh := desc.Shards[e.Rng.IntN(len(desc.Shards))]
	idx := map[string]int{}
	for i, n := range e.Cluster.Nodes() {
		idx[n.ID] = i
	}
	var others []string // voters that could lead
	for _, r := range sh.Replicas {
		if r != sh.Leader {
			others = append(others, r)
		}
	}
	if e.Rng.IntN(2) == 0 && len(others) > 0 {
		to := others[e.Rng.IntN(len(others))]
		leader, err := e.Cluster.TransferLeader(ctx, sh.Id, to)
		if err != nil {
			return Injection{}, fmt.Errorf("transfer shard %d leadership to %s: %w", sh.Id, to, err)
		}
		return Injection{Kind: "membership", Description: fmt.Sprintf("shard %d leadership %s → %s", sh.Id, cmp.Or(sh.Leader, "?"), leader),
			Nodes: []int{idx[to]}}, nil
	}
	var spare []string
	for _, n := range e.Cluster.Nodes() {
		if !slices.Contains(sh.Replicas, n.ID) && e.Cluster.Running(idx[n.ID]) {
			spare = append(spare, n.ID)
		}
	}
	if len(spare) == 0 || len(sh.Replicas) == 0 {
		return Injection{Kind: "membership", Description: fmt.Sprintf("shard %d: no spare node to move to", sh.Id)}, nil
	}
	from, to := sh.Replicas[e.Rng.IntN(len(sh.Replicas))], spare[e.Rng.IntN(len(spare))]
	if err := e.Cluster.MoveReplica(ctx, sh.Id, from, to); err != nil {
		if status.Code(err) == codes.AlreadyExists {
			return Injection{Kind: "membership", Description: fmt.Sprintf("shard %d: still moving", sh.Id)}, nil
		}
		return Injection{}, fmt.Errorf("move shard %d from %s to %s: %w", sh.Id, from, to, err)
	}
	return Injection{Kind: "membership", Description: fmt.Sprintf("shard %d replica %s → %s", sh.Id, from, to),
		Nodes: []int{idx[from], idx[to]}, Heal: func(ctx context.Context) error { return waitMoved(ctx, e, sh.Id) }}, nil
}

// waitMoved waits until the nodes report no move of shard in progress.
func waitMoved(ctx context.Context, e *Env, shard uint64) error {
	for {
		for _, i := range e.Cluster.Up() {
			st, err := e.Cluster.Status(ctx, i, time.Second)
			if err != nil {
				continue
			}
			if !slices.ContainsFunc(st.Moves, func(m *pb.MoveStatus) bool { return m.Shard == shard }) {
				return nil
			}
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("shard %d still moving: %w", shard, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// wipeRejoin is the operator's same-identity replacement of a node whose
// disk was lost (docs/operations.md): kill -9 a node, wait until the others
// lead every group and have applied what they committed, delete its data
// directory and start it again with the same id and addresses. It catches
// up from the others' logs and snapshots; healing waits until the cluster
// is healthy again.
type wipeRejoin struct{}

func (wipeRejoin) Name() string  { return "wipe-rejoin" }
func (wipeRejoin) MinNodes() int { return 3 }
func (wipeRejoin) Inject(ctx context.Context, e *Env) (Injection, error) {
	up := e.Cluster.Up()
	if len(up) < e.Cluster.Size() {
		return Injection{Kind: "none"}, nil // a node is still down from before
	}
	x := up[e.Rng.IntN(len(up))]
	if err := e.Cluster.Kill(x); err != nil {
		return Injection{}, err
	}
	var others []int
	for _, i := range up {
		if i != x {
			others = append(others, i)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	err := e.Cluster.WaitCaughtUp(wctx, e.Collection, others)
	cancel()
	if err != nil {
		// Not safe to lose a second copy now; bring the node back as it was.
		return Injection{Kind: "crash", Description: fmt.Sprintf("kill -9 %s (not wiped: %v)", e.Cluster.Node(x).ID, err),
			Nodes: []int{x}, Heal: func(context.Context) error { return e.Cluster.Start(x) }}, nil
	}
	if err := e.Cluster.Wipe(x); err != nil {
		return Injection{}, err
	}
	if err := e.Cluster.Start(x); err != nil {
		return Injection{}, err
	}
	return Injection{Kind: "membership", Description: fmt.Sprintf("kill -9 %s, wipe its data directory, restart it with the same identity", e.Cluster.Node(x).ID),
		Nodes: []int{x}, Heal: func(ctx context.Context) error { return e.Cluster.WaitHealthy(ctx, e.Collection) }}, nil
}

// mix injects, each time, a fault drawn from the catalogue among those
// that fit the cluster (none and mix excluded).
type mix struct{}

func (mix) Name() string  { return "mix" }
func (mix) MinNodes() int { return 1 }
func (mix) Inject(ctx context.Context, e *Env) (Injection, error) {
	var pool []Fault
	for _, f := range catalogue {
		switch f.(type) {
		case none, mix:
			continue
		}
		if f.MinNodes() <= e.Cluster.Size() {
			pool = append(pool, f)
		}
	}
	f := pool[e.Rng.IntN(len(pool))]
	inj, err := f.Inject(ctx, e)
	inj.Description = f.Name() + ": " + inj.Description
	return inj, err
}
