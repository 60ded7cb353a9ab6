// Package raftnode hosts many hashicorp/raft groups in one process: one TCP
// listener multiplexed across groups (Mux), and per group a raft-boltdb log
// and stable store, a file snapshot store, group commit of proposals
// (Propose / Apply), and the read paths: a read index whose leadership check
// is shared by every read waiting at that moment, and waits for an applied
// index or timestamp.
//
// raftnode knows nothing of vectors or collections: it takes an FSM that
// applies opaque commands.
//
// It must not import fsm, shard, index or rpc.
package raftnode
