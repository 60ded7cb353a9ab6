package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raftvec/raftvec/rpc/pb"
)

// The backup commands as an operator runs them (docs/operations.md):
// create, list, describe --verify, restore --as with another shard count;
// and a damaged backup refused by describe --verify and restore.
func TestCLIBackupEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	procs := startProcs(t, 1)
	c := &cliRunner{t: t, bin: procs[0].cmd.Path, addr: procs[0].api}
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := c.run("collection", "create", "docs", "--dim", "4", "--metric", "l2", "--timeout", "20s")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	c.must("insert", "docs", "--random", "1500", "--batch", "500")
	c.must("index", "create", "docs", "--type", "hnsw")
	root := t.TempDir()
	dir := filepath.Join(root, "nightly")
	out := c.must("backup", "create", "docs", "--to", dir)
	if !strings.Contains(out, "backed up 1500 rows of docs as of ts") {
		t.Fatalf("backup create printed %q", out)
	}
	if out, err := c.run("backup", "create", "docs", "--to", dir); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("a second backup into the same directory: %q, %v; want a refusal", out, err)
	}
	if out := c.must("backup", "list", root); !strings.Contains(out, dir) || !strings.Contains(out, "docs") || !strings.Contains(out, "1500") {
		t.Fatalf("backup list printed %q", out)
	}
	out = c.must("backup", "describe", dir, "--verify")
	for _, want := range []string{"collection docs: 1500 rows", `"indexType":"HNSW"`, "verified: every file matches"} {
		if !strings.Contains(out, want) {
			t.Fatalf("backup describe --verify printed %q, want %q in it", out, want)
		}
	}
	out = c.must("backup", "restore", dir, "--as", "docs2", "--shards", "2")
	if !strings.Contains(out, "restored docs as docs2: 1500 rows") {
		t.Fatalf("backup restore printed %q", out)
	}
	cl := clientOf(t, procs...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := cl.DescribeCollection(ctx, "docs2")
	if err != nil || d.Rows != 1500 || len(d.Shards) != 2 {
		t.Fatalf("docs2: %v, %v; want 1500 rows in 2 shards", d, err)
	}
	q, err := cl.Query(ctx, &pb.QueryRequest{Collection: "docs2", Filter: "id >= 1 and id <= 1500", Limit: 2000})
	if err != nil || len(q.Rows.IntIds) != 1500 {
		t.Fatalf("docs2 ids 1..1500: %d rows, %v", len(q.GetRows().GetIntIds()), err)
	}

	// One flipped byte: describe --verify and restore both name the file.
	m, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	shardFile := filepath.Join(dir, "docs", "shard-"+strings.Split(strings.Split(string(m), `"file": "docs/shard-`)[1], ".")[0]+".rvb")
	b, err := os.ReadFile(shardFile)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/3] ^= 1
	if err := os.WriteFile(shardFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"backup", "describe", dir, "--verify"}, {"backup", "restore", dir, "--as", "docs3"}} {
		out, err := c.run(args...)
		if err == nil || !strings.Contains(err.Error(), "docs/shard-") {
			t.Fatalf("%v on a damaged backup: %q, %v; want an error naming the file", args, out, err)
		}
	}
	if _, err := cl.DescribeCollection(ctx, "docs3"); err == nil {
		t.Fatal("the refused restore created docs3")
	}
}

// Off a terminal a long command prints progress lines; on one (or with
// --quiet) it prints none.
func TestProgressLines(t *testing.T) {
	for _, tc := range []struct {
		terminal, quiet bool
		want            bool
	}{{false, false, true}, {true, false, false}, {false, true, false}} {
		var buf syncBuffer
		var calls atomic.Int32 // the start, then 2 s later
		clock := func() time.Time { return time.Unix(1000+2*int64(min(calls.Add(1)-1, 1)), 0) }
		e := &cliEnv{stderr: &buf, stdout: &buf, stderrTerminal: tc.terminal, now: clock}
		p := newRowProgress(e, tc.quiet, 5*time.Millisecond, "restoring", "restored")
		p.set(250, 1000)
		time.Sleep(60 * time.Millisecond)
		p.stop()
		p.stop()
		got := buf.String()
		if tc.want != strings.Contains(got, "restored 250/1000 rows (25%), 125 rows/s\n") {
			t.Fatalf("terminal %v quiet %v: printed %q", tc.terminal, tc.quiet, got)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
