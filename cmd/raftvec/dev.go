package main

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/raftvec/raftvec/certs"
)

// runDev starts three nodes on 127.0.0.1, each its own child process (so
// one can be killed to watch failover), and stops them all on Ctrl-C.
func runDev(args []string) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "./data/dev", "parent of the nodes' data directories")
	basePort := fs.Int("base-port", 7400, "node i listens on base+10*i (API), +1 (Raft), +2 (HTTP), +3 (Serf), +4 (Milvus)")
	nodes := fs.Int("nodes", 3, "number of nodes (1 to 9)")
	extra := fs.String("server-args", "", "extra flags passed to every 'raftvec server'")
	secure := fs.Bool("secure", false, "TLS everywhere, encrypted gossip and users: certificates in DATA-DIR/certs, root's password in DATA-DIR/certs/root-password (docs/security.md)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	certDir := filepath.Join(*dataDir, "certs")
	if *nodes < 1 || *nodes > 9 {
		return fmt.Errorf("nodes (%d) must be between 1 and 9", *nodes)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	type node struct{ id, api, raft, http, serf, milvus, dir string }
	var ns []node
	var peers []string
	for i := 0; i < *nodes; i++ {
		p := *basePort + 10*i
		n := node{id: fmt.Sprintf("n%d", i+1), api: fmt.Sprintf("127.0.0.1:%d", p), raft: fmt.Sprintf("127.0.0.1:%d", p+1),
			http: fmt.Sprintf("127.0.0.1:%d", p+2), serf: fmt.Sprintf("127.0.0.1:%d", p+3), milvus: fmt.Sprintf("127.0.0.1:%d", p+4), dir: filepath.Join(*dataDir, fmt.Sprintf("n%d", i+1))}
		ns = append(ns, n)
		peers = append(peers, fmt.Sprintf("%s=%s/%s", n.id, n.raft, n.api))
	}
	if *secure {
		if err := devCerts(certDir, *nodes); err != nil {
			return err
		}
	}
	var procs []*exec.Cmd
	var wg sync.WaitGroup
	for _, n := range ns {
		logPath := filepath.Join(*dataDir, n.id+".log")
		if err := os.MkdirAll(n.dir, 0o755); err != nil {
			return err
		}
		logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		a := []string{"server", "--node-id", n.id, "--data-dir", n.dir, "--api-addr", n.api, "--raft-addr", n.raft,
			"--http-addr", n.http, "--serf-addr", n.serf, "--milvus-addr", n.milvus, "--peers", strings.Join(peers, ",")}
		if *secure {
			a = append(a, "--tls-cert", filepath.Join(certDir, n.id+".crt"), "--tls-key", filepath.Join(certDir, n.id+".key"),
				"--tls-ca", filepath.Join(certDir, "ca.crt"), "--gossip-key-file", filepath.Join(certDir, "gossip.key"),
				"--auth", "--root-password-file", filepath.Join(certDir, "root-password"))
		}
		if *extra != "" {
			a = append(a, strings.Fields(*extra)...)
		}
		cmd := exec.Command(self, a...)
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			return err
		}
		procs = append(procs, cmd)
		wg.Add(1)
		go func(id string, c *exec.Cmd) {
			defer wg.Done()
			err := c.Wait()
			fmt.Fprintf(os.Stderr, "node %s (pid %d) exited: %v\n", id, c.Process.Pid, errString(err))
		}(n.id, cmd)
		fmt.Printf("node %s  pid %-7d api %s  raft %s  http %s  milvus %s  log %s\n", n.id, cmd.Process.Pid, n.api, n.raft, n.http, n.milvus, logPath)
	}
	fmt.Printf(`
A %d-node raftvec cluster is running (data in %s). Try, in another terminal:

  raftvec collection create demo --dim 4 --metric l2
  raftvec insert demo --random 1000
  raftvec search demo --vector '[0.1,0.2,0.3,0.4]' --top-k 5
  raftvec status

(from 'make run', the binary is ./bin/raftvec). Milvus SDKs connect to any
node's milvus address, e.g. MilvusClient(uri="http://%s") in pymilvus or
milvusclient.New(ctx, &milvusclient.ClientConfig{Address: "%s"}) in Go.
Kill a node's pid to watch a new leader take over; Ctrl-C stops them all.
`, *nodes, *dataDir, ns[0].milvus, ns[0].milvus)
	if *secure {
		fmt.Printf(`
This cluster is secured (TLS, encrypted gossip, users). Give the client the
CA and root's credentials first:

  export RAFTVEC_TLS_CA=%s RAFTVEC_USER=root RAFTVEC_PASSWORD="$(cat %s)"
  raftvec user create alice; raftvec role grant admin --member alice   # docs/security.md
`, filepath.Join(certDir, "ca.crt"), filepath.Join(certDir, "root-password"))
	} else {
		fmt.Printf(`
This cluster is plaintext and lets anyone in. To try it secured (TLS on
every link, users and roles): raftvec dev --secure (docs/security.md).
`)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-sig:
		for _, p := range procs {
			p.Process.Signal(syscall.SIGTERM)
		}
		<-done
	case <-done:
	}
	return nil
}

// devCerts makes, once, the CA, node certificates, gossip key and a random
// root password of a secured dev cluster.
func devCerts(dir string, nodes int) error {
	if _, err := os.Stat(filepath.Join(dir, "root-password")); err == nil {
		return nil // made by an earlier run
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "ca.crt")); err != nil {
		if err := certCA(dir, certs.DefaultValidity); err != nil {
			return err
		}
	}
	for i := 1; i <= nodes; i++ {
		if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("n%d.crt", i))); err == nil {
			continue
		}
		if err := certIssue(dir, fmt.Sprintf("n%d", i), []string{"127.0.0.1", "localhost"}, true, certs.DefaultValidity); err != nil {
			return err
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "gossip.key")); err != nil {
		if err := gossipKey(dir); err != nil {
			return err
		}
	}
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	return writeNew(filepath.Join(dir, "root-password"), []byte(hex.EncodeToString(b[:])+"\n"), 0o600)
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}
