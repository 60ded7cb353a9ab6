package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/raftvec/raftvec/certs"
	"github.com/raftvec/raftvec/rpc/client"
)

// writeCert writes a node certificate of the CA into dir as node.crt and
// node.key, each by rename.
func writeCert(t *testing.T, dir string, caCert, caKey []byte) {
	t.Helper()
	c, k, err := certs.Issue(caCert, caKey, "n1", []string{"127.0.0.1"}, true, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"node.key": k, "node.crt": c} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p+".tmp", b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(p+".tmp", p); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSIGHUPReloadsCertificates: a running node serves a certificate
// rotated on disk on its API and HTTP listeners after SIGHUP, without a
// restart, and keeps answering; --auth without TLS does not start.
func TestSIGHUPReloadsCertificates(t *testing.T) {
	dir := t.TempDir()
	caCert, caKey, err := certs.NewCA("e2e CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), caCert, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "root"), []byte("e2e-root-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	writeCert(t, dir, caCert, caKey)
	procs := startProcs(t, 1, "--tls-cert", filepath.Join(dir, "node.crt"), "--tls-key", filepath.Join(dir, "node.key"),
		"--tls-ca", filepath.Join(dir, "ca.crt"), "--tls-reload-interval", "1h", "--auth", "--root-password-file", filepath.Join(dir, "root"))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caCert)
	serial := func(addr string) string {
		deadline := time.Now().Add(20 * time.Second)
		for {
			conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool})
			if err == nil {
				defer conn.Close()
				return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
			}
			if time.Now().After(deadline) {
				t.Fatalf("TLS to %s: %v", addr, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	oldAPI, oldHTTP := serial(procs[0].api), serial(procs[0].http)
	if oldAPI != oldHTTP {
		t.Fatalf("API and HTTP serve different certificates: %s, %s", oldAPI, oldHTTP)
	}
	cl, err := client.New([]string{procs[0].api}, client.WithTLS(&tls.Config{RootCAs: pool}), client.WithPassword("root", "e2e-root-password"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	list := func() error {
		var err error
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err = cl.ListCollections(ctx)
			cancel()
			if err == nil {
				return nil
			}
		}
		return err
	}
	if err := list(); err != nil {
		t.Fatalf("as root before the rotation: %v", err)
	}

	writeCert(t, dir, caCert, caKey)
	if serial(procs[0].api) != oldAPI {
		t.Fatal("the new certificate was served before SIGHUP (the reload interval is an hour)")
	}
	if err := procs[0].cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for serial(procs[0].api) == oldAPI || serial(procs[0].http) == oldHTTP {
		if time.Now().After(deadline) {
			t.Fatal("the rotated certificate was not served 10s after SIGHUP")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := list(); err != nil {
		t.Fatalf("as root after the rotation: %v", err)
	}

	bin := procs[0].cmd.Path
	out, err := exec.Command(bin, "server", "--auth", "--data-dir", filepath.Join(dir, "x"), "--api-addr", freePort(t), "--raft-addr", freePort(t),
		"--http-addr", "", "--serf-addr", "").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "need TLS") {
		t.Fatalf("--auth without TLS: err %v, output %q", err, out)
	}
}
