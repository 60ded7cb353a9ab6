package history

import (
	"io"
	"slices"
	"sync"
	"time"
)

// Clock returns nanoseconds since start on the monotonic clock.
func Clock(start time.Time) func() int64 {
	return func() int64 { return int64(time.Since(start)) }
}

// Recorder collects the operations of a run. It is safe for concurrent use by
// the client goroutines.
type Recorder struct {
	now func() int64

	mu   sync.Mutex
	ops  []Op
	sink *Writer
	err  error
}

// NewRecorder returns a Recorder reading time from now. When sink is not nil
// every recorded operation is also written to it as a JSON line as it
// completes, so a history survives a crashed harness.
func NewRecorder(now func() int64, sink io.Writer) *Recorder {
	r := &Recorder{now: now}
	if sink != nil {
		r.sink = NewWriter(sink)
	}
	return r
}

// Now is the current time of the run, for Op.Call and Op.Return.
func (r *Recorder) Now() int64 { return r.now() }

// Record assigns op the next ID, keeps it and returns it. Record the
// operation once, when it completes (Ok, Fail) or when the client gives up
// on it (Unknown).
func (r *Recorder) Record(op Op) Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	op.ID = len(r.ops)
	r.ops = append(r.ops, op)
	if r.sink != nil && r.err == nil {
		if err := r.sink.Write(op); err != nil {
			r.err = err
		} else if err := r.sink.Flush(); err != nil {
			r.err = err
		}
	}
	return op
}

// Ops returns a copy of the recorded operations in ID order.
func (r *Recorder) Ops() []Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ops)
}

// Err reports the first error writing to the sink.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}
