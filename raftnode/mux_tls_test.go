package raftnode_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/raftvec/raftvec/certs"
	"github.com/raftvec/raftvec/raftnode"
)

type testCA struct{ cert, key []byte }

func newCA(t *testing.T) testCA {
	t.Helper()
	c, k, err := certs.NewCA("test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{c, k}
}

// store writes a certificate of ca for name and loads it.
func (ca testCA) store(t *testing.T, name string, node bool) *certs.Store {
	t.Helper()
	c, k, err := certs.Issue(ca.cert, ca.key, name, []string{"127.0.0.1"}, node, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := certs.Files{Cert: filepath.Join(dir, "c.crt"), Key: filepath.Join(dir, "c.key"), CA: filepath.Join(dir, "ca.crt")}
	for p, b := range map[string][]byte{f.Cert: c, f.Key: k, f.CA: ca.cert} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s, err := certs.Load(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func tlsMux(t *testing.T, s *certs.Store, client func(string) *tls.Config) *raftnode.Mux {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if client == nil {
		client = s.ClientConfig
	}
	m := raftnode.NewMux(ln, ln.Addr().String(), &raftnode.MuxTLS{Server: s.ServerConfig(true), Client: client})
	t.Cleanup(func() { m.Close() })
	return m
}

// accepted reports whether the server's layer got a connection and could
// read "ping" from it within a second.
func accepted(t *testing.T, srv *raftnode.Mux) chan bool {
	t.Helper()
	l, err := srv.Layer("g")
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan bool, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			out <- false
			return
		}
		defer c.Close()
		b := make([]byte, 4)
		c.SetReadDeadline(time.Now().Add(time.Second))
		_, err = io.ReadFull(c, b)
		out <- err == nil && string(b) == "ping"
	}()
	t.Cleanup(func() { l.Close() })
	return out
}

func dialPing(t *testing.T, from, to *raftnode.Mux) {
	t.Helper()
	l, err := from.Layer("g")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := l.Dial(raft.ServerAddress(to.Addr()), time.Second)
	if err != nil {
		return // refused while dialling: fine
	}
	defer c.Close()
	c.Write([]byte("ping"))
	c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	c.Read(make([]byte, 1)) // lets the server finish its side of the handshake
}

// TestMuxTLSRefusesForeignPeers: the Raft transport takes connections
// from node certificates of the cluster CA only: not from a node
// certificate of another CA, and not from a client certificate of the
// cluster's CA.
func TestMuxTLSRefusesForeignPeers(t *testing.T) {
	cluster, other := newCA(t), newCA(t)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(cluster.cert)
	// Dialers that trust the cluster's server certificate but present
	// their own, so that a refusal can only come from the server's side.
	presenting := func(s *certs.Store) func(string) *tls.Config {
		return func(host string) *tls.Config {
			return &tls.Config{RootCAs: pool, ServerName: host, Certificates: []tls.Certificate{keyPairOf(t, s)}}
		}
	}
	for _, tc := range []struct {
		name   string
		dialer *raftnode.Mux
		want   bool
	}{
		{"node of the cluster CA", tlsMux(t, cluster.store(t, "n2", true), nil), true},
		{"node of another CA", tlsMux(t, cluster.store(t, "n3", true), presenting(other.store(t, "n3", true))), false},
		{"client certificate of the cluster CA", tlsMux(t, cluster.store(t, "n4", true), presenting(cluster.store(t, "c", false))), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := tlsMux(t, cluster.store(t, "n1", true), nil)
			got := accepted(t, srv)
			dialPing(t, tc.dialer, srv)
			select {
			case ok := <-got:
				if ok != tc.want {
					t.Fatalf("accepted and read: %v, want %v", ok, tc.want)
				}
			case <-time.After(2 * time.Second):
				if tc.want {
					t.Fatal("the connection never reached the group")
				}
			}
		})
	}
}

func keyPairOf(t *testing.T, s *certs.Store) tls.Certificate {
	t.Helper()
	cfg := s.ClientConfig("")
	c, err := cfg.GetClientCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	return *c
}
