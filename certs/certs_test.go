package certs

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func writePair(t *testing.T, f Files, ca []byte, cert, key []byte) {
	t.Helper()
	for p, b := range map[string][]byte{f.CA: ca, f.Cert: cert, f.Key: key} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStoreReload: a changed certificate is picked up; a broken one is
// refused and the old one kept; a certificate of another CA is refused.
func TestStoreReload(t *testing.T) {
	caCert, caKey, err := NewCA("ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := Files{Cert: filepath.Join(dir, "n.crt"), Key: filepath.Join(dir, "n.key"), CA: filepath.Join(dir, "ca.crt")}
	c1, k1, _ := Issue(caCert, caKey, "n1", []string{"127.0.0.1"}, true, time.Hour)
	writePair(t, f, caCert, c1, k1)
	s, err := Load(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !IsNode(s.Leaf()) || s.Leaf().Subject.CommonName != "n1" {
		t.Fatalf("leaf %v is not node n1's", s.Leaf().Subject)
	}
	if changed, err := s.Reload(); changed || err != nil {
		t.Fatalf("reload of unchanged files: changed %v, err %v", changed, err)
	}
	first := s.Leaf().SerialNumber

	c2, k2, _ := Issue(caCert, caKey, "n1", []string{"127.0.0.1"}, true, time.Hour)
	time.Sleep(10 * time.Millisecond) // a new modification time
	writePair(t, f, caCert, c2, k2)
	if changed, err := s.Reload(); !changed || err != nil {
		t.Fatalf("reload of a new certificate: changed %v, err %v", changed, err)
	}
	if s.Leaf().SerialNumber.Cmp(first) == 0 {
		t.Fatal("the new certificate was not taken")
	}
	second := s.Leaf().SerialNumber

	time.Sleep(10 * time.Millisecond)
	writePair(t, f, caCert, []byte("not a certificate"), k2)
	if _, err := s.Reload(); err == nil {
		t.Fatal("a broken certificate file was taken")
	}
	if s.Leaf().SerialNumber.Cmp(second) != 0 {
		t.Fatal("a failed reload replaced the certificate")
	}

	otherCert, otherKey, _ := NewCA("other", time.Hour)
	c3, k3, _ := Issue(otherCert, otherKey, "n1", []string{"127.0.0.1"}, true, time.Hour)
	time.Sleep(10 * time.Millisecond)
	writePair(t, f, caCert, c3, k3)
	if _, err := s.Reload(); err == nil {
		t.Fatal("a certificate of another CA was taken")
	}
	if _, _, err := Issue(c1, k1, "x", nil, true, time.Hour); err == nil {
		t.Fatal("a node certificate signed certificates as a CA")
	}
}
