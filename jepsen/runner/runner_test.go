package runner

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/raftvec/raftvec/jepsen/check"
	"github.com/raftvec/raftvec/jepsen/cluster"
	"github.com/raftvec/raftvec/jepsen/workload"
	"github.com/raftvec/raftvec/rpc/pb"
)

func TestIndexesAgree(t *testing.T) {
	rep := func(node, group string, idx uint64) check.ReplicaReport {
		return check.ReplicaReport{Node: node, Group: group, AppliedIndex: idx, Digest: "d"}
	}
	for name, tc := range map[string]struct {
		reports []check.ReplicaReport
		want    bool
	}{
		"agree":                   {[]check.ReplicaReport{rep("n1", "meta", 5), rep("n2", "meta", 5), rep("n1", "shard-1", 90), rep("n2", "shard-1", 90)}, true},
		"a tick in flight":        {[]check.ReplicaReport{rep("n1", "meta", 5), rep("n2", "meta", 5), rep("n1", "shard-1", 91), rep("n2", "shard-1", 90)}, false},
		"group missing on a node": {[]check.ReplicaReport{rep("n1", "meta", 5), rep("n2", "meta", 5), rep("n1", "shard-1", 90), {Node: "n2", Group: "shard-1", Error: "no replica of this group"}}, false},
		"unreachable node":        {[]check.ReplicaReport{rep("n1", "meta", 5), {Node: "n2", Group: "*", Error: "deadline"}}, false},
		"nothing":                 {nil, false},
	} {
		if got := indexesAgree(tc.reports); got != tc.want {
			t.Fatalf("%s: indexesAgree = %v, want %v", name, got, tc.want)
		}
	}
}

// A node the metadata does not place a shard on (a spare, or one a replica
// moved away from) is not expected to hold it; a placed node is.
func TestToReportsFollowsPlacement(t *testing.T) {
	polls := []cluster.NodeStatus{
		{Index: 0, Status: &pb.StatusResponse{Groups: []*pb.GroupStatus{{Group: "meta"}, {Group: "shard-1", Collection: Collection}}}},
		{Index: 1, Status: &pb.StatusResponse{Groups: []*pb.GroupStatus{{Group: "meta"}}}},
	}
	ids := []string{"n1", "n2"}
	missing := func(placed map[string][]string) []string {
		var out []string
		for _, r := range toReports(ids, polls, placed) {
			if r.Error != "" {
				out = append(out, r.Node+"/"+r.Group)
			}
		}
		return out
	}
	if got := missing(map[string][]string{"shard-1": {"n1"}}); len(got) != 0 {
		t.Fatalf("a node without a placed replica was reported missing: %v", got)
	}
	if got := missing(map[string][]string{"shard-1": {"n1", "n2"}}); len(got) != 1 || got[0] != "n2/shard-1" {
		t.Fatalf("placed replica missing on n2: reported %v", got)
	}
	if got := missing(nil); len(got) != 1 {
		t.Fatalf("without placement every node is expected to hold every group: reported %v", got)
	}
}

func TestControlPass(t *testing.T) {
	red := check.Result{Name: "set", Valid: false, Counts: map[string]int{check.AnomalyFailedVisible: 1},
		Anomalies: []check.Anomaly{{Kind: check.AnomalyFailedVisible}}}
	green := check.Result{Name: "set", Valid: true, Counts: map[string]int{}}
	expect := []string{"set:" + check.AnomalyFailedVisible}
	for name, tc := range map[string]struct {
		res  Result
		want bool
	}{
		"unsafe and red as expected": {Result{Unsafe: true, Expected: expect, Results: []check.Result{red}}, true},
		"unsafe but green":           {Result{Unsafe: true, Expected: expect, Results: []check.Result{green}}, false},
		"unsafe, red for another reason": {Result{Unsafe: true, Expected: []string{"set:" + check.AnomalyLost},
			Results: []check.Result{red}}, false},
		"unsafe but the harness failed": {Result{Unsafe: true, Expected: expect, Results: []check.Result{red}, Err: "setup"}, false},
		"safe and green":                {Result{Expected: []string{"green"}, Results: []check.Result{green}}, true},
		"safe but red":                  {Result{Expected: []string{"green"}, Results: []check.Result{red}}, false},
	} {
		if got := controlPass(&tc.res); got != tc.want {
			t.Fatalf("%s: controlPass = %v, want %v", name, got, tc.want)
		}
	}
}

func TestRunSeed(t *testing.T) {
	a, b := RunSeed(1, "register", "mix"), RunSeed(1, "set", "mix")
	if a == b || a != RunSeed(1, "register", "mix") || a == RunSeed(2, "register", "mix") {
		t.Fatalf("seeds: %d %d", a, b)
	}
}

func TestValidate(t *testing.T) {
	good := DefaultConfig()
	good.Binary = "raftvec"
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Config){
		"binary":     func(c *Config) { c.Binary = "" },
		"workers":    func(c *Config) { c.Workers = 0 },
		"rate":       func(c *Config) { c.Rate = 0 },
		"duration":   func(c *Config) { c.Duration = 0 },
		"op timeout": func(c *Config) { c.OpTimeout = time.Millisecond },
	} {
		c := good
		mut(&c)
		if err := c.Validate(); err == nil {
			t.Fatalf("%s: accepted %+v", name, c)
		}
	}
}

func TestRenderSummary(t *testing.T) {
	results := []*Result{
		{Workload: "register", Nemesis: "kill-leader", Nodes: 3, Dir: "/tmp/runs/x-register-kill-leader", Pass: true, Expected: []string{"green"},
			Results: []check.Result{{Name: "register", Valid: true}, {Name: "convergence", Valid: true}},
			Counts:  map[string]int{"ops": 10, "get:ok": 6, "upsert:ok": 2, "upsert:unknown": 1, "delete:fail": 1}},
		{Workload: "set", Nemesis: "mix", Nodes: 3, Err: "final read: deadline | exceeded", Expected: []string{"green"},
			Results: []check.Result{{Name: "set", Valid: false, Anomalies: []check.Anomaly{{Kind: check.AnomalyNoFinalRead}}}}},
		{Workload: "control", Nemesis: "dedup", Control: "dedup (unsafe)", Unsafe: true, Pass: true,
			Expected: []string{"set:" + check.AnomalyFailedVisible},
			Results:  []check.Result{{Name: "set", Valid: false, Anomalies: []check.Anomaly{{Kind: check.AnomalyFailedVisible}, {Kind: check.AnomalyFailedVisible}}}}},
	}
	var buf bytes.Buffer
	if err := RenderSummary(&buf, "/tmp/docs", Summary{Command: "make jepsen", Started: time.Unix(0, 0), Duration: time.Minute, Results: results}); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	for _, want := range []string{
		"**2 of 3 runs as expected**",
		"| register | kill-leader | 3 | green | register ✓, convergence ✓ | 10 (8/1/1) | none | `x-register-kill-leader` |",
		"| set | mix | 3 | ERROR | set ✗ | 0 (0/0/0) | set: no-final-read ×1; harness: final read: deadline \\| exceeded |",
		"| dedup (unsafe) | set:failed-visible | red | yes | set ✗ | set: failed-visible ×2 |",
		"make jepsen",
		"## Not run",
	} {
		if !strings.Contains(md, want) {
			t.Fatalf("summary lacks %q:\n%s", want, md)
		}
	}
}

func TestSetShards(t *testing.T) {
	req := &pb.CreateCollectionRequest{}
	setShards(req, 3)
	fd := req.ProtoReflect().Descriptor().Fields().ByName("shards")
	if fd == nil {
		t.Skip("the API has no shard count yet: setShards must leave the request alone")
	}
	if got := req.ProtoReflect().Get(fd).Uint(); got != 3 {
		t.Fatalf("shards = %d, want 3", got)
	}
	setShards(req, 0)
	if got := req.ProtoReflect().Get(fd).Uint(); got != 3 {
		t.Fatalf("setShards(0) changed shards to %d", got)
	}
}

func TestTopology(t *testing.T) {
	mustWL := func(name string) workload.Workload {
		w, err := workload.New(name, "c")
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	for _, tc := range []struct {
		nodes, minNodes, spare int
		wl                     string
		want                   [2]int
	}{
		{0, 1, 0, "register", [2]int{3, 3}},
		{0, 5, 0, "register", [2]int{5, 5}},
		{0, 3, 0, "session", [2]int{4, 3}}, // an analytics replica on n4
		{0, 5, 0, "bounded", [2]int{5, 5}}, // five voters for the ring; no room for it
		{7, 3, 0, "session", [2]int{7, 7}},
		{0, 4, 1, "set", [2]int{4, 3}}, // a spare node for replica moves
	} {
		n, v := topology(tc.nodes, tc.minNodes, tc.spare, mustWL(tc.wl))
		if [2]int{n, v} != tc.want {
			t.Fatalf("topology(%d, %d, %s) = %d nodes, %d voters; want %v", tc.nodes, tc.minNodes, tc.wl, n, v, tc.want)
		}
	}
}
