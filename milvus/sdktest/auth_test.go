package sdktest

import (
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/raftvec/raftvec/certs"
	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
)

const (
	rootUser     = "root"
	rootPassword = "sdk-root-password"
)

// secure is the TLS material of a secured test cluster.
type secure struct {
	args     []string
	tls      *tls.Config
	rootOpts []client.Option
}

func makeSecure(t *testing.T, dir string) *secure {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	caCert, caKey, err := certs.NewCA("sdktest CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c, k, err := certs.Issue(caCert, caKey, "sdktest-node", []string{"127.0.0.1"}, true, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"ca.crt": caCert, "node.crt": c, "node.key": k, "root": []byte(rootPassword)} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := func(n string) string { return filepath.Join(dir, n) }
	cfg, err := certs.ClientTLS(p("ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	return &secure{
		args: []string{"--tls-cert", p("node.crt"), "--tls-key", p("node.key"), "--tls-ca", p("ca.crt"),
			"--auth", "--root-password-file", p("root")},
		tls:      cfg,
		rootOpts: []client.Option{client.WithTLS(cfg), client.WithPassword(rootUser, rootPassword)},
	}
}

// milvusConfig is the SDK's configuration for addr: on a secured cluster
// TLS with the cluster's CA (through the SDK's DialOptions) and the
// user's credentials, as an application would set them.
func (c *cluster) milvusConfig(addr, user, password string, extra []grpc.DialOption) *milvusclient.ClientConfig {
	cfg := &milvusclient.ClientConfig{Address: addr}
	opts := append([]grpc.DialOption(nil), milvusclient.DefaultGrpcOpts...)
	opts = append(opts, extra...)
	if c.sec != nil {
		opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(c.sec.tls.Clone())))
		cfg.Username, cfg.Password = user, password
	}
	cfg.DialOptions = opts
	return cfg
}

// TestGoSDKAuth: the official Go SDK, unmodified, on a cluster with TLS
// and users: its credentials decide what it may do, on every node.
func TestGoSDKAuth(t *testing.T) {
	c := startClusterWith(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// A reader of "docs" (users and roles through raftvec's Auth API: the
	// Milvus RBAC calls are not served).
	for _, step := range []func(pb.AuthClient, context.Context, ...grpc.CallOption) (*pb.AuthResponse, error){
		func(a pb.AuthClient, ctx context.Context, o ...grpc.CallOption) (*pb.AuthResponse, error) {
			return a.CreateUser(ctx, &pb.CreateUserRequest{Name: "alice", Password: "alice-password"}, o...)
		},
		func(a pb.AuthClient, ctx context.Context, o ...grpc.CallOption) (*pb.AuthResponse, error) {
			return a.CreateRole(ctx, &pb.RoleRequest{Name: "readers"}, o...)
		},
		func(a pb.AuthClient, ctx context.Context, o ...grpc.CallOption) (*pb.AuthResponse, error) {
			return a.GrantPrivilege(ctx, &pb.PrivilegeRequest{Role: "readers", Privilege: "read", Collection: "docs"}, o...)
		},
		func(a pb.AuthClient, ctx context.Context, o ...grpc.CallOption) (*pb.AuthResponse, error) {
			return a.GrantRole(ctx, &pb.UserRoleRequest{User: "alice", Role: "readers"}, o...)
		},
	} {
		if _, err := client.Auth(ctx, c.admin, step); err != nil {
			t.Fatal(err)
		}
	}
	sdk := func(i int, user, password string) *milvusclient.Client {
		mc, err := milvusclient.New(ctx, c.milvusConfig(c.nodes[i].milvusAPI, user, password, nil))
		if err != nil {
			t.Fatalf("milvusclient.New as %q: %v", user, err)
		}
		t.Cleanup(func() { mc.Close(context.Background()) })
		return mc
	}
	root := sdk(0, rootUser, rootPassword)
	if err := root.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions("docs", 4).WithAutoID(false)); err != nil {
		t.Fatal(err)
	}
	insert := func(mc *milvusclient.Client, id int64) error {
		_, err := mc.Insert(ctx, milvusclient.NewColumnBasedInsertOption("docs",
			column.NewColumnInt64("id", []int64{id}), column.NewColumnFloatVector("vector", 4, [][]float32{{1, 0, 0, 0}})))
		return err
	}
	if err := insert(root, 1); err != nil {
		t.Fatalf("insert as root: %v", err)
	}
	count := func() int {
		r, err := c.admin.Query(ctx, &pb.QueryRequest{Collection: "docs", Filter: "id >= 0", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return len(r.GetRows().GetIntIds())
	}
	for i := range c.nodes { // through every node: leader and forwards alike
		alice := sdk(i, "alice", "alice-password")
		if _, err := alice.Search(ctx, milvusclient.NewSearchOption("docs", 1, []entity.Vector{entity.FloatVector{1, 0, 0, 0}})); err != nil {
			t.Fatalf("node %s: search as a reader: %v", c.nodes[i].id, err)
		}
		err := insert(alice, int64(10+i))
		if err == nil || !strings.Contains(err.Error(), "lacks the write privilege") {
			t.Fatalf("node %s: insert as a reader: %v, want a refusal naming the privilege", c.nodes[i].id, err)
		}
		// Connect fails, or else the first call must.
		wrong, err := milvusclient.New(ctx, c.milvusConfig(c.nodes[i].milvusAPI, "alice", "wrong-password", nil))
		if err == nil {
			if _, err := wrong.ListCollections(ctx, milvusclient.NewListCollectionOption()); err == nil {
				t.Fatalf("node %s: a wrong password was let in", c.nodes[i].id)
			}
			wrong.Close(context.Background())
		}
	}
	if got := count(); got != 1 {
		t.Fatalf("refused inserts changed the collection: %d rows, want 1", got)
	}
}
