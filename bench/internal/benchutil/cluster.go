package benchutil

import (
	"context"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
)

// FreePorts returns n distinct free loopback ports.
func FreePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// StartRaftvec starts a static three-node cluster (n1, n2, n3) on loopback
// with data and logs (dir/nX.log) under dir, and returns the nodes' API
// addresses in node order. It does not wait for a leader.
func StartRaftvec(ps *Procs, bin, dir string) ([]string, error) {
	return StartRaftvecWith(ps, bin, dir)
}

// CreateSimple creates collection name (int64 id, dim-d vector, metric) on
// the cluster at addrs with the server's default shard and replica counts
// (which depend on the number of nodes registered when the request
// arrives), retrying for up to a minute while the cluster elects its
// leaders. Benchmarks that compare runs should use CreateSharded and name
// both counts.
func CreateSimple(addrs []string, name string, dim int, metric pb.Metric) error {
	return CreateSharded(addrs, name, dim, metric, 0, 0)
}

// CreateSharded is CreateSimple with explicit shard and replica counts (0
// = the server's default). Name replicas: the default, min(3, nodes),
// counts the nodes registered in the cluster's metadata at that moment,
// which right after start-up may be fewer than the nodes started. While
// too few nodes are registered the server refuses the request, and it is
// retried like any other failure. It returns once the server reports
// every shard serving, and checks that the collection has the shards and
// replicas asked for.
func CreateSharded(addrs []string, name string, dim int, metric pb.Metric, shards, replicas int) error {
	c, err := client.New(addrs)
	if err != nil {
		return err
	}
	defer c.Close()
	req := &pb.CreateCollectionRequest{Schema: &pb.CollectionSchema{Name: name}, Dim: uint32(dim), Metric: metric,
		Shards: uint32(shards), Replicas: uint32(replicas)}
	deadline := time.Now().Add(60 * time.Second)
	tried := false
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err = c.CreateCollection(ctx, req)
		cancel()
		// An attempt that timed out may have created it after all.
		if err == nil || (tried && status.Code(err) == codes.AlreadyExists) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("create collection: %w", err)
		}
		tried = true
		time.Sleep(250 * time.Millisecond)
	}
	if shards == 0 && replicas == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	d, err := c.DescribeCollection(ctx, name)
	if err != nil {
		return fmt.Errorf("describe collection: %w", err)
	}
	if shards > 0 && len(d.Shards) != shards {
		return fmt.Errorf("collection %q has %d shards, asked for %d", name, len(d.Shards), shards)
	}
	for _, sh := range d.Shards {
		if replicas > 0 && len(sh.Replicas) != replicas {
			return fmt.Errorf("shard %d of %q has replicas %v, asked for %d", sh.Id, name, sh.Replicas, replicas)
		}
	}
	return nil
}

// ShardLeaders returns the leader of each shard of collection name, in
// shard order, as node addrs[0] sees them, waiting up to timeout until
// every shard has one.
func ShardLeaders(addrs []string, name string, timeout time.Duration) ([]string, error) {
	c, err := client.New(addrs)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		d, err := c.DescribeCollection(ctx, name)
		cancel()
		if err == nil {
			var ls []string
			for _, sh := range d.Shards {
				if sh.Leader == "" {
					err = fmt.Errorf("shard %d has no leader yet", sh.Id)
					break
				}
				ls = append(ls, sh.Leader)
			}
			if err == nil {
				return ls, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("shard leaders of %q: %w", name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// LeaderSpread summarises shard leaders per node, e.g. "n1×2 n3×1".
func LeaderSpread(leaders []string) string {
	n := map[string]int{}
	for _, l := range leaders {
		n[l]++
	}
	ids := make([]string, 0, len(n))
	for id := range n {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var parts []string
	for _, id := range ids {
		parts = append(parts, fmt.Sprintf("%s×%d", id, n[id]))
	}
	if len(parts) == 0 {
		return "–"
	}
	return strings.Join(parts, " ")
}

// Tail returns the last bytes of a (log) file.
func Tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > 800 {
		b = b[len(b)-800:]
	}
	return strings.TrimSpace(string(b))
}
