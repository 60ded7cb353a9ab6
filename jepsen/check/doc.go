// Package check owns the verdicts of a consistency run: checkers that read a
// recorded history (jepsen/history) and report anomalies, and the HTML report
// that shows them.
//
// Every checker is pure logic over its inputs: no clocks, no network, no
// raftvec internals. Each returns a Result whose Valid is false exactly when
// it found an anomaly (or could not decide, which counts as failure).
//
// Outcomes are taken at their word: an Ok write happened, a Fail write did
// not, an Unknown write may have happened at any time after its call, so a
// checker accepts both its presence and its absence. Versions written to a
// key are unique, so a version read names the write that produced it.
//
// Order between two writes of one key is "definitely before" when the first
// was acknowledged before the second was invoked, or when both were
// acknowledged with server timestamps and the first has the smaller one (log
// order equals ts order, DESIGN.md §4). Checkers flag a read only when every
// write that could explain it is definitely before a write the read had to
// see, so a report never rests on a guess about concurrent operations.
//
// Which reads must see which writes depends on the level (DESIGN.md §5): a
// STRONG read or a Final read must see every write acknowledged before it was
// invoked; a BOUNDED read every write acknowledged before invoke minus its
// max staleness; a SESSION read the writes of its own session; an EVENTUAL
// read nothing in particular, but it never returns what was never written.
package check
