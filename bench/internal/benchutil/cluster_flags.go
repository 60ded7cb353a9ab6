package benchutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// StartRaftvecWith is StartRaftvec with extra server flags (for example
// "--seal-rows", "10000") appended to every node's command line: a static
// three-node cluster (n1, n2, n3) on loopback with data and logs
// (dir/nX.log) under dir. It returns the nodes' API addresses in node order
// and does not wait for a leader.
func StartRaftvecWith(ps *Procs, bin, dir string, extra ...string) ([]string, error) {
	api, _, err := startNodes(ps, bin, dir, false, extra)
	return api, err
}

// StartRaftvecMilvus is StartRaftvecWith with each node's Milvus endpoint
// on; it returns the API and the Milvus addresses in node order.
func StartRaftvecMilvus(ps *Procs, bin, dir string, extra ...string) (api, milvus []string, err error) {
	return startNodes(ps, bin, dir, true, extra)
}

func startNodes(ps *Procs, bin, dir string, withMilvus bool, extra []string) ([]string, []string, error) {
	ports, err := FreePorts(12)
	if err != nil {
		return nil, nil, err
	}
	var api, rft, serf, mil, peers []string
	for i := 0; i < 3; i++ {
		api = append(api, fmt.Sprintf("127.0.0.1:%d", ports[4*i]))
		rft = append(rft, fmt.Sprintf("127.0.0.1:%d", ports[4*i+1]))
		serf = append(serf, fmt.Sprintf("127.0.0.1:%d", ports[4*i+2]))
		mil = append(mil, fmt.Sprintf("127.0.0.1:%d", ports[4*i+3]))
		peers = append(peers, fmt.Sprintf("n%d=%s/%s", i+1, rft[i], api[i]))
	}
	for i := 0; i < 3; i++ {
		id := fmt.Sprintf("n%d", i+1)
		ndir := filepath.Join(dir, id)
		if err := os.MkdirAll(ndir, 0o755); err != nil {
			return nil, nil, err
		}
		logf, err := os.Create(filepath.Join(dir, id+".log"))
		if err != nil {
			return nil, nil, err
		}
		args := []string{"server", "--node-id", id, "--data-dir", ndir,
			"--api-addr", api[i], "--raft-addr", rft[i], "--http-addr", "", "--serf-addr", serf[i],
			"--log-level", "warn", "--peers", strings.Join(peers, ",")}
		if withMilvus {
			args = append(args, "--milvus-addr", mil[i])
		}
		cmd := exec.Command(bin, append(args, extra...)...)
		cmd.Stdout, cmd.Stderr = logf, logf
		err = ps.Start(cmd)
		logf.Close()
		if err != nil {
			return nil, nil, err
		}
	}
	if !withMilvus {
		mil = nil
	}
	return api, mil, nil
}
