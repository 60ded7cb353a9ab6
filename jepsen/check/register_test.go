package check

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/raftvec/raftvec/jepsen/history"
)

func checkRegister(h []history.Op) Result { return Register(h, RegisterOptions{}) }

func TestRegister(t *testing.T) {
	runCases(t, checkRegister, []historyCase{
		{name: "sequential", h: mk(
			upsert(0, 1, 1, 0, 10, ok),
			get(1, strong, 1, 1, 20, 30),
			probe(1, 1, 1, 1, 31, 35),
			del(0, 1, 40, 50, ok),
			get(1, strong, 1, absent, 60, 70),
			probe(1, 1, 1, absent, 80, 90),
		)},
		{name: "concurrent read may see either", h: mk(
			upsert(0, 1, 1, 0, 100, ok),
			get(1, strong, 1, absent, 10, 20),
			get(2, strong, 1, 1, 30, 40),
			get(1, strong, 1, 1, 50, 60),
		)},
		{name: "keys are independent", h: mk(
			upsert(0, 1, 1, 0, 10, ok),
			upsert(0, 2, 5, 20, 30, ok),
			get(1, strong, 1, 1, 40, 50),
			get(1, strong, 2, 5, 40, 50),
		)},
		{name: "probe finding another version", h: mk(
			upsert(0, 1, 1, 0, 10, ok),
			upsert(0, 1, 2, 20, 30, ok),
			probe(1, 1, 1, 2, 40, 50),
		)},
		{name: "failed write never happened", h: mk(
			upsert(0, 1, 1, 0, 10, ok),
			upsert(0, 1, 2, 20, 30, fail),
			get(1, strong, 1, 1, 40, 50),
		)},
		{name: "unknown write seen late", h: mk(
			upsert(0, 1, 1, 0, 10, ok),
			upsert(0, 1, 2, 20, 30, unknown),
			get(1, strong, 1, 1, 100, 110),
			get(1, strong, 1, 2, 1000, 1010),
			get(2, strong, 1, 2, 1020, 1030),
		)},
		{name: "unknown write never seen", h: mk(
			upsert(0, 1, 1, 0, 10, ok),
			upsert(0, 1, 2, 20, 30, unknown),
			del(0, 1, 25, 35, unknown),
			get(1, strong, 1, 1, 100, 110),
		)},
		{name: "non-strong reads are not linearizable and ignored", h: mk(
			upsert(0, 1, 1, 0, 10, ok),
			upsert(0, 1, 2, 20, 30, ok),
			get(1, eventl, 1, 1, 40, 50),
			get(1, session, 1, 1, 40, 50),
		)},
		{name: "probe without recorded versions", h: mk(
			upsert(0, 1, 5, 0, 10, ok),
			func() history.Op { o := probe(1, 1, 5, 5, 20, 30); o.Values = nil; return o }(),
		)},
		{name: "probe without versions finds an overwritten one", h: mk(
			upsert(0, 1, 5, 0, 10, ok),
			upsert(0, 1, 6, 20, 30, ok),
			func() history.Op { o := probe(1, 1, 5, 5, 40, 50); o.Values = nil; return o }(),
		), kinds: []string{AnomalyNonLinearizable}},
		{name: "stale strong read", h: mk(
			upsert(0, 1, 1, 0, 10, ok),
			upsert(0, 1, 2, 20, 30, ok),
			get(1, strong, 1, 1, 40, 50),
		), kinds: []string{AnomalyNonLinearizable}},
		{name: "final read of any level is checked", h: mk(
			upsert(0, 1, 1, 0, 10, ok),
			upsert(0, 1, 2, 20, 30, ok),
			final(get(1, eventl, 1, 1, 40, 50)),
		), kinds: []string{AnomalyNonLinearizable}},
		{name: "failed write visible", h: mk(
			upsert(0, 1, 1, 0, 10, ok),
			upsert(0, 1, 2, 20, 30, fail),
			get(1, strong, 1, 2, 40, 50),
		), kinds: []string{AnomalyNonLinearizable}},
		{name: "deleted key read back", h: mk(
			upsert(0, 1, 1, 0, 10, ok),
			del(0, 1, 20, 30, ok),
			get(1, strong, 1, 1, 40, 50),
		), kinds: []string{AnomalyNonLinearizable}},
		{name: "probe misses an acknowledged write", h: mk(
			upsert(0, 1, 5, 0, 10, ok),
			probe(1, 1, 5, absent, 20, 30),
		), kinds: []string{AnomalyNonLinearizable}},
		{name: "unknown write seen then unseen", h: mk(
			upsert(0, 1, 1, 0, 10, ok),
			upsert(0, 1, 2, 20, 30, unknown),
			get(1, strong, 1, 2, 100, 110),
			get(2, strong, 1, 1, 120, 130),
		), kinds: []string{AnomalyNonLinearizable}},
		{name: "malformed op", h: mk(
			upsert(0, 1, 1, 0, 10, ok),
			history.Op{Kind: history.Get, Key: 1, Call: 20, Return: 30, Outcome: ok}, // no level
		), kinds: []string{AnomalyMalformed}},
	})
}

func TestRegisterNamesTheOffendingRead(t *testing.T) {
	h := mk(
		upsert(0, 1, 1, 0, 10, ok),
		upsert(0, 1, 2, 20, 30, ok),
		get(1, strong, 1, 2, 40, 50),
		get(2, strong, 1, 1, 60, 70), // id 3: stale
		get(1, strong, 1, 2, 80, 90),
	)
	res := checkRegister(h)
	got := anomalyOps(res, AnomalyNonLinearizable)
	if len(got) != 1 || !slices.Equal(got[0], []int{3}) {
		t.Fatalf("anomaly ops = %v, want [[3]]; %+v", got, res.Anomalies)
	}
	if !strings.Contains(res.Anomalies[0].Message, "key 1") {
		t.Fatalf("message does not name the key: %q", res.Anomalies[0].Message)
	}
}

func TestRegisterCounts(t *testing.T) {
	res := checkRegister(mk(
		upsert(0, 1, 1, 0, 10, ok),
		upsert(0, 1, 2, 20, 30, unknown), // never observed: dropped
		upsert(0, 1, 3, 20, 30, unknown), // observed: kept
		upsert(0, 1, 4, 20, 30, fail),
		get(1, strong, 1, 3, 40, 50),
		get(1, eventl, 1, 1, 40, 50),
	))
	expect(t, res)
	for k, want := range map[string]int{"writes-ok": 1, "writes-unknown": 1, "writes-unknown-unobserved": 1,
		"writes-failed": 1, "reads": 1, "reads-ignored": 1, "keys": 1, "keys-linearizable": 1} {
		if res.Counts[k] != want {
			t.Errorf("Counts[%s] = %d, want %d (%v)", k, res.Counts[k], want, res.Counts)
		}
	}
}

// hardHistory has n concurrent writes followed by two reads that no order of
// them explains: porcupine must try every order before it says so.
func hardHistory(n int) []history.Op {
	var ops []history.Op
	for i := range n {
		ops = append(ops, upsert(i, 1, int64(i+1), 0, 1000, ok))
	}
	ops = append(ops, get(n, strong, 1, 1, 2000, 2010), get(n, strong, 1, 2, 2020, 2030))
	return mk(ops...)
}

func TestRegisterTimeoutIsAFailure(t *testing.T) {
	// A nanosecond is far less than the search needs (2^20 states), so
	// porcupine gives up without a verdict; that must not pass.
	res := Register(hardHistory(20), RegisterOptions{Timeout: time.Nanosecond})
	expect(t, res, AnomalyLinearizabilityUnknown)
}

func TestRegisterVisualization(t *testing.T) {
	path := filepath.Join(t.TempDir(), "porcupine.html")
	h := mk(
		upsert(0, 1, 1, 0, 10, ok),
		upsert(3, 1, 2, 20, 30, ok),
		get(7, strong, 1, 1, 40, 50),
		upsert(0, 2, 9, 5, 15, unknown),
		get(3, strong, 2, 9, 60, 70),
	)
	res := Register(h, RegisterOptions{
		VisualizationPath: path,
		Nemesis: []history.NemesisEvent{
			{Time: 12, End: 45, Kind: "partition", Description: "isolate leader", Nodes: []string{"n1"}},
			{Time: 55, Kind: "kill", Description: "kill -9 n2"},
		},
	})
	expect(t, res, AnomalyNonLinearizable)
	if res.Artifacts["porcupine"] != path {
		t.Fatalf("artifacts = %v, notes = %v", res.Artifacts, res.Notes)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"Tag":"nemesis"`, "partition", "isolate leader [n1]", "kill -9 n2", "get(1) → 1", "upsert(2, 9) ?", "op 2"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("visualization lacks %q", want)
		}
	}

	bad := Register(h, RegisterOptions{VisualizationPath: filepath.Join(t.TempDir(), "missing", "x.html")})
	if len(bad.Notes) == 0 || bad.Artifacts != nil {
		t.Fatalf("unwritable visualization not noted: %+v", bad)
	}
}
