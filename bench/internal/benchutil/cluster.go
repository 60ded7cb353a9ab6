package benchutil

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

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
	ports, err := FreePorts(6)
	if err != nil {
		return nil, err
	}
	var api, rft, peers []string
	for i := 0; i < 3; i++ {
		api = append(api, fmt.Sprintf("127.0.0.1:%d", ports[2*i]))
		rft = append(rft, fmt.Sprintf("127.0.0.1:%d", ports[2*i+1]))
		peers = append(peers, fmt.Sprintf("n%d=%s/%s", i+1, rft[i], api[i]))
	}
	for i := 0; i < 3; i++ {
		id := fmt.Sprintf("n%d", i+1)
		ndir := filepath.Join(dir, id)
		if err := os.MkdirAll(ndir, 0o755); err != nil {
			return nil, err
		}
		logf, err := os.Create(filepath.Join(dir, id+".log"))
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(bin, "server", "--node-id", id, "--data-dir", ndir,
			"--api-addr", api[i], "--raft-addr", rft[i], "--http-addr", "",
			"--log-level", "warn", "--peers", strings.Join(peers, ","))
		cmd.Stdout, cmd.Stderr = logf, logf
		err = ps.Start(cmd)
		logf.Close()
		if err != nil {
			return nil, err
		}
	}
	return api, nil
}

// CreateSimple creates collection name (int64 id, dim-d vector, metric) on
// the cluster at addrs, retrying for up to a minute while the cluster
// elects its leaders.
func CreateSimple(addrs []string, name string, dim int, metric pb.Metric) error {
	c, err := client.New(addrs)
	if err != nil {
		return err
	}
	defer c.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = c.CreateSimple(ctx, name, uint32(dim), metric)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("create collection: %w", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
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
