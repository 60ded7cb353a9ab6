package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/rpc/wire"
)

// `raftvec import`: bulk loading of a file into a collection, many batches
// in flight over all shard leaders at once, resumable after a kill.
//
// Every batch is a fixed range of the file's rows and is sent under a
// request id derived from the file's identity and the batch's first row
// (import_state.go). A shard applies a request id once and answers a
// repeat from its dedup table, so after a restart the batches from the
// last checkpoint on can simply be sent again: those that were applied
// before the kill are answered, not applied twice. The checkpoint (the
// state file) records the row up to which every batch is acknowledged.

const (
	importBatchBytes   = 4 << 20 // default batch: this many bytes of vectors, at most defaultImportBatch rows
	defaultImportBatch = 5_000
	maxImportBatchVecs = 32 << 20 // a batch's vectors; the server takes requests up to 64 MiB
	defaultParallel    = 8
	checkpointEvery    = 200 * time.Millisecond
)

const importAbout = `Imports a file into a collection: JSON lines (.jsonl, as insert --file
reads them, with ids and scalar fields), .fvecs (per vector: int32 dim,
then dim float32, little-endian) or .npy (a 2-d NumPy array (rows, dim) of
'<f4', or '<f8' converted to float32; C order). Parquet is not supported:
convert it first, e.g. with pyarrow and np.save.

The file is checked completely before anything is sent: for .fvecs the
size must be whole records of the first record's dim, for .npy the header
and size must match; every vector must have the collection's dim, be
finite, and (cosine) not be zero. A bad file is refused with the file, the
row or line, and the limit, and nothing is written.

.fvecs and .npy rows carry no ids: row i gets id --start-id + i (rows are
numbered from 0), or, when the collection's key is auto_id, an id the
server assigns. JSONL rows carry their own ids.

Rows go in batches of --batch rows; --parallel batches are in flight at
once, each split by primary key and sent straight to the shard leaders
(auto_id batches go whole to one shard, chosen by the request id).
Transient errors (UNAVAILABLE, a leader change, a timeout) are retried
with the same request id, --retries times.

Resuming: a batch's request id is derived from the collection, partition,
the file (absolute path, size, modification time), its format, --batch
and --start-id, and the batch's first row. A state file (FILE.import-
COLLECTION.json next to the file, or in --state-dir) records the row up to
which every batch is acknowledged; it is replaced atomically a few times a
second. Run the same command again after a kill, a crash or Ctrl-C and the
import resumes there: the batches after it that were applied before are
answered from the shards' dedup tables and not applied again, so no row is
written twice (auto_id included). If the file changed (size or
modification time) or a flag that shapes the batches differs, import
refuses to resume; --restart starts from the first row (an unchanged file
then still keeps its request ids, so nothing is written twice). A finished
import is recorded as done, and running it again does nothing.

Progress: on a terminal a bar (rows, rows/s, ETA); otherwise a line every
--progress-every ("imported 350000/1000000 rows (35%), 21000 rows/s, eta
31s"); --quiet turns both off. At the end one line: rows, time, rows/s
(--json: an object). docs/operations.md, "Bulk import", has more.`

func runImport(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, defaultRowTimeout)
	fs.Lookup("timeout").Usage = "deadline of each request (and of the schema lookup)"
	file := fs.String("file", "", "the file to import (.jsonl, .fvecs or .npy)")
	format := fs.String("format", "", "jsonl, fvecs or npy (default: from the file's extension)")
	batch := fs.Int("batch", 0, fmt.Sprintf("rows per batch (default: %d, fewer for wide vectors so a batch holds at most %d MiB of them)", defaultImportBatch, importBatchBytes>>20))
	parallel := fs.Int("parallel", defaultParallel, "batches in flight at once")
	startID := fs.Int64("start-id", 0, ".fvecs/.npy: row i (from 0) gets id start-id+i")
	partition := fs.String("partition", "", "the partition the rows go to (default: _default)")
	stateDir := fs.String("state-dir", "", "directory of the state file (default: the file's directory)")
	restart := fs.Bool("restart", false, "ignore the state file and import from the first row")
	retries := fs.Int("retries", 3, "attempts per request on transient errors (each within --timeout, in which the SDK already follows leader changes)")
	every := fs.Duration("progress-every", 5*time.Second, "interval of the progress lines when standard error is not a terminal")
	quiet := fs.Bool("quiet", false, "no progress bar or progress lines")
	pos, err := e.parseFlags(fs, name, args, "COLLECTION")
	if err != nil {
		return err
	}
	batchGiven := false
	fs.Visit(func(f *flag.Flag) { batchGiven = batchGiven || f.Name == "batch" })
	switch {
	case *file == "":
		return fmt.Errorf("%s: --file is required", name)
	case *file == "-":
		return fmt.Errorf("%s: --file - (standard input) cannot be resumed; import needs a regular file (insert --file - reads a pipe)", name)
	case batchGiven && (*batch < 1 || *batch > maxBatchRowsFlag):
		return fmt.Errorf("--batch (%d) must be between 1 and %d", *batch, maxBatchRowsFlag)
	case *parallel < 1 || *parallel > 256:
		return fmt.Errorf("--parallel (%d) must be between 1 and 256", *parallel)
	case *retries < 1:
		return fmt.Errorf("--retries (%d) must be at least 1", *retries)
	case *every <= 0:
		return fmt.Errorf("--progress-every (%v) must be positive", *every)
	case *startID < 0:
		return fmt.Errorf("--start-id (%d) must not be negative", *startID)
	}
	fmtName, err := importFormat(*file, *format)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(*file)
	if err != nil {
		return err
	}
	f, err := os.Open(abs)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file; import reads a file by offset to resume", *file)
	}
	if fmtName == "jsonl" && *startID != 0 {
		return fmt.Errorf("--start-id applies to .fvecs and .npy; JSONL rows carry their own ids")
	}

	c, err := e.dial(cf)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := e.ctxFor(cf)
	d, err := c.DescribeCollection(ctx, pos[0])
	cancel()
	if err != nil {
		return apiErr(err, cf)
	}
	rs, err := newRowSchema(d.GetSchema())
	if err != nil {
		return err
	}
	im := &importer{e: e, c: c, cf: cf, rs: rs, file: *file, collection: pos[0], partition: strings.TrimSpace(*partition),
		shards: len(d.GetShards()), parallel: *parallel, retries: *retries, quiet: *quiet, every: *every, startID: *startID}

	// Open and check the file's layout before anything else.
	var vf *vecFile
	switch fmtName {
	case "fvecs":
		vf, err = openFvecs(*file, f, fi.Size())
	case "npy":
		vf, err = openNpy(*file, f, fi.Size())
	}
	if err != nil {
		return err
	}
	if vf != nil {
		if err := vf.checkDim(rs); err != nil {
			return err
		}
		if rs.varcharPK() {
			return fmt.Errorf("collection %q has a varchar primary key %q; .fvecs and .npy rows get int64 ids (use JSONL to give varchar keys)", rs.collection, rs.pk.Name)
		}
		if !rs.pk.AutoId && *startID > math.MaxInt64-vf.rows {
			return fmt.Errorf("--start-id (%d) + %d rows overflows int64", *startID, vf.rows)
		}
	}

	// The state file: resume, refuse, or start fresh.
	if *stateDir != "" {
		if err := os.MkdirAll(*stateDir, 0o755); err != nil {
			return fmt.Errorf("--state-dir: %w", err)
		}
	}
	spath := statePath(abs, *stateDir, im.collection, im.partition)
	id := importIdentity{Collection: im.collection, Partition: im.partition, File: abs, Size: fi.Size(),
		ModTime: fi.ModTime().UTC().Format(time.RFC3339Nano), Format: fmtName, Batch: *batch, StartID: *startID}
	var st *importState
	if !*restart {
		if st, err = loadState(spath); err != nil {
			return err
		}
	}
	if st != nil && !batchGiven {
		id.Batch = st.Batch
	}
	if id.Batch == 0 {
		id.Batch = max(1, min(defaultImportBatch, importBatchBytes/(4*rs.dim)))
	}
	if v := int64(id.Batch) * int64(rs.dim) * 4; v > maxImportBatchVecs {
		return fmt.Errorf("--batch (%d) × dim %d × 4 bytes = %d MiB of vectors per batch exceeds %d MiB", id.Batch, rs.dim, v>>20, maxImportBatchVecs>>20)
	}
	if st != nil {
		if diffs := id.mismatch(st.importIdentity, batchGiven); len(diffs) > 0 {
			return resumeError(spath, diffs)
		}
		if st.Done {
			fmt.Fprintf(e.stdout, "nothing to do: all %d rows of %s were imported into %s (recorded in %s); --restart imports the file again\n",
				st.Rows, *file, im.collection, spath)
			return nil
		}
	}
	im.batch, im.statePath = id.Batch, spath

	// Check every row, then send from the checkpoint on.
	t0 := e.now()
	var total int64
	if vf != nil {
		total, err = im.checkVectors(vf)
	} else {
		total, err = checkJSONL(e, *quiet, rs, f, *file, fi.Size())
	}
	if err != nil {
		return fmt.Errorf("%w; nothing was sent", err)
	}
	im.checked = e.now().Sub(t0)
	if st == nil {
		st = &importState{importIdentity: id, RequestPrefix: id.requestPrefix(), Rows: total}
	} else if st.Rows != total {
		return resumeError(spath, []string{fmt.Sprintf("rows were %d, now %d", st.Rows, total)})
	}
	im.state = st
	if err := saveState(spath, st, e.now()); err != nil {
		return err
	}
	var src importSource
	if vf != nil {
		src = &vecSource{vf: vf, rs: rs, pos: st.Acked, startID: *startID, cosine: rs.vector.Metric == pb.Metric_COSINE}
	} else {
		if _, err := f.Seek(st.Acked.Offset, io.SeekStart); err != nil {
			return err
		}
		jr := newJSONLReader(rs, f, *file, false)
		jr.line = st.Acked.Line
		src = &jsonlSource{jr: jr, pos: st.Acked}
	}
	if err := im.run(src); err != nil {
		return err
	}
	return im.report()
}

// importFormat is the file's format: given, or from its extension.
func importFormat(file, given string) (string, error) {
	switch strings.ToLower(given) {
	case "jsonl", "fvecs", "npy":
		return strings.ToLower(given), nil
	case "parquet":
		return "", errors.New("--format parquet is not supported; convert the file to .npy or .jsonl first")
	case "":
	default:
		return "", fmt.Errorf("--format %q: want jsonl, fvecs or npy", given)
	}
	switch strings.ToLower(filepath.Ext(file)) {
	case ".jsonl", ".ndjson", ".json":
		return "jsonl", nil
	case ".fvecs":
		return "fvecs", nil
	case ".npy":
		return "npy", nil
	case ".parquet":
		return "", fmt.Errorf("%s: Parquet is not supported; convert it to .npy or .jsonl first", file)
	}
	return "", fmt.Errorf("%s: cannot tell the format from the extension %q; give --format jsonl, fvecs or npy", file, filepath.Ext(file))
}

// importBatch is one batch: a fixed range of the file's rows.
type importBatch struct {
	seq   int // position in the input, from 0 in this run
	first int64
	n     int
	rows  *pb.Rows
	end   importPos
	where string // "rows 0-9999", "lines 1-10000"
	lines []int  // JSONL: the line of each row
}

// importSource yields a file's batches in order from a position.
type importSource interface {
	next(maxRows int) (*importBatch, error) // io.EOF after the last row
}

type vecSource struct {
	vf      *vecFile
	rs      *rowSchema
	pos     importPos
	startID int64
	cosine  bool
	buf     []byte
}

func (s *vecSource) next(maxRows int) (*importBatch, error) {
	n := int(min(int64(maxRows), s.vf.rows-s.pos.Row))
	if n <= 0 {
		return nil, io.EOF
	}
	rows := &pb.Rows{Vectors: make([]float32, n*s.vf.dim)}
	var err error
	if s.buf, err = s.vf.readRows(s.pos.Row, n, rows.Vectors, s.buf, s.cosine); err != nil {
		return nil, err
	}
	if !s.rs.pk.AutoId {
		rows.IntIds = make([]int64, n)
		for i := range rows.IntIds {
			rows.IntIds[i] = s.startID + s.pos.Row + int64(i)
		}
	}
	b := &importBatch{first: s.pos.Row, n: n, rows: rows, where: fmt.Sprintf("rows %d-%d", s.pos.Row, s.pos.Row+int64(n)-1)}
	s.pos.Row += int64(n)
	s.pos.Offset = s.vf.dataOff + s.pos.Row*s.vf.rowBytes
	b.end = s.pos
	return b, nil
}

type jsonlSource struct {
	jr  *jsonlReader
	pos importPos // where jr started
}

func (s *jsonlSource) next(maxRows int) (*importBatch, error) {
	first := s.pos.Row
	rb, err := s.jr.next(maxRows, maxBatchInput)
	if err != nil {
		return nil, err
	}
	s.pos.Row += int64(rb.len())
	end := importPos{Row: s.pos.Row, Offset: s.pos.Offset + s.jr.read, Line: s.jr.line}
	return &importBatch{first: first, n: rb.len(), rows: rb.rows, end: end, where: rb.lineRange(), lines: rb.lines}, nil
}

// importer sends the batches and keeps the tally.
type importer struct {
	e          *cliEnv
	c          *client.Client
	cf         *commonFlags
	rs         *rowSchema
	file       string
	collection string
	partition  string
	shards     int
	batch      int
	parallel   int
	retries    int
	quiet      bool
	every      time.Duration
	startID    int64

	statePath string
	state     *importState
	checked   time.Duration

	mu       sync.Mutex
	tracker  *ackTracker
	saved    time.Time // when the state was last written
	firstErr error
	acked    atomic.Int64 // rows acknowledged in this run
	retried  atomic.Int64 // requests retried
	// lastRetry is the error of the last retried request, for the summary.
	lastRetry atomic.Value
	batches   atomic.Int64
	started   time.Time
	elapsed   time.Duration
	resumed   int64
}

// checkVectors reads every row of a vector file once, so that a bad
// record or value is refused before anything is sent.
func (im *importer) checkVectors(vf *vecFile) (int64, error) {
	bar := newBar(im.e, im.quiet, vf.rows, "checking "+im.file, false)
	defer bar.finish()
	per := max(1, int((16<<20)/vf.rowBytes))
	dst := make([]float32, per*vf.dim)
	var buf []byte
	cosine := im.rs.vector.Metric == pb.Metric_COSINE
	for row := int64(0); row < vf.rows; row += int64(per) {
		n := int(min(int64(per), vf.rows-row))
		var err error
		if buf, err = vf.readRows(row, n, dst[:n*vf.dim], buf, cosine); err != nil {
			return 0, err
		}
		bar.add(n)
	}
	return vf.rows, nil
}

// run sends every batch from src, --parallel at a time, and records the
// acknowledged position in the state file as it advances.
func (im *importer) run(src importSource) error {
	e := im.e
	st := im.state
	im.tracker = newAckTracker(st.Acked)
	im.resumed = st.Acked.Row
	if st.Acked.Row > 0 {
		fmt.Fprintf(e.stderr, "resuming at row %d of %d (recorded in %s)\n", st.Acked.Row, st.Rows, im.statePath)
	}
	bar := newBar(e, im.quiet, st.Rows, "importing", false)
	bar.set(st.Acked.Row)
	defer bar.finish()
	im.started = e.now()

	stopLines := progressLines(e, im.quiet, im.every, im.progressLine)

	ctx := e.ctx
	jobs := make(chan *importBatch)
	var wg sync.WaitGroup
	for range im.parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range jobs {
				err := im.sendBatch(ctx, b)
				im.done(b, err)
				if err == nil {
					im.mu.Lock()
					bar.add(b.n)
					im.mu.Unlock()
				}
			}
		}()
	}
	var readErr error
	for seq := 0; ; seq++ {
		if im.failed() || ctx.Err() != nil {
			break
		}
		b, err := src.next(im.batch)
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr = err
			break
		}
		b.seq = seq
		select {
		case jobs <- b:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	im.elapsed = e.now().Sub(im.started)
	stopLines()
	bar.finish()

	im.mu.Lock()
	defer im.mu.Unlock()
	st.Acked = im.tracker.pos
	err := cmpErr(im.firstErr, readErr)
	if err == nil && ctx.Err() != nil {
		err = &apiError{code: codes.Canceled, msg: "interrupted", err: ctx.Err()}
	}
	st.Done = err == nil && st.Acked.Row == st.Rows
	if serr := saveState(im.statePath, st, e.now()); serr != nil && err == nil {
		err = serr
	}
	if err != nil {
		return im.failure(err)
	}
	return nil
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// failure explains where an import stopped and how to go on.
func (im *importer) failure(err error) error {
	st := im.state
	var done string
	if st.Acked.Row == 0 {
		done = "no batch was acknowledged"
	} else {
		done = fmt.Sprintf("rows 0-%d are acknowledged", st.Acked.Row-1)
	}
	if ahead := im.tracker.ahead(); ahead > 0 {
		done += fmt.Sprintf(" (and %d rows of later batches)", ahead)
	}
	return fmt.Errorf("%w; %s, recorded in %s; batches after that may have been written too. "+
		"Run the same command again to resume at row %d: no row is written twice", err, done, im.statePath, st.Acked.Row)
}

func (im *importer) failed() bool {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.firstErr != nil
}

// done records a batch's outcome: an acknowledgement advances the
// checkpoint (written at most every checkpointEvery), an error stops the
// import after the batches in flight.
func (im *importer) done(b *importBatch, err error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if err != nil {
		if im.firstErr == nil {
			im.firstErr = im.batchErr(b, err)
		}
		return
	}
	im.acked.Add(int64(b.n))
	im.batches.Add(1)
	pos, moved := im.tracker.ack(b.seq, b.end, b.n)
	if moved && im.e.now().Sub(im.saved) >= checkpointEvery {
		im.state.Acked = pos
		if err := saveState(im.statePath, im.state, im.e.now()); err != nil && im.firstErr == nil {
			im.firstErr = err
		}
		im.saved = im.e.now()
	}
}

// batchErr names the batch's rows (or lines) and the row the server's
// message points to.
func (im *importer) batchErr(b *importBatch, err error) error {
	err = apiErr(err, im.cf)
	msg := err.Error()
	if b.lines != nil {
		if m := batchRowRe.FindStringSubmatch(msg); m != nil {
			var i int
			if _, perr := fmt.Sscan(m[1], &i); perr == nil && i < len(b.lines) {
				msg += fmt.Sprintf(" (row %d of the request; line %d of the file)", i, b.lines[i])
			}
		}
	}
	return fmt.Errorf("%s %s: %s", im.file, b.where, msg)
}

// sendBatch splits a batch by primary key and sends each shard's part
// straight to its leader, all at once. Each part is sent under the batch's
// request id; the SDK (and the server, if it routes the part) names it
// "ID#shard", so the part has the same id whichever way it goes. A batch of
// auto_id rows carries no keys and goes whole; the server sends it to the
// shard its request id hashes to.
func (im *importer) sendBatch(ctx context.Context, b *importBatch) error {
	id := batchID(im.state.RequestPrefix, b.first)
	parts := []*pb.Rows{b.rows}
	if im.shards > 1 && len(b.rows.IntIds)+len(b.rows.StrIds) > 0 {
		parts = nil
		for _, pos := range splitByShard(b.rows, im.shards) {
			if len(pos) > 0 {
				parts = append(parts, b.rows.Pick(pos))
			}
		}
	}
	if len(parts) == 1 {
		return im.sendPart(ctx, id, parts[0])
	}
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = im.sendPart(ctx, id, p)
		}()
	}
	wg.Wait()
	// A refusal says more than an unknown outcome.
	var first error
	for _, err := range errs {
		if err != nil && (first == nil || !transient(err)) {
			first = err
		}
	}
	return first
}

// splitByShard groups row positions by the shard their key belongs to, as
// the server does (wire.ShardFor).
func splitByShard(rows *pb.Rows, n int) [][]int {
	parts := make([][]int, n)
	for i, k := range rows.IntIds {
		p := wire.ShardFor(k, "", true, n)
		parts[p] = append(parts[p], i)
	}
	for i, k := range rows.StrIds {
		p := wire.ShardFor(0, k, false, n)
		parts[p] = append(parts[p], i)
	}
	return parts
}

// sendPart sends one request, retrying transient errors under the same
// request id.
func (im *importer) sendPart(ctx context.Context, id string, rows *pb.Rows) error {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, im.cf.timeout)
		req := &pb.InsertRequest{Collection: im.collection, Rows: rows, RequestId: id, PartitionName: im.partition}
		_, err := im.c.Insert(actx, req)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !transient(err) || attempt >= im.retries {
			if transient(err) {
				return fmt.Errorf("%w (after %d attempts)", apiErr(err, im.cf), attempt)
			}
			return err
		}
		im.retried.Add(1)
		im.lastRetry.Store(apiErr(err, im.cf).Error())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// transient says whether a failed request may succeed when sent again
// under the same id: the node could not serve it, or it timed out.
func transient(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.Aborted, codes.DeadlineExceeded, codes.ResourceExhausted:
		return true
	}
	return false
}

// progressLine is the plain progress line.
func (im *importer) progressLine() string {
	total := im.state.Rows
	done := im.resumed + im.acked.Load()
	el := im.e.now().Sub(im.started).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(im.acked.Load()) / el
	}
	eta := "?"
	if rate > 0 {
		eta = (time.Duration(float64(total-done) / rate * float64(time.Second))).Round(time.Second).String()
	}
	line := fmt.Sprintf("imported %d/%d rows (%d%%), %.0f rows/s, eta %s", done, total, done*100/max(total, 1), rate, eta)
	if n := im.retried.Load(); n > 0 {
		line += fmt.Sprintf("; %d requests retried, the last after %v", n, im.lastRetry.Load())
	}
	return line
}

func (im *importer) report() error {
	n := im.acked.Load()
	rate := float64(n) / max(im.elapsed.Seconds(), 1e-9)
	if im.cf.json {
		b, err := json.MarshalIndent(map[string]any{
			"collection": im.collection, "file": im.file, "rows": n, "total_rows": im.state.Rows, "resumed_at": im.resumed,
			"seconds": im.elapsed.Seconds(), "rows_per_second": rate, "check_seconds": im.checked.Seconds(),
			"batch": im.batch, "parallel": im.parallel, "retried_requests": im.retried.Load(), "state_file": im.statePath,
		}, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(im.e.stdout, "%s\n", b)
		return err
	}
	into := im.collection
	if im.partition != "" {
		into += " (partition " + im.partition + ")"
	}
	resumed := ""
	if im.resumed > 0 {
		resumed = fmt.Sprintf(" (resumed at row %d; all %d rows are now acknowledged)", im.resumed, im.state.Rows)
	}
	retried := ""
	if n := im.retried.Load(); n > 0 {
		retried = fmt.Sprintf("; %d requests retried (the last after %v)", n, im.lastRetry.Load())
	}
	fmt.Fprintf(im.e.stdout, "imported %d rows of %s into %s in %s, %.0f rows/s%s; checked in %s; %d batches of up to %d rows, %d in flight%s\n",
		n, im.file, into, im.elapsed.Round(time.Millisecond), rate, resumed, im.checked.Round(time.Millisecond),
		im.batches.Load(), im.batch, im.parallel, retried)
	return nil
}
