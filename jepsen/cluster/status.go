package cluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/raftvec/raftvec/rpc/pb"
)

// MetaGroup is the name Status gives the cluster metadata group.
const MetaGroup = "meta"

// statusTimeout bounds one Status call: a paused or partitioned node must
// not hold up a poll.
const statusTimeout = 700 * time.Millisecond

// NodeStatus is one node's answer to a Status poll.
type NodeStatus struct {
	Index  int
	Status *pb.StatusResponse
	Err    error
}

// PollStatus asks every node in idx for its status concurrently.
func (c *Cluster) PollStatus(ctx context.Context, idx []int) []NodeStatus {
	out := make([]NodeStatus, len(idx))
	var wg sync.WaitGroup
	for j, i := range idx {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := c.Status(ctx, i, statusTimeout)
			out[j] = NodeStatus{Index: i, Status: st, Err: err}
		}()
	}
	wg.Wait()
	return out
}

// ShardGroups returns the shard groups of collection in a status answer.
func ShardGroups(st *pb.StatusResponse, collection string) []*pb.GroupStatus {
	var out []*pb.GroupStatus
	for _, g := range st.GetGroups() {
		if strings.HasPrefix(g.Group, "shard-") && g.Collection == collection {
			out = append(out, g)
		}
	}
	return out
}

// Leaders returns, for each shard group of collection, the node that leads
// it according to the nodes that are up: the one reporting itself Leader
// with the highest term.
func (c *Cluster) Leaders(ctx context.Context, collection string) map[string]int {
	out := map[string]int{}
	terms := map[string]uint64{}
	for _, ns := range c.PollStatus(ctx, c.Up()) {
		if ns.Err != nil {
			continue
		}
		for _, g := range ShardGroups(ns.Status, collection) {
			if _, ok := out[g.Group]; g.Role == "Leader" && (!ok || g.Term > terms[g.Group]) {
				out[g.Group], terms[g.Group] = ns.Index, g.Term
			}
		}
	}
	return out
}

// Leader returns the leader of collection's first shard group (by name):
// "the leader" the nemeses aim at.
func (c *Cluster) Leader(ctx context.Context, collection string) (int, error) {
	ls := c.Leaders(ctx, collection)
	if len(ls) == 0 {
		return -1, fmt.Errorf("no node leads a shard of %q", collection)
	}
	return ls[slices.Min(slices.Collect(maps.Keys(ls)))], nil
}

// WaitLeader polls until Leader succeeds or ctx ends.
func (c *Cluster) WaitLeader(ctx context.Context, collection string) (int, error) {
	for {
		i, err := c.Leader(ctx, collection)
		if err == nil {
			return i, nil
		}
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("%w (%v)", err, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WaitLeadersAmong polls until every shard group of collection that the
// nodes among hold is led by one of them (each group's leader reports
// itself Leader).
func (c *Cluster) WaitLeadersAmong(ctx context.Context, collection string, among []int) error {
	for {
		groups, led := map[string]bool{}, map[string]bool{}
		for _, ns := range c.PollStatus(ctx, among) {
			if ns.Err != nil {
				continue
			}
			for _, g := range ShardGroups(ns.Status, collection) {
				groups[g.Group] = true
				if g.Role == "Leader" {
					led[g.Group] = true
				}
			}
		}
		if len(groups) > 0 && len(led) == len(groups) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("shard groups of %q without a leader among %v: %d of %d led (%w)",
				collection, c.IDs(among), len(led), len(groups), ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WaitHealthy polls until every node answers Status, knows every node as a
// member, and every node agrees on one leader of the metadata group and one leader of each of
// collection's shard groups (when collection is not empty), each of which
// is itself up.
func (c *Cluster) WaitHealthy(ctx context.Context, collection string) error {
	var last error
	for {
		if last = c.healthy(ctx, collection); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not healthy: %w (%v)", last, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *Cluster) healthy(ctx context.Context, collection string) error {
	all := make([]int, c.Size())
	for i := range all {
		all[i] = i
	}
	leaders := map[string]map[string]bool{} // group → leader ids reported
	placed := map[string][]string{}         // shard group → nodes placed on
	if collection != "" {
		dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		desc, err := c.admin.DescribeCollection(dctx, collection)
		cancel()
		if err != nil {
			return fmt.Errorf("describe %s: %w", collection, err)
		}
		for _, sh := range desc.Shards {
			placed[fmt.Sprintf("shard-%d", sh.Id)] = sh.Replicas
		}
	}
	for _, ns := range c.PollStatus(ctx, all) {
		if ns.Err != nil {
			return fmt.Errorf("%s: %w", c.procs[ns.Index].node.ID, ns.Err)
		}
		if n := len(ns.Status.Nodes); n != c.Size() {
			return fmt.Errorf("%s knows %d of %d nodes", c.procs[ns.Index].node.ID, n, c.Size())
		}
		groups := []*pb.GroupStatus{}
		for _, g := range ns.Status.Groups {
			if g.Group == MetaGroup {
				groups = append(groups, g)
			}
		}
		shards := []*pb.GroupStatus{}
		if collection != "" {
			shards = ShardGroups(ns.Status, collection)
			id := c.procs[ns.Index].node.ID
			held := map[string]bool{}
			for _, g := range shards {
				held[g.Group] = true
			}
			// Every replica the placement names is running. A node may
			// hold none (a spare, or one a replica moved away from).
			for g, nodes := range placed {
				if slices.Contains(nodes, id) && !held[g] {
					return fmt.Errorf("%s has no replica of %s (%s) yet", id, g, collection)
				}
			}
		}
		for _, g := range append(groups, shards...) {
			if leaders[g.Group] == nil {
				leaders[g.Group] = map[string]bool{}
			}
			leaders[g.Group][g.Leader] = true
		}
	}
	if len(leaders) == 0 {
		return errors.New("no groups reported")
	}
	for g, ids := range leaders {
		if len(ids) != 1 || ids[""] {
			return fmt.Errorf("group %s: leaders reported %v", g, keys(ids))
		}
	}
	return nil
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// WaitCaughtUp polls until every group the nodes among report has applied
// what it knows to be committed on each of them, and has a leader among
// them: the state in which one more node may lose its data safely.
func (c *Cluster) WaitCaughtUp(ctx context.Context, collection string, among []int) error {
	if err := c.WaitLeadersAmong(ctx, collection, among); err != nil {
		return err
	}
	for {
		behind := ""
		for _, ns := range c.PollStatus(ctx, among) {
			if ns.Err != nil {
				behind = c.procs[ns.Index].node.ID + ": " + ns.Err.Error()
				break
			}
			for _, g := range ns.Status.Groups {
				if g.AppliedIndex < g.CommitIndex {
					behind = fmt.Sprintf("%s on %s: applied %d < commit %d", g.Group, c.procs[ns.Index].node.ID, g.AppliedIndex, g.CommitIndex)
				}
			}
		}
		if behind == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not caught up: %s (%w)", behind, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
