package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
)

// proc is one raftvec server process.
type proc struct {
	id, api, http string
	log           string // the file its stdout and stderr go to
	cmd           *exec.Cmd
}

// freePort returns a free loopback address that no other call in this
// test process returned: the kernel may hand a port that was just closed
// out again, and two listeners of one node (its Raft and Serf addresses)
// must not be given the same one.
func freePort(t *testing.T) string {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if !portsGiven[addr] {
			portsGiven[addr] = true
			return addr
		}
	}
	t.Fatal("no free loopback port")
	return ""
}

var (
	portsMu    sync.Mutex
	portsGiven = map[string]bool{}
)

// startProcs builds raftvec and starts n server processes with fast Raft
// timings and any extra flags; they are killed when the test ends.
func startProcs(t *testing.T, n int, extra ...string) []*proc {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "raftvec")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var procs []*proc
	var peers []string
	raftAddrs := make([]string, n)
	for i := 0; i < n; i++ {
		p := &proc{id: fmt.Sprintf("n%d", i+1), api: freePort(t), http: freePort(t)}
		raftAddrs[i] = freePort(t)
		peers = append(peers, fmt.Sprintf("%s=%s/%s", p.id, raftAddrs[i], p.api))
		procs = append(procs, p)
	}
	dir := t.TempDir()
	for i, p := range procs {
		p.log = filepath.Join(dir, p.id+".log")
		logf, err := os.Create(p.log)
		if err != nil {
			t.Fatal(err)
		}
		p.cmd = exec.Command(bin, "server", "--node-id", p.id, "--data-dir", filepath.Join(dir, p.id),
			"--api-addr", p.api, "--raft-addr", raftAddrs[i], "--http-addr", p.http, "--serf-addr", freePort(t), "--peers", strings.Join(peers, ","),
			"--heartbeat-timeout", "300ms", "--election-timeout", "300ms", "--lease-drift-margin", "50ms", "--tick-interval", "50ms")
		p.cmd.Args = append(p.cmd.Args, extra...)
		p.cmd.Stdout, p.cmd.Stderr = logf, logf
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, p := range procs {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
		if t.Failed() {
			for _, p := range procs {
				b, _ := os.ReadFile(filepath.Join(dir, p.id+".log"))
				lines := strings.Split(strings.TrimSpace(string(b)), "\n")
				t.Logf("%s log (last lines):\n%s", p.id, strings.Join(lines[max(0, len(lines)-15):], "\n"))
			}
		}
	})
	return procs
}

// clientOf returns an SDK client for the processes' API addresses, closed
// when the test ends.
func clientOf(t *testing.T, procs ...*proc) *client.Client {
	t.Helper()
	var addrs []string
	for _, p := range procs {
		addrs = append(addrs, p.api)
	}
	cl, err := client.New(addrs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// shardLeader asks every live process which node leads the collection's
// shard.
func shardLeader(ctx context.Context, t *testing.T, cl *client.Client, procs []*proc, dead map[int]bool) int {
	t.Helper()
	for ctx.Err() == nil {
		for i, p := range procs {
			if dead[i] {
				continue
			}
			st, err := cl.Status(ctx, p.api)
			if err != nil {
				continue
			}
			for _, g := range st.Groups {
				if strings.HasPrefix(g.Group, "shard-") && g.Role == "Leader" {
					return i
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no shard leader")
	return -1
}

// Item 1: acknowledged inserts survive a kill -9 of the leader.
func TestKillLeaderKeepsAcknowledgedRows(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	procs := startProcs(t, 3)
	cl := clientOf(t, procs...)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := cl.CreateSimple(ctx, "k", 4, pb.Metric_L2); err != nil {
		t.Fatal(err)
	}
	vec := func(id int64) []float32 { return []float32{float32(id), float32(id) / 2, 1, -1} }

	var mu sync.Mutex
	var acked []int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := int64(0); ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := int64(w)*1_000_000 + i
				wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
				_, err := cl.Insert(wctx, &pb.InsertRequest{Collection: "k", Rows: &pb.Rows{IntIds: []int64{id}, Vectors: vec(id)}})
				wcancel()
				if err == nil {
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
				}
			}
		}(w)
	}
	time.Sleep(time.Second)
	leader := shardLeader(ctx, t, cl, procs, nil)
	mu.Lock()
	beforeKill := len(acked)
	mu.Unlock()
	if err := procs[leader].cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	procs[leader].cmd.Wait()
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	mu.Lock()
	ids := append([]int64(nil), acked...)
	mu.Unlock()
	if len(ids) <= beforeKill {
		t.Fatalf("no insert was acknowledged after the leader was killed (%d before, %d in all)", beforeKill, len(ids))
	}
	newLeader := shardLeader(ctx, t, cl, procs, map[int]bool{leader: true})
	nl, err := client.New([]string{procs[newLeader].api})
	if err != nil {
		t.Fatal(err)
	}
	defer nl.Close()
	got, err := nl.Get(ctx, &pb.GetRequest{Collection: "k", IntIds: ids})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rows.IntIds) != len(ids) {
		t.Fatalf("new leader has %d of %d acknowledged rows", len(got.Rows.IntIds), len(ids))
	}
	for _, id := range []int64{ids[0], ids[len(ids)/2], ids[len(ids)-1]} {
		res, err := nl.Search(ctx, &pb.SearchRequest{Collection: "k", Vectors: vec(id), TopK: 1})
		if err != nil {
			t.Fatal(err)
		}
		if h := res.Results[0].Hits; len(h) != 1 || h[0].IntId != id || h[0].Score != 0 {
			t.Fatalf("exact search for %d returned %v", id, h)
		}
	}
	t.Logf("%d rows acknowledged (%d before the kill); all found on the new leader", len(ids), beforeKill)
}

// /metrics serves Raft's, Serf's and raftvec's own metrics from one
// registry in the Prometheus text format.
func TestMetricsEndpoint(t *testing.T) {
	procs := startProcs(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl := clientOf(t, procs...)
	if err := cl.CreateCollection(ctx, &pb.CreateCollectionRequest{Schema: &pb.CollectionSchema{Name: "m"}, Dim: 2, Metric: pb.Metric_L2, Shards: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "m", Rows: &pb.Rows{IntIds: []int64{1}, Vectors: []float32{1, 2}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Get(ctx, &pb.GetRequest{Collection: "m", IntIds: []int64{1}}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"raftvec_raft_",                       // hashicorp/raft, through go-metrics compat
		"raftvec_memberlist_",                 // Serf's gossip layer
		`raftvec_rpc_request_count{code="OK"`, // ours
		"raftvec_shard_read_wait",
		"go_goroutines",
	}
	var body string
	deadline := time.Now().Add(30 * time.Second)
	for {
		var missing []string
		body = ""
		for _, p := range procs {
			resp, err := http.Get("http://" + p.http + "/metrics")
			if err != nil {
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body += string(b)
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics of the three nodes lacks %v", missing)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// A node killed with SIGKILL that stays dead: after --down-after its
// replicas are rebuilt on the other nodes, writes are acknowledged all
// along, and no acknowledged row is lost. Real processes, real gossip.
func TestKilledNodeIsReplaced(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	procs := startProcs(t, 4, "--down-after", "2s")
	cl := clientOf(t, procs...)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	// Three replicas need three registered nodes; right after start some
	// may not have registered yet.
	for {
		st, err := cl.Status(ctx, procs[0].api)
		if err == nil && len(st.Nodes) == len(procs) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the nodes never all registered: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cl.CreateCollection(ctx, &pb.CreateCollectionRequest{Schema: &pb.CollectionSchema{Name: "r"}, Dim: 2, Metric: pb.Metric_L2, Shards: 2, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	desc, err := cl.DescribeCollection(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	victim := -1
	for i, p := range procs {
		if slices.Contains(desc.Shards[0].Replicas, p.id) {
			victim = i
		}
	}
	// Writes go on through the survivors while the node is dead.
	var mu sync.Mutex
	var acked []int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for id := int64(0); ; id++ {
			select {
			case <-stop:
				return
			default:
			}
			wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
			_, err := cl.Upsert(wctx, &pb.InsertRequest{Collection: "r", Rows: &pb.Rows{IntIds: []int64{id}, Vectors: []float32{float32(id), 1}}})
			wcancel()
			if err == nil {
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	time.Sleep(500 * time.Millisecond)
	procs[victim].cmd.Process.Kill()
	mu.Lock()
	atKill := len(acked)
	mu.Unlock()
	survivors := slices.Delete(slices.Clone(procs), victim, victim+1)
	sc := clientOf(t, survivors...)
	for {
		d, derr := sc.DescribeCollection(ctx, "r")
		st, serr := sc.Status(ctx, survivors[0].api)
		if derr == nil && serr == nil && len(st.Moves) == 0 {
			gone := true
			for _, sh := range d.Shards {
				if slices.Contains(sh.Replicas, procs[victim].id) || len(sh.Replicas) != 3 {
					gone = false
				}
			}
			if gone {
				break
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("the killed node's replicas were not rebuilt: %v %v", d, derr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(acked) <= atKill {
		t.Fatalf("no write acknowledged after the kill (%d before)", atKill)
	}
	for len(acked) > 0 {
		n := min(len(acked), 500)
		resp, err := sc.Get(ctx, &pb.GetRequest{Collection: "r", IntIds: acked[:n], Read: &pb.ReadOptions{Level: pb.ConsistencyLevel_STRONG}})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(resp.GetRows().GetIntIds()); got != n {
			t.Fatalf("STRONG get of %d acknowledged ids found %d", n, got)
		}
		acked = acked[n:]
	}
}
