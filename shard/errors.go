package shard

import (
	"errors"
	"fmt"
	"time"
)

// NotLeaderError says this replica cannot serve the request because it is
// not the shard leader; Leader names the leader it knows of, if any.
type NotLeaderError struct {
	Group      string
	LeaderID   string
	LeaderAddr string // the leader's API address, when known
}

func (e *NotLeaderError) Error() string {
	if e.LeaderID == "" {
		return fmt.Sprintf("%s: not the leader, and no leader is known", e.Group)
	}
	return fmt.Sprintf("%s: not the leader; the leader is %s", e.Group, e.LeaderID)
}

// BehindError says a replica could not reach the timestamp a read needs
// before the deadline.
type BehindError struct {
	Group   string
	Applied uint64
	Needed  uint64
}

func (e *BehindError) Error() string {
	lag := TsTime(e.Needed).Sub(TsTime(e.Applied))
	if lag < 0 {
		lag = 0
	}
	return fmt.Sprintf("%s: replica has applied up to ts %d, %v behind the ts %d this read needs", e.Group, e.Applied, lag.Round(time.Millisecond), e.Needed)
}

// StaleError says a replica could not show, within the deadline, that its
// state is as fresh as a BOUNDED read requires.
type StaleError struct {
	Group string
	Since time.Duration // since the replica last heard from its leader
	Bound time.Duration
	// Behind means it heard from the leader but has not applied what the
	// leader had committed in its current term.
	Behind bool
}

func (e *StaleError) Error() string {
	if e.Behind {
		return fmt.Sprintf("%s: replica is behind: it has not applied what its leader committed, within the max staleness of %v", e.Group, e.Bound)
	}
	return fmt.Sprintf("%s: replica last heard from its leader %v ago, behind the max staleness of %v", e.Group, e.Since.Round(time.Millisecond), e.Bound)
}

var (
	// ErrUnknownOutcome means a write was proposed but whether it was
	// applied is not known; retry it with the same request id.
	ErrUnknownOutcome = errors.New("write outcome unknown; retry with the same request id")
	// ErrNoReplica means this node holds no replica of the shard.
	ErrNoReplica = errors.New("no local replica of the shard")
	// ErrClosed is returned by a closed replica or host.
	ErrClosed = errors.New("closed")
)
