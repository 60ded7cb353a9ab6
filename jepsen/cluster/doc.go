// Package cluster owns the raftvec server processes of one consistency run:
// it picks loopback ports, starts every node in its own process group with
// its own data directory and log file, and kills, restarts, pauses
// (SIGSTOP) and resumes them. It also wraps the fault-injection admin call
// (Raft link cuts, clock offsets, slow applies) and the Status polling the
// nemeses and the runner need to find leaders and compare replicas.
//
// It talks to the nodes only through the public SDK (rpc/client) and the
// admin API, never through raftvec internals. A Cluster is safe for
// concurrent use; Close kills every process it started, whatever state they
// are in, and is safe to call more than once.
package cluster
