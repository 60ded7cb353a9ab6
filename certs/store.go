package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"
)

// Files are the PEM files of a node: its certificate and key, and the
// cluster CA that signs every node's and client's certificate.
type Files struct {
	Cert, Key, CA string
}

// Store holds a node's current certificate and CA pool. Every tls.Config
// it returns asks it on each handshake, so Reload takes effect for new
// connections at once; open connections keep the certificate they began
// with.
type Store struct {
	files  Files
	logger *slog.Logger

	mu   sync.RWMutex
	cert *tls.Certificate
	pool *x509.CertPool
	seen string // the files' sizes and modification times at the last load
}

// Load reads the files.
func Load(f Files, logger *slog.Logger) (*Store, error) {
	if f.Cert == "" || f.Key == "" || f.CA == "" {
		return nil, errors.New("tls: the certificate, key and CA files must all be given")
	}
	if logger == nil {
		logger = slog.Default()
	}
	s := &Store{files: f, logger: logger}
	if err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) stamp() string {
	var out string
	for _, p := range []string{s.files.Cert, s.files.Key, s.files.CA} {
		if fi, err := os.Stat(p); err == nil {
			out += fmt.Sprintf("%d/%d;", fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return out
}

func (s *Store) load() error {
	stamp := s.stamp()
	cert, err := tls.LoadX509KeyPair(s.files.Cert, s.files.Key)
	if err != nil {
		return fmt.Errorf("tls: %s / %s: %w", s.files.Cert, s.files.Key, err)
	}
	caPEM, err := os.ReadFile(s.files.CA)
	if err != nil {
		return fmt.Errorf("tls: CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("tls: CA %s: no PEM certificate in it", s.files.CA)
	}
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return fmt.Errorf("tls: %s is not signed by the CA in %s: %w", s.files.Cert, s.files.CA, err)
	}
	s.mu.Lock()
	s.cert, s.pool, s.seen = &cert, pool, stamp
	s.mu.Unlock()
	return nil
}

// Reload re-reads the files if they changed since the last load. On an
// error (a half-written file, a key that does not match) the store keeps
// what it had and says why.
func (s *Store) Reload() (changed bool, err error) {
	s.mu.RLock()
	seen := s.seen
	s.mu.RUnlock()
	if s.stamp() == seen {
		return false, nil
	}
	if err := s.load(); err != nil {
		return false, err
	}
	s.logger.Info("tls: certificate reloaded", "cert", s.files.Cert, "not_after", s.Leaf().NotAfter)
	return true, nil
}

// Watch reloads every interval until stop is closed.
func (s *Store) Watch(every time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if _, err := s.Reload(); err != nil {
				s.logger.Warn("tls: reload failed; keeping the current certificate", "err", err)
			}
		}
	}
}

// Leaf is the current certificate.
func (s *Store) Leaf() *x509.Certificate {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cert.Leaf
}

func (s *Store) current() (*tls.Certificate, *x509.CertPool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cert, s.pool
}

// ServerConfig is the configuration of a listener. With requireNode, a
// client must present a node certificate signed by the CA (the Raft
// transport); otherwise a client certificate is verified if one is given
// (the API: nodes present theirs, users need none).
func (s *Store) ServerConfig(requireNode bool) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			cert, pool := s.current()
			c := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{*cert}, ClientCAs: pool,
				ClientAuth: tls.VerifyClientCertIfGiven}
			if requireNode {
				c.ClientAuth = tls.RequireAndVerifyClientCert
				c.VerifyConnection = func(cs tls.ConnectionState) error {
					if len(cs.PeerCertificates) == 0 || !IsNode(cs.PeerCertificates[0]) {
						return errors.New("tls: the peer's certificate is not a raftvec node certificate")
					}
					return nil
				}
			}
			return c, nil
		},
	}
}

// ClientConfig is the configuration of a node dialling another node: it
// presents the node's certificate and verifies the server's against the
// current CA pool. serverName is the host the server must be named for
// (an IP address or DNS name; "" takes it from the address dialled).
func (s *Store) ClientConfig(serverName string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: serverName,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			cert, _ := s.current()
			return cert, nil
		},
		// The CA pool can change while the process runs, so the chain is
		// verified here against the current pool instead of by a fixed
		// RootCAs; verification is not skipped.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			_, pool := s.current()
			return VerifyServer(cs, pool)
		},
	}
}

// VerifyServer checks a server's chain against pool and its name against
// the name dialled.
func VerifyServer(cs tls.ConnectionState, pool *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tls: the server sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	name := cs.ServerName
	if h, _, err := net.SplitHostPort(name); err == nil {
		name = h
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, DNSName: name,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	return err
}

// ClientTLS is the configuration of an SDK or CLI client that trusts the
// CA in caFile (and presents no certificate).
func ClientTLS(caFile string) (*tls.Config, error) {
	b, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("tls-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("tls-ca: %s holds no PEM certificate", caFile)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}, nil
}
