package fsm

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/raftvec/raftvec/fsm/fsmpb"
)

// metaWith returns a metadata state machine with nodes n1..nN and one
// collection of shards × replicas.
func metaWith(t *testing.T, nodes, shards, replicas int) *Meta {
	t.Helper()
	m := NewMeta(nil)
	for i := 1; i <= nodes; i++ {
		applyMeta(t, m, &MetaOp{AddNode: &NodeInfo{ID: fmt.Sprintf("n%d", i)}})
	}
	schema, _ := protojson.Marshal(SimpleSchema("c", 4, fsmpb.Metric_L2, false))
	applyMeta(t, m, &MetaOp{CreateCollection: &MetaCreateCollection{Schema: schema, Replicas: replicas, Shards: shards}})
	return m
}

func applyMeta(t *testing.T, m *Meta, op *MetaOp) error {
	t.Helper()
	b, err := EncodeMetaOp(op)
	if err != nil {
		t.Fatal(err)
	}
	idx, _ := m.Applied()
	res, _ := m.ApplyBatch(idx+1, [][]byte{b})
	if e, ok := res[0].(error); ok {
		return e
	}
	return nil
}

func TestPlanMovesReplacesAFailedNodeOnlyAfterDownAfter(t *testing.T) {
	m := metaWith(t, 4, 4, 3)
	now := time.UnixMilli(1_000_000)
	applyMeta(t, m, &MetaOp{SetHealth: &MetaHealth{Node: "n1", NodeHealth: NodeHealth{State: NodeFailed, Since: now.UnixMilli()}}})
	p := MovePolicy{DownAfter: 30 * time.Second, MaxMoves: 8}
	if mv := PlanMoves(m.State(), now.Add(29*time.Second), p); len(mv) != 0 {
		t.Fatalf("moves before down_after: %+v", mv)
	}
	mv := PlanMoves(m.State(), now.Add(31*time.Second), p)
	st := m.State()
	want := 0
	for _, sh := range st.Collections["c"].Shards {
		if contains(sh.Voters, "n1") {
			want++
		}
	}
	if want == 0 || len(mv) != want {
		t.Fatalf("%d moves for %d shards on the failed node: %+v", len(mv), want, mv)
	}
	for _, x := range mv {
		_, sh := st.Shard(x.Shard)
		if x.From != "n1" || x.To == "n1" || sh.Holds(x.To) || x.Reason != ReasonReplace {
			t.Fatalf("bad move %+v of shard %+v", x, sh)
		}
		if err := applyMeta(t, m, &MetaOp{StartMove: &x}); err != nil {
			t.Fatal(err)
		}
	}
	// In flight: nothing more to start, and a second start is refused.
	if again := PlanMoves(m.State(), now.Add(32*time.Second), p); len(again) != 0 {
		t.Fatalf("moves planned twice: %+v", again)
	}
	if err := applyMeta(t, m, &MetaOp{StartMove: &mv[0]}); err == nil {
		t.Fatal("a second move of a moving shard was accepted")
	}
	// Finish: the placement names the new node, never two replicas on one.
	for _, x := range mv {
		if err := applyMeta(t, m, &MetaOp{FinishMove: &x}); err != nil {
			t.Fatal(err)
		}
	}
	for _, sh := range m.State().Collections["c"].Shards {
		if contains(sh.Voters, "n1") || len(sh.Voters) != 3 || sh.Move != nil {
			t.Fatalf("after the moves: %+v", sh)
		}
		seen := map[string]bool{}
		for _, v := range sh.Voters {
			if seen[v] {
				t.Fatalf("two replicas on %s: %+v", v, sh)
			}
			seen[v] = true
		}
	}
}

func TestPlanMovesIsRateLimited(t *testing.T) {
	m := metaWith(t, 4, 8, 3)
	applyMeta(t, m, &MetaOp{SetHealth: &MetaHealth{Node: "n2", NodeHealth: NodeHealth{State: NodeFailed, Since: 0}}})
	if mv := PlanMoves(m.State(), time.UnixMilli(time.Hour.Milliseconds()), MovePolicy{DownAfter: time.Second, MaxMoves: 2}); len(mv) != 2 {
		t.Fatalf("%d moves planned with MaxMoves 2", len(mv))
	}
}

func TestPlanMovesRebalancesOntoANewNode(t *testing.T) {
	m := metaWith(t, 3, 4, 3) // 12 replicas on 3 nodes
	p := MovePolicy{DownAfter: time.Second, MaxMoves: 1}
	if mv := PlanMoves(m.State(), time.Now(), p); len(mv) != 0 {
		t.Fatalf("moves on a balanced cluster: %+v", mv)
	}
	applyMeta(t, m, &MetaOp{AddNode: &NodeInfo{ID: "n4"}})
	for step := 0; ; step++ {
		mv := PlanMoves(m.State(), time.Now(), p)
		if len(mv) == 0 {
			break
		}
		if step > 10 || len(mv) != 1 || mv[0].To != "n4" || mv[0].Reason != ReasonRebalance {
			t.Fatalf("step %d: %+v", step, mv)
		}
		applyMeta(t, m, &MetaOp{StartMove: &mv[0]})
		applyMeta(t, m, &MetaOp{FinishMove: &mv[0]})
	}
	st := m.State()
	if l := st.Load(); l["n4"] != 3 {
		t.Fatalf("after rebalancing the new node holds %d replicas: %v", l["n4"], l)
	}
}

func TestMoveOpsRefuseBadInput(t *testing.T) {
	m := metaWith(t, 4, 1, 3)
	sh := m.State().Collections["c"].Shards[0]
	spare := ""
	for _, id := range []string{"n1", "n2", "n3", "n4"} {
		if !sh.Holds(id) {
			spare = id
		}
	}
	for name, mv := range map[string]MetaMove{
		"unknown shard":       {Shard: 99, Move: Move{From: sh.Voters[0], To: spare}},
		"from not a voter":    {Shard: sh.ID, Move: Move{From: spare, To: sh.Voters[0]}},
		"to already holds it": {Shard: sh.ID, Move: Move{From: sh.Voters[0], To: sh.Voters[1]}},
		"to unknown":          {Shard: sh.ID, Move: Move{From: sh.Voters[0], To: "n9"}},
	} {
		if err := applyMeta(t, m, &MetaOp{StartMove: &mv}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := applyMeta(t, m, &MetaOp{FinishMove: &MetaMove{Shard: sh.ID, Move: Move{From: sh.Voters[0], To: spare}}}); err == nil {
		t.Error("finish of a move that was never started: accepted")
	}
	if got := m.State().Collections["c"].Shards[0]; got.Move != nil || len(got.Voters) != 3 {
		t.Fatalf("refused ops changed the shard: %+v", got)
	}
}

func TestStalledMoveIsCancelledAndReplanned(t *testing.T) {
	m := metaWith(t, 5, 1, 3)
	sh := m.State().Collections["c"].Shards[0]
	now := time.UnixMilli(10_000_000)
	p := MovePolicy{DownAfter: 30 * time.Second, MaxMoves: 2}
	applyMeta(t, m, &MetaOp{SetHealth: &MetaHealth{Node: sh.Voters[0], NodeHealth: NodeHealth{State: NodeFailed, Since: now.UnixMilli()}}})
	mv := PlanMoves(m.State(), now.Add(time.Minute), p)
	if len(mv) != 1 {
		t.Fatalf("planned %+v", mv)
	}
	applyMeta(t, m, &MetaOp{StartMove: &mv[0]})
	// The target fails before catching up.
	applyMeta(t, m, &MetaOp{SetHealth: &MetaHealth{Node: mv[0].To, NodeHealth: NodeHealth{State: NodeFailed, Since: now.Add(time.Minute).UnixMilli()}}})
	if s := StalledMoves(m.State(), now.Add(80*time.Second), p); len(s) != 0 {
		t.Fatalf("cancelled before down_after: %+v", s)
	}
	stalled := StalledMoves(m.State(), now.Add(2*time.Minute), p)
	if len(stalled) != 1 || stalled[0].To != mv[0].To {
		t.Fatalf("stalled = %+v", stalled)
	}
	if err := applyMeta(t, m, &MetaOp{CancelMove: &stalled[0]}); err != nil {
		t.Fatal(err)
	}
	again := PlanMoves(m.State(), now.Add(2*time.Minute), p)
	if len(again) != 1 || again[0].From != sh.Voters[0] || again[0].To == mv[0].To {
		t.Fatalf("after the cancel the shard is planned %+v; want a move to the other spare", again)
	}
	// A ready move is never cancelled.
	applyMeta(t, m, &MetaOp{StartMove: &again[0]})
	applyMeta(t, m, &MetaOp{MoveReady: &again[0]})
	if err := applyMeta(t, m, &MetaOp{CancelMove: &again[0]}); err == nil {
		t.Fatal("a ready move was cancelled")
	}
}
