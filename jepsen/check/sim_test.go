package check

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/raftvec/raftvec/jepsen/history"
)

// simulate runs a correct, linearizable store: every operation takes effect
// at a random instant inside its [call, return] interval (Unknown writes
// maybe, Fail writes never), and reads return the state at their instant.
// Histories from it must satisfy every checker.
func simulate(seed uint64, procs, opsPerProc int, keyCount int64, insertOnly bool) []history.Op {
	rng := rand.New(rand.NewPCG(seed, 42))
	type pending struct {
		op      history.Op
		at      int64 // linearization point
		applies bool
	}
	var all []pending
	version := int64(0)
	for p := range procs {
		t := int64(rng.IntN(20))
		for range opsPerProc {
			dur := 1 + int64(rng.IntN(60))
			op := history.Op{Process: p, Call: t, Return: t + dur, Outcome: history.Ok, Node: "n" + itoa(int64(rng.IntN(3)))}
			key := 1 + rng.Int64N(max(keyCount, 1))
			applies := true
			switch x := rng.IntN(100); {
			case insertOnly && x < 50:
				version++
				op.Kind, op.Key, op.Value = history.Insert, version, version
			case insertOnly:
				op.Kind, op.Level = history.ReadAll, history.Strong
				if x > 90 {
					op.Level = history.Eventual
				}
			case x < 35:
				version++
				op.Kind, op.Key, op.Value = history.Upsert, key, version
			case x < 45:
				op.Kind, op.Key = history.Delete, key
			case x < 60:
				op.Kind, op.Key, op.Level = history.Get, key, history.Strong
			case x < 72:
				op.Kind, op.Key, op.Level = history.Get, key, history.Session
			case x < 82:
				op.Kind, op.Key, op.Level = history.Get, key, history.Bounded
				op.MaxStaleness = time.Duration(rng.IntN(100))
			case x < 92:
				op.Kind, op.Key, op.Level = history.Probe, key, history.Strong
				op.Value = 1 + rng.Int64N(version+1)
			default:
				op.Kind, op.Level = history.Search, history.Strong
			}
			if op.Kind.IsWrite() {
				switch y := rng.IntN(100); {
				case y < 10:
					op.Outcome = history.Unknown
					applies = rng.IntN(2) == 0
				case y < 15:
					op.Outcome = history.Fail
					applies = false
				}
			}
			all = append(all, pending{op: op, at: t + rng.Int64N(dur+1), applies: applies})
			t += dur + int64(rng.IntN(15))
		}
	}
	slices.SortStableFunc(all, func(a, b pending) int { return cmp.Compare(a.at, b.at) })
	state := map[int64]int64{}
	live := func() []int64 {
		ks := make([]int64, 0, len(state))
		for k := range state {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	var ts uint64
	var out []history.Op
	for _, pd := range all {
		op := pd.op
		switch op.Kind {
		case history.Insert, history.Upsert:
			if pd.applies {
				state[op.Key] = op.Value
			}
		case history.Delete:
			if pd.applies {
				delete(state, op.Key)
			}
		case history.Get:
			op.Value = history.Absent
			if v, ok := state[op.Key]; ok {
				op.Value = v
			}
		case history.Probe:
			if v, ok := state[op.Key]; ok && (v == op.Value || rng.IntN(2) == 0) {
				op.Keys, op.Values = []int64{op.Key}, []int64{v}
			}
		case history.Search, history.ReadAll:
			op.Keys = live()
			for _, k := range op.Keys {
				op.Values = append(op.Values, state[k])
			}
		}
		if op.Kind.IsWrite() && op.Outcome == history.Ok {
			ts++
			op.Ts = ts
		}
		out = append(out, op)
	}
	end := int64(0)
	for _, o := range out {
		end = max(end, o.Return)
	}
	fin := history.Op{Process: procs, Kind: history.ReadAll, Level: history.Strong, Final: true,
		Call: end + 1000, Return: end + 1010, Outcome: history.Ok, Keys: live()}
	for _, k := range fin.Keys {
		fin.Values = append(fin.Values, state[k])
	}
	return mk(append(out, fin)...)
}

func TestCorrectStorePassesEveryChecker(t *testing.T) {
	for seed := range uint64(20) {
		h := simulate(seed, 5, 40, 3, false)
		if err := history.Validate(h); err != nil {
			t.Fatal(err)
		}
		for _, res := range []Result{
			Register(h, RegisterOptions{Timeout: 10 * time.Second}),
			NoResurrection(h),
			Session(h),
			Bounded(h),
			SearchOracle(h),
		} {
			if !res.Valid {
				t.Fatalf("seed %d: %s reports anomalies in a linearizable history: %+v", seed, res.Name, res.Anomalies)
			}
		}
		s := simulate(seed, 5, 40, 0, true)
		if res := Set(s); !res.Valid {
			t.Fatalf("seed %d: set reports anomalies in a linearizable history: %+v", seed, res.Anomalies)
		}
	}
}

func TestInjectedStaleReadIsCaught(t *testing.T) {
	h := simulate(3, 5, 40, 3, false)
	end := h[len(h)-1].Return
	// After everything: write a fresh version, then a strong read that still
	// returns Absent for that key.
	h = append(h,
		upsert(0, 1, 1_000_000, end+100, end+110, ok),
		get(1, strong, 1, absent, end+200, end+210),
	)
	h = mk(h...)
	res := Register(h, RegisterOptions{Timeout: 10 * time.Second})
	expect(t, res, AnomalyNonLinearizable)
	if got := anomalyOps(res, AnomalyNonLinearizable); len(got) != 1 || got[0][0] != len(h)-1 {
		t.Fatalf("anomaly ops = %v, want the injected read %d", got, len(h)-1)
	}
	h[len(h)-1].Level = history.Session
	h[len(h)-1].Process = 0
	expect(t, Session(h), AnomalyReadYourWrites)
	h[len(h)-1].Level = history.Bounded
	expect(t, Bounded(h), AnomalyStaleBounded)
}
