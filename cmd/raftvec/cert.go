package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/raftvec/raftvec/certs"
)

const certUsage = `Usage:
  raftvec cert ca --dir D                      the cluster CA: D/ca.crt, D/ca.key
  raftvec cert node NAME --dir D --hosts H,..  a node certificate signed by D/ca.*: D/NAME.crt, D/NAME.key
  raftvec cert client NAME --dir D             a client certificate (for tools that want one)
  raftvec cert gossip-key --dir D              a Serf gossip key: D/gossip.key
  raftvec cert dev --dir D [--nodes n1,n2,n3]  all of the above for a cluster on 127.0.0.1

--hosts are the DNS names and IP addresses the node is reached at (every
address in its --api-addr, --raft-addr and --milvus-addr). Existing files
are never overwritten. Keys are written readable by their owner only; keep
ca.key off the nodes.
`

func runCert(args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Print(certUsage)
		return nil
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("cert "+sub, flag.ContinueOnError)
	dir := fs.String("dir", "./certs", "directory of the CA and the certificates")
	hosts := fs.String("hosts", "127.0.0.1,localhost", "names and addresses the node serves under (cert node)")
	nodes := fs.String("nodes", "n1,n2,n3", "node names (cert dev)")
	validity := fs.Duration("validity", certs.DefaultValidity, "how long the certificates are valid")
	var name string
	if (sub == "node" || sub == "client") && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("cert %s: unexpected argument %q", sub, fs.Arg(0))
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	switch sub {
	case "ca":
		return certCA(*dir, *validity)
	case "node", "client":
		if name == "" {
			return fmt.Errorf("cert %s: NAME is required", sub)
		}
		return certIssue(*dir, name, splitList(*hosts), sub == "node", *validity)
	case "gossip-key":
		return gossipKey(*dir)
	case "dev":
		if _, err := os.Stat(filepath.Join(*dir, "ca.crt")); err != nil {
			if err := certCA(*dir, *validity); err != nil {
				return err
			}
		}
		for _, n := range splitList(*nodes) {
			if err := certIssue(*dir, n, []string{"127.0.0.1", "localhost"}, true, *validity); err != nil {
				return err
			}
		}
		if err := certIssue(*dir, "client", nil, false, *validity); err != nil {
			return err
		}
		return gossipKey(*dir)
	}
	return fmt.Errorf("cert: unknown subcommand %q\n%s", sub, certUsage)
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists; remove it first to make a new one", path)
		}
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func certCA(dir string, validity time.Duration) error {
	c, k, err := certs.NewCA("raftvec cluster CA", validity)
	if err != nil {
		return err
	}
	if err := writeNew(filepath.Join(dir, "ca.key"), k, 0o600); err != nil {
		return err
	}
	if err := writeNew(filepath.Join(dir, "ca.crt"), c, 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s and %s\n", filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"))
	return nil
}

func certIssue(dir, name string, hosts []string, node bool, validity time.Duration) error {
	caCert, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return fmt.Errorf("CA certificate: %w (raftvec cert ca --dir %s makes one)", err, dir)
	}
	caKey, err := os.ReadFile(filepath.Join(dir, "ca.key"))
	if err != nil {
		return fmt.Errorf("CA key: %w", err)
	}
	c, k, err := certs.Issue(caCert, caKey, name, hosts, node, validity)
	if err != nil {
		return err
	}
	if err := writeNew(filepath.Join(dir, name+".key"), k, 0o600); err != nil {
		return err
	}
	if err := writeNew(filepath.Join(dir, name+".crt"), c, 0o644); err != nil {
		return err
	}
	kind := "client"
	if node {
		kind = "node"
	}
	fmt.Printf("wrote %s certificate %s (hosts %s)\n", kind, filepath.Join(dir, name+".crt"), strings.Join(hosts, ","))
	return nil
}

func gossipKey(dir string) error {
	k, err := certs.NewGossipKey()
	if err != nil {
		return err
	}
	p := filepath.Join(dir, "gossip.key")
	if err := writeNew(p, []byte(k+"\n"), 0o600); err != nil {
		return err
	}
	fmt.Printf("wrote %s\n", p)
	return nil
}
