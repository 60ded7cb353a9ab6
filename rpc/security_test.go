package rpc_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/raftvec/raftvec/auth"
	"github.com/raftvec/raftvec/certs"
	"github.com/raftvec/raftvec/fsm"
	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/rpc/wire"
)

// secureSetup is the TLS material of a test cluster: a CA and node
// certificates in a temporary directory, and the gossip key.
type secureSetup struct {
	dir        string
	caCert     []byte
	caKey      []byte
	gossipKey  []byte
	mu         sync.Mutex
	stores     map[string]*certs.Store
	rootPasswd string
}

func newSecureSetup(t *testing.T) *secureSetup {
	t.Helper()
	dir := t.TempDir()
	c, k, err := certs.NewCA("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &secureSetup{dir: dir, caCert: c, caKey: k, gossipKey: []byte("0123456789abcdef0123456789abcdef"),
		stores: map[string]*certs.Store{}, rootPasswd: "root-password"}
}

// issue writes a certificate for name (a node's if node) into the
// directory, replacing any earlier one, and returns its files.
func (s *secureSetup) issue(t *testing.T, name string, node bool) certs.Files {
	t.Helper()
	c, k, err := certs.Issue(s.caCert, s.caKey, name, []string{"127.0.0.1"}, node, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f := certs.Files{Cert: filepath.Join(s.dir, name+".crt"), Key: filepath.Join(s.dir, name+".key"), CA: filepath.Join(s.dir, "ca.crt")}
	// Key first, then certificate, each by rename, as an operator's
	// rotation would: a reload sees either pair whole.
	for _, w := range []struct {
		path string
		b    []byte
	}{{f.CA, s.caCert}, {f.Key, k}, {f.Cert, c}} {
		if err := os.WriteFile(w.path+".tmp", w.b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(w.path+".tmp", w.path); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (s *secureSetup) store(t *testing.T, node string) *certs.Store {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.stores[node]; ok {
		return st
	}
	st, err := certs.Load(s.issue(t, node, true), nil)
	if err != nil {
		t.Fatal(err)
	}
	s.stores[node] = st
	return st
}

func (s *secureSetup) clientTLS(t *testing.T) *tls.Config {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.caCert)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// mustSecureCluster starts n nodes with TLS everywhere, encrypted gossip
// and authentication, and bootstraps root.
func mustSecureCluster(t *testing.T, n int) (*testCluster, *secureSetup) {
	t.Helper()
	sec := newSecureSetup(t)
	c := startCluster(t, n, nil, sec)
	ctx := ctxT(t, 30*time.Second)
	for !c.nodes[0].host.Accounts().HasUsers() {
		if err := auth.Bootstrap(ctx, sec.rootPasswd, c.nodes[0].srv.ProposeOp); err != nil && ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return c, sec
}

// as returns a client of the given nodes authenticated as user.
func (c *testCluster) as(user, password string, nodes ...int) *client.Client {
	c.t.Helper()
	var addrs []string
	for _, i := range nodes {
		addrs = append(addrs, c.nodes[i].api)
	}
	opts := []client.Option{client.WithTLS(c.sec.clientTLS(c.t))}
	if user != "" {
		opts = append(opts, client.WithPassword(user, password))
	}
	cl, err := client.New(addrs, opts...)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { cl.Close() })
	return cl
}

func wantCode(t *testing.T, what string, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("%s: got %v (%v), want %v", what, got, err, want)
	}
}

func authDo[T any](t *testing.T, cl *client.Client, f func(pb.AuthClient, context.Context, ...grpc.CallOption) (T, error)) {
	t.Helper()
	if _, err := client.Auth(ctxT(t, 10*time.Second), cl, f); err != nil {
		t.Fatal(err)
	}
}

func rowCount(t *testing.T, cl *client.Client, coll string) int {
	t.Helper()
	r, err := cl.Query(ctxT(t, 10*time.Second), &pb.QueryRequest{Collection: coll, Filter: "id >= 0", Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	return len(r.GetRows().GetIntIds())
}

// TestAuthorisation: a call without credentials, with a wrong password
// and with a role lacking the privilege fails and changes nothing; the
// right role succeeds; and each of these holds through a forward from a
// node that is not the shard's leader, which decides as the leader does.
func TestAuthorisation(t *testing.T) {
	c, sec := mustSecureCluster(t, 3)
	root := c.as(fsm.RootUser, sec.rootPasswd, 0, 1, 2)
	ctx := ctxT(t, 60*time.Second)
	if err := root.CreateCollection(ctx, &pb.CreateCollectionRequest{Schema: &pb.CollectionSchema{Name: "c"}, Dim: dim, Metric: pb.Metric_L2, Shards: 1, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	authDo(t, root, func(a pb.AuthClient, ctx context.Context, o ...grpc.CallOption) (*pb.AuthResponse, error) {
		for _, u := range []string{"reader", "writer"} {
			if _, err := a.CreateUser(ctx, &pb.CreateUserRequest{Name: u, Password: u + "-password"}, o...); err != nil {
				return nil, err
			}
			if _, err := a.CreateRole(ctx, &pb.RoleRequest{Name: u + "s"}, o...); err != nil {
				return nil, err
			}
			if _, err := a.GrantRole(ctx, &pb.UserRoleRequest{User: u, Role: u + "s"}, o...); err != nil {
				return nil, err
			}
		}
		if _, err := a.GrantPrivilege(ctx, &pb.PrivilegeRequest{Role: "readers", Privilege: "read", Collection: "c"}, o...); err != nil {
			return nil, err
		}
		return a.GrantPrivilege(ctx, &pb.PrivilegeRequest{Role: "writers", Privilege: "write", Collection: "c"}, o...)
	})
	if _, err := root.Insert(ctx, &pb.InsertRequest{Collection: "c", Rows: versionRows(1, 1)}); err != nil {
		t.Fatal(err)
	}
	leader := c.leaderOf("c")
	follower := (leader + 1) % 3

	for _, at := range []struct {
		name string
		node int
	}{{"leader", leader}, {"follower (forwards)", follower}} {
		t.Run(at.name, func(t *testing.T) {
			anon := c.as("", "", at.node)
			wrong := c.as("writer", "not-the-password", at.node)
			reader := c.as("reader", "reader-password", at.node)
			writer := c.as("writer", "writer-password", at.node)
			for _, cl := range []*client.Client{anon, wrong, reader, writer} {
				cl.SetDirect(false) // through this node, not straight to the leader
			}
			before := rowCount(t, root, "c")
			ins := func(cl *client.Client, id int64) error {
				_, err := cl.Insert(ctxT(t, 10*time.Second), &pb.InsertRequest{Collection: "c", Rows: versionRows(id, 1)})
				return err
			}
			wantCode(t, "insert without credentials", ins(anon, 100), codes.Unauthenticated)
			wantCode(t, "insert with a wrong password", ins(wrong, 101), codes.Unauthenticated)
			wantCode(t, "insert by a reader", ins(reader, 102), codes.PermissionDenied)
			wantCode(t, "drop by a writer", func() error {
				_, err := pb.NewRaftVecClient(conn(t, writer, c.nodes[at.node].api)).DropCollection(ctxT(t, 5*time.Second), &pb.DropCollectionRequest{Name: "c"})
				return err
			}(), codes.PermissionDenied)
			_, err := pb.NewAdminClient(conn(t, writer, c.nodes[at.node].api)).InjectFault(ctxT(t, 5*time.Second), &pb.InjectFaultRequest{UnblockAll: true})
			wantCode(t, "admin call by a writer", err, codes.PermissionDenied)
			if got := rowCount(t, root, "c"); got != before {
				t.Fatalf("refused calls changed the collection: %d rows, want %d", got, before)
			}
			if _, err := reader.Search(ctxT(t, 10*time.Second), &pb.SearchRequest{Collection: "c", Vectors: []float32{1, 0, 0, 0}, TopK: 1}); err != nil {
				t.Fatalf("search by a reader: %v", err)
			}
			export := func(cl *client.Client) (int, error) {
				st, err := cl.Export(ctxT(t, 10*time.Second), &pb.ExportRequest{Collection: "c"})
				rows := 0
				for err == nil {
					var m *pb.ExportResponse
					if m, err = st.Recv(); err == nil {
						rows += len(m.Rows.GetIntIds())
					}
				}
				if err == io.EOF {
					err = nil
				}
				return rows, err
			}
			_, err = export(writer)
			wantCode(t, "export by a writer", err, codes.PermissionDenied)
			_, err = export(anon)
			wantCode(t, "export without credentials", err, codes.Unauthenticated)
			if n, err := export(reader); err != nil || n != int(before) {
				t.Fatalf("export by a reader: %d rows, %v; want %d", n, err, before)
			}
			if err := ins(writer, int64(200+at.node)); err != nil {
				t.Fatalf("insert by a writer: %v", err)
			}
			if got := rowCount(t, root, "c"); got != before+1 {
				t.Fatalf("after the writer's insert: %d rows, want %d", got, before+1)
			}
			_, err = pb.NewAdminClient(conn(t, root, c.nodes[at.node].api)).InjectFault(ctxT(t, 5*time.Second), &pb.InjectFaultRequest{UnblockAll: true})
			if err != nil {
				t.Fatalf("admin call by root: %v", err)
			}
		})
	}

	// The leader decides a forwarded request as for the user named in it,
	// and only a node may name one.
	onBehalf := func(cert tls.Certificate, user string) error {
		cfg := sec.clientTLS(t)
		cfg.Certificates = []tls.Certificate{cert}
		cc, err := grpc.NewClient(c.nodes[leader].api, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		ctx := metadata.AppendToOutgoingContext(ctxT(t, 10*time.Second), wire.OnBehalfKey, user,
			wire.AuthorizationKey, base64.StdEncoding.EncodeToString([]byte("writer:writer-password")))
		_, err = pb.NewRaftVecClient(cc).Insert(ctx, &pb.InsertRequest{Collection: "c", Rows: versionRows(300, 1), RequestId: "on-behalf-" + user})
		return err
	}
	nodeCert := keyPair(t, sec.issue(t, "n9", true))
	userCert := keyPair(t, sec.issue(t, "some-client", false))
	wantCode(t, "a node acting for a reader", onBehalf(nodeCert, "reader"), codes.PermissionDenied)
	wantCode(t, "a client certificate naming another user", onBehalf(userCert, "writer"), codes.PermissionDenied)
	wantCode(t, "a node acting for a user that does not exist", onBehalf(nodeCert, "mallory"), codes.Unauthenticated)
	if err := onBehalf(nodeCert, "writer"); err != nil {
		t.Fatalf("a node acting for a writer: %v", err)
	}
}

func keyPair(t *testing.T, f certs.Files) tls.Certificate {
	t.Helper()
	kp, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// conn is a raw connection with cl's credentials, for calls the SDK does
// not wrap.
func conn(t *testing.T, cl *client.Client, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := cl.Conn(addr)
	if err != nil {
		t.Fatal(err)
	}
	return cc
}

// TestTLSListenersRefusePlaintext: a client that does not speak TLS gets
// no answer from a TLS listener.
func TestTLSListenersRefusePlaintext(t *testing.T) {
	c, sec := mustSecureCluster(t, 1)
	plain := c.client(0)
	_, err := plain.ListCollections(ctxT(t, 5*time.Second))
	wantCode(t, "plaintext client", err, codes.Unavailable)
	if _, err := c.as(fsm.RootUser, sec.rootPasswd, 0).ListCollections(ctxT(t, 10*time.Second)); err != nil {
		t.Fatalf("TLS client: %v", err)
	}
}

// TestCertificateRotation: new certificates written over the old ones are
// served after a reload, without a restart, while writes go on through
// every node.
func TestCertificateRotation(t *testing.T) {
	c, sec := mustSecureCluster(t, 3)
	root := c.as(fsm.RootUser, sec.rootPasswd, 0, 1, 2)
	ctx := ctxT(t, 60*time.Second)
	if err := root.CreateCollection(ctx, &pb.CreateCollectionRequest{Schema: &pb.CollectionSchema{Name: "c"}, Dim: dim, Metric: pb.Metric_L2, Shards: 1, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	serial := func(addr string) string {
		conn, err := tls.Dial("tcp", addr, sec.clientTLS(t))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	old := map[int]string{}
	for i, nd := range c.nodes {
		old[i] = serial(nd.api)
	}
	var failed, written atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		cls := []*client.Client{c.as(fsm.RootUser, sec.rootPasswd, 0), c.as(fsm.RootUser, sec.rootPasswd, 1), c.as(fsm.RootUser, sec.rootPasswd, 2)}
		for id := int64(1); ; id++ {
			select {
			case <-stop:
				return
			default:
			}
			cl := cls[id%3]
			cl.SetDirect(false)
			if _, err := cl.Insert(ctxT(t, 10*time.Second), &pb.InsertRequest{Collection: "c", Rows: versionRows(id, 1)}); err != nil {
				t.Logf("write %d: %v", id, err)
				failed.Add(1)
			} else {
				written.Add(1)
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	for i, nd := range c.nodes {
		sec.issue(t, nd.id, true) // new key and certificate on disk
		changed, err := sec.store(t, nd.id).Reload()
		if err != nil || !changed {
			t.Fatalf("reload of %s: changed %v, err %v", nd.id, changed, err)
		}
		if now := serial(nd.api); now == old[i] {
			t.Fatalf("%s still serves the old certificate after the reload", nd.id)
		}
		// Raft and node-to-node traffic go on under the new certificate.
		c.nodes[i].host.Mux().Block(c.nodes[(i+1)%3].raft, true)
		c.nodes[i].host.Mux().Block(c.nodes[(i+1)%3].raft, false)
		time.Sleep(300 * time.Millisecond)
	}
	close(stop)
	<-done
	if failed.Load() > 0 || written.Load() == 0 {
		t.Fatalf("during the rotation %d writes failed, %d succeeded", failed.Load(), written.Load())
	}
	c.converge("c")
}
