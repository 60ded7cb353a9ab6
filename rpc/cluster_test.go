package rpc_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/raftvec/raftvec/auth"
	"github.com/raftvec/raftvec/fsm"
	"github.com/raftvec/raftvec/raftnode/rafttest"
	"github.com/raftvec/raftvec/rpc"
	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/shard"
)

// testNode is one in-process node: a host and its gRPC API on loopback.
type testNode struct {
	id, api, raft, dir string
	serf               string
	joined             bool // started without peers; added through Join
	host               *shard.Host
	srv                *rpc.Server
	gs                 *grpc.Server
}

type testCluster struct {
	t     *testing.T
	nodes []*testNode
	peers []fsm.NodeInfo
	tweak func(*shard.HostConfig)
	logs  lockedBuffer
	// sec, when set, runs every node with TLS and authentication
	// (security_test.go).
	sec *secureSetup
	// rpcOpts, when set, changes node i's rpc.Options (tracing_test.go).
	rpcOpts func(i int, o *rpc.Options)
}

// lockedBuffer collects the nodes' warning log lines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freeAddr returns a loopback address no other node of this test process
// was given. Ports come from below the kernel's ephemeral range (32768 and
// up on Linux), where port-0 listeners and outgoing connections of other
// processes, such as the test binaries of other packages running at the
// same time, do not land between choosing a port and listening on it.
func freeAddr(t *testing.T) string {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 1000 {
		p := 20000 + rand.IntN(12000)
		if portsGiven[p] {
			continue
		}
		addr := fmt.Sprintf("127.0.0.1:%d", p)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		ln.Close()
		portsGiven[p] = true
		return addr
	}
	t.Fatal("no free loopback port below the ephemeral range")
	return ""
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

func listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	for i := 0; ; i++ {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln
		}
		if i == 50 {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// mustCluster starts n nodes with a static peer list.
func mustCluster(t *testing.T, n int, tweak func(*shard.HostConfig)) *testCluster {
	t.Helper()
	return startCluster(t, n, tweak, nil)
}

func startCluster(t *testing.T, n int, tweak func(*shard.HostConfig), sec *secureSetup) *testCluster {
	t.Helper()
	return runCluster(&testCluster{t: t, tweak: tweak, sec: sec}, n)
}

// runCluster starts n nodes of c, set up as its fields say.
func runCluster(c *testCluster, n int) *testCluster {
	t := c.t
	t.Helper()
	for i := 0; i < n; i++ {
		nd := &testNode{id: fmt.Sprintf("n%d", i+1), api: freeAddr(t), raft: freeAddr(t), serf: freeAddr(t), dir: filepath.Join(t.TempDir(), fmt.Sprintf("n%d", i+1))}
		c.nodes = append(c.nodes, nd)
		c.peers = append(c.peers, fsm.NodeInfo{ID: nd.id, RaftAddr: nd.raft, APIAddr: nd.api})
	}
	for i := range c.nodes {
		c.start(i)
	}
	t.Cleanup(func() {
		for i := range c.nodes {
			c.stop(i)
		}
		if t.Failed() {
			if logs := c.logs.String(); logs != "" {
				t.Logf("node warnings:\n%s", logs)
			}
		}
	})
	return c
}

// addNode starts one more node that knows no peers; it must join.
func (c *testCluster) addNode() int {
	c.t.Helper()
	i := len(c.nodes)
	nd := &testNode{id: fmt.Sprintf("n%d", i+1), api: freeAddr(c.t), raft: freeAddr(c.t), serf: freeAddr(c.t), dir: filepath.Join(c.t.TempDir(), fmt.Sprintf("n%d", i+1)), joined: true}
	c.nodes = append(c.nodes, nd)
	c.start(i)
	return i
}

func (c *testCluster) start(i int) {
	c.t.Helper()
	nd := c.nodes[i]
	hc := shard.DefaultHostConfig()
	hc.NodeID, hc.DataDir, hc.RaftAddr, hc.APIAddr, hc.SerfAddr = nd.id, nd.dir, nd.raft, nd.api, nd.serf
	if !nd.joined {
		hc.Peers = c.peers
	}
	fast := rafttest.FastConfig()
	hc.Raft = fast
	hc.TickInterval = 50 * time.Millisecond
	// Warnings and errors are kept and shown if the test fails.
	hc.Logger = slog.New(slog.NewTextHandler(&c.logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if os.Getenv("RAFTVEC_TEST_LOG") != "" {
		hc.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if c.tweak != nil {
		c.tweak(&hc)
	}
	opts := rpc.Options{FaultInjection: true}
	if c.sec != nil {
		hc.TLS, hc.GossipKey = c.sec.store(c.t, nd.id), c.sec.gossipKey
		opts.TLS = hc.TLS
	}
	h, err := shard.NewHost(hc, listen(c.t, nd.raft))
	if err != nil {
		c.t.Fatal(err)
	}
	nd.host = h
	if c.sec != nil {
		opts.Auth = auth.NewAuthenticator(h.Accounts())
	}
	if c.rpcOpts != nil {
		c.rpcOpts(i, &opts)
	}
	nd.srv = rpc.NewServer(h, opts)
	nd.gs = nd.srv.GRPCServer()
	if c.sec != nil {
		pb.RegisterAuthServer(nd.gs, auth.NewService(opts.Auth, nd.id, h.Meta, nd.srv.ProposeOp))
	}
	go nd.gs.Serve(listen(c.t, nd.api))
}

func (c *testCluster) stop(i int) {
	nd := c.nodes[i]
	if nd.host == nil {
		return
	}
	nd.gs.Stop()
	nd.srv.Close()
	nd.host.Close()
	nd.host = nil
}

func (c *testCluster) client(nodes ...int) *client.Client {
	c.t.Helper()
	var addrs []string
	for i, nd := range c.nodes {
		if len(nodes) == 0 {
			addrs = append(addrs, nd.api)
			continue
		}
		for _, j := range nodes {
			if i == j {
				addrs = append(addrs, nd.api)
			}
		}
	}
	cl, err := client.New(addrs)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { cl.Close() })
	return cl
}

// replicas returns every running node's replica of the collection's shard.
func (c *testCluster) replicas(coll string) []*shard.Replica {
	var out []*shard.Replica
	for _, nd := range c.nodes {
		if nd.host == nil {
			continue
		}
		st := nd.host.Meta()
		ci, ok := st.Collections[coll]
		if !ok {
			continue
		}
		if r := nd.host.Replica(ci.Shards[0].ID); r != nil {
			out = append(out, r)
		}
	}
	return out
}

// leaderOf returns the position of the node leading the collection's shard.
func (c *testCluster) leaderOf(coll string) int {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for i, nd := range c.nodes {
			if nd.host == nil {
				continue
			}
			ci, ok := nd.host.Meta().Collections[coll]
			if !ok {
				continue
			}
			if r := nd.host.Replica(ci.Shards[0].ID); r != nil && r.Group().IsLeader() {
				return i
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("no leader for %s", coll)
	return -1
}

// converge waits until want replicas of coll (every running node's, when
// want is 0) report the same digest, and returns the digests.
func (c *testCluster) converge(coll string, want ...int) []string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		rs := c.replicas(coll)
		var ds []string
		same := true
		for _, r := range rs {
			ds = append(ds, r.FSM().Digest())
			if ds[len(ds)-1] != ds[0] {
				same = false
			}
		}
		n := 0
		for _, nd := range c.nodes {
			if nd.host != nil {
				n++
			}
		}
		if len(want) > 0 {
			n = want[0]
		}
		if same && len(rs) == n {
			return ds
		}
		select {
		case <-ctx.Done():
			c.t.Fatalf("replicas of %s did not converge: %v", coll, ds)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func vecRows(ids []int64, dim int) *pb.Rows {
	r := &pb.Rows{IntIds: ids}
	for _, id := range ids {
		for d := 0; d < dim; d++ {
			r.Vectors = append(r.Vectors, float32(id)+float32(d)/10)
		}
	}
	return r
}

func seq(from, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(from + i)
	}
	return out
}
