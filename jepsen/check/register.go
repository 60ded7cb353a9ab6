package check

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/raftvec/raftvec/jepsen/history"
)

// RegisterOptions configure Register.
type RegisterOptions struct {
	// Timeout bounds porcupine's search per key; 0 means no limit. A key
	// whose search times out makes the result invalid: no verdict is not a
	// pass.
	Timeout time.Duration
	// VisualizationPath, when set, is where the porcupine HTML timeline of
	// all keys is written.
	VisualizationPath string
	// Nemesis events are drawn on the timeline.
	Nemesis []history.NemesisEvent
}

// regInput and regOutput are porcupine's view of an operation on one key.
type regInput struct {
	key     int64
	kind    history.Kind
	value   int64 // version written or probed
	unknown bool  // outcome unknown, for the timeline
}

type regOutput struct {
	value int64 // version read or found by a probe; Absent when none
}

// regMeta describes the operation on the timeline.
type regMeta struct {
	id    int
	node  string
	level history.Level
}

// RegisterModel returns the per-key register porcupine checks against: the
// state is the key's version (history.Absent when it does not exist). Insert
// and Upsert set it, Delete clears it, Get returns it. A Probe of version v
// that found the key at version u says the state is u; one that did not find
// the key says the state is not v. Its Partition splits a history by key.
func RegisterModel() porcupine.Model {
	return porcupine.Model{
		Partition: func(ops []porcupine.Operation) [][]porcupine.Operation {
			byKey := map[int64][]porcupine.Operation{}
			for _, op := range ops {
				k := op.Input.(regInput).key
				byKey[k] = append(byKey[k], op)
			}
			keys := make([]int64, 0, len(byKey))
			for k := range byKey {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			out := make([][]porcupine.Operation, 0, len(keys))
			for _, k := range keys {
				out = append(out, byKey[k])
			}
			return out
		},
		Init: func() any { return history.Absent },
		Step: func(state, input, output any) (bool, any) {
			s, in := state.(int64), input.(regInput)
			switch in.kind {
			case history.Insert, history.Upsert:
				return true, in.value
			case history.Delete:
				return true, history.Absent
			case history.Get:
				return output.(regOutput).value == s, s
			case history.Probe:
				if found := output.(regOutput).value; found != history.Absent {
					return found == s, s
				}
				return s != in.value, s
			}
			return false, s
		},
		Hash: func(state any) uint64 { return uint64(state.(int64)) },
		DescribeOperation: func(input, output any) string {
			in := input.(regInput)
			var s string
			switch in.kind {
			case history.Insert, history.Upsert:
				s = fmt.Sprintf("%s(%d, %s)", in.kind, in.key, versionString(in.value))
			case history.Delete:
				s = fmt.Sprintf("delete(%d)", in.key)
			case history.Get:
				s = fmt.Sprintf("get(%d) → %s", in.key, versionString(output.(regOutput).value))
			case history.Probe:
				if found := output.(regOutput).value; found != history.Absent {
					s = fmt.Sprintf("probe(%d, %s) → found %s", in.key, versionString(in.value), versionString(found))
				} else {
					s = fmt.Sprintf("probe(%d, %s) → not found", in.key, versionString(in.value))
				}
			}
			if in.unknown {
				s += " ?"
			}
			return s
		},
		DescribeState: func(state any) string { return versionString(state.(int64)) },
		DescribeOperationMetadata: func(info any) string {
			m, ok := info.(regMeta)
			if !ok {
				return ""
			}
			s := fmt.Sprintf("op %d", m.id)
			if m.node != "" {
				s += " on " + m.node
			}
			if m.level != "" {
				s += " (" + string(m.level) + ")"
			}
			return s
		},
	}
}

// Register checks that the point operations on each key are linearizable
// with porcupine against RegisterModel.
//
// It uses Insert, Upsert and Delete that did not fail (an Unknown write
// returns at infinity: it may take effect at any time after its call), and
// Get and Probe reads that succeeded at STRONG level or are Final. Other
// operations are ignored and counted. An Unknown write whose effect no read
// observed is dropped before the search: it can always be linearized last,
// and it multiplies porcupine's work.
func Register(h []history.Op, opts RegisterOptions) Result {
	r := newResult("register")
	h = wellFormed(r, h)

	observed := map[pointRead]bool{}
	for i := range h {
		op := &h[i]
		if op.Outcome != history.Ok || !(op.Level == history.Strong || op.Final) {
			continue
		}
		switch op.Kind {
		case history.Get:
			observed[pointRead{op.Key, op.Value}] = true
		case history.Probe:
			if v, ok := probeFound(op); ok {
				observed[pointRead{op.Key, v}] = true
			}
		}
	}

	// Dense client ids keep the timeline compact.
	procs := map[int]int{}
	for _, op := range h {
		procs[op.Process] = 0
	}
	ids := make([]int, 0, len(procs))
	for p := range procs {
		ids = append(ids, p)
	}
	slices.Sort(ids)
	for i, p := range ids {
		procs[p] = i
	}

	byKey := map[int64][]porcupine.Operation{}
	for i := range h {
		op := &h[i]
		pop, ok := registerOp(r, op, observed, procs)
		if !ok {
			continue
		}
		byKey[op.Key] = append(byKey[op.Key], pop)
	}
	keys := make([]int64, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	r.Counts["keys"] = len(keys)

	model := RegisterModel()
	single := model
	single.Partition = nil
	for _, k := range keys {
		ops := byKey[k]
		res, info := porcupine.CheckOperationsVerbose(single, ops, opts.Timeout)
		switch res {
		case porcupine.Ok:
			r.Counts["keys-linearizable"]++
		case porcupine.Unknown:
			r.add(AnomalyLinearizabilityUnknown, nil,
				"key %d: porcupine found no verdict within %s (%d ops)", k, opts.Timeout, len(ops))
		default:
			r.add(AnomalyNonLinearizable, firstUnlinearized(ops, info),
				"key %d: no linearization of its %d operations; the longest linearizable prefix holds %d, first operation outside it is listed",
				k, len(ops), longestPartial(info))
		}
	}

	if r.Counts["reads"] == 0 {
		r.note("no strong reads: linearizability was not exercised")
	}
	if opts.VisualizationPath != "" {
		var all []porcupine.Operation
		for _, k := range keys {
			all = append(all, byKey[k]...)
		}
		_, info := porcupine.CheckOperationsVerbose(model, all, opts.Timeout)
		info.AddAnnotations(nemesisAnnotations(opts.Nemesis))
		if err := porcupine.VisualizePath(model, info, opts.VisualizationPath); err != nil {
			r.note("porcupine visualization not written: %v", err)
		} else {
			r.Artifacts = map[string]string{"porcupine": opts.VisualizationPath}
		}
	}
	return r.done()
}

func registerOp(r *result, op *history.Op, observed map[pointRead]bool, procs map[int]int) (porcupine.Operation, bool) {
	in := regInput{key: op.Key, kind: op.Kind, value: op.Value, unknown: op.Outcome == history.Unknown}
	out := regOutput{value: history.Absent}
	switch op.Kind {
	case history.Insert, history.Upsert, history.Delete:
		if op.Outcome == history.Fail {
			r.Counts["writes-failed"]++
			return porcupine.Operation{}, false
		}
		if op.Outcome == history.Unknown {
			v := op.Value
			if op.Kind == history.Delete {
				v = history.Absent
			}
			if !observed[pointRead{op.Key, v}] {
				r.Counts["writes-unknown-unobserved"]++
				return porcupine.Operation{}, false
			}
			r.Counts["writes-unknown"]++
		} else {
			r.Counts["writes-ok"]++
		}
	case history.Get, history.Probe:
		if op.Outcome != history.Ok || !(op.Level == history.Strong || op.Final) {
			r.Counts["reads-ignored"]++
			return porcupine.Operation{}, false
		}
		if op.Kind == history.Get {
			out.value = op.Value
		} else if v, ok := probeFound(op); ok {
			out.value = v
		}
		r.Counts["reads"]++
	default:
		r.Counts["ops-ignored"]++
		return porcupine.Operation{}, false
	}
	ret := op.Return
	if op.Outcome == history.Unknown {
		ret = never
	}
	return porcupine.Operation{
		ClientId: procs[op.Process],
		Input:    in,
		Call:     op.Call,
		Output:   out,
		Return:   ret,
		Metadata: regMeta{id: op.ID, node: op.Node, level: op.Level},
	}, true
}

func longestPartial(info porcupine.LinearizationInfo) int {
	n := 0
	for _, part := range info.PartialLinearizations() {
		for _, lin := range part {
			n = max(n, len(lin))
		}
	}
	return n
}

// firstUnlinearized names the operation where porcupine's search got
// furthest: for each longest partial linearization, the earliest-invoked
// operation outside it; of those, the latest. The choice does not depend on
// the order porcupine returns its partial linearizations in.
func firstUnlinearized(ops []porcupine.Operation, info porcupine.LinearizationInfo) []int {
	n := longestPartial(info)
	key := func(op porcupine.Operation) [2]int64 {
		return [2]int64{op.Call, int64(op.Metadata.(regMeta).id)}
	}
	var best *porcupine.Operation
	for _, part := range info.PartialLinearizations() {
		for _, lin := range part {
			if len(lin) != n {
				continue
			}
			in := make([]bool, len(ops))
			for _, i := range lin {
				if i >= 0 && i < len(ops) {
					in[i] = true
				}
			}
			var first *porcupine.Operation
			for i := range ops {
				if !in[i] && (first == nil || cmpKey(key(ops[i]), key(*first)) < 0) {
					first = &ops[i]
				}
			}
			if first != nil && (best == nil || cmpKey(key(*first), key(*best)) > 0) {
				best = first
			}
		}
	}
	if best == nil {
		return nil
	}
	return []int{best.Metadata.(regMeta).id}
}

func cmpKey(a, b [2]int64) int {
	if c := cmp.Compare(a[0], b[0]); c != 0 {
		return c
	}
	return cmp.Compare(a[1], b[1])
}

func nemesisAnnotations(evs []history.NemesisEvent) []porcupine.Annotation {
	out := make([]porcupine.Annotation, 0, len(evs))
	for _, e := range evs {
		details := e.Description
		if len(e.Nodes) > 0 {
			details += fmt.Sprintf(" %v", e.Nodes)
		}
		out = append(out, porcupine.Annotation{
			Tag:             "nemesis",
			Start:           e.Time,
			End:             e.End,
			Description:     e.Kind,
			Details:         details,
			BackgroundColor: "#f6d5d5",
		})
	}
	return out
}
