package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
)

// writeTestFvecs writes n dim-d vectors whose values depend on the row, so
// a row read back can be checked.
func writeTestFvecs(t *testing.T, path string, n, dim int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	rec := make([]byte, 4+4*dim)
	binary.LittleEndian.PutUint32(rec, uint32(dim))
	for i := range n {
		for j := range dim {
			binary.LittleEndian.PutUint32(rec[4+4*j:], math.Float32bits(float32(i%1000)+float32(j)/float32(dim)))
		}
		w.Write(rec)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// readStateFile reads an import state file (nil if there is none yet).
func readStateFile(t *testing.T, path string) *importState {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var st importState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("state file %s: %v", path, err)
	}
	return &st
}

// strongIDs reads every id of a collection in [0, n) with STRONG queries
// over id ranges, and fails the test unless they are exactly 0..n-1, each
// once, and no row lies outside.
func strongIDs(t *testing.T, cl *client.Client, coll string, n int) {
	t.Helper()
	seen := make([]bool, n)
	total := 0
	strong := &pb.ReadOptions{Level: pb.ConsistencyLevel_STRONG}
	query := func(filter string) []int64 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		resp, err := cl.Query(ctx, &pb.QueryRequest{Collection: coll, Filter: filter, Limit: 16384, Read: strong})
		if err != nil {
			t.Fatalf("query %q: %v", filter, err)
		}
		return resp.GetRows().GetIntIds()
	}
	const span = 10000
	for lo := 0; lo < n; lo += span {
		for _, id := range query(fmt.Sprintf("id >= %d and id < %d", lo, lo+span)) {
			if id < 0 || id >= int64(n) || seen[id] {
				t.Fatalf("id %d is out of 0..%d or came back twice", id, n-1)
			}
			seen[id] = true
			total++
		}
	}
	if out := query(fmt.Sprintf("id < 0 or id >= %d", n)); len(out) > 0 {
		t.Fatalf("%d rows outside 0..%d, e.g. id %d", len(out), n-1, out[0])
	}
	if total != n {
		t.Fatalf("collection %s holds %d of the ids 0..%d", coll, total, n-1)
	}
}

// countAll counts every row of a collection (at most 16384) with STRONG.
func countAll(t *testing.T, cl *client.Client, coll string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := cl.Query(ctx, &pb.QueryRequest{Collection: coll, Limit: 16384, Read: &pb.ReadOptions{Level: pb.ConsistencyLevel_STRONG}})
	if err != nil {
		t.Fatal(err)
	}
	return len(resp.GetRows().GetIntIds())
}

func TestImportEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	procs := startProcs(t, 3)
	var addrs []string
	for _, p := range procs {
		addrs = append(addrs, p.api)
	}
	c := &cliRunner{t: t, bin: procs[0].cmd.Path, addr: strings.Join(addrs, ",")}
	cl := clientOf(t, procs...)
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")

	// The cluster may still be electing its leaders.
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := c.run("collection", "create", "vecs", "--dim", "32", "--metric", "l2", "--replicas", "3", "--timeout", "20s")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
	}

	t.Run("fvecs killed and resumed", func(t *testing.T) {
		const n, dim = 100_000, 32
		file := filepath.Join(dir, "v.fvecs")
		writeTestFvecs(t, file, n, dim)
		args := []string{"import", "vecs", "--file", file, "--batch", "1000", "--parallel", "4", "--state-dir", stateDir, "--progress-every", "100ms"}
		statePath := filepath.Join(stateDir, "v.fvecs.import-vecs.json")

		// Kill the importer with SIGKILL once some batches are
		// acknowledged and recorded.
		cmd := exec.Command(c.bin, append(args, "--addr", c.addr)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		killed := false
		for !killed {
			select {
			case err := <-exited:
				t.Fatalf("the import ended before it could be killed (%v): %s%s", err, stdout.String(), stderr.String())
			case <-time.After(5 * time.Millisecond):
				if st := readStateFile(t, statePath); st != nil && st.Acked.Row >= 10_000 {
					if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
						t.Fatal(err)
					}
					<-exited
					killed = true
				}
			}
		}
		st := readStateFile(t, statePath)
		if st.Done || st.Acked.Row <= 0 || st.Acked.Row >= n || st.Acked.Row%1000 != 0 {
			t.Fatalf("after the kill the state says row %d (done %v); want a batch boundary inside the file", st.Acked.Row, st.Done)
		}
		t.Logf("killed with rows 0-%d acknowledged; progress so far:\n%s", st.Acked.Row-1, stderr.String())

		// The same command again resumes there; batches applied after the
		// checkpoint are answered from dedup (a second apply would fail:
		// the ids would already exist).
		out := c.must(args...)
		if want := fmt.Sprintf("resumed at row %d; all %d rows are now acknowledged", st.Acked.Row, n); !strings.Contains(out, want) {
			t.Fatalf("second run printed %q, want %q", out, want)
		}
		if st := readStateFile(t, statePath); !st.Done || st.Acked.Row != n {
			t.Fatalf("after the second run the state says row %d, done %v", st.Acked.Row, st.Done)
		}
		strongIDs(t, cl, "vecs", n)

		// A vector reads back as the file has it.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		got, err := cl.Get(ctx, &pb.GetRequest{Collection: "vecs", IntIds: []int64{54321}, OutputFields: []string{"vector"},
			Read: &pb.ReadOptions{Level: pb.ConsistencyLevel_STRONG}})
		if err != nil {
			t.Fatal(err)
		}
		if v := got.GetRows().GetVectors(); len(v) != dim || v[0] != 321 || v[dim-1] != 321+float32(dim-1)/dim {
			t.Fatalf("row 54321 read back as %v", v)
		}

		// Done is done; a changed file is refused.
		if out := c.must(args...); !strings.Contains(out, "nothing to do: all 100000 rows") {
			t.Fatalf("third run printed %q", out)
		}
		later := time.Now().Add(time.Minute)
		if err := os.Chtimes(file, later, later); err != nil {
			t.Fatal(err)
		}
		_, err = c.run(args...)
		if err == nil || !strings.Contains(err.Error(), "cannot resume") || !strings.Contains(err.Error(), "modification time was") {
			t.Fatalf("import of a changed file: %v", err)
		}
		strongIDs(t, cl, "vecs", n) // nothing was sent
	})

	t.Run("npy auto_id sent again is answered from dedup", func(t *testing.T) {
		schema := filepath.Join(dir, "auto.json")
		if err := os.WriteFile(schema, []byte(`{"fields": [{"name": "id", "type": "INT64", "primaryKey": true, "autoId": true},
			{"name": "vector", "type": "FLOAT_VECTOR", "dim": 8, "metric": "L2"}]}`), 0o644); err != nil {
			t.Fatal(err)
		}
		c.must("collection", "create", "auto", "--schema", schema, "--replicas", "3")
		const n = 3000
		data := make([]float32, n*8)
		for i := range data {
			data[i] = float32(i % 97)
		}
		file := filepath.Join(dir, "a.npy")
		if err := os.WriteFile(file, npyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3000, 8), }", data), 0o644); err != nil {
			t.Fatal(err)
		}
		args := []string{"import", "auto", "--file", file, "--batch", "500", "--state-dir", stateDir}
		if out := c.must(args...); !strings.Contains(out, "imported 3000 rows") {
			t.Fatalf("import printed %q", out)
		}
		if got := countAll(t, cl, "auto"); got != n {
			t.Fatalf("%d rows after the import, want %d", got, n)
		}
		// As if killed before the first checkpoint: the state says
		// nothing is acknowledged, and every batch is sent again.
		statePath := filepath.Join(stateDir, "a.npy.import-auto.json")
		st := readStateFile(t, statePath)
		st.Acked, st.Done = importPos{}, false
		if err := saveState(statePath, st, time.Now()); err != nil {
			t.Fatal(err)
		}
		if out := c.must(args...); !strings.Contains(out, "imported 3000 rows") {
			t.Fatalf("second import printed %q", out)
		}
		// --restart of the unchanged file keeps its request ids too.
		c.must(append(args, "--restart")...)
		if got := countAll(t, cl, "auto"); got != n {
			t.Fatalf("%d rows after sending every batch three times, want %d: a batch was applied twice", got, n)
		}
	})

	t.Run("jsonl resumed at a byte offset", func(t *testing.T) {
		c.must("collection", "create", "rows", "--dim", "2", "--metric", "l2", "--replicas", "3")
		const n, batch, resumeAt = 2500, 300, 900
		var text strings.Builder
		var offset int64
		for i := range n {
			if i == resumeAt {
				offset = int64(text.Len())
			}
			fmt.Fprintf(&text, "{\"id\": %d, \"vector\": [%d, 1]}\n", i, i)
		}
		file := filepath.Join(dir, "rows.jsonl")
		if err := os.WriteFile(file, []byte(text.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		args := []string{"import", "rows", "--file", file, "--batch", fmt.Sprint(batch), "--state-dir", stateDir}
		c.must(args...)
		// As if killed with batches 0-2 recorded and later ones applied:
		// the resumed run seeks to row 900's line and sends the rest again.
		statePath := filepath.Join(stateDir, "rows.jsonl.import-rows.json")
		st := readStateFile(t, statePath)
		st.Acked, st.Done = importPos{Row: resumeAt, Offset: offset, Line: resumeAt}, false
		if err := saveState(statePath, st, time.Now()); err != nil {
			t.Fatal(err)
		}
		out := c.must(args...)
		if !strings.Contains(out, "imported 1600 rows") || !strings.Contains(out, "resumed at row 900") {
			t.Fatalf("resumed run printed %q", out)
		}
		strongIDs(t, cl, "rows", n)
	})

	t.Run("bad input sends nothing", func(t *testing.T) {
		wrong := filepath.Join(dir, "wrong.fvecs")
		writeTestFvecs(t, wrong, 10, 16)
		_, err := c.run("import", "vecs", "--file", wrong, "--state-dir", stateDir)
		if err == nil || !strings.Contains(err.Error(), "vectors have dim 16, but collection \"vecs\" wants dim 32") {
			t.Fatalf("wrong dim: %v", err)
		}
		b, err := os.ReadFile(wrong)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(wrong, b[:len(b)-10], 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = c.run("import", "vecs", "--file", wrong, "--state-dir", stateDir)
		if err == nil || !strings.Contains(err.Error(), "is not a multiple of the record size 68") {
			t.Fatalf("truncated: %v", err)
		}
		bad := filepath.Join(dir, "bad.jsonl")
		if err := os.WriteFile(bad, []byte("{\"id\": 1, \"vector\": [1, 2]}\n\n{\"id\": 2, \"vector\": [1]}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = c.run("import", "rows", "--file", bad, "--state-dir", stateDir)
		if err == nil || !strings.Contains(err.Error(), "bad.jsonl:3: field \"vector\": want 2 numbers, got 1; nothing was sent") {
			t.Fatalf("bad JSONL line: %v", err)
		}
		for _, f := range []string{"wrong.fvecs.import-vecs.json", "bad.jsonl.import-rows.json"} {
			if _, err := os.Stat(filepath.Join(stateDir, f)); err == nil {
				t.Fatalf("a refused file left a state file %s", f)
			}
		}
		if _, err := os.Stat(filepath.Join(stateDir, "wrong.fvecs.import-vecs.json")); err == nil {
			t.Fatal("a refused file left a state file")
		}
	})
}
