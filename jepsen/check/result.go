package check

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/raftvec/raftvec/jepsen/history"
)

// Anomaly kinds. A Result names each anomaly it found with one of these.
const (
	// Any checker: an operation the checker cannot interpret.
	AnomalyMalformed = "malformed-op"

	// Register.
	AnomalyNonLinearizable = "non-linearizable"
	// AnomalyLinearizabilityUnknown is porcupine timing out: no verdict,
	// which counts as failure.
	AnomalyLinearizabilityUnknown = "linearizability-unknown"

	// Set.
	AnomalyLost          = "lost"           // acknowledged (or observed) insert missing from a final read
	AnomalyUnexpected    = "unexpected"     // a key no insert invoked before the read could have written
	AnomalyFailedVisible = "failed-visible" // a key whose only writes failed definitely
	AnomalyStaleRead     = "stale-read"     // strong read missing an insert acknowledged before it began
	AnomalyNonMonotonic  = "non-monotonic"  // strong read missing a key a completed earlier strong read saw
	AnomalyNoFinalRead   = "no-final-read"  // nothing to check lost inserts against

	// NoResurrection and SearchOracle.
	AnomalyResurrection = "resurrection" // a key read after its delete was acknowledged
	AnomalyPhantom      = "phantom"      // a key or version no write invoked before the read produced

	// Session.
	AnomalyReadYourWrites = "read-your-writes"
	AnomalyMonotonicReads = "monotonic-reads"

	// Bounded.
	AnomalyStaleBounded = "stale-bounded-read"

	// Cut.
	AnomalyTornCut = "torn-cut" // a read across keys saw a write but missed one that completed before it began

	// TsOrder.
	AnomalyTsReversed = "ts-reversed" // a write acknowledged before another was sent has the higher ts

	// Hostile.
	AnomalyHostileAccepted = "hostile-accepted" // a far-future token or as-of ts was served

	// FinalSearch.
	AnomalyWrongLength      = "wrong-length"
	AnomalyWrongID          = "wrong-id"
	AnomalyDuplicateID      = "duplicate-id"
	AnomalyDistanceMismatch = "distance-mismatch"
	AnomalyMissedID         = "missed-id"

	// Convergence.
	AnomalyNoReports      = "no-reports"
	AnomalyUnreachable    = "unreachable"
	AnomalyIndexDiverged  = "applied-index-diverged"
	AnomalyDigestDiverged = "digest-diverged"
)

// Anomaly is one violation a checker found.
type Anomaly struct {
	Kind string `json:"kind"`
	// Ops are the IDs of the history operations involved, the offending
	// one first.
	Ops     []int  `json:"ops,omitempty"`
	Message string `json:"message"`
}

// Result is one checker's verdict.
type Result struct {
	Name  string `json:"name"`
	Valid bool   `json:"valid"`
	// Anomalies are in a deterministic order: by kind, then by first op.
	Anomalies []Anomaly `json:"anomalies,omitempty"`
	// Counts are what the checker looked at ("reads", "acknowledged" ...)
	// and, per anomaly kind, how many it found.
	Counts map[string]int `json:"counts,omitempty"`
	// Artifacts are files the checker wrote, by label (for example
	// "porcupine" → the visualization path).
	Artifacts map[string]string `json:"artifacts,omitempty"`
	// Notes are things a reader should know that are not anomalies, such as
	// a visualization that could not be written.
	Notes []string `json:"notes,omitempty"`
}

// AllValid reports whether every result is valid.
func AllValid(rs []Result) bool {
	for _, r := range rs {
		if !r.Valid {
			return false
		}
	}
	return true
}

// result accumulates a Result.
type result struct {
	Result
}

func newResult(name string) *result {
	return &result{Result{Name: name, Counts: map[string]int{}}}
}

func (r *result) add(kind string, ops []int, format string, args ...any) {
	r.Anomalies = append(r.Anomalies, Anomaly{Kind: kind, Ops: ops, Message: fmt.Sprintf(format, args...)})
}

func (r *result) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

func (r *result) done() Result {
	slices.SortStableFunc(r.Anomalies, func(a, b Anomaly) int {
		if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return cmp.Compare(firstOp(a), firstOp(b))
	})
	for _, a := range r.Anomalies {
		r.Counts[a.Kind]++
	}
	r.Valid = len(r.Anomalies) == 0
	return r.Result
}

func firstOp(a Anomaly) int {
	if len(a.Ops) == 0 {
		return -1
	}
	return a.Ops[0]
}

// wellFormed returns the operations a checker can interpret, reporting the
// others (and duplicate IDs, which would make anomalies ambiguous) on r.
func wellFormed(r *result, h []history.Op) []history.Op {
	out := make([]history.Op, 0, len(h))
	seen := make(map[int]bool, len(h))
	for _, o := range h {
		if seen[o.ID] {
			r.add(AnomalyMalformed, []int{o.ID}, "op %d: duplicate id", o.ID)
			continue
		}
		seen[o.ID] = true
		if err := o.Validate(); err != nil {
			r.add(AnomalyMalformed, []int{o.ID}, "%v", err)
			continue
		}
		out = append(out, o)
	}
	return out
}

// byCall orders operations by invocation, then ID, for deterministic sweeps.
func byCall(a, b history.Op) int {
	if c := cmp.Compare(a.Call, b.Call); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}
