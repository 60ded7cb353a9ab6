package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
)

// Config describes a cluster to start.
type Config struct {
	// Binary is the raftvec executable.
	Binary string
	// Nodes is the number of server processes (n1 … nN).
	Nodes int
	// DataDir holds one data directory per node.
	DataDir string
	// LogDir receives one log file per node (nK.log); a restarted node
	// appends to its file after a marker line.
	LogDir string
	// Args are extra server flags for every node (timings, unsafe modes).
	// --enable-fault-injection is always passed.
	Args []string
	// Secure runs every node with TLS on every listener, mutual TLS
	// between nodes, encrypted gossip and authentication; every client of
	// the suite authenticates as root.
	Secure bool
}

// FastArgs are the Raft timings the suite runs with: short enough that a
// fault and its recovery fit in a few seconds, and a low snapshot threshold
// so that snapshots and InstallSnapshot happen during runs.
func FastArgs() []string {
	return []string{
		"--heartbeat-timeout", "300ms", "--election-timeout", "300ms",
		"--lease-drift-margin", "50ms", "--tick-interval", "50ms",
		"--snapshot-threshold", "256", "--trailing-logs", "128",
		"--seal-rows", "100",
	}
}

// ElectionTimeout is the election timeout in FastArgs.
const ElectionTimeout = 300 * time.Millisecond

// Validate checks the config.
func (c Config) Validate() error {
	switch {
	case c.Binary == "":
		return errors.New("cluster: binary must be set")
	case c.Nodes < 1 || c.Nodes > 9:
		return fmt.Errorf("cluster: nodes (%d) must be between 1 and 9", c.Nodes)
	case c.DataDir == "" || c.LogDir == "":
		return errors.New("cluster: data_dir and log_dir must be set")
	}
	return nil
}

// Node is one server of the cluster. Its addresses stay the same across
// restarts, as the static peer list requires.
type Node struct {
	ID       string
	APIAddr  string
	RaftAddr string
	SerfAddr string
	// MilvusAddr is the node's Milvus-compatible endpoint.
	MilvusAddr string
	DataDir    string
	LogPath    string
}

type procState int

const (
	stopped procState = iota
	running
	paused
)

type proc struct {
	node   Node
	state  procState
	cmd    *exec.Cmd
	log    *os.File
	exited chan struct{}
	// crashes are exits the harness did not cause.
	crashes []string
	killing bool
}

// Cluster is a set of server processes on loopback.
type Cluster struct {
	cfg   Config
	peers string
	admin *client.Client
	sec   *secure // nil unless cfg.Secure

	mu     sync.Mutex
	procs  []*proc
	closed bool
}

// New picks addresses and data directories for cfg.Nodes nodes; Start
// starts them.
func New(cfg Config) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.LogDir, 0o755); err != nil {
		return nil, err
	}
	ports, err := freePorts(4 * cfg.Nodes)
	if err != nil {
		return nil, err
	}
	c := &Cluster{cfg: cfg}
	var peers, apis []string
	for i := range cfg.Nodes {
		n := Node{
			ID:         fmt.Sprintf("n%d", i+1),
			APIAddr:    ports[4*i],
			RaftAddr:   ports[4*i+1],
			SerfAddr:   ports[4*i+2],
			MilvusAddr: ports[4*i+3],
		}
		n.DataDir = filepath.Join(cfg.DataDir, n.ID)
		n.LogPath = filepath.Join(cfg.LogDir, n.ID+".log")
		peers = append(peers, fmt.Sprintf("%s=%s/%s", n.ID, n.RaftAddr, n.APIAddr))
		apis = append(apis, n.APIAddr)
		c.procs = append(c.procs, &proc{node: n})
	}
	c.peers = strings.Join(peers, ",")
	if cfg.Secure {
		ids := make([]string, len(c.procs))
		for i, p := range c.procs {
			ids[i] = p.node.ID
		}
		if c.sec, err = makeSecure(filepath.Join(cfg.DataDir, "certs"), ids); err != nil {
			return nil, err
		}
	}
	if c.admin, err = client.New(apis, c.ClientOptions()...); err != nil {
		return nil, err
	}
	return c, nil
}

// freePorts reserves n distinct loopback ports by listening on port 0 and
// releasing them. Another program could take one in between; the run then
// fails at start with "address already in use" in the node's log.
func freePorts(n int) ([]string, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var out []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	return out, nil
}

// Size is the number of nodes.
func (c *Cluster) Size() int { return len(c.procs) }

// Node returns node i (0-based).
func (c *Cluster) Node(i int) Node { return c.procs[i].node }

// Nodes returns every node.
func (c *Cluster) Nodes() []Node {
	out := make([]Node, len(c.procs))
	for i, p := range c.procs {
		out[i] = p.node
	}
	return out
}

// MilvusAddrs are the Milvus endpoint addresses of every node.
func (c *Cluster) MilvusAddrs() []string {
	out := make([]string, len(c.procs))
	for i, p := range c.procs {
		out[i] = p.node.MilvusAddr
	}
	return out
}

// APIAddrs are the API addresses of every node.
func (c *Cluster) APIAddrs() []string {
	out := make([]string, len(c.procs))
	for i, p := range c.procs {
		out[i] = p.node.APIAddr
	}
	return out
}

// IDs are the node ids of idx.
func (c *Cluster) IDs(idx []int) []string {
	out := make([]string, len(idx))
	for i, x := range idx {
		out[i] = c.procs[x].node.ID
	}
	return out
}

// StartAll starts every node that is not running.
func (c *Cluster) StartAll() error {
	var errs []error
	for i := range c.procs {
		if err := c.Start(i); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Start starts node i if it is not running (a paused node is resumed).
func (c *Cluster) Start(i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("cluster: closed")
	}
	p := c.procs[i]
	switch p.state {
	case running:
		return nil
	case paused:
		return c.signalLocked(p, syscall.SIGCONT, running)
	}
	f, err := os.OpenFile(p.node.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "--- jepsen: starting %s at %s ---\n", p.node.ID, time.Now().UTC().Format(time.RFC3339Nano))
	args := []string{"server", "--node-id", p.node.ID, "--data-dir", p.node.DataDir,
		"--api-addr", p.node.APIAddr, "--raft-addr", p.node.RaftAddr, "--http-addr", "", "--serf-addr", p.node.SerfAddr,
		"--milvus-addr", p.node.MilvusAddr, "--peers", c.peers, "--enable-fault-injection"}
	if c.sec != nil {
		args = append(args, c.sec.args(p.node.ID)...)
	}
	args = append(args, c.cfg.Args...)
	cmd := exec.Command(c.cfg.Binary, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if c.sec != nil {
		cmd.Env = append(os.Environ(), c.sec.env()...)
	}
	// Its own process group, so that a kill reaches anything it forks; and
	// killed with the harness should the harness itself die.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", p.node.ID, err)
	}
	p.cmd, p.log, p.state, p.killing = cmd, f, running, false
	p.exited = make(chan struct{})
	go c.reap(p, cmd, p.exited)
	return nil
}

// reap waits for a process and records exits the harness did not cause.
func (c *Cluster) reap(p *proc, cmd *exec.Cmd, exited chan struct{}) {
	err := cmd.Wait()
	c.mu.Lock()
	if p.cmd == cmd {
		if !p.killing && !c.closed {
			p.crashes = append(p.crashes, fmt.Sprintf("%s exited on its own at %s: %v",
				p.node.ID, time.Now().UTC().Format(time.RFC3339Nano), err))
		}
		p.state = stopped
		p.log.Close()
	}
	c.mu.Unlock()
	close(exited)
}

func (c *Cluster) signalLocked(p *proc, sig syscall.Signal, next procState) error {
	if p.cmd == nil || p.cmd.Process == nil {
		return fmt.Errorf("%s: not started", p.node.ID)
	}
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil {
		return fmt.Errorf("signal %v to %s: %w", sig, p.node.ID, err)
	}
	p.state = next
	return nil
}

// Kill sends SIGKILL to node i's process group and waits until it is gone.
// Killing a node that is not running is a no-op.
func (c *Cluster) Kill(i int) error {
	c.mu.Lock()
	p := c.procs[i]
	if p.state == stopped {
		c.mu.Unlock()
		return nil
	}
	p.killing = true
	err := c.signalLocked(p, syscall.SIGKILL, stopped)
	exited := p.exited
	c.mu.Unlock()
	if err != nil {
		return err
	}
	select {
	case <-exited:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s did not exit 10s after SIGKILL", p.node.ID)
	}
}

// Pause stops node i with SIGSTOP.
func (c *Cluster) Pause(i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.procs[i]
	if p.state != running {
		return fmt.Errorf("%s is not running", p.node.ID)
	}
	return c.signalLocked(p, syscall.SIGSTOP, paused)
}

// Resume continues a paused node with SIGCONT.
func (c *Cluster) Resume(i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.procs[i]
	if p.state != paused {
		return nil
	}
	return c.signalLocked(p, syscall.SIGCONT, running)
}

// Running reports whether node i is running and not paused.
func (c *Cluster) Running(i int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.procs[i].state == running
}

// Up lists the nodes that are running and not paused.
func (c *Cluster) Up() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for i, p := range c.procs {
		if p.state == running {
			out = append(out, i)
		}
	}
	return out
}

// Crashes lists the exits of server processes the harness did not cause.
func (c *Cluster) Crashes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, p := range c.procs {
		out = append(out, p.crashes...)
	}
	return out
}

// Close kills every process and closes the admin client. It is safe to
// call more than once and from any exit path.
func (c *Cluster) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	var waits []chan struct{}
	for _, p := range c.procs {
		if p.cmd != nil && p.cmd.Process != nil && p.state != stopped {
			p.killing = true
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			waits = append(waits, p.exited)
		}
	}
	c.mu.Unlock()
	for _, w := range waits {
		select {
		case <-w:
		case <-time.After(10 * time.Second):
		}
	}
	c.admin.Close()
}

// Client returns a new SDK client for the nodes idx (every node when idx is
// empty). The caller closes it.
func (c *Cluster) Client(idx ...int) (*client.Client, error) {
	if len(idx) == 0 {
		return client.New(c.APIAddrs(), c.ClientOptions()...)
	}
	addrs := make([]string, len(idx))
	for i, x := range idx {
		addrs[i] = c.procs[x].node.APIAddr
	}
	return client.New(addrs, c.ClientOptions()...)
}

// ClientOptions are what an SDK client of this cluster needs: TLS and
// root's credentials on a secure cluster, nothing otherwise.
func (c *Cluster) ClientOptions() []client.Option {
	if c.sec == nil {
		return nil
	}
	return c.sec.opts
}

// Status asks node i for its status, within timeout.
func (c *Cluster) Status(ctx context.Context, i int, timeout time.Duration) (*pb.StatusResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return c.admin.Status(ctx, c.procs[i].node.APIAddr)
}

// InjectFault sends a fault-injection request to node i.
func (c *Cluster) InjectFault(ctx context.Context, i int, req *pb.InjectFaultRequest) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, err := c.admin.InjectFault(ctx, c.procs[i].node.APIAddr, req)
	if err != nil {
		return fmt.Errorf("inject fault on %s: %w", c.procs[i].node.ID, err)
	}
	return nil
}

// Cut blocks the Raft links between each pair in links, on both ends, so
// that neither side can reach the other. Both ends must be up.
func (c *Cluster) Cut(ctx context.Context, links [][2]int) error {
	block := map[int][]string{}
	for _, l := range links {
		a, b := l[0], l[1]
		block[a] = append(block[a], c.procs[b].node.RaftAddr)
		block[b] = append(block[b], c.procs[a].node.RaftAddr)
	}
	var errs []error
	for _, i := range sortedKeys(block) {
		if err := c.InjectFault(ctx, i, &pb.InjectFaultRequest{BlockRaftAddrs: block[i]}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Heal undoes every fault on the nodes that are up: Raft links restored,
// clock offsets and apply delays reset. Paused nodes are resumed first.
func (c *Cluster) Heal(ctx context.Context) error {
	var errs []error
	for i := range c.procs {
		if err := c.Resume(i); err != nil {
			errs = append(errs, err)
		}
	}
	for _, i := range c.Up() {
		err := c.InjectFault(ctx, i, &pb.InjectFaultRequest{UnblockAll: true, SetClockOffset: true, SetApplyDelay: true})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[int]V) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Describe returns collection's shards and their replicas.
func (c *Cluster) Describe(ctx context.Context, collection string) (*pb.DescribeCollectionResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return c.admin.DescribeCollection(ctx, collection)
}

// MoveReplica starts moving shard's voter from node from to node to.
func (c *Cluster) MoveReplica(ctx context.Context, shard uint64, from, to string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return c.admin.MoveReplica(ctx, shard, from, to)
}

// TransferLeader hands shard's leadership to voter to and returns the new
// leader.
func (c *Cluster) TransferLeader(ctx context.Context, shard uint64, to string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return c.admin.TransferLeader(ctx, shard, to)
}

// Wipe deletes node i's data directory. The node must be stopped.
func (c *Cluster) Wipe(i int) error {
	c.mu.Lock()
	p := c.procs[i]
	running := p.state != stopped
	c.mu.Unlock()
	if running {
		return fmt.Errorf("wipe %s: the node is running", p.node.ID)
	}
	return os.RemoveAll(p.node.DataDir)
}
