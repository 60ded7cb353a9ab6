// Package shard runs shard replicas: a raftnode group driving an fsm.Shard,
// with the leader's timestamp assignment, idle time ticks and the read paths
// of each consistency level. Host is the per-node owner of every replica and
// of the metadata group (the seed of the placement driver) that says which
// replicas a node holds.
//
// shard is the only package that imports both raftnode and fsm. It must not
// import rpc.
package shard
