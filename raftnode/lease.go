package raftnode

import (
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// LeaseValid reports whether now falls inside the leader's read lease: this
// node is the leader of a ready term and a quorum round that started less
// than LeaseDuration before now succeeded. A leader that lost leadership, or
// has not yet had a successful round in its term, holds no lease.
func (g *Group) LeaseValid(now time.Time) bool {
	g.leadMu.Lock()
	l := g.lead
	var until time.Time
	if l != nil {
		until = l.leaseUntil
	}
	g.leadMu.Unlock()
	if l == nil {
		return false
	}
	select {
	case <-l.ready:
	default:
		return false
	}
	return leaseHolds(now, until, l.err == nil)
}

// leaseHolds is the pure lease rule.
func leaseHolds(now, until time.Time, ready bool) bool {
	return ready && !until.IsZero() && now.Before(until)
}

// TransferLeadership hands this group's leadership to voter id (any
// up-to-date voter when id is empty) and waits for the outcome. The
// target's election skips the rule that a follower does not vote while it
// hears from a leader, which is what the read lease rests on; so this
// leader gives up its lease first, for the rest of its term, whether or
// not the transfer succeeds.
func (g *Group) TransferLeadership(id string) error {
	g.leadMu.Lock()
	if l := g.lead; l != nil {
		l.noLease = true
		l.leaseUntil = time.Time{}
	}
	g.leadMu.Unlock()
	if id == "" {
		return orClassify(g.raft.LeadershipTransfer().Error())
	}
	cf := g.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return orClassify(err)
	}
	for _, s := range cf.Configuration().Servers {
		if string(s.ID) == id {
			if s.Suffrage != raft.Voter {
				return fmt.Errorf("%s is not a voter of group %s", id, g.cfg.Group)
			}
			return orClassify(g.raft.LeadershipTransferToServer(s.ID, s.Address).Error())
		}
	}
	return fmt.Errorf("%s is not a member of group %s", id, g.cfg.Group)
}

func orClassify(err error) error {
	if err == nil {
		return nil
	}
	return classify(err)
}
