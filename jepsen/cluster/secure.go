package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/raftvec/raftvec/certs"
	"github.com/raftvec/raftvec/rpc/client"
)

// RootPassword is the root user's password of a secure cluster.
const RootPassword = "jepsen-root-password"

// secure is the TLS material and credentials of a cluster run with
// Config.Secure: a CA, a certificate per node, a gossip key.
type secure struct {
	dir  string
	opts []client.Option
}

// makeSecure writes a CA, node certificates and a gossip key into dir.
func makeSecure(dir string, nodes []string) (*secure, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	caCert, caKey, err := certs.NewCA("jepsen CA", 24*time.Hour)
	if err != nil {
		return nil, err
	}
	write := func(name string, b []byte) error { return os.WriteFile(filepath.Join(dir, name), b, 0o600) }
	if err := write("ca.crt", caCert); err != nil {
		return nil, err
	}
	for _, n := range nodes {
		c, k, err := certs.Issue(caCert, caKey, n, []string{"127.0.0.1", "localhost"}, true, 24*time.Hour)
		if err != nil {
			return nil, err
		}
		if err := write(n+".crt", c); err != nil {
			return nil, err
		}
		if err := write(n+".key", k); err != nil {
			return nil, err
		}
	}
	key, err := certs.NewGossipKey()
	if err != nil {
		return nil, err
	}
	if err := write("gossip.key", []byte(key)); err != nil {
		return nil, err
	}
	tlsCfg, err := certs.ClientTLS(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return nil, err
	}
	return &secure{dir: dir, opts: []client.Option{client.WithTLS(tlsCfg), client.WithPassword("root", RootPassword)}}, nil
}

// args are the server flags of node id.
func (s *secure) args(id string) []string {
	return []string{"--tls-cert", filepath.Join(s.dir, id+".crt"), "--tls-key", filepath.Join(s.dir, id+".key"),
		"--tls-ca", filepath.Join(s.dir, "ca.crt"), "--gossip-key-file", filepath.Join(s.dir, "gossip.key"), "--auth"}
}

func (s *secure) env() []string {
	return []string{fmt.Sprintf("RAFTVEC_ROOT_PASSWORD=%s", RootPassword)}
}
