package benchutil

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Worker is one closed-loop client: Do sends one request and waits for
// its answer.
type Worker interface {
	Do(ctx context.Context) error
	Close()
}

// Result is one workload's measurement.
type Result struct {
	Ops      int64 // requests that succeeded
	Reqs     int64 // requests sent
	Errs     int64 // requests that failed
	FirstErr error
	Elapsed  time.Duration
	P50, P99 time.Duration // latency of successful requests
}

// OpsPerSec is successful requests per second.
func (r Result) OpsPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Ops) / r.Elapsed.Seconds()
}

// Drive runs `clients` workers made by newWorker(0..clients-1), each
// sending requests back to back (30 s timeout each; 10 ms pause after a
// failure) until d is over. If a worker cannot be made, Drive returns
// at once with only FirstErr set.
func Drive(clients int, d time.Duration, newWorker func(i int) (Worker, error)) Result {
	return DriveObserved(clients, d, newWorker, nil, nil)
}

// DriveObserved is Drive that also calls started right before the clock
// starts (after every worker was made) and stopped right after the last
// request of the measured window returned (before the workers are
// closed); either may be nil. Use it to sample counters, such as CPU
// time, over exactly the measured window.
func DriveObserved(clients int, d time.Duration, newWorker func(i int) (Worker, error), started, stopped func()) Result {
	var (
		res      Result
		mu       sync.Mutex
		lats     []time.Duration
		ops      atomic.Int64
		reqs     atomic.Int64
		errs     atomic.Int64
		firstErr error
	)
	ws := make([]Worker, 0, clients)
	for i := 0; i < clients; i++ {
		w, err := newWorker(i)
		if err != nil {
			res.FirstErr = err
			for _, x := range ws {
				x.Close()
			}
			return res
		}
		ws = append(ws, w)
	}
	var wg sync.WaitGroup
	if started != nil {
		started()
	}
	start := time.Now()
	end := start.Add(d)
	for _, w := range ws {
		wg.Add(1)
		go func(w Worker) {
			defer wg.Done()
			local := make([]time.Duration, 0, 1024)
			for time.Now().Before(end) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				t0 := time.Now()
				err := w.Do(ctx)
				lat := time.Since(t0)
				cancel()
				reqs.Add(1)
				if err != nil {
					errs.Add(1)
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					time.Sleep(10 * time.Millisecond)
					continue
				}
				ops.Add(1)
				local = append(local, lat)
			}
			mu.Lock()
			lats = append(lats, local...)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	if stopped != nil {
		stopped()
	}
	for _, w := range ws {
		w.Close()
	}
	res.Ops, res.Reqs, res.Errs, res.FirstErr = ops.Load(), reqs.Load(), errs.Load(), firstErr
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	res.P50, res.P99 = Percentile(lats, 0.50), Percentile(lats, 0.99)
	return res
}

// Percentile is the nearest-rank percentile of sorted values.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}
