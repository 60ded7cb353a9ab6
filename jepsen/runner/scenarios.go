package runner

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/raftvec/raftvec/jepsen/check"
	"github.com/raftvec/raftvec/jepsen/history"
	"github.com/raftvec/raftvec/jepsen/nemesis"
	"github.com/raftvec/raftvec/jepsen/workload"
	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
)

// Scenarios are scripted fault sequences a correct server passes (green).
// Unlike Controls they have no unsafe variant. Full runs include them;
// -quick does not.
var Scenarios = []Control{
	{
		Name: "bounded-after-clock-jump",
		Description: "the shard leader's clock jumps 3 s ahead for half a second while it takes a write, then is " +
			"set right; a follower is isolated, a newer write is acknowledged, and BOUNDED(250ms) reads go to " +
			"the isolated follower: they must fail rather than return the older version",
		run: func(ctx context.Context, r *run) ([]check.Result, error) {
			return boundedAfterTsJump(ctx, r, "clock")
		},
	},
	{
		Name: "bounded-after-future-token",
		Description: "a client sends a write with a session token 3 s in the future (tokens are client-supplied); " +
			"a follower is isolated, a newer write is acknowledged, and BOUNDED(250ms) reads go to the isolated " +
			"follower: they must fail rather than return the older version",
		run: func(ctx context.Context, r *run) ([]check.Result, error) {
			return boundedAfterTsJump(ctx, r, "token")
		},
	},
}

// scenarioStaleness is the bound of the scenarios' BOUNDED reads.
const scenarioStaleness = 250 * time.Millisecond

// tsAt is the hybrid timestamp of a wall-clock instant (DESIGN.md §1:
// physical milliseconds shifted left 18 bits).
func tsAt(t time.Time) uint64 { return uint64(t.UnixMilli()) << 18 }

// boundedAfterTsJump pushes the shard's timestamps 3 s ahead of real time,
// through the leader's clock ("clock") or a client's session token
// ("token"), then reads an isolated follower at BOUNDED. A follower judges
// its freshness by its applied ts against its own clock; if that ts runs
// ahead of real time, a follower cut off from the leader looks fresh for as
// long as the jump, and serves reads older than the bound.
func boundedAfterTsJump(ctx context.Context, r *run, how string) ([]check.Result, error) {
	const key = 1
	e := r.env
	all, err := r.client()
	if err != nil {
		return nil, err
	}
	defer all.Close()
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	leader, err := r.cluster.WaitLeader(lctx, Collection)
	if err != nil {
		return nil, err
	}
	follower := (leader + 1) % r.cluster.Size()
	lid, fid := r.cluster.Node(leader).ID, r.cluster.Node(follower).ID

	t := r.rec.Now()
	var token uint64
	switch how {
	case "clock":
		if err := r.cluster.InjectFault(lctx, leader, &pb.InjectFaultRequest{ClockOffsetMs: 3000, SetClockOffset: true}); err != nil {
			return nil, err
		}
	case "token":
		token = tsAt(time.Now().Add(3 * time.Second))
	}
	op := workload.Exec(e, history.Op{Process: 0, Kind: history.Upsert, Key: key, Value: e.NextVersion()},
		func(ctx context.Context, op *history.Op) error {
			resp, err := all.Upsert(ctx, &pb.InsertRequest{Collection: Collection, SessionToken: token,
				Rows: &pb.Rows{IntIds: []int64{key}, Vectors: workload.Vector(key, op.Value)}})
			if err == nil {
				op.Ts = resp.Ts
			}
			return err
		})
	if err := mustOk(op); err != nil {
		return nil, err
	}
	time.Sleep(500 * time.Millisecond) // every replica applies it
	switch how {
	case "clock":
		if err := r.cluster.InjectFault(lctx, leader, &pb.InjectFaultRequest{SetClockOffset: true}); err != nil {
			return nil, err
		}
		r.timeline.Add(t, r.rec.Now(), "clock", fmt.Sprintf("clock of leader %s 3 s ahead during a write, then set right", lid), []string{lid})
	case "token":
		r.timeline.Add(t, r.rec.Now(), "token", fmt.Sprintf("a write carries a session token 3 s in the future (ts %d)", token), nil)
	}

	t = r.rec.Now()
	if err := r.cluster.Cut(lctx, nemesis.Isolate(follower, r.cluster.Size())); err != nil {
		return nil, err
	}
	var others []int
	for i := range r.cluster.Size() {
		if i != follower {
			others = append(others, i)
		}
	}
	if err := r.cluster.WaitLeadersAmong(lctx, Collection, others); err != nil {
		return nil, err
	}
	fresh, err := r.client(others...)
	if err != nil {
		return nil, err
	}
	defer fresh.Close()
	if err := mustOk(upsertOp(e, fresh, "", 1, key, e.NextVersion())); err != nil {
		return nil, err
	}
	viaFollower, err := r.client(follower)
	if err != nil {
		return nil, err
	}
	defer viaFollower.Close()
	for range 10 {
		time.Sleep(300 * time.Millisecond)
		boundedGetOp(e, viaFollower, fid, 2, key, scenarioStaleness)
	}
	r.timeline.Add(t, r.rec.Now(), "partition", fmt.Sprintf("isolate follower %s; write through the others; BOUNDED(%s) reads on %s", fid, scenarioStaleness, fid), []string{fid})
	if err := r.finalReads(ctx, key, nil); err != nil {
		return nil, err
	}
	h := r.rec.Ops()
	return []check.Result{
		check.Bounded(h),
		check.Register(h, check.RegisterOptions{Timeout: r.cfg.RegisterTimeout, VisualizationPath: filepath.Join(r.dir, "porcupine.html"), Nemesis: r.timeline.Events()}),
	}, nil
}

func boundedGetOp(e *workload.Env, c *client.Client, node string, proc int, key int64, staleness time.Duration) history.Op {
	op := history.Op{Process: proc, Kind: history.Get, Key: key, Level: history.Bounded, MaxStaleness: staleness, Node: node}
	return workload.Exec(e, op, func(ctx context.Context, op *history.Op) error {
		ro := &pb.ReadOptions{Level: pb.ConsistencyLevel_BOUNDED, MaxStalenessMs: uint32(staleness / time.Millisecond)}
		vs, ts, err := workload.GetVersions(ctx, c, Collection, []int64{key}, ro)
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
