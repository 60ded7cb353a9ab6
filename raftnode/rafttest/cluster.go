// Package rafttest starts in-process clusters of real hashicorp/raft groups
// on loopback TCP, for tests: any node can be stopped, restarted or cut off
// from the others.
package rafttest

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/raftvec/raftvec/raftnode"
)

// Node is one member of a test cluster.
type Node struct {
	ID    string
	Addr  string
	Dir   string
	Mux   *raftnode.Mux
	Group *raftnode.Group
	FSM   raftnode.FSM
	ln    net.Listener
}

// Cluster is a test cluster of one Raft group on N nodes.
type Cluster struct {
	t      testing.TB
	Nodes  []*Node
	newFSM func(id, dir string) raftnode.FSM
	tweak  func(*raftnode.Config)
}

// FastConfig returns timings suited to loopback tests on a busy machine.
func FastConfig() raftnode.Config {
	c := raftnode.DefaultConfig()
	c.HeartbeatTimeout = 300 * time.Millisecond
	c.ElectionTimeout = 300 * time.Millisecond
	c.LeaderLeaseTimeout = 200 * time.Millisecond
	c.LeaseDriftMargin = 50 * time.Millisecond
	c.CommitTimeout = 5 * time.Millisecond
	c.LogOutput = io.Discard
	return c
}

// New starts n nodes bootstrapped as one group. newFSM opens the state
// machine of a node from its directory (called again on restart). tweak, if
// not nil, adjusts each node's config.
func New(t testing.TB, n int, newFSM func(id, dir string) raftnode.FSM, tweak func(*raftnode.Config)) *Cluster {
	t.Helper()
	c := &Cluster{t: t, newFSM: newFSM, tweak: tweak}
	var servers []raft.Server
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		nd := &Node{ID: fmt.Sprintf("n%d", i+1), Addr: ln.Addr().String(), Dir: filepath.Join(t.TempDir(), fmt.Sprintf("n%d", i+1)), ln: ln}
		c.Nodes = append(c.Nodes, nd)
		servers = append(servers, raft.Server{ID: raft.ServerID(nd.ID), Address: raft.ServerAddress(nd.Addr), Suffrage: raft.Voter})
	}
	for _, nd := range c.Nodes {
		c.start(nd, servers)
	}
	t.Cleanup(c.Close)
	return c
}

func (c *Cluster) start(nd *Node, bootstrap []raft.Server) {
	c.t.Helper()
	if nd.ln == nil {
		ln, err := listenRetry(nd.Addr)
		if err != nil {
			c.t.Fatal(err)
		}
		nd.ln = ln
	}
	nd.Mux = raftnode.NewMux(nd.ln, nd.Addr, nil)
	cfg := FastConfig()
	cfg.NodeID, cfg.Group, cfg.Dir, cfg.Bootstrap = nd.ID, "g", filepath.Join(nd.Dir, "raft"), bootstrap
	if c.tweak != nil {
		c.tweak(&cfg)
	}
	nd.FSM = c.newFSM(nd.ID, nd.Dir)
	g, err := raftnode.New(cfg, nd.FSM, nd.Mux)
	if err != nil {
		c.t.Fatal(err)
	}
	nd.Group = g
}

func listenRetry(addr string) (net.Listener, error) {
	var err error
	for i := 0; i < 50; i++ {
		var ln net.Listener
		if ln, err = net.Listen("tcp", addr); err == nil {
			return ln, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, err
}

// Stop shuts node i down abruptly: its group stops and its listener closes;
// nothing is flushed beyond what Raft and the FSM already made durable.
func (c *Cluster) Stop(i int) {
	nd := c.Nodes[i]
	if nd.Group == nil {
		return
	}
	nd.Group.Shutdown()
	nd.Mux.Close()
	if cl, ok := nd.FSM.(io.Closer); ok {
		cl.Close()
	}
	nd.Group, nd.Mux, nd.ln = nil, nil, nil
}

// Restart starts a stopped node again from its directory.
func (c *Cluster) Restart(i int) { c.start(c.Nodes[i], nil) }

// Isolate cuts node i off from every other node (both directions).
func (c *Cluster) Isolate(i int) {
	for j, o := range c.Nodes {
		if j == i {
			continue
		}
		if c.Nodes[i].Mux != nil {
			c.Nodes[i].Mux.Block(o.Addr, true)
		}
		if o.Mux != nil {
			o.Mux.Block(c.Nodes[i].Addr, true)
		}
	}
}

// Heal restores every link.
func (c *Cluster) Heal() {
	for _, a := range c.Nodes {
		for _, b := range c.Nodes {
			if a != b && a.Mux != nil {
				a.Mux.Block(b.Addr, false)
			}
		}
	}
}

// Leader waits for a node that is leader and ready to serve, among the
// running nodes (and not in skip), and returns its position.
func (c *Cluster) Leader(timeout time.Duration, skip ...int) int {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
	next:
		for i, nd := range c.Nodes {
			for _, s := range skip {
				if s == i {
					continue next
				}
			}
			if nd.Group == nil || !nd.Group.IsLeader() {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			_, err := nd.Group.WaitLeader(ctx)
			cancel()
			if err == nil {
				return i
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("no leader within %v", timeout)
	return -1
}

// Close stops every node.
func (c *Cluster) Close() {
	for i := range c.Nodes {
		c.Stop(i)
	}
}
