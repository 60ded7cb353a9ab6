package nemesis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raftvec/raftvec/jepsen/cluster"
)

func reach(n int, links []Link, from int) []int {
	var out []int
	for j, ok := range Reachable(n, links)[from] {
		if ok {
			out = append(out, j)
		}
	}
	return out
}

func TestIsolate(t *testing.T) {
	links := Isolate(1, 3)
	if want := []Link{{0, 1}, {1, 2}}; !reflect.DeepEqual(links, want) {
		t.Fatalf("Isolate(1, 3) = %v, want %v", links, want)
	}
	if got := reach(3, links, 1); !reflect.DeepEqual(got, []int{1}) {
		t.Fatalf("isolated node reaches %v", got)
	}
	if got := reach(3, links, 0); !reflect.DeepEqual(got, []int{0, 2}) {
		t.Fatalf("node 0 reaches %v", got)
	}
}

func TestHalves(t *testing.T) {
	for _, tc := range []struct {
		order    []int
		minority []int
	}{
		{[]int{2, 0, 1}, []int{2}},
		{[]int{4, 1, 0, 3, 2}, []int{1, 4}},
	} {
		minority, links := Halves(tc.order)
		if !reflect.DeepEqual(minority, tc.minority) {
			t.Fatalf("Halves(%v) minority = %v, want %v", tc.order, minority, tc.minority)
		}
		n := len(tc.order)
		for i := range n {
			got := len(reach(n, links, i))
			want := n - len(minority)
			if slices.Contains(minority, i) {
				want = len(minority)
			}
			if got != want {
				t.Fatalf("Halves(%v): node %d reaches %d nodes, want %d", tc.order, i, got, want)
			}
		}
	}
}

func TestBridge(t *testing.T) {
	order := []int{3, 0, 4, 1, 2}
	b, links := Bridge(order)
	if b != 4 {
		t.Fatalf("bridge = %d, want 4 (the middle of the order)", b)
	}
	if got := reach(5, links, 4); len(got) != 5 {
		t.Fatalf("bridge reaches %v, want every node", got)
	}
	for _, x := range []int{3, 0} {
		if got := reach(5, links, x); !reflect.DeepEqual(got, []int{0, 3, 4}) {
			t.Fatalf("node %d reaches %v, want its half and the bridge", x, got)
		}
	}
	for _, x := range []int{1, 2} {
		if got := reach(5, links, x); !reflect.DeepEqual(got, []int{1, 2, 4}) {
			t.Fatalf("node %d reaches %v, want its half and the bridge", x, got)
		}
	}
}

func TestRing(t *testing.T) {
	order := []int{2, 4, 1, 0, 3}
	links := Ring(order)
	if len(links) != 5 {
		t.Fatalf("ring of 5 cuts %d links, want 5: %v", len(links), links)
	}
	seen := map[string]int{}
	for pos, x := range order {
		got := reach(5, links, x)
		want := []int{x, order[(pos+1)%5], order[(pos+4)%5]}
		slices.Sort(want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("node %d reaches %v, want itself and its ring neighbours %v", x, got, want)
		}
		key := fmt.Sprint(got)
		if prev, dup := seen[key]; dup {
			t.Fatalf("nodes %d and %d see the same majority %v", prev, x, got)
		}
		seen[key] = x
	}
}

// fakeFault counts injections and heals.
type fakeFault struct {
	mu      sync.Mutex
	injects int
	heals   int
	fail    bool
}

func (f *fakeFault) Name() string  { return "fake" }
func (f *fakeFault) MinNodes() int { return 1 }
func (f *fakeFault) Inject(context.Context, *Env) (Injection, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.injects++
	inj := Injection{Kind: "fake", Description: "fake fault", Nodes: []int{0},
		Heal: func(context.Context) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.heals++
			return nil
		}}
	if f.fail {
		return inj, context.DeadlineExceeded
	}
	return inj, nil
}

func mustCluster(t *testing.T) *cluster.Cluster {
	t.Helper()
	c, err := cluster.New(cluster.Config{Binary: "unused", Nodes: 3, DataDir: t.TempDir(), LogDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestRunHealsEveryFault(t *testing.T) {
	for _, fail := range []bool{false, true} {
		f := &fakeFault{fail: fail}
		start := time.Now()
		tl := NewTimeline(func() int64 { return int64(time.Since(start)) })
		e := &Env{Cluster: mustCluster(t), Timeline: tl, Rng: rand.New(rand.NewPCG(1, 2))}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		Run(ctx, f, e, Schedule{Quiet: 20 * time.Millisecond, Hold: 40 * time.Millisecond})
		cancel()
		if f.injects == 0 || f.heals != f.injects {
			t.Fatalf("fail=%v: %d injections, %d heals; every injection must be healed", fail, f.injects, f.heals)
		}
		evs := tl.Events()
		var faults int
		for i, ev := range evs {
			if i > 0 && ev.Time < evs[i-1].Time {
				t.Fatalf("events out of order: %+v", evs)
			}
			if ev.Kind == "fake" {
				faults++
				if ev.End < ev.Time || !reflect.DeepEqual(ev.Nodes, []string{"n1"}) {
					t.Fatalf("bad fault event %+v", ev)
				}
			}
		}
		if faults != f.heals {
			t.Fatalf("fail=%v: %d fault events for %d heals", fail, faults, f.heals)
		}
	}
}

func TestCatalogue(t *testing.T) {
	names := Names()
	for _, want := range []string{"none", "kill-one", "kill-leader", "kill-majority", "kill-all", "pause-leader",
		"partition-one", "partition-leader", "partition-halves", "partition-bridge", "partition-ring",
		"clock-skew", "slow-apply", "shard-move", "wipe-rejoin", "mix"} {
		f, err := ByName(want)
		if err != nil || f.Name() != want {
			t.Fatalf("ByName(%q) = %v, %v", want, f, err)
		}
		if !slices.Contains(names, want) {
			t.Fatalf("Names() lacks %q", want)
		}
	}
	if f, _ := ByName("partition-ring"); f.MinNodes() != 5 {
		t.Fatalf("partition-ring needs %d nodes, want 5", f.MinNodes())
	}
	Unsupported["teleport"] = "a test entry"
	defer delete(Unsupported, "teleport")
	if _, err := ByName("teleport"); err == nil || !strings.Contains(err.Error(), "not available") {
		t.Fatalf("ByName of an unsupported nemesis = %v, want a not-available error", err)
	}
	if _, err := ByName("flood"); err == nil {
		t.Fatal("an unknown nemesis was accepted")
	}
}
