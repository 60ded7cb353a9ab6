package raftnode

import "errors"

var (
	// ErrNotLeader means this replica is not the leader; nothing was
	// proposed. The caller may retry on the leader (see LeaderHint).
	ErrNotLeader = errors.New("not the leader")
	// ErrUnknownOutcome means a proposal was made but its fate is unknown:
	// leadership was lost or the deadline passed before it committed. A
	// retry with the same request id is safe.
	ErrUnknownOutcome = errors.New("outcome unknown")
	// ErrShutdown is returned after the group was shut down.
	ErrShutdown = errors.New("raft group shut down")
	// ErrTooLarge is returned for a command larger than MaxEntryBytes.
	ErrTooLarge = errors.New("command too large")
)
