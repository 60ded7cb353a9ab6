package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"google.golang.org/grpc/codes"

	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
)

const (
	// maxBatchInput bounds the JSONL input behind one request. JSON text
	// is larger than the protobuf it becomes, so requests stay well below
	// the server's 64 MiB limit whatever the dimension.
	maxBatchInput = 16 << 20
	// maxBatchRowsFlag mirrors the server's default per-request row limit.
	maxBatchRowsFlag = 100_000
)

func runInsert(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, defaultRowTimeout)
	fs.Lookup("timeout").Usage = "deadline of each batch (and of the schema lookup)"
	file := fs.String("file", "", "JSONL file of rows, one object per line; - reads standard input")
	random := fs.Int64("random", 0, "write N random rows instead of a file")
	seed := fs.Uint64("seed", 1, "--random: seed of the vectors")
	startID := fs.Int64("start-id", 0, "--random: ids are start-id+1 .. start-id+N")
	batch := fs.Int("batch", 1000, "rows per request")
	stream := fs.Bool("stream", false, "check each batch just before sending it, not the whole file first")
	quiet := fs.Bool("quiet", false, "no progress bar")
	partition := fs.String("partition", "", "the partition the rows go to (default: _default; raftvec partition create makes one)")
	pos, err := e.parseFlags(fs, name, args, "NAME")
	if err != nil {
		return err
	}
	switch {
	case (*file == "") == (*random == 0):
		return fmt.Errorf("%s: give either --file or --random N", name)
	case *random < 0:
		return fmt.Errorf("--random (%d) must be positive", *random)
	case *batch < 1 || *batch > maxBatchRowsFlag:
		return fmt.Errorf("--batch (%d) must be between 1 and %d", *batch, maxBatchRowsFlag)
	case *random > 0 && *startID > math.MaxInt64-*random:
		return fmt.Errorf("--start-id (%d) + --random (%d) overflows int64", *startID, *random)
	}
	c, err := e.dial(cf)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := e.ctxFor(cf)
	rs, err := describe(ctx, c, cf, pos[0])
	cancel()
	if err != nil {
		return err
	}
	w := &rowWriter{e: e, c: c, cf: cf, collection: pos[0], upsert: name == "upsert", rs: rs, quiet: *quiet,
		partition: strings.TrimSpace(*partition)}
	if *random > 0 {
		err = w.writeRandom(*random, *seed, *startID, *batch)
	} else {
		err = w.writeFile(*file, *batch, *stream)
	}
	if err != nil {
		return err
	}
	return w.report()
}

// rowWriter sends batches and keeps the tally that reports and errors need.
type rowWriter struct {
	e          *cliEnv
	c          *client.Client
	cf         *commonFlags
	collection string
	upsert     bool
	rs         *rowSchema
	quiet      bool
	partition  string // "" is the default partition

	rows    int64  // rows acknowledged
	through string // the input position of the last acknowledged row
	batches int
	last    *pb.WriteResponse
	autoIDs []int64
}

func (w *rowWriter) verb() string {
	if w.upsert {
		return "upserted"
	}
	return "inserted"
}

func (w *rowWriter) progressing() string {
	if w.upsert {
		return "upserting"
	}
	return "inserting"
}

func (w *rowWriter) send(rows *pb.Rows, n int, through string) error {
	ctx, cancel := w.e.ctxFor(w.cf)
	defer cancel()
	req := &pb.InsertRequest{Collection: w.collection, Rows: rows, PartitionName: w.partition}
	var resp *pb.WriteResponse
	var err error
	if w.upsert {
		resp, err = w.c.Upsert(ctx, req)
	} else {
		resp, err = w.c.Insert(ctx, req)
	}
	if err != nil {
		return apiErr(err, w.cf)
	}
	w.rows += int64(n)
	w.through = through
	w.batches++
	w.last = resp
	w.autoIDs = append(w.autoIDs, resp.AutoIds...)
	return nil
}

// written says what has been written so far, for error messages.
func (w *rowWriter) written() string {
	if w.rows == 0 {
		return "nothing was written"
	}
	return fmt.Sprintf("%d rows, through %s, were %s before it (session token %d)", w.rows, w.through, w.verb(), w.last.SessionToken)
}

var batchRowRe = regexp.MustCompile(`\brows? (\d+)\b`)

// batchErr explains a batch the server refused or did not answer. It names
// the batch's lines, the input line of a row the server's message points
// to, and what was written before. When the outcome is unknown (timeout,
// interrupt, node gone) it says so: the batch may have been applied.
func (w *rowWriter) batchErr(err error, where string, b *rowBatch) error {
	msg := err.Error()
	if b != nil {
		if m := batchRowRe.FindStringSubmatch(msg); m != nil {
			if i, perr := strconv.Atoi(m[1]); perr == nil && i < len(b.lines) {
				msg += fmt.Sprintf(" (row %d of the batch is line %d)", i, b.lines[i])
			}
		}
	}
	var ae *apiError
	unknown := errors.As(err, &ae) && (ae.code == codes.DeadlineExceeded || ae.code == codes.Canceled ||
		ae.code == codes.Unavailable || ae.code == codes.Unknown)
	note := w.written()
	if unknown {
		note += "; this batch may or may not have been written (upsert is safe to repeat)"
	}
	return fmt.Errorf("%s: %s; %s", where, msg, note)
}

// bar is a progress bar on stderr, drawn only on a terminal and without
// --quiet, so piped output and logs stay clean.
type bar struct {
	pb   *progressbar.ProgressBar
	done bool
}

func (w *rowWriter) newBar(total int64, desc string, bytes bool) *bar {
	return newBar(w.e, w.quiet, total, desc, bytes)
}

// newBar counts rows (or, with bytes, bytes) towards total (-1: unknown).
// insert, import and backup share it.
func newBar(e *cliEnv, quiet bool, total int64, desc string, bytes bool) *bar {
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(e.stderr),
		progressbar.OptionSetVisibility(e.stderrTerminal && !quiet),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetPredictTime(true),
	}
	if bytes {
		opts = append(opts, progressbar.OptionShowBytes(true))
	} else {
		opts = append(opts, progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("rows"))
	}
	return &bar{pb: progressbar.NewOptions64(total, opts...)}
}

// progressLines prints line() to stderr every interval while the bar is
// not drawn (stderr is not a terminal) and not --quiet, so that logs of a
// long command show its progress; stop ends it.
func progressLines(e *cliEnv, quiet bool, every time.Duration, line func() string) (stop func()) {
	if e.stderrTerminal || quiet || every <= 0 {
		return func() {}
	}
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintln(e.stderr, line())
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

func (b *bar) add(n int) { _ = b.pb.Add(n) }
func (b *bar) set(n int64) {
	_ = b.pb.Set64(n)
}

// finish clears the bar before anything else is printed.
func (b *bar) finish() {
	if !b.done {
		b.done = true
		_ = b.pb.Finish()
	}
}

func (w *rowWriter) writeRandom(n int64, seed uint64, start int64, batch int) error {
	// Keep each request's vectors well under the message limit.
	per := int64(min(batch, max(1, maxBatchInput/(4*w.rs.dim+64))))
	bar := w.newBar(n, w.progressing(), false)
	defer bar.finish()
	for done := int64(0); done < n; {
		k := min(per, n-done)
		ids := make([]int64, k)
		for i := range ids {
			ids[i] = start + done + int64(i) + 1
		}
		if err := w.send(randomRows(w.rs, seed, ids), int(k), fmt.Sprintf("id %d", ids[k-1])); err != nil {
			bar.finish()
			return w.batchErr(err, fmt.Sprintf("random rows %d-%d", ids[0], ids[k-1]), nil)
		}
		done += k
		bar.add(int(k))
	}
	return nil
}

// writeFile writes the rows of a JSONL file. A regular file is read twice:
// once to check every line (nothing is sent if one is bad), once to send
// the batches, so memory holds one batch and the set of keys, not the
// file. Standard input, pipes and --stream are read once and checked a
// batch at a time.
func (w *rowWriter) writeFile(path string, batch int, stream bool) error {
	var r io.Reader
	name := path
	if path == "-" {
		r, name, stream = os.Stdin, "stdin", true
	} else {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if !st.Mode().IsRegular() {
			stream = true
		}
		r = f
		if !stream {
			n, err := w.checkFile(f, name, st.Size())
			if err != nil {
				return err
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return err
			}
			return w.sendFile(f, name, batch, n, false)
		}
	}
	return w.sendFile(r, name, batch, -1, true)
}

// checkFile parses the whole file and returns its row count.
func (w *rowWriter) checkFile(r io.Reader, name string, size int64) (int64, error) {
	return checkJSONL(w.e, w.quiet, w.rs, r, name, size)
}

// checkJSONL parses a whole JSONL file of size bytes against rs (keys
// given twice included) with a progress bar, and returns its row count.
// insert and import share it.
func checkJSONL(e *cliEnv, quiet bool, rs *rowSchema, r io.Reader, name string, size int64) (int64, error) {
	bar := newBar(e, quiet, size, "checking "+name, true)
	defer bar.finish()
	jr := newJSONLReader(rs, r, name, true)
	var n int64
	for {
		b, err := jr.next(maxBatchRowsFlag, maxBatchInput)
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
		n += int64(b.len())
		bar.set(jr.read)
	}
	if n == 0 {
		return 0, fmt.Errorf("%s: no rows", name)
	}
	return n, nil
}

// sendFile reads and sends batches; total is the row count when known
// (-1 otherwise). checkKeys finds a key given twice across batches when
// the file was not checked beforehand.
func (w *rowWriter) sendFile(r io.Reader, name string, batch int, total int64, checkKeys bool) error {
	bar := w.newBar(total, w.progressing(), false)
	defer bar.finish()
	jr := newJSONLReader(w.rs, r, name, checkKeys)
	for {
		b, err := jr.next(batch, maxBatchInput)
		if err == io.EOF {
			break
		}
		if err != nil {
			bar.finish()
			if w.rows == 0 {
				return err
			}
			return fmt.Errorf("%w; %s", err, w.written())
		}
		if err := w.send(b.rows, b.len(), fmt.Sprintf("line %d", b.lines[b.len()-1])); err != nil {
			bar.finish()
			return w.batchErr(err, name+" "+b.lineRange(), b)
		}
		bar.add(b.len())
	}
	if w.rows == 0 {
		return fmt.Errorf("%s: no rows", name)
	}
	return nil
}

func (w *rowWriter) report() error {
	if w.cf.json {
		n := uint32(min(w.rows, math.MaxUint32))
		return w.e.printJSON(&pb.WriteResponse{Ts: w.last.Ts, SessionToken: w.last.SessionToken, Inserted: n, AutoIds: w.autoIDs})
	}
	batches := "1 batch"
	if w.batches != 1 {
		batches = fmt.Sprintf("%d batches", w.batches)
	}
	into := w.collection
	if w.partition != "" {
		into += " (partition " + w.partition + ")"
	}
	fmt.Fprintf(w.e.stdout, "%s %d rows into %s in %s; last at ts %s; session token %d\n",
		w.verb(), w.rows, into, batches, formatTs(w.last.Ts), w.last.SessionToken)
	if len(w.autoIDs) > 0 {
		fmt.Fprintf(w.e.stdout, "auto ids: %s\n", summarizeIDs(w.autoIDs))
	}
	return nil
}

// summarizeIDs lists up to 10 ids, and only the ends of a longer list.
func summarizeIDs(ids []int64) string {
	s := make([]string, 0, 10)
	if len(ids) <= 10 {
		for _, id := range ids {
			s = append(s, strconv.FormatInt(id, 10))
		}
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("%d, %d, … %d, %d (%d ids; --json lists them all)", ids[0], ids[1], ids[len(ids)-2], ids[len(ids)-1], len(ids))
}
