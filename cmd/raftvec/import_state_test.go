package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAckTrackerOutOfOrder(t *testing.T) {
	pos := func(row int64) importPos { return importPos{Row: row, Offset: row * 10} }
	tr := newAckTracker(pos(100)) // resumed at row 100, batches of 10 rows
	steps := []struct {
		seq   int
		want  int64
		moved bool
		ahead int64
	}{
		{seq: 2, want: 100, ahead: 10},             // batch 2 (rows 120-129) first: nothing contiguous
		{seq: 1, want: 100, ahead: 20},             // still waiting for batch 0
		{seq: 0, want: 130, moved: true, ahead: 0}, // 0, 1, 2 all done
		{seq: 4, want: 130, ahead: 10},             // a hole at 3
		{seq: 3, want: 150, moved: true, ahead: 0}, // filled
		{seq: 3, want: 150, ahead: 0},              // a repeat changes nothing
		{seq: 5, want: 160, moved: true, ahead: 0}, // in order
	}
	for i, s := range steps {
		got, moved := tr.ack(s.seq, pos(100+int64(s.seq+1)*10), 10)
		if got.Row != s.want || moved != s.moved || tr.ahead() != s.ahead {
			t.Fatalf("step %d (ack batch %d): at row %d moved %v ahead %d; want %d %v %d", i, s.seq, got.Row, moved, tr.ahead(), s.want, s.moved, s.ahead)
		}
		if got.Offset != got.Row*10 {
			t.Fatalf("step %d: offset %d does not belong to row %d", i, got.Offset, got.Row)
		}
	}
}

func testIdentity() importIdentity {
	return importIdentity{Collection: "c", File: "/data/v.fvecs", Size: 5160, ModTime: "2026-12-04T01:02:03.000000004Z", Format: "fvecs", Batch: 10000}
}

func TestRequestPrefix(t *testing.T) {
	base := testIdentity()
	p := base.requestPrefix()
	if !strings.HasPrefix(p, "import-") || len(p) != len("import-")+16 {
		t.Fatalf("prefix %q", p)
	}
	if base.requestPrefix() != p {
		t.Fatal("the prefix is not deterministic")
	}
	if got := batchID(p, 30000); got != p+"-30000" {
		t.Fatalf("batch id %q", got)
	}
	// Anything that changes which rows a batch holds, or where they go,
	// changes the ids.
	changes := map[string]func(*importIdentity){
		"collection": func(id *importIdentity) { id.Collection = "d" },
		"partition":  func(id *importIdentity) { id.Partition = "p" },
		"file":       func(id *importIdentity) { id.File = "/data/w.fvecs" },
		"size":       func(id *importIdentity) { id.Size++ },
		"mtime":      func(id *importIdentity) { id.ModTime = "2026-12-04T01:02:03.000000005Z" },
		"format":     func(id *importIdentity) { id.Format = "npy" },
		"batch":      func(id *importIdentity) { id.Batch = 5000 },
		"start id":   func(id *importIdentity) { id.StartID = 1 },
	}
	for what, change := range changes {
		id := base
		change(&id)
		if id.requestPrefix() == p {
			t.Errorf("changing the %s keeps the request ids", what)
		}
	}
}

func TestStateRoundTripAndMismatch(t *testing.T) {
	dir := t.TempDir()
	path := statePath(filepath.Join(dir, "v.fvecs"), "", "c", "")
	if path != filepath.Join(dir, "v.fvecs.import-c.json") {
		t.Fatalf("state path %s", path)
	}
	if got := statePath("/data/v.fvecs", "/var/state", "c", "p1"); got != "/var/state/v.fvecs.import-c-p1.json" {
		t.Fatalf("state path with --state-dir and a partition: %s", got)
	}
	if st, err := loadState(path); st != nil || err != nil {
		t.Fatalf("no state file: %v, %v", st, err)
	}
	id := testIdentity()
	st := &importState{importIdentity: id, RequestPrefix: id.requestPrefix(), Rows: 10, Acked: importPos{Row: 4, Offset: 2064}}
	if err := saveState(path, st, time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	st.Acked.Row = 6 // a second save replaces the first
	if err := saveState(path, st, time.Unix(2, 0)); err != nil {
		t.Fatal(err)
	}
	got, err := loadState(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Acked.Row != 6 || got.Acked.Offset != 2064 || got.RequestPrefix != st.RequestPrefix || got.importIdentity != id {
		t.Fatalf("loaded %+v, want %+v", got, st)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("temp files left behind: %v", ents)
	}

	if d := id.mismatch(got.importIdentity, true); len(d) != 0 {
		t.Fatalf("same identity: %v", d)
	}
	changed := id
	changed.Size, changed.Batch = 6000, 500
	d := changed.mismatch(got.importIdentity, true)
	if fmt.Sprint(d) != "[size was 5160, now 6000 --batch was 10000, now 500]" {
		t.Fatalf("mismatch %q", d)
	}
	// Without --batch the state's batch size is used: no difference.
	if d := changed.mismatch(got.importIdentity, false); len(d) != 1 {
		t.Fatalf("mismatch without --batch: %q", d)
	}
	err = resumeError(path, d)
	if !strings.Contains(err.Error(), "size was 5160, now 6000") || !strings.Contains(err.Error(), "--restart") {
		t.Fatalf("resume error %q", err)
	}

	if err := os.WriteFile(path, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadState(path); err == nil || !strings.Contains(err.Error(), "--restart") {
		t.Fatalf("corrupt state: %v", err)
	}
}

func TestImportProgressAndFailureLines(t *testing.T) {
	start := time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)
	now := start.Add(10 * time.Second)
	im := &importer{e: &cliEnv{now: func() time.Time { return now }}, started: start, resumed: 100_000,
		state: &importState{Rows: 1_000_000, Acked: importPos{Row: 250_000}}, statePath: "/d/v.fvecs.import-c.json",
		tracker: newAckTracker(importPos{Row: 250_000})}
	im.acked.Store(250_000) // in this run, on top of the 100,000 before the restart
	if got, want := im.progressLine(), "imported 350000/1000000 rows (35%), 25000 rows/s, eta 26s"; got != want {
		t.Fatalf("progress line %q, want %q", got, want)
	}
	im.retried.Store(2)
	im.lastRetry.Store("UNAVAILABLE: not leader")
	if got := im.progressLine(); !strings.HasSuffix(got, "; 2 requests retried, the last after UNAVAILABLE: not leader") {
		t.Fatalf("progress line with retries %q", got)
	}

	im.tracker.ack(1, importPos{Row: 270_000}, 10_000) // a later batch, acknowledged out of order
	err := im.failure(fmt.Errorf("v.fvecs rows 250000-259999: INVALID_ARGUMENT: bad"))
	for _, want := range []string{
		"v.fvecs rows 250000-259999: INVALID_ARGUMENT: bad",
		"rows 0-249999 are acknowledged (and 10000 rows of later batches), recorded in /d/v.fvecs.import-c.json",
		"Run the same command again to resume at row 250000: no row is written twice",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("failure %q lacks %q", err, want)
		}
	}
}
