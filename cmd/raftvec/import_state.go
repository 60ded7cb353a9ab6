package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The resume half of `raftvec import`: the state file that records how far
// an import is acknowledged, and the ack tracker that decides it. Both are
// pure (the state file is read and written whole), so they are tested
// without a server.

// importPos is a position in the input: the next row and, for JSONL, the
// byte offset and line number where that row's line starts.
type importPos struct {
	Row    int64 `json:"row"`
	Offset int64 `json:"offset"`
	Line   int   `json:"line"`
}

// importIdentity is what an import's request ids are derived from: the same
// input sent to the same place in the same batches gives the same ids, so
// a batch sent again after a restart is answered from the shard's dedup
// table instead of being applied twice.
type importIdentity struct {
	Collection string `json:"collection"`
	Partition  string `json:"partition,omitempty"`
	File       string `json:"file"` // absolute path
	Size       int64  `json:"size"`
	ModTime    string `json:"mtime"` // RFC 3339, nanoseconds
	Format     string `json:"format"`
	Batch      int    `json:"batch"`
	StartID    int64  `json:"start_id"`
}

// requestPrefix is the request id prefix of every batch of the import;
// batch ids append the batch's first row.
func (id importIdentity) requestPrefix() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d\x00%s\x00%s\x00%d\x00%d", id.Collection, id.Partition, id.File, id.Size, id.ModTime, id.Format, id.Batch, id.StartID)
	return "import-" + hex.EncodeToString(h.Sum(nil)[:8])
}

// batchID is the request id of the batch that starts at row first.
func batchID(prefix string, first int64) string { return fmt.Sprintf("%s-%d", prefix, first) }

// importState is the state file: the identity, the row count, and the
// position up to which every batch is acknowledged.
type importState struct {
	importIdentity
	RequestPrefix string    `json:"request_prefix"`
	Rows          int64     `json:"rows"`
	Acked         importPos `json:"acked"` // every row before Acked.Row is acknowledged
	Done          bool      `json:"done"`
	Updated       string    `json:"updated"`
}

// statePath is where the state of importing file into collection (and
// partition) is kept: next to the file, or in stateDir.
func statePath(file, stateDir, collection, partition string) string {
	dir := stateDir
	if dir == "" {
		dir = filepath.Dir(file)
	}
	name := filepath.Base(file) + ".import-" + collection
	if partition != "" {
		name += "-" + partition
	}
	return filepath.Join(dir, name+".json")
}

// loadState reads a state file; it returns nil, nil when there is none.
func loadState(path string) (*importState, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st importState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("state file %s is not valid (%v): remove it, or pass --restart to import from the first row", path, err)
	}
	return &st, nil
}

// saveState writes the state atomically: a temp file in the same
// directory, synced, then renamed over the old one, so a kill at any
// moment leaves either the old state or the new one.
func saveState(path string, st *importState, now time.Time) error {
	st.Updated = now.UTC().Format(time.RFC3339Nano)
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write import state: %w (--state-dir puts it elsewhere)", err)
	}
	tmp := f.Name()
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write import state %s: %w", path, err)
	}
	return nil
}

// mismatch lists how the identity of a new run differs from the one the
// state was written for. batchGiven says whether --batch was given: when
// it was not, the state's batch size is taken, so it is no difference.
func (id importIdentity) mismatch(st importIdentity, batchGiven bool) []string {
	var d []string
	add := func(what string, was, now any) {
		d = append(d, fmt.Sprintf("%s was %v, now %v", what, was, now))
	}
	if st.Collection != id.Collection {
		add("collection", st.Collection, id.Collection)
	}
	if st.Partition != id.Partition {
		add("partition", quoteOrDefault(st.Partition), quoteOrDefault(id.Partition))
	}
	if st.File != id.File {
		add("file", st.File, id.File)
	}
	if st.Size != id.Size {
		add("size", st.Size, id.Size)
	}
	if st.ModTime != id.ModTime {
		add("modification time", st.ModTime, id.ModTime)
	}
	if st.Format != id.Format {
		add("format", st.Format, id.Format)
	}
	if batchGiven && st.Batch != id.Batch {
		add("--batch", st.Batch, id.Batch)
	}
	if st.StartID != id.StartID {
		add("--start-id", st.StartID, id.StartID)
	}
	return d
}

func quoteOrDefault(p string) string {
	if p == "" {
		return "_default"
	}
	return p
}

// resumeError explains why a state file cannot be resumed from.
func resumeError(path string, diffs []string) error {
	return fmt.Errorf("cannot resume: the import recorded in %s was started with other input (%s); resuming would mix them. "+
		"Run with the same file and flags, or pass --restart to import this file from its first row", path, strings.Join(diffs, "; "))
}

// ackTracker turns acknowledgements that arrive in any order into the
// position up to which every batch is acknowledged: batches are numbered
// in input order, and the position advances only past a run of
// consecutive acknowledged batches.
type ackTracker struct {
	next int            // the lowest batch not yet acknowledged
	pos  importPos      // where batch next starts
	done map[int]ackEnd // acknowledged batches at or after next
}

type ackEnd struct {
	end  importPos
	rows int
}

func newAckTracker(start importPos) *ackTracker {
	return &ackTracker{pos: start, done: map[int]ackEnd{}}
}

// ack records that batch seq, which ends at end, is acknowledged, and
// returns the new contiguous position and whether it moved.
func (t *ackTracker) ack(seq int, end importPos, rows int) (importPos, bool) {
	if seq < t.next {
		return t.pos, false
	}
	t.done[seq] = ackEnd{end: end, rows: rows}
	moved := false
	for {
		e, ok := t.done[t.next]
		if !ok {
			break
		}
		delete(t.done, t.next)
		t.next++
		t.pos = e.end
		moved = true
	}
	return t.pos, moved
}

// ahead is how many rows are acknowledged beyond the contiguous position.
func (t *ackTracker) ahead() int64 {
	var n int64
	for _, e := range t.done {
		n += int64(e.rows)
	}
	return n
}
