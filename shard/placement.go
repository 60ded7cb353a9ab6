package shard

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/armon/go-metrics"
	"github.com/hashicorp/raft"
	"github.com/hashicorp/serf/serf"

	"github.com/raftvec/raftvec/fsm"
)

// placementLoop takes the placement steps this node can take, every
// ScheduleInterval and whenever membership changes: on every node, the
// steps of moves it is part of and leader spreading; on the metadata
// leader, also recording node health and starting moves (the scheduler).
func (h *Host) placementLoop() {
	defer h.wg.Done()
	t := time.NewTicker(h.cfg.ScheduleInterval)
	defer t.Stop()
	var events <-chan serf.Event
	if h.members != nil {
		events = h.members.events
	}
	started := time.Now()
	for {
		select {
		case <-h.done:
			return
		case <-t.C:
		case <-events:
			// Serf blocks when its channel is full; drain what is queued,
			// one step covers it all.
			for len(events) > 0 {
				<-events
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		h.placementStep(ctx, started)
		cancel()
	}
}

func (h *Host) placementStep(ctx context.Context, started time.Time) {
	st := h.meta.State()
	if h.members != nil {
		h.members.joinKnown(st, h.cfg.NodeID)
		h.members.publishLeaders(h.leadersHeld())
	}
	for _, c := range st.Collections {
		for i := range c.Shards {
			if sh := &c.Shards[i]; sh.Move != nil {
				h.stepMove(ctx, st, sh)
			}
		}
	}
	h.spreadLeaders(st)
	if !h.mg.IsLeader() || !h.MetaCaughtUp() {
		return
	}
	if h.members != nil {
		h.recordHealth(ctx, st, time.Since(started) > h.cfg.Placement.DownAfter)
		h.tendMetaGroup(h.meta.State())
	}
	for _, mv := range fsm.StalledMoves(h.meta.State(), time.Now(), h.cfg.Placement) {
		if err := h.ProposeMeta(ctx, &fsm.MetaOp{CancelMove: &mv}); err != nil {
			h.log.Warn("cancel move", "shard", mv.Shard, "from", mv.From, "to", mv.To, "err", err)
			return
		}
		h.log.Info("move cancelled: its new replica's node failed", "shard", mv.Shard, "from", mv.From, "to", mv.To)
		metrics.IncrCounter([]string{"placement", "moves_cancelled"}, 1)
	}
	for _, mv := range fsm.PlanMoves(h.meta.State(), time.Now(), h.cfg.Placement) {
		if err := h.ProposeMeta(ctx, &fsm.MetaOp{StartMove: &mv}); err != nil {
			h.log.Warn("start move", "shard", mv.Shard, "from", mv.From, "to", mv.To, "err", err)
			return
		}
		h.log.Info("move started", "shard", mv.Shard, "from", mv.From, "to", mv.To, "reason", mv.Reason)
		metrics.IncrCounterWithLabels([]string{"placement", "moves_started"}, 1, []metrics.Label{{Name: "reason", Value: mv.Reason}})
	}
}

// recordHealth, on the metadata leader, records what Serf says of each
// node when it differs from the metadata. A node Serf does not know at all
// (it was down before this leader's agent started) counts as failed once
// this node has run for down_after, long enough to have heard from it.
func (h *Host) recordHealth(ctx context.Context, st fsm.MetaState, absentIsFailed bool) {
	seen := map[string]string{}
	for _, m := range h.members.serf.Members() {
		seen[m.Name] = health(m.Status)
	}
	for id := range st.Nodes {
		state, ok := seen[id]
		if !ok {
			if !absentIsFailed || id == h.cfg.NodeID {
				continue
			}
			state = fsm.NodeFailed
		}
		cur, recorded := st.Health[id]
		if (recorded && cur.State == state) || (!recorded && state == fsm.NodeAlive) {
			continue
		}
		op := &fsm.MetaOp{SetHealth: &fsm.MetaHealth{Node: id, NodeHealth: fsm.NodeHealth{State: state, Since: time.Now().UnixMilli()}}}
		if err := h.ProposeMeta(ctx, op); err != nil {
			h.log.Warn("record node health", "node", id, "state", state, "err", err)
			return
		}
		h.log.Info("node health", "node", id, "state", state)
	}
}

// stepMove takes the next step of a move that this node can take: as the
// new replica, report that it caught up; as the shard's leader, add the new
// replica as a non-voter, promote it once ready, remove the old voter, and
// report the move finished. Each step is idempotent and decided from the
// current Raft configuration and metadata, so whichever node leads next
// continues from where the last one stopped.
func (h *Host) stepMove(ctx context.Context, st fsm.MetaState, sh *fsm.ShardPlacement) {
	r := h.Replica(sh.ID)
	if r == nil {
		return
	}
	mv := *sh.Move
	ref := &fsm.MetaMove{Shard: sh.ID, Move: mv}
	if mv.To == h.cfg.NodeID && !mv.Ready && !r.group.IsLeader() {
		recent := time.Since(r.group.Raft().LastContact()) < h.cfg.Raft.HeartbeatTimeout
		if recent && r.group.CaughtUp() && r.group.Member() {
			if err := h.proposeMeta(ctx, &fsm.MetaOp{MoveReady: ref}); err != nil {
				h.log.Warn("report move ready", "shard", sh.ID, "err", err)
			}
		}
		return
	}
	if !r.group.IsLeader() {
		return
	}
	ra := r.group.Raft()
	for range 4 {
		cf := ra.GetConfiguration()
		if cf.Error() != nil {
			return
		}
		var to, from *raft.Server
		for _, s := range cf.Configuration().Servers {
			switch string(s.ID) {
			case mv.To:
				to = &s
			case mv.From:
				from = &s
			}
		}
		var f raft.IndexFuture
		step := ""
		switch {
		case to == nil:
			n, ok := st.Nodes[mv.To]
			if !ok {
				return
			}
			step, f = "add non-voter", ra.AddNonvoter(raft.ServerID(mv.To), raft.ServerAddress(n.RaftAddr), 0, 10*time.Second)
		case to.Suffrage == raft.Nonvoter && mv.Ready && st.Alive(mv.To):
			// A new voter that is down would count toward the quorum
			// without answering; wait until its node is seen alive.
			step, f = "promote", ra.AddVoter(to.ID, to.Address, 0, 10*time.Second)
		case to.Suffrage == raft.Voter && from != nil:
			step, f = "remove old voter", ra.RemoveServer(from.ID, 0, 10*time.Second)
		case to.Suffrage == raft.Voter:
			if err := h.proposeMeta(ctx, &fsm.MetaOp{FinishMove: ref}); err != nil {
				h.log.Warn("finish move", "shard", sh.ID, "err", err)
				return
			}
			h.log.Info("move finished", "shard", sh.ID, "from", mv.From, "to", mv.To)
			metrics.IncrCounter([]string{"placement", "moves_finished"}, 1)
			return
		default:
			return // waiting for the new replica to catch up
		}
		if err := f.Error(); err != nil {
			h.log.Warn("move step", "shard", sh.ID, "step", step, "err", err)
			return
		}
		h.log.Info("move step", "shard", sh.ID, "step", step, "from", mv.From, "to", mv.To)
		if step == "remove old voter" && mv.From == h.cfg.NodeID {
			return // this node just left the group; the next leader finishes
		}
	}
}

// leadersHeld is how many local replicas lead their shard.
func (h *Host) leadersHeld() int {
	n := 0
	for _, r := range h.Replicas() {
		if r.group.IsLeader() {
			n++
		}
	}
	return n
}

// spreadLeaders hands one shard leadership, at most every
// LeaderSpreadInterval, from this node to a voter of that shard on a node
// holding at least two fewer leaders (as the nodes gossip it), so that
// write load spreads over the nodes.
func (h *Host) spreadLeaders(st fsm.MetaState) {
	if h.members == nil || h.cfg.LeaderSpreadInterval <= 0 || time.Since(h.lastSpread) < h.cfg.LeaderSpreadInterval {
		return
	}
	counts := h.members.leaders()
	mine := h.leadersHeld()
	for _, r := range h.Replicas() {
		if !r.group.IsLeader() {
			continue
		}
		_, sh := st.Shard(r.ShardID())
		if sh == nil || sh.Move != nil {
			continue
		}
		best, bestN := "", mine-1
		for _, v := range sh.Voters {
			if n, ok := counts[v]; ok && v != h.cfg.NodeID && st.Alive(v) && n < bestN {
				best, bestN = v, n
			}
		}
		if best == "" {
			continue
		}
		h.lastSpread = time.Now()
		if err := r.group.TransferLeadership(best); err != nil {
			h.log.Warn("spread leaders", "shard", sh.ID, "to", best, "err", err)
			return
		}
		h.log.Info("handed shard leadership over", "shard", sh.ID, "to", best, "leaders_here", mine, "leaders_there", bestN)
		metrics.IncrCounter([]string{"placement", "leader_transfers"}, 1)
		h.members.publishLeaders(h.leadersHeld())
		return
	}
}

// tendMetaGroup, on the metadata leader, keeps the metadata group whole:
// a live node the metadata records but the group's configuration lacks (its
// seat was given away while it was failed) is added back as a non-voter, so
// that it learns the metadata again; a voter whose node has been failed for
// down_after is replaced by a live non-voter; and while the group has fewer
// than MetaVoters voters, a live non-voter is promoted. One change per call.
func (h *Host) tendMetaGroup(st fsm.MetaState) {
	ra := h.mg.Raft()
	cf := ra.GetConfiguration()
	if cf.Error() != nil {
		return
	}
	members := map[string]bool{}
	voters := 0
	var dead, spare *raft.Server
	for _, s := range cf.Configuration().Servers {
		id := string(s.ID)
		members[id] = true
		hl, recorded := st.Health[id]
		down := recorded && hl.State != fsm.NodeAlive && time.Since(time.UnixMilli(hl.Since)) >= h.cfg.Placement.DownAfter
		switch {
		case s.Suffrage == raft.Voter:
			voters++
			if down && dead == nil {
				dead = &s
			}
		case s.Suffrage == raft.Nonvoter && st.Alive(id) && spare == nil:
			spare = &s
		}
	}
	for _, id := range slices.Sorted(maps.Keys(st.Nodes)) {
		if members[id] || !st.Alive(id) {
			continue
		}
		if _, recorded := st.Health[id]; !recorded {
			continue // not reported on yet: it may be joining right now
		}
		n := st.Nodes[id]
		if err := ra.AddNonvoter(raft.ServerID(id), raft.ServerAddress(n.RaftAddr), 0, 10*time.Second).Error(); err != nil {
			h.log.Warn("re-add node to the metadata group", "node", id, "err", err)
			return
		}
		h.log.Info("re-added a returning node to the metadata group as a non-voter", "node", id)
		return
	}
	if spare == nil || (dead == nil && voters >= MetaVoters) {
		return
	}
	if err := ra.AddVoter(spare.ID, spare.Address, 0, 10*time.Second).Error(); err != nil {
		h.log.Warn("promote metadata non-voter", "node", spare.ID, "err", err)
		return
	}
	if dead == nil {
		h.log.Info("promoted a metadata non-voter", "node", spare.ID, "voters", voters+1)
		return
	}
	if err := ra.RemoveServer(dead.ID, 0, 10*time.Second).Error(); err != nil {
		h.log.Warn("remove failed metadata voter", "node", dead.ID, "err", err)
		return
	}
	h.log.Info("replaced a failed metadata voter", "failed", dead.ID, "by", spare.ID)
}

// LeadersByNode is how many shard leaders each live node holds, as the
// nodes gossip it (nil without membership).
func (h *Host) LeadersByNode() map[string]int {
	if h.members == nil {
		return nil
	}
	return h.members.leaders()
}
