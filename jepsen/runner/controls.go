package runner

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"

	"github.com/raftvec/raftvec/jepsen/check"
	"github.com/raftvec/raftvec/jepsen/history"
	"github.com/raftvec/raftvec/jepsen/nemesis"
	"github.com/raftvec/raftvec/jepsen/workload"
	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
)

// Controls are the scripted scenarios, each run against the safe server
// (it must come out green) and against an unsafe one (it must come out red
// with the anomalies named in Expect).
var Controls = []Control{
	{
		Name: "stale-read",
		Flag: "--unsafe-local-reads",
		Description: "isolate the shard leader, write through the new leader, read STRONG from the old one " +
			"through a client that knows only the old leader",
		Expect: []string{"register:" + check.AnomalyNonLinearizable, "set:" + check.AnomalyStaleRead},
		run:    func(ctx context.Context, r *run) ([]check.Result, error) { return staleReadVia(ctx, r, false) },
	},
	{
		Name: "milvus-stale-read",
		Flag: "--unsafe-local-reads",
		Description: "stale-read with the last read sent to the old leader's Milvus endpoint with consistency " +
			"level Strong",
		Expect: []string{"register:" + check.AnomalyNonLinearizable},
		run:    func(ctx context.Context, r *run) ([]check.Result, error) { return staleReadVia(ctx, r, true) },
	},
	{
		Name: "follower-read",
		Flag: "--unsafe-follower-no-wait",
		Description: "hold a follower's state machine back, write through the leader, then read STRONG through " +
			"a client that knows only the follower, which asks the leader for a read index and serves the read once " +
			"it has applied up to it (forwarding it to the leader if that takes over 100 ms); the unsafe follower " +
			"answers at once from what it has",
		Expect: []string{"register:" + check.AnomalyNonLinearizable},
		run:    followerRead,
	},
	{
		Name: "dedup",
		Flag: "--unsafe-skip-dedup",
		Description: "insert a key, drop the acknowledgement and re-send the same request id, as the SDK " +
			"does after an UNAVAILABLE",
		Expect: []string{"set:" + check.AnomalyFailedVisible},
		run:    resendRequest,
	},
	{
		Name:   "multi-shard-bounded",
		Flag:   "--unsafe-lowest-ts-cut --unsafe-local-ts",
		Shards: 2,
		Description: "two shards led by different nodes; shard 0's leader's clock falls 3 s behind; a key on " +
			"shard 1 is written twice, and 1.5 s later BOUNDED(500ms) gets of it and a shard-0 key go through " +
			"shard 0's leader, which fans them out; the unsafe server, as raftvec once did, stamps ops from " +
			"each shard leader's clock and reads both shards as of the lowest shard's ts",
		Expect: []string{"bounded:" + check.AnomalyStaleBounded},
		run:    multiShardBounded,
	},
	{
		Name:   "multi-shard-strong",
		Flag:   "--unsafe-local-ts",
		Shards: 2,
		Description: "two shards led by different nodes whose clocks are 2 s behind and 2 s ahead; two " +
			"clients write a key of the fast shard, then one of the slow shard, one after the other; then STRONG " +
			"gets of both keys; the unsafe server stamps ops from each shard leader's clock instead of the " +
			"timestamp oracle",
		Expect: []string{"ts-order:" + check.AnomalyTsReversed},
		run:    multiShardStrong,
	},
}

// Control is one scripted scenario.
type Control struct {
	Name        string
	Flag        string // the unsafe server flags, separated by spaces
	Description string
	// Expect are the checker:anomaly pairs the unsafe run must report.
	Expect []string
	// Shards is the collection's shard count (default 1).
	Shards int
	run    func(ctx context.Context, r *run) ([]check.Result, error)
}

// ControlByName returns the control called name.
func ControlByName(name string) (Control, error) {
	for _, c := range Controls {
		if c.Name == name {
			return c, nil
		}
	}
	return Control{}, fmt.Errorf("unknown control %q", name)
}

// RunControl runs control c against the safe server, or with unsafe
// against a server started with c.Flag.
// A scenario (no Flag) runs only against the safe server.
func RunControl(ctx context.Context, cfg Config, c Control, unsafe bool) *Result {
	mode := "safe"
	var args []string
	if unsafe {
		mode, args = "unsafe", strings.Fields(c.Flag)
	}
	res := &Result{Workload: "control", Nemesis: c.Name, Nodes: 3, Control: c.Name + " (" + mode + ")", Unsafe: unsafe, Expected: []string{"green"}}
	name := "control-" + c.Name + "-" + mode
	if c.Flag == "" {
		res.Workload, res.Control, res.Scenario, name = "scenario", c.Name, true, "scenario-"+c.Name
	}
	if unsafe {
		res.Expected = c.Expect
	}
	start := time.Now()
	defer func() {
		res.Elapsed = time.Since(start).Round(time.Millisecond)
		res.Pass = controlPass(res)
	}()
	// One shard unless the control says otherwise: most scripts reason
	// about one Raft group (the leader they isolate leads the shard their
	// keys live on).
	cfg.Shards = max(c.Shards, 1)
	r, err := newRun(ctx, cfg, name, 3, 3, args)
	if r != nil {
		res.Dir = r.dir
		defer r.close()
	}
	if err == nil {
		err = r.setup(ctx, nil, 3, false)
	}
	if err != nil {
		res.Err = "setup: " + err.Error()
		return res
	}
	cfg.logf("%s: %s", res.Control, r.dir)
	results, err := c.run(ctx, r)
	if err != nil {
		res.Err = err.Error()
	}
	results = append(results, processHealth(r.cluster.Crashes()))
	ops := r.rec.Ops()
	res.Results, res.Counts = results, history.Counts(ops)
	res.Elapsed, res.Pass = time.Since(start).Round(time.Millisecond), controlPass(res)
	if err := r.writeFiles(res, ops, r.timeline.Events(), res.Workload, res.Control); err != nil {
		res.Err = strings.TrimPrefix(res.Err+"; ", "; ") + "report: " + err.Error()
	}
	return res
}

// controlPass: a safe control must be valid; an unsafe one must have run
// through and report every expected anomaly.
func controlPass(res *Result) bool {
	if !res.Unsafe {
		return res.Valid()
	}
	if res.Err != "" {
		return false
	}
	for _, e := range res.Expected {
		name, kind, _ := strings.Cut(e, ":")
		found := false
		for _, r := range res.Results {
			if r.Name == name && !r.Valid && r.Counts[kind] > 0 {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func (r *run) client(idx ...int) (*client.Client, error) { return r.cluster.Client(idx...) }

// mustOk fails unless op was acknowledged.
func mustOk(op history.Op) error {
	if op.Outcome != history.Ok {
		return fmt.Errorf("%s of key %d: %s (%s)", op.Kind, op.Key, op.Outcome, op.Error)
	}
	return nil
}

func upsertOp(e *workload.Env, c *client.Client, node string, proc int, key, v int64) history.Op {
	return workload.Exec(e, history.Op{Process: proc, Kind: history.Upsert, Key: key, Value: v, Node: node},
		func(ctx context.Context, op *history.Op) error {
			resp, err := c.Upsert(ctx, &pb.InsertRequest{Collection: Collection, Rows: &pb.Rows{IntIds: []int64{key}, Vectors: workload.Vector(key, v)}})
			if err == nil {
				op.Ts = resp.Ts
			}
			return err
		})
}

func insertOp(e *workload.Env, c *client.Client, node string, proc int, key int64) history.Op {
	return workload.Exec(e, history.Op{Process: proc, Kind: history.Insert, Key: key, Value: key, Node: node},
		func(ctx context.Context, op *history.Op) error {
			resp, err := c.Insert(ctx, &pb.InsertRequest{Collection: Collection, Rows: &pb.Rows{IntIds: []int64{key}, Vectors: workload.Vector(key, key)}})
			if err == nil {
				op.Ts = resp.Ts
			}
			return err
		})
}

func getOp(e *workload.Env, c *client.Client, node string, proc int, key int64, final bool) history.Op {
	return workload.Exec(e, history.Op{Process: proc, Kind: history.Get, Key: key, Level: history.Strong, Node: node, Final: final},
		func(ctx context.Context, op *history.Op) error {
			vs, ts, err := workload.GetVersions(ctx, c, Collection, []int64{key}, &pb.ReadOptions{Level: pb.ConsistencyLevel_STRONG})
			if err != nil {
				return err
			}
			op.Value, op.Ts = history.Absent, ts
			if v, ok := vs[key]; ok {
				op.Value = v
			}
			return nil
		})
}

func readAllOp(e *workload.Env, c *client.Client, node string, proc int, keys []int64, final bool) history.Op {
	return workload.Exec(e, history.Op{Process: proc, Kind: history.ReadAll, Level: history.Strong, Node: node, Final: final},
		func(ctx context.Context, op *history.Op) error {
			vs, ts, err := workload.GetVersions(ctx, c, Collection, keys, &pb.ReadOptions{Level: pb.ConsistencyLevel_STRONG})
			if err != nil {
				return err
			}
			op.Ts = ts
			for _, k := range keys {
				if v, ok := vs[k]; ok {
					op.Keys, op.Values = append(op.Keys, k), append(op.Values, v)
				}
			}
			return nil
		})
}

// finalReads heals, waits for a healthy cluster and records Final reads of
// the register key (if not 0) and the set keys (if not nil), retrying until
// they succeed.
func (r *run) finalReads(ctx context.Context, regKey int64, setKeys []int64) error {
	t := r.rec.Now()
	if err := r.cluster.Heal(ctx); err != nil {
		return fmt.Errorf("heal: %w", err)
	}
	r.timeline.Add(t, r.rec.Now(), "heal", "heal every fault", nil)
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := r.cluster.WaitHealthy(wctx, Collection); err != nil {
		return err
	}
	c, err := r.client()
	if err != nil {
		return err
	}
	defer c.Close()
	for attempt := 0; ; attempt++ {
		var errs []error
		if regKey != 0 {
			errs = append(errs, mustOk(getOp(r.env, c, "", workload.FinalProcess, regKey, true)))
		}
		if setKeys != nil {
			errs = append(errs, mustOk(readAllOp(r.env, c, "", workload.FinalProcess+1, setKeys, true)))
		}
		if err := errors.Join(errs...); err == nil || attempt >= 10 || wctx.Err() != nil {
			return err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// staleReadVia: register key 1 and set keys 1001…; see Controls. With
// milvus the stale read of the register goes through the old leader's
// Milvus endpoint (and the set is not read).
func staleReadVia(ctx context.Context, r *run, milvus bool) ([]check.Result, error) {
	const regKey = 1
	e := r.env
	all, err := r.client()
	if err != nil {
		return nil, err
	}
	defer all.Close()
	setKeys := []int64{1001}
	if err := mustOk(upsertOp(e, all, "", 0, regKey, e.NextVersion())); err != nil {
		return nil, err
	}
	if err := mustOk(insertOp(e, all, "", 0, 1001)); err != nil {
		return nil, err
	}
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	old, err := r.cluster.WaitLeader(lctx, Collection)
	if err != nil {
		return nil, err
	}
	oldID := r.cluster.Node(old).ID
	t := r.rec.Now()
	if err := r.cluster.Cut(lctx, nemesis.Isolate(old, r.cluster.Size())); err != nil {
		return nil, err
	}
	var others []int
	for i := range r.cluster.Size() {
		if i != old {
			others = append(others, i)
		}
	}
	// Every shard the keys may live on must be led from the majority
	// side; with --unsafe-local-reads the isolated node then answers from
	// state that misses the writes below, leader or not.
	if err := r.cluster.WaitLeadersAmong(lctx, Collection, others); err != nil {
		return nil, err
	}
	nl := others[0]
	newID := r.cluster.Node(nl).ID
	viaNew, err := r.client(nl)
	if err != nil {
		return nil, err
	}
	defer viaNew.Close()
	if err := mustOk(upsertOp(e, viaNew, newID, 1, regKey, e.NextVersion())); err != nil {
		return nil, err
	}
	setKeys = append(setKeys, 1002)
	if err := mustOk(insertOp(e, viaNew, newID, 1, 1002)); err != nil {
		return nil, err
	}
	viaOld, err := r.client(old)
	if err != nil {
		return nil, err
	}
	defer viaOld.Close()
	if milvus {
		conn, err := grpc.NewClient(r.cluster.Node(old).MilvusAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		mc := milvuspb.NewMilvusServiceClient(conn)
		workload.Exec(e, history.Op{Process: 2, Kind: history.Get, Key: regKey, Level: history.Strong, Node: oldID},
			func(ctx context.Context, op *history.Op) (err error) {
				op.Value, op.Ts, err = workload.MilvusGet(ctx, mc, Collection, regKey)
				return err
			})
	} else {
		getOp(e, viaOld, oldID, 2, regKey, false)
		readAllOp(e, viaOld, oldID, 2, setKeys, false)
	}
	r.timeline.Add(t, r.rec.Now(), "partition", fmt.Sprintf("isolate leader %s; leaders elected among the others; write via %s, read STRONG via %s", oldID, newID, oldID), []string{oldID})
	if err := r.finalReads(ctx, regKey, setKeys); err != nil {
		return nil, err
	}
	h := r.rec.Ops()
	return []check.Result{
		check.Register(h, check.RegisterOptions{Timeout: r.cfg.RegisterTimeout, VisualizationPath: filepath.Join(r.dir, "porcupine.html"), Nemesis: r.timeline.Events()}),
		check.Set(withoutKey(h, regKey)),
	}, nil
}

// followerRead: register key 1; see Controls. The safe follower waits to
// apply up to the leader's read index and sees the second version; the
// unsafe one answers from the state it has, without it.
func followerRead(ctx context.Context, r *run) ([]check.Result, error) {
	const regKey = 1
	e := r.env
	all, err := r.client()
	if err != nil {
		return nil, err
	}
	defer all.Close()
	if err := mustOk(upsertOp(e, all, "", 0, regKey, e.NextVersion())); err != nil {
		return nil, err
	}
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	lead, err := r.cluster.WaitLeader(lctx, Collection)
	if err != nil {
		return nil, err
	}
	f := (lead + 1) % r.cluster.Size()
	fID := r.cluster.Node(f).ID
	// Let the follower apply the first version, then hold it back.
	time.Sleep(500 * time.Millisecond)
	t := r.rec.Now()
	if err := r.cluster.InjectFault(lctx, f, &pb.InjectFaultRequest{ApplyDelayMs: 500, SetApplyDelay: true}); err != nil {
		return nil, err
	}
	viaLeader, err := r.client(lead)
	if err != nil {
		return nil, err
	}
	defer viaLeader.Close()
	if err := mustOk(upsertOp(e, viaLeader, r.cluster.Node(lead).ID, 1, regKey, e.NextVersion())); err != nil {
		return nil, err
	}
	viaF, err := r.client(f)
	if err != nil {
		return nil, err
	}
	defer viaF.Close()
	viaF.SetDirect(false)
	getOp(e, viaF, fID, 2, regKey, false)
	if err := r.cluster.InjectFault(lctx, f, &pb.InjectFaultRequest{SetApplyDelay: true}); err != nil {
		return nil, err
	}
	r.timeline.Add(t, r.rec.Now(), "apply-delay", fmt.Sprintf("hold %s's state machine back 500 ms per batch; write via the leader, read STRONG via %s", fID, fID), []string{fID})
	if err := r.finalReads(ctx, regKey, nil); err != nil {
		return nil, err
	}
	h := r.rec.Ops()
	return []check.Result{
		check.Register(h, check.RegisterOptions{Timeout: r.cfg.RegisterTimeout, VisualizationPath: filepath.Join(r.dir, "porcupine.html"), Nemesis: r.timeline.Events()}),
	}, nil
}

// resendRequest: set keys 1…5, then key 100 inserted twice with one
// request id; see Controls.
func resendRequest(ctx context.Context, r *run) ([]check.Result, error) {
	e := r.env
	all, err := r.client()
	if err != nil {
		return nil, err
	}
	defer all.Close()
	keys := []int64{1, 2, 3, 4, 5}
	for _, k := range keys {
		if err := mustOk(insertOp(e, all, "", 0, k)); err != nil {
			return nil, err
		}
	}
	const key = 100
	keys = append(keys, key)
	req := &pb.InsertRequest{Collection: Collection, Rows: &pb.Rows{IntIds: []int64{key}, Vectors: workload.Vector(key, key)}}
	t := r.rec.Now()
	var reqID string
	op := workload.Exec(e, history.Op{Process: 1, Kind: history.Insert, Key: key, Value: key},
		func(ctx context.Context, op *history.Op) error {
			// The first attempt's answer is the one "lost": the SDK
			// keeps req.RequestId, so the second call is its retry.
			if _, err := all.Insert(ctx, req); err != nil {
				return fmt.Errorf("first attempt: %w", err)
			}
			reqID = req.RequestId
			resp, err := all.Insert(ctx, req)
			if err == nil {
				op.Ts = resp.Ts
			}
			return err
		})
	r.timeline.Add(t, r.rec.Now(), "lost-ack", fmt.Sprintf("acknowledgement of insert %d (request id %s) dropped; request re-sent with the same id", key, reqID), nil)
	if reqID == "" {
		return nil, fmt.Errorf("first attempt of the insert failed: %s", op.Error)
	}
	if err := r.finalReads(ctx, 0, keys); err != nil {
		return nil, err
	}
	return []check.Result{check.Set(r.rec.Ops())}, nil
}

func withoutKey(h []history.Op, key int64) []history.Op {
	return slices.DeleteFunc(slices.Clone(h), func(o history.Op) bool {
		return o.Kind != history.ReadAll && o.Key == key
	})
}
