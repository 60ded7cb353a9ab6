// Package workload owns what the clients of a consistency run do and how
// their operations become a history: each workload issues operations
// through the SDK (rpc/client), records every one with its invocation and
// completion times, node, level and outcome in a history.Recorder, takes
// the final reads after the cluster is healed, and names the checkers of
// jepsen/check that judge its history.
//
// Outcomes follow history's rules: Ok when the call succeeded; Fail only
// when the gRPC code proves the operation was not applied
// (INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION,
// OUT_OF_RANGE ...); Unknown for everything else (DEADLINE_EXCEEDED,
// UNAVAILABLE after the SDK's retries ran out of time, lost connections).
// A worker whose write ends Unknown continues as a new process, as in
// Jepsen, since that write may still take effect while it goes on.
//
// Written vectors encode their key and version exactly (Vector, Decode), so
// a read that returns a vector names the write that produced it.
package workload
