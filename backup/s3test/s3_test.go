package s3test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/raftvec/raftvec/backup"
	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
)

// freeAddr is a free loopback address.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startNode runs a one-node raftvec server ($RAFTVEC_BIN) and returns a
// client of it.
func startNode(t *testing.T) *client.Client {
	t.Helper()
	bin := os.Getenv("RAFTVEC_BIN")
	if bin == "" {
		t.Skip("RAFTVEC_BIN is not set (make test-backup-s3 sets it)")
	}
	dir := t.TempDir()
	api, raft := freeAddr(t), freeAddr(t)
	logf, err := os.Create(filepath.Join(dir, "n1.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "server", "--node-id", "n1", "--data-dir", filepath.Join(dir, "n1"),
		"--api-addr", api, "--raft-addr", raft, "--http-addr", freeAddr(t), "--serf-addr", freeAddr(t),
		"--peers", "n1="+raft+"/"+api, "--heartbeat-timeout", "300ms", "--election-timeout", "300ms", "--tick-interval", "50ms")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "n1.log"))
			t.Logf("server log:\n%s", b)
		}
	})
	cl, err := client.New([]string{api})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// A backup to an S3-compatible bucket (a server on loopback), listed,
// verified and restored under another name with another shard count; a
// damaged object is refused, naming it, before anything is created.
func TestBackupToS3(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket("backups"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer srv.Close()
	t.Setenv(backup.S3EndpointEnv, strings.TrimPrefix(srv.URL, "http://"))
	t.Setenv(backup.S3InsecureEnv, "1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret")

	cl := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		err := cl.CreateSimple(ctx, "docs", 4, pb.Metric_L2)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	const n = 3000
	for b := 0; b < n/1000; b++ {
		rows := &pb.Rows{}
		for i := range 1000 {
			id := int64(b*1000 + i + 1)
			rows.IntIds = append(rows.IntIds, id)
			rows.Vectors = append(rows.Vectors, float32(id), float32(id%7), 1, -1)
		}
		if _, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "docs", Rows: rows}); err != nil {
			t.Fatal(err)
		}
	}

	loc := "s3://backups/nightly/2026-12-04"
	m, err := backup.Create(ctx, cl, loc, []string{"docs"}, backup.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Collections[0].Rows != n {
		t.Fatalf("backed up %d rows, want %d", m.Collections[0].Rows, n)
	}
	if _, err := backup.Create(ctx, cl, loc, []string{"docs"}, backup.CreateOptions{}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("a second backup under the same prefix: %v, want a refusal", err)
	}
	listed, err := backup.List(ctx, "s3://backups/nightly")
	if err != nil || len(listed) != 1 || listed[0].Location != loc || listed[0].Err != nil {
		t.Fatalf("List: %+v, %v; want the one backup at %s", listed, err, loc)
	}
	if _, err := backup.Verify(ctx, loc); err != nil {
		t.Fatal(err)
	}

	// A flipped byte in the shard's object: refused, nothing created.
	sf := m.Collections[0].Shards[0]
	key := "nightly/2026-12-04/" + sf.File
	obj, err := backend.GetObject("backups", key, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(obj.Contents); err != nil {
		t.Fatal(err)
	}
	obj.Contents.Close()
	good := append([]byte(nil), buf.Bytes()...)
	bad := buf.Bytes()
	bad[len(bad)/2] ^= 4
	put := func(b []byte) {
		if _, err := backend.PutObject("backups", key, map[string]string{}, bytes.NewReader(b), int64(len(b)), nil); err != nil {
			t.Fatal(err)
		}
	}
	put(bad)
	if _, err := backup.Restore(ctx, cl, loc, backup.RestoreOptions{As: "docs_restored"}); err == nil || !strings.Contains(err.Error(), sf.File) {
		t.Fatalf("restore of a damaged backup: %v, want an error naming %s", err, sf.File)
	}
	if names, err := cl.ListCollections(ctx); err != nil || len(names) != 1 {
		t.Fatalf("after the refused restore: collections %v (%v), want only docs", names, err)
	}
	put(good)

	restored, err := backup.Restore(ctx, cl, loc, backup.RestoreOptions{As: "docs_restored", Shards: 2})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(restored) != fmt.Sprint([]backup.Restored{{From: "docs", Name: "docs_restored", Rows: n}}) {
		t.Fatalf("restored %v", restored)
	}
	q, err := cl.Query(ctx, &pb.QueryRequest{Collection: "docs_restored", Filter: fmt.Sprintf("id >= 1 and id <= %d", n), OutputFields: []string{"vector"}, Limit: n + 1})
	if err != nil || len(q.Rows.IntIds) != n {
		t.Fatalf("docs_restored: %d rows, %v; want %d", len(q.GetRows().GetIntIds()), err, n)
	}
	for i, id := range q.Rows.IntIds {
		if q.Rows.Vectors[4*i] != float32(id) || q.Rows.Vectors[4*i+1] != float32(id%7) {
			t.Fatalf("row %d: vector %v", id, q.Rows.Vectors[4*i:4*i+4])
		}
	}
}
