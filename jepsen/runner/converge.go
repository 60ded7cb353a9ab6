package runner

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/raftvec/raftvec/jepsen/check"
	"github.com/raftvec/raftvec/jepsen/cluster"
	"github.com/raftvec/raftvec/rpc/pb"
)

// converge compares the replicas after the final reads. A shard leader
// proposes a TimeTick every tick interval even when no client writes, so
// applied indexes never stop moving and followers trail the leader by an
// entry for a few milliseconds after each tick. converge therefore polls
// every node's Status concurrently, every 25 ms, until one poll finds every
// group (the metadata group and each shard group) on every node at the
// same applied index; at that moment the state digests must be equal too
// (TimeTicks do not change the digest). If no poll agrees within timeout
// the last poll is returned and the checker reports the divergence.
func converge(ctx context.Context, c *cluster.Cluster, timeout time.Duration) ([]check.ReplicaReport, []string) {
	all := make([]int, c.Size())
	for i := range all {
		all[i] = i
	}
	deadline := time.Now().Add(timeout)
	polls := 0
	for {
		polls++
		statuses := c.PollStatus(ctx, all)
		reports := toReports(c.IDs(all), statuses, placement(ctx, c))
		if indexesAgree(reports) || time.Now().After(deadline) || ctx.Err() != nil {
			note := fmt.Sprintf("compared on poll %d: applied index and digest of every group on every node, taken when all applied indexes agreed", polls)
			if !indexesAgree(reports) {
				note = fmt.Sprintf("no poll in %s (%d polls) found every replica at the same applied index; the last poll is shown", timeout, polls)
			}
			return reports, append([]string{note}, contents(c, statuses)...)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// placement returns, for each shard group of the collection, the nodes the
// metadata places a replica on (nil if it cannot be read: then every node
// that answered is expected to hold every group).
func placement(ctx context.Context, c *cluster.Cluster) map[string][]string {
	desc, err := c.Describe(ctx, Collection)
	if err != nil {
		return nil
	}
	out := map[string][]string{}
	for _, sh := range desc.Shards {
		out[fmt.Sprintf("shard-%d", sh.Id)] = sh.Replicas
	}
	return out
}

// ids are the node ids by index.
func toReports(ids []string, polls []cluster.NodeStatus, placed map[string][]string) []check.ReplicaReport {
	var out []check.ReplicaReport
	for _, ns := range polls {
		id := ids[ns.Index]
		if ns.Err != nil {
			out = append(out, check.ReplicaReport{Node: id, Group: "*", Error: ns.Err.Error()})
			continue
		}
		for _, g := range ns.Status.Groups {
			if g.Group != cluster.MetaGroup && g.Collection != Collection {
				continue
			}
			out = append(out, report(id, g))
		}
	}
	// A node that answered but has no replica of a group it should hold
	// (every group, or where the metadata places the group's replicas
	// after moves) is reported as such rather than left out of the
	// comparison.
	has := map[string]map[string]bool{}
	var answered []string
	for _, r := range out {
		if r.Error != "" {
			continue
		}
		if has[r.Group] == nil {
			has[r.Group] = map[string]bool{}
		}
		has[r.Group][r.Node] = true
		if !slices.Contains(answered, r.Node) {
			answered = append(answered, r.Node)
		}
	}
	for _, g := range slices.Sorted(maps.Keys(has)) {
		for _, n := range answered {
			if want, ok := placed[g]; ok && !slices.Contains(want, n) {
				continue
			}
			if !has[g][n] {
				out = append(out, check.ReplicaReport{Node: n, Group: g, Error: "no replica of this group"})
			}
		}
	}
	return out
}

func report(node string, g *pb.GroupStatus) check.ReplicaReport {
	return check.ReplicaReport{Node: node, Group: g.Group, AppliedIndex: g.AppliedIndex, Digest: g.Digest}
}

// indexesAgree reports whether all nodes answered, no replica that should
// exist is missing (toReports reports those as errors), and each group's
// replicas share one applied index.
func indexesAgree(reports []check.ReplicaReport) bool {
	byGroup := map[string]map[string]uint64{}
	for _, r := range reports {
		if r.Error != "" {
			return false
		}
		if byGroup[r.Group] == nil {
			byGroup[r.Group] = map[string]uint64{}
		}
		byGroup[r.Group][r.Node] = r.AppliedIndex
	}
	for _, reps := range byGroup {
		var first *uint64
		for _, idx := range reps {
			if first == nil {
				first = &idx
			} else if *first != idx {
				return false
			}
		}
	}
	return len(byGroup) > 0
}

// contents describes what the first node that answered holds in each
// shard group, so that a report shows whether sealing, index builds and
// compaction happened.
func contents(c *cluster.Cluster, statuses []cluster.NodeStatus) []string {
	for _, ns := range statuses {
		if ns.Err != nil {
			continue
		}
		var out []string
		for _, g := range cluster.ShardGroups(ns.Status, Collection) {
			out = append(out, fmt.Sprintf("%s on %s: applied index %d, %d live rows, %d segments (%d sealed, %d indexed), term %d",
				g.Group, c.Node(ns.Index).ID, g.AppliedIndex, g.Rows, g.Segments, g.SealedSegments, g.IndexedSegments, g.Term))
		}
		return out
	}
	return nil
}
