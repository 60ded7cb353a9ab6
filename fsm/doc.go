// Package fsm owns the operation codec and its validation, the shard state
// machine (a collection shard's rows in growing and sealed segments, MVCC
// deletes, the request-id dedup table and the applied index, all kept in one
// Badger database per shard replica), its snapshot and restore, and the
// metadata state machine of the cluster.
//
// Apply is deterministic: it reads no clock, draws no random number and
// iterates no map where order matters. Validation runs on the leader before
// an op is proposed, so what reaches Apply is valid by construction; a log
// entry that cannot be decoded is corruption and stops the replica.
//
// fsm must not import raftnode, shard or rpc.
package fsm
