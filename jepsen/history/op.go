package history

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Kind names what an operation did.
type Kind string

// Operation kinds. Insert, Upsert and Delete are writes; the others are reads.
const (
	Insert Kind = "insert" // write Key with version Value; the key must be new
	Upsert Kind = "upsert" // write Key with version Value
	Delete Kind = "delete" // delete Key
	Get    Kind = "get"    // point read of Key: Value is the version read, or Absent
	// Search is a vector search: Keys are the ids returned, best first, with
	// Values (versions) and Distances aligned with Keys when recorded.
	Search Kind = "search"
	// Probe is an exact search whose query is the vector written by
	// upsert(Key, Value): Keys/Values are its results. It answers "is Key at
	// version Value present?" through the search path rather than a get.
	// Key among Keys means Key is present at its aligned version in Values
	// (at Value when Values was not recorded); Key missing means Key is not
	// at version Value.
	Probe Kind = "probe"
	// ReadAll reads every live key (Keys), with versions in Values when
	// recorded.
	ReadAll Kind = "read-all"
)

// IsWrite reports whether k changes state.
func (k Kind) IsWrite() bool { return k == Insert || k == Upsert || k == Delete }

// IsRead reports whether k only observes state.
func (k Kind) IsRead() bool { return k == Get || k == Search || k == Probe || k == ReadAll }

// Level is the read consistency level the client asked for.
type Level string

// Read levels (DESIGN.md §5). Writes carry no level.
const (
	Strong   Level = "strong"
	Bounded  Level = "bounded"
	Session  Level = "session"
	Eventual Level = "eventual"
)

// Outcome is what the client learnt about an operation.
type Outcome string

// Outcomes.
const (
	Ok      Outcome = "ok"      // acknowledged
	Fail    Outcome = "fail"    // definitely not applied
	Unknown Outcome = "unknown" // may or may not have been applied
)

// Absent is the version of a key that does not exist: Value of a Get that
// found nothing.
const Absent int64 = math.MinInt64

// Op is one client operation with its invocation and completion.
//
// Versions (Value) written to one key must be unique across the run, so that
// a version read names the write that produced it.
type Op struct {
	// ID is unique within a history; the Recorder assigns it. Anomalies
	// name operations by ID.
	ID int `json:"id"`
	// Process is the client that issued the operation; checkers treat it as
	// the session (one process runs one operation at a time).
	Process int   `json:"process"`
	Kind    Kind  `json:"kind"`
	Key     int64 `json:"key"`
	// Value is the version written (Insert, Upsert), read (Get; Absent when
	// not found) or probed (Probe).
	Value int64 `json:"value"`
	// Keys are the ids a Search, Probe or ReadAll returned.
	Keys []int64 `json:"keys,omitempty"`
	// Values are the versions of Keys, aligned with them, when recorded.
	Values []int64 `json:"values,omitempty"`
	// Distances are the distances of Keys, aligned with them, for searches.
	Distances []float32 `json:"distances,omitempty"`
	// Level is the read level; empty for writes.
	Level Level `json:"level,omitempty"`
	// MaxStaleness is the bound of a Bounded read.
	MaxStaleness time.Duration `json:"max_staleness,omitempty"`
	// Node is the node the client sent the request to.
	Node string `json:"node,omitempty"`
	// SessionToken is the client's session token after the operation.
	SessionToken uint64 `json:"session_token,omitempty"`
	// Ts is the server timestamp returned: the commit ts of a write, the read
	// ts of a read; 0 when none was returned.
	Ts uint64 `json:"ts,omitempty"`
	// Call and Return are nanoseconds since the start of the run. For an
	// Unknown operation Return is when the client gave up; checkers treat
	// its effect as possibly happening at any time after Call.
	Call    int64   `json:"call"`
	Return  int64   `json:"return"`
	Outcome Outcome `json:"outcome"`
	// Final marks reads taken after heal, restart and quiescence: they must
	// reflect every acknowledged write whatever their level.
	Final bool `json:"final,omitempty"`
	// Error is the client-side error text, for the report.
	Error string `json:"error,omitempty"`
	// Hostile marks a request sent with a session token or as-of ts far in
	// the future, which the server must refuse.
	Hostile bool `json:"hostile,omitempty"`
}

// Validate checks the fields of one operation for internal consistency.
func (o Op) Validate() error {
	var errs []error
	switch {
	case o.Kind.IsWrite():
		if o.Level != "" {
			errs = append(errs, fmt.Errorf("write has level %q", o.Level))
		}
	case o.Kind.IsRead():
		switch o.Level {
		case Strong, Bounded, Session, Eventual:
		default:
			errs = append(errs, fmt.Errorf("read has level %q, want strong, bounded, session or eventual", o.Level))
		}
	default:
		errs = append(errs, fmt.Errorf("unknown kind %q", o.Kind))
	}
	switch o.Outcome {
	case Ok, Fail, Unknown:
	default:
		errs = append(errs, fmt.Errorf("unknown outcome %q", o.Outcome))
	}
	if o.Return < o.Call {
		errs = append(errs, fmt.Errorf("return (%d) before call (%d)", o.Return, o.Call))
	}
	if len(o.Values) != 0 && len(o.Values) != len(o.Keys) {
		errs = append(errs, fmt.Errorf("values (%d) not aligned with keys (%d)", len(o.Values), len(o.Keys)))
	}
	if len(o.Distances) != 0 && len(o.Distances) != len(o.Keys) {
		errs = append(errs, fmt.Errorf("distances (%d) not aligned with keys (%d)", len(o.Distances), len(o.Keys)))
	}
	if o.MaxStaleness < 0 {
		errs = append(errs, fmt.Errorf("max_staleness (%s) must not be negative", o.MaxStaleness))
	}
	if (o.Kind == Insert || o.Kind == Upsert) && o.Value == Absent {
		errs = append(errs, errors.New("write of the Absent version"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("op %d: %w", o.ID, err)
	}
	return nil
}

// Validate checks every operation and that IDs are unique.
func Validate(h []Op) error {
	var errs []error
	seen := make(map[int]bool, len(h))
	for _, o := range h {
		if err := o.Validate(); err != nil {
			errs = append(errs, err)
		}
		if seen[o.ID] {
			errs = append(errs, fmt.Errorf("op %d: duplicate id", o.ID))
		}
		seen[o.ID] = true
	}
	return errors.Join(errs...)
}

// Contains reports the position of key in o.Keys.
func (o Op) Contains(key int64) (int, bool) {
	for i, k := range o.Keys {
		if k == key {
			return i, true
		}
	}
	return -1, false
}

// Counts tallies a history by kind and outcome ("upsert:ok",
// "get:unknown"), by kind ("upsert") and in total ("ops").
func Counts(h []Op) map[string]int {
	c := map[string]int{"ops": len(h)}
	for _, o := range h {
		c[string(o.Kind)]++
		c[string(o.Kind)+":"+string(o.Outcome)]++
	}
	return c
}

// NemesisEvent is one fault (or its healing) in the nemesis timeline.
type NemesisEvent struct {
	// Time is nanoseconds since the start of the run; End, when not zero, is
	// when the fault was healed, for faults recorded as one interval.
	Time int64 `json:"time"`
	End  int64 `json:"end,omitempty"`
	// Kind is a short name: "kill", "restart", "pause", "resume",
	// "partition", "heal", "clock", "membership" ...
	Kind        string   `json:"kind"`
	Description string   `json:"description"`
	Nodes       []string `json:"nodes,omitempty"`
}
