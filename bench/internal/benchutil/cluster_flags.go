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
	api, _, _, err := startNodes(ps, bin, dir, false, false, extra)
	return api, err
}

// StartRaftvecHTTP is StartRaftvecWith with each node's HTTP listener
// (/metrics) on; it returns the API and the HTTP addresses in node order.
func StartRaftvecHTTP(ps *Procs, bin, dir string, extra ...string) (api, http []string, err error) {
	api, _, http, err = startNodes(ps, bin, dir, false, true, extra)
	return api, http, err
}

// StartRaftvecMilvus is StartRaftvecWith with each node's Milvus endpoint
// on; it returns the API and the Milvus addresses in node order.
func StartRaftvecMilvus(ps *Procs, bin, dir string, extra ...string) (api, milvus []string, err error) {
	api, milvus, _, err = startNodes(ps, bin, dir, true, false, extra)
	return api, milvus, err
}

func startNodes(ps *Procs, bin, dir string, withMilvus, withHTTP bool, extra []string) (api, mil, http []string, err error) {
	ports, err := FreePorts(15)
	if err != nil {
		return nil, nil, nil, err
	}
	var rft, serf, peers []string
	for i := 0; i < 3; i++ {
		api = append(api, fmt.Sprintf("127.0.0.1:%d", ports[5*i]))
		rft = append(rft, fmt.Sprintf("127.0.0.1:%d", ports[5*i+1]))
		serf = append(serf, fmt.Sprintf("127.0.0.1:%d", ports[5*i+2]))
		mil = append(mil, fmt.Sprintf("127.0.0.1:%d", ports[5*i+3]))
		http = append(http, fmt.Sprintf("127.0.0.1:%d", ports[5*i+4]))
		peers = append(peers, fmt.Sprintf("n%d=%s/%s", i+1, rft[i], api[i]))
	}
	for i := 0; i < 3; i++ {
		id := fmt.Sprintf("n%d", i+1)
		ndir := filepath.Join(dir, id)
		if err := os.MkdirAll(ndir, 0o755); err != nil {
			return nil, nil, nil, err
		}
		logf, err := os.Create(filepath.Join(dir, id+".log"))
		if err != nil {
			return nil, nil, nil, err
		}
		httpAddr := ""
		if withHTTP {
			httpAddr = http[i]
		}
		args := []string{"server", "--node-id", id, "--data-dir", ndir,
			"--api-addr", api[i], "--raft-addr", rft[i], "--http-addr", httpAddr, "--serf-addr", serf[i],
			"--log-level", "warn", "--peers", strings.Join(peers, ",")}
		if withMilvus {
			args = append(args, "--milvus-addr", mil[i])
		}
		cmd := exec.Command(bin, append(args, extra...)...)
		cmd.Stdout, cmd.Stderr = logf, logf
		err = ps.Start(cmd)
		logf.Close()
		if err != nil {
			return nil, nil, nil, err
		}
	}
	if !withMilvus {
		mil = nil
	}
	if !withHTTP {
		http = nil
	}
	return api, mil, http, nil
}
