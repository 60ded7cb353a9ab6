package raftnode_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/raftvec/raftvec/raftnode"
	"github.com/raftvec/raftvec/raftnode/rafttest"
)

// listFSM appends every command to a list; its state is not durable.
type listFSM struct {
	mu      sync.Mutex
	cmds    []string
	index   uint64
	entries int
}

func (f *listFSM) ApplyBatch(index uint64, cmds [][]byte) ([]any, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]any, len(cmds))
	if index <= f.index {
		return out, 0
	}
	f.index = index
	f.entries++
	for i, c := range cmds {
		f.cmds = append(f.cmds, string(c))
		out[i] = len(f.cmds)
	}
	return out, index * 10
}
func (f *listFSM) Snapshot() (raft.FSMSnapshot, error) { return nil, errors.New("no snapshots") }
func (f *listFSM) Restore(io.ReadCloser) error         { return errors.New("no snapshots") }
func (f *listFSM) Applied() (uint64, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.index, f.index * 10
}
func (f *listFSM) list() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.cmds...)
}

func newList(string, string) raftnode.FSM { return &listFSM{} }

func TestGroupCommitAndReadIndex(t *testing.T) {
	c := rafttest.New(t, 3, newList, nil)
	li := c.Leader(10 * time.Second)
	g := c.Nodes[li].Group
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// 200 concurrent proposals: all applied, in fewer entries than commands.
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if _, err := g.Apply(ctx, []byte(fmt.Sprint(i))); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	lf := c.Nodes[li].FSM.(*listFSM)
	if n := len(lf.list()); n != 200 {
		t.Fatalf("leader applied %d commands, want 200", n)
	}
	if lf.entries >= 200 {
		t.Fatalf("200 concurrent proposals took %d entries; group commit should batch them", lf.entries)
	}
	idx, err := g.ReadIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, nd := range c.Nodes {
		if err := nd.Group.WaitApplied(ctx, idx); err != nil {
			t.Fatal(err)
		}
		if got := nd.FSM.(*listFSM).list(); len(got) != 200 {
			t.Fatalf("%s applied %d commands, want 200", nd.ID, len(got))
		}
	}
	// A follower refuses to propose and to give a read index.
	fi := (li + 1) % 3
	if _, err := c.Nodes[fi].Group.Apply(ctx, []byte("x")); !errors.Is(err, raftnode.ErrNotLeader) {
		t.Fatalf("follower apply: %v, want ErrNotLeader", err)
	}
	if _, err := c.Nodes[fi].Group.ReadIndex(ctx); !errors.Is(err, raftnode.ErrNotLeader) {
		t.Fatalf("follower read index: %v, want ErrNotLeader", err)
	}
}

func TestIsolatedLeaderLosesReadIndex(t *testing.T) {
	c := rafttest.New(t, 3, newList, nil)
	old := c.Leader(10 * time.Second)
	c.Isolate(old)
	nl := c.Leader(10*time.Second, old)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Nodes[nl].Group.Apply(ctx, []byte("new")); err != nil {
		t.Fatal(err)
	}
	// The deposed leader may still believe it leads; its read index must
	// fail rather than let it serve its stale state.
	if _, err := c.Nodes[old].Group.ReadIndex(ctx); err == nil {
		t.Fatal("isolated old leader produced a read index")
	}
	c.Heal()
	if err := c.Nodes[old].Group.WaitApplied(ctx, c.Nodes[nl].Group.Raft().LastIndex()); err != nil {
		t.Fatal(err)
	}
	if got := c.Nodes[old].FSM.(*listFSM).list(); len(got) != 1 || got[0] != "new" {
		t.Fatalf("old leader after heal has %v", got)
	}
}

// A follower is caught up after a read round on the leader without any
// further command: the round's entry must reach the state machine, or the
// follower's applied index stays below its commit index until the next
// command and BOUNDED reads on it stall behind every STRONG read.
func TestFollowerCaughtUpAfterReadRound(t *testing.T) {
	c := rafttest.New(t, 3, newList, nil)
	li := c.Leader(10 * time.Second)
	g := c.Nodes[li].Group
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := g.Apply(ctx, []byte("x")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := g.ReadIndex(ctx); err != nil {
			t.Fatal(err)
		}
	}
	fi := (li + 1) % 3
	f := c.Nodes[fi].Group
	// The leader's commit index reaches the follower with the next
	// heartbeat or append; from then on the follower must be caught up.
	deadline := time.Now().Add(5 * time.Second)
	for !(f.Raft().CommitIndex() >= g.Raft().CommitIndex() && f.CaughtUp()) {
		if time.Now().After(deadline) {
			applied, _ := f.Applied()
			t.Fatalf("follower not caught up after read rounds: applied %d, commit %d (leader commit %d)",
				applied, f.Raft().CommitIndex(), g.Raft().CommitIndex())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
