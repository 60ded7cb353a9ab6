package raftnode

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hashicorp/raft"
)

// Config configures one Raft group on one node.
type Config struct {
	// NodeID is this node's Raft server id; the same on every group.
	NodeID string
	// Group names the group; it is sent on every multiplexed connection.
	Group string
	// Dir holds raft.db (log and stable store) and snapshots/.
	Dir string
	// Bootstrap, when not empty and the group has no state yet, is the
	// initial configuration. Every initial member may bootstrap with the
	// same list.
	Bootstrap []raft.Server
	// RestoreOnStart restores the latest snapshot into the FSM when the
	// group starts. Leave it false for an FSM with durable state of its own
	// (it then skips entries it has applied; the snapshot is restored only
	// when the FSM is behind it).
	RestoreOnStart bool

	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration
	// LeaseDriftMargin is subtracted from HeartbeatTimeout to get the read
	// lease: how long after the start of a successful quorum round the leader
	// may answer from local state.
	LeaseDriftMargin time.Duration

	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	TrailingLogs      uint64

	// MaxBatchCmds and MaxBatchBytes bound how many proposals group commit
	// puts into one log entry.
	MaxBatchCmds  int
	MaxBatchBytes int
	// MaxEntryBytes bounds one command.
	MaxEntryBytes int

	// LogOutput and LogLevel configure hashicorp/raft's own logger.
	LogOutput io.Writer
	LogLevel  string
}

// DefaultConfig returns defaults suited to a LAN.
func DefaultConfig() Config {
	return Config{
		HeartbeatTimeout:   1000 * time.Millisecond,
		ElectionTimeout:    1000 * time.Millisecond,
		LeaderLeaseTimeout: 500 * time.Millisecond,
		CommitTimeout:      20 * time.Millisecond,
		LeaseDriftMargin:   200 * time.Millisecond,
		SnapshotThreshold:  8192,
		SnapshotInterval:   60 * time.Second,
		TrailingLogs:       10240,
		MaxBatchCmds:       256,
		MaxBatchBytes:      8 << 20,
		MaxEntryBytes:      64 << 20,
		LogOutput:          os.Stderr,
		LogLevel:           "WARN",
	}
}

// Validate checks the config.
func (c Config) Validate() error {
	switch {
	case c.NodeID == "":
		return fmt.Errorf("raftnode: node_id must be set")
	case c.Group == "" || len(c.Group) > 255:
		return fmt.Errorf("raftnode: group name must be 1 to 255 bytes")
	case c.Dir == "":
		return fmt.Errorf("raftnode: dir must be set")
	case c.HeartbeatTimeout < 10*time.Millisecond:
		return fmt.Errorf("raftnode: heartbeat_timeout (%v) must be at least 10ms", c.HeartbeatTimeout)
	case c.ElectionTimeout < c.HeartbeatTimeout:
		return fmt.Errorf("raftnode: election_timeout (%v) must be at least heartbeat_timeout (%v)", c.ElectionTimeout, c.HeartbeatTimeout)
	case c.LeaderLeaseTimeout <= 0 || c.LeaderLeaseTimeout > c.HeartbeatTimeout:
		return fmt.Errorf("raftnode: leader_lease_timeout (%v) must be positive and at most heartbeat_timeout (%v)", c.LeaderLeaseTimeout, c.HeartbeatTimeout)
	case c.LeaseDriftMargin <= 0 || c.LeaseDriftMargin >= c.HeartbeatTimeout:
		return fmt.Errorf("raftnode: lease_drift_margin (%v) must be positive and below heartbeat_timeout (%v), or the lease could outlive the time in which a new leader can be elected", c.LeaseDriftMargin, c.HeartbeatTimeout)
	case c.CommitTimeout <= 0:
		return fmt.Errorf("raftnode: commit_timeout must be positive")
	case c.SnapshotThreshold < 1:
		return fmt.Errorf("raftnode: snapshot_threshold must be at least 1")
	case c.MaxBatchCmds < 1 || c.MaxBatchCmds > 65536:
		return fmt.Errorf("raftnode: max_batch_cmds (%d) must be between 1 and 65536", c.MaxBatchCmds)
	case c.MaxBatchBytes < 1024:
		return fmt.Errorf("raftnode: max_batch_bytes (%d) must be at least 1024", c.MaxBatchBytes)
	case c.MaxEntryBytes < 1024:
		return fmt.Errorf("raftnode: max_entry_bytes (%d) must be at least 1024", c.MaxEntryBytes)
	}
	return nil
}

// LeaseDuration is how long a successful quorum round lets the leader answer
// reads from local state, measured from the round's start. A follower that
// acknowledged the round will not vote for another candidate until it has
// heard nothing for HeartbeatTimeout, so the lease is that, less the margin
// for clock-rate drift between nodes.
func (c Config) LeaseDuration() time.Duration { return c.HeartbeatTimeout - c.LeaseDriftMargin }
