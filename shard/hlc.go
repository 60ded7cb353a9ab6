package shard

import (
	"sync"
	"time"
)

// A timestamp is physical milliseconds shifted left by LogicalBits, plus a
// logical counter.
const LogicalBits = 18

// MakeTs builds a timestamp from a wall-clock time.
func MakeTs(t time.Time) uint64 { return uint64(t.UnixMilli()) << LogicalBits }

// TsTime returns the wall-clock time of a timestamp's physical part.
func TsTime(ts uint64) time.Time { return time.UnixMilli(int64(ts >> LogicalBits)) }

// NextTs is the leader's timestamp rule: above the physical clock, above the
// last timestamp it assigned, and above what the client has seen, so that
// log order is timestamp order and a client's writes and reads move forward
// even when clocks step backwards.
func NextTs(physical, last, client uint64) uint64 {
	ts := physical
	if last+1 > ts {
		ts = last + 1
	}
	if client+1 > ts {
		ts = client + 1
	}
	return ts
}

// Clock is a node's hybrid logical clock source: the wall clock plus an
// offset that the consistency suite can set to simulate clock skew.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
	now    func() time.Time
}

// NewClock returns a clock reading now (time.Now when nil).
func NewClock(now func() time.Time) *Clock {
	if now == nil {
		now = time.Now
	}
	return &Clock{now: now}
}

// Now returns the (offset) wall-clock time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now().Add(c.offset)
}

// Physical returns the current physical timestamp (no logical part).
func (c *Clock) Physical() uint64 { return MakeTs(c.Now()) }

// SetOffset skews the clock (fault injection).
func (c *Clock) SetOffset(d time.Duration) {
	c.mu.Lock()
	c.offset = d
	c.mu.Unlock()
}
