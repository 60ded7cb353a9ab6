// Package sdktest runs the official Milvus Go SDK (unmodified) against the
// Milvus-compatible endpoint of a real three-node raftvec cluster: three
// processes of the raftvec binary on loopback ports.
package sdktest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
)

// raftvecBin is the raftvec binary the tests start; binErr says why there
// is none (the build failed). A failed build does not stop the test binary,
// so that `go test -run XXX` still checks that the tests compile.
var (
	raftvecBin string
	binErr     error
)

func TestMain(m *testing.M) {
	var tmp string
	raftvecBin = os.Getenv("RAFTVEC_BIN")
	if raftvecBin == "" {
		var err error
		tmp, err = os.MkdirTemp("", "raftvec-sdktest-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "sdktest:", err)
			os.Exit(1)
		}
		raftvecBin = filepath.Join(tmp, "raftvec")
		cmd := exec.Command("go", "build", "-o", raftvecBin, "./cmd/raftvec")
		cmd.Dir = filepath.Join("..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build -o %s ./cmd/raftvec (in ../..): %v\n%s", raftvecBin, err, out)
		}
	} else if _, err := os.Stat(raftvecBin); err != nil {
		binErr = fmt.Errorf("RAFTVEC_BIN=%s: %v", raftvecBin, err)
	}
	code := m.Run()
	if tmp != "" {
		os.RemoveAll(tmp)
	}
	os.Exit(code)
}

// node is one raftvec server process.
type node struct {
	id                         string
	api, raft, serf, milvusAPI string
	dir, logPath               string
	cmd                        *exec.Cmd
	done                       chan struct{} // closed when the process exited
	waitErr                    error
}

func (n *node) exited() bool {
	select {
	case <-n.done:
		return true
	default:
		return false
	}
}

type cluster struct {
	t     *testing.T
	nodes []*node
	admin *client.Client
	sec   *secure // nil: plaintext, no users
}

// portsFree reports whether every TCP port in ports (and UDP on udp) can be
// bound on 127.0.0.1 now.
func portsFree(tcp []int, udp []int) bool {
	var closers []func() error
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	for _, p := range tcp {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			return false
		}
		closers = append(closers, l.Close)
	}
	for _, p := range udp {
		l, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			return false
		}
		closers = append(closers, l.Close)
	}
	return true
}

// pickBase returns a base port b such that for node i (0..n-1) the ports
// b+10i .. b+10i+4 are free (serf also on UDP).
func pickBase(n int) (int, error) {
	for attempt := 0; attempt < 200; attempt++ {
		b := 20000 + rand.IntN(12000-10*n)
		var tcp, udp []int
		for i := 0; i < n; i++ {
			p := b + 10*i
			tcp = append(tcp, p, p+1, p+3, p+4)
			udp = append(udp, p+3)
		}
		if portsFree(tcp, udp) {
			return b, nil
		}
	}
	return 0, errors.New("no free loopback port range found in 20000-32000")
}

// startCluster starts a three-node cluster and waits until it is ready:
// every node reports a metadata leader and all three nodes registered, and
// answers Connect and ListCollections on its Milvus address.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	return startClusterWith(t, false)
}

// startClusterWith starts the cluster; secure runs it with TLS, encrypted
// gossip and authentication (root's password rootPassword).
func startClusterWith(t *testing.T, secure bool) *cluster {
	t.Helper()
	if binErr != nil {
		t.Fatalf("no raftvec binary: %v", binErr)
	}
	root := t.TempDir()
	base, err := pickBase(3)
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t}
	if secure {
		c.sec = makeSecure(t, filepath.Join(root, "certs"))
	}
	var peers []string
	for i := 0; i < 3; i++ {
		p := base + 10*i
		n := &node{
			id:        fmt.Sprintf("n%d", i+1),
			api:       fmt.Sprintf("127.0.0.1:%d", p),
			raft:      fmt.Sprintf("127.0.0.1:%d", p+1),
			serf:      fmt.Sprintf("127.0.0.1:%d", p+3),
			milvusAPI: fmt.Sprintf("127.0.0.1:%d", p+4),
			dir:       filepath.Join(root, fmt.Sprintf("n%d", i+1)),
			logPath:   filepath.Join(root, fmt.Sprintf("n%d.log", i+1)),
			done:      make(chan struct{}),
		}
		c.nodes = append(c.nodes, n)
		peers = append(peers, fmt.Sprintf("%s=%s/%s", n.id, n.raft, n.api))
	}
	// Cleanups run last-registered first: stop the processes, then print
	// the logs of a failed test, then (t.TempDir's) remove the files.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, n := range c.nodes {
			t.Logf("---- last lines of %s's log (%s) ----\n%s", n.id, n.logPath, tail(n.logPath, 40))
		}
	})
	t.Cleanup(c.stopAll)
	for _, n := range c.nodes {
		if err := os.MkdirAll(n.dir, 0o755); err != nil {
			t.Fatal(err)
		}
		logf, err := os.Create(n.logPath)
		if err != nil {
			t.Fatal(err)
		}
		args := []string{"server", "--node-id", n.id, "--data-dir", n.dir, "--api-addr", n.api, "--raft-addr", n.raft,
			"--http-addr", "", "--serf-addr", n.serf, "--milvus-addr", n.milvusAPI,
			"--peers", strings.Join(peers, ","), "--enable-fault-injection"}
		if c.sec != nil {
			args = append(args, c.sec.args...)
		}
		cmd := exec.Command(raftvecBin, args...)
		cmd.Stdout, cmd.Stderr = logf, logf
		setDeathSignal(cmd)
		if err := cmd.Start(); err != nil {
			logf.Close()
			t.Fatalf("start %s: %v", n.id, err)
		}
		n.cmd = cmd
		go func(n *node, logf *os.File) {
			n.waitErr = cmd.Wait()
			logf.Close()
			close(n.done)
		}(n, logf)
	}
	var adminOpts []client.Option
	if c.sec != nil {
		adminOpts = c.sec.rootOpts
	}
	admin, err := client.New([]string{c.nodes[0].api, c.nodes[1].api, c.nodes[2].api}, adminOpts...)
	if err != nil {
		t.Fatal(err)
	}
	c.admin = admin
	t.Cleanup(func() { admin.Close() })
	c.waitReady(60 * time.Second)
	return c
}

func (c *cluster) stopAll() {
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		if n.cmd == nil || n.cmd.Process == nil {
			continue
		}
		wg.Add(1)
		go func(n *node) {
			defer wg.Done()
			if n.exited() {
				return
			}
			n.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-n.done:
			case <-time.After(5 * time.Second):
				n.cmd.Process.Kill()
				<-n.done
			}
		}(n)
	}
	wg.Wait()
}

// checkAlive fails the test if a node process has exited.
func (c *cluster) checkAlive() {
	c.t.Helper()
	for _, n := range c.nodes {
		if n.exited() {
			c.t.Fatalf("node %s exited early (%v); last lines of its log:\n%s", n.id, n.waitErr, tail(n.logPath, 40))
		}
	}
}

func (c *cluster) waitReady(limit time.Duration) {
	t := c.t
	t.Helper()
	deadline := time.Now().Add(limit)
	for _, n := range c.nodes {
		var last string
		for {
			c.checkAlive()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			st, err := c.admin.Status(ctx, n.api)
			cancel()
			if err == nil {
				leader := ""
				for _, g := range st.Groups {
					if g.Group == "meta" {
						leader = g.Leader
					}
				}
				// A metadata leader, and every static peer registered in the
				// metadata: until then CreateCollection answers "the
				// cluster is starting".
				if leader != "" && len(st.Nodes) == len(c.nodes) {
					break
				}
				last = fmt.Sprintf("metadata leader %q, %d of %d nodes registered", leader, len(st.Nodes), len(c.nodes))
			} else {
				last = err.Error()
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %s (api %s) not ready after %v: %s", n.id, n.api, limit, last)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for _, n := range c.nodes {
		var last error
		for {
			c.checkAlive()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			mc, err := milvusclient.New(ctx, c.milvusConfig(n.milvusAPI, rootUser, rootPassword, nil))
			if err == nil {
				_, err = mc.ListCollections(ctx, milvusclient.NewListCollectionOption())
				mc.Close(context.Background())
			}
			cancel()
			if err == nil {
				break
			}
			last = err
			if time.Now().After(deadline) {
				t.Fatalf("node %s: Milvus endpoint %s not ready after %v: Connect/ListCollections: %v", n.id, n.milvusAPI, limit, last)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// nodeIndex maps a node id (n1..n3) to its index in c.nodes.
func (c *cluster) nodeIndex(id string) int {
	for i, n := range c.nodes {
		if n.id == id {
			return i
		}
	}
	return -1
}

// sdk returns an official SDK client connected to node i's Milvus address.
// Calls that fail, or answer a non-success status, are logged with the
// request and response, to say which RPC misbehaved.
func (c *cluster) sdk(i int) *milvusclient.Client {
	t := c.t
	t.Helper()
	opts := append([]grpc.DialOption(nil), milvusclient.DefaultGrpcOpts...)
	opts = append(opts, grpc.WithChainUnaryInterceptor(logFailures(t, c.nodes[i].id)))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mc, err := milvusclient.New(ctx, &milvusclient.ClientConfig{Address: c.nodes[i].milvusAPI, DialOptions: opts})
	if err != nil {
		t.Fatalf("milvusclient.New(%s) (node %s): %v", c.nodes[i].milvusAPI, c.nodes[i].id, err)
	}
	t.Cleanup(func() { mc.Close(context.Background()) })
	return mc
}

// raw returns a plain generated MilvusService client for node i.
func (c *cluster) raw(i int) milvuspb.MilvusServiceClient {
	t := c.t
	t.Helper()
	cc, err := grpc.NewClient(c.nodes[i].milvusAPI, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(logFailures(t, c.nodes[i].id)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return milvuspb.NewMilvusServiceClient(cc)
}

// logFailures logs every call that returns an error or a response whose
// status is not success, with its request and response (shortened).
func logFailures(t *testing.T, nodeID string) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		var st *commonpb.Status
		switch r := reply.(type) {
		case *commonpb.Status:
			st = r
		case interface{ GetStatus() *commonpb.Status }:
			st = r.GetStatus()
		}
		if method == "/milvus.proto.milvus.MilvusService/DescribeCollection" && st.GetCode() == 100 {
			return err // collection not found: what HasCollection asks
		}
		if err != nil || (st != nil && (st.GetCode() != 0 || st.GetErrorCode() != commonpb.ErrorCode_Success)) {
			t.Logf("[%s %s] request: %s\n  -> error: %v, response: %s", nodeID, method, short(req), err, short(reply))
		}
		return err
	}
}

func short(m any) string {
	pm, ok := m.(proto.Message)
	if !ok {
		return fmt.Sprint(m)
	}
	s := prototext.MarshalOptions{}.Format(pm)
	if len(s) > 1500 {
		s = s[:1500] + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return s
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// statusOK reports whether a Milvus status says success, and describes it.
func statusOK(st *commonpb.Status) (bool, string) {
	if st.GetCode() == 0 && st.GetErrorCode() == commonpb.ErrorCode_Success {
		return true, ""
	}
	return false, fmt.Sprintf("status code %d, error_code %v, reason %q", st.GetCode(), st.GetErrorCode(), st.GetReason())
}

// raftvecCollection finds the raftvec collection behind a Milvus collection
// name (the same name, or one that ends in it if the endpoint qualifies
// names with the database).
func (c *cluster) raftvecCollection(ctx context.Context, name string) (*pb.DescribeCollectionResponse, error) {
	d, err := c.admin.DescribeCollection(ctx, name)
	if err == nil {
		return d, nil
	}
	names, lerr := c.admin.ListCollections(ctx)
	if lerr != nil {
		return nil, fmt.Errorf("describe %q: %v; list: %v", name, err, lerr)
	}
	for _, n := range names {
		if strings.HasSuffix(n, name) {
			c.t.Logf("raftvec names the Milvus collection %q %q", name, n)
			return c.admin.DescribeCollection(ctx, n)
		}
	}
	return nil, fmt.Errorf("describe %q: %v (raftvec collections: %v)", name, err, names)
}
