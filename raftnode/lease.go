package raftnode

import "time"

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
