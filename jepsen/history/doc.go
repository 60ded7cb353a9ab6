// Package history owns the record of a consistency run: the operations the
// clients invoked (Op), the faults the nemesis injected (NemesisEvent), their
// JSON-lines files (history.jsonl, nemesis.jsonl) and the Recorder that the
// harness's client goroutines append to.
//
// Times are nanoseconds since the start of the run, read from a monotonic
// clock, so that histories from different runs compare and porcupine can use
// them directly.
//
// An operation's Outcome is what the client knows, not what the server did:
// Ok (acknowledged), Fail (definitely not applied) or Unknown (timeout,
// connection lost: it may or may not have taken effect, now or later). The
// checkers in jepsen/check rely on that distinction, so the harness must
// record Fail only when the error proves the operation was not applied.
//
// This package imports nothing of raftvec; the checkers and the report read
// histories only through it.
package history
