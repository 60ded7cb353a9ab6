package fsm

import (
	"sort"
	"time"
)

// MovePolicy is what the placement scheduler may do.
type MovePolicy struct {
	// DownAfter is how long a node must have been failed before its
	// replicas are rebuilt elsewhere; shorter outages (a restart) are
	// waited out.
	DownAfter time.Duration
	// MaxMoves bounds the moves in progress across the cluster, so that
	// catching up new replicas does not starve foreground traffic.
	MaxMoves int
}

// Move reasons.
const (
	ReasonReplace   = "replace failed node"
	ReasonRebalance = "rebalance"
)

// PlanMoves decides which replica moves to start now, given the metadata
// state, with no side effects beyond st: the scheduler on the metadata
// leader proposes
// each result as a StartMove op. st must be the caller's own copy
// (MetaState from Meta.State); the planned moves are recorded in it. In
// order:
//
//   - repair: a voter on a node failed for longer than DownAfter is
//     replaced by a replica on the least-loaded live node that holds none
//     of the shard;
//   - rebalance, only when nothing needs repair: while the most loaded
//     live node holds two or more replicas more than the least loaded one,
//     a voter moves from the first to the second, taken from a shard whose
//     voters are all alive.
func PlanMoves(st MetaState, now time.Time, p MovePolicy) []MetaMove {
	inFlight := 0
	for _, c := range st.Collections {
		for _, sh := range c.Shards {
			if sh.Move != nil {
				inFlight++
			}
		}
	}
	budget := p.MaxMoves - inFlight
	if budget <= 0 {
		return nil
	}
	load := st.Load()
	var live []string
	for id := range st.Nodes {
		if st.Alive(id) {
			live = append(live, id)
		}
	}
	sort.Strings(live)
	// leastLoaded is the live node with the fewest replicas that holds no
	// replica of sh.
	leastLoaded := func(sh *ShardPlacement) string {
		best := ""
		for _, id := range live {
			if !sh.Holds(id) && (best == "" || load[id] < load[best]) {
				best = id
			}
		}
		return best
	}
	shards := st.sortedShards()
	var out []MetaMove
	start := func(sh *ShardPlacement, from, to, reason string) {
		mv := Move{From: from, To: to, Reason: reason, Started: now.UnixMilli()}
		out = append(out, MetaMove{Shard: sh.ID, Move: mv})
		sh.Move = &mv
		load[to]++
		load[from]--
	}
	for _, sh := range shards {
		if len(out) >= budget {
			return out
		}
		if sh.Move != nil {
			continue
		}
		for _, v := range sh.Voters {
			h, failed := st.Health[v]
			if !failed || h.State == NodeAlive || now.Sub(time.UnixMilli(h.Since)) < p.DownAfter {
				continue
			}
			if to := leastLoaded(sh); to != "" {
				start(sh, v, to, ReasonReplace)
			}
			break // one move per shard at a time
		}
	}
	if len(out) > 0 {
		return out
	}
	for len(out) < budget {
		most, least := "", ""
		for _, id := range live {
			if most == "" || load[id] > load[most] {
				most = id
			}
			if least == "" || load[id] < load[least] {
				least = id
			}
		}
		if most == "" || load[most]-load[least] < 2 {
			return out
		}
		moved := false
		for _, sh := range shards {
			if sh.Move != nil || !contains(sh.Voters, most) || sh.Holds(least) || !st.allAlive(sh.Voters) {
				continue
			}
			start(sh, most, least, ReasonRebalance)
			moved = true
			break
		}
		if !moved {
			return out
		}
	}
	return out
}

func (st *MetaState) allAlive(ids []string) bool {
	for _, id := range ids {
		if !st.Alive(id) {
			return false
		}
	}
	return true
}

// sortedShards returns pointers to every shard, by id.
func (st *MetaState) sortedShards() []*ShardPlacement {
	var out []*ShardPlacement
	for _, c := range st.Collections {
		for i := range c.Shards {
			out = append(out, &c.Shards[i])
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// StalledMoves returns the moves to cancel: those whose new replica's node
// has been failed for longer than DownAfter before the replica caught up.
// Their shards are then free for PlanMoves again. A move whose new replica
// is ready is never cancelled: it may be being promoted.
func StalledMoves(st MetaState, now time.Time, p MovePolicy) []MetaMove {
	var out []MetaMove
	for _, sh := range st.sortedShards() {
		mv := sh.Move
		if mv == nil || mv.Ready {
			continue
		}
		if h, ok := st.Health[mv.To]; ok && h.State != NodeAlive && now.Sub(time.UnixMilli(h.Since)) >= p.DownAfter {
			out = append(out, MetaMove{Shard: sh.ID, Move: *mv})
		}
	}
	return out
}
