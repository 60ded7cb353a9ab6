package index

import "time"

// timeIt is for benchmarks only: tests never assert on wall-clock time.
func timeIt(f func()) float64 {
	t0 := time.Now()
	f()
	return time.Since(t0).Seconds()
}
