package shard

import (
	"context"
	"sync"
	"testing"
	"time"
)

// Every range a caller gets from the node's ts source was handed out after
// the call began, and concurrent callers share requests to the oracle.
func TestTsSourceRangesFollowCalls(t *testing.T) {
	var mu sync.Mutex
	var next uint64 = 100
	calls := 0
	src := &tsSource{alloc: func(ctx context.Context, count int) (TsRange, error) {
		time.Sleep(time.Millisecond) // a round trip, so that callers pile up
		mu.Lock()
		defer mu.Unlock()
		calls++
		r := TsRange{next, next + uint64(count) - 1}
		next += uint64(count)
		return r, nil
	}}
	handedOut := func() uint64 { mu.Lock(); defer mu.Unlock(); return next - 1 }
	const callers, each = 16, 50
	var wg sync.WaitGroup
	errs := make(chan string, callers*each)
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < each; j++ {
				before := handedOut()
				rng, err := src.next(context.Background())
				if err != nil || rng.First <= before || rng.Last < rng.First {
					errs <- "range not above what was handed out before the call"
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	if calls >= callers*each {
		t.Fatalf("%d requests to the oracle for %d calls: none shared", calls, callers*each)
	}
}

// stamp keeps a shard's ts increasing and never above what the oracle
// handed out to the node.
func TestStampStaysWithinHandedOut(t *testing.T) {
	src := &tsSource{}
	src.raiseHi(20)
	for _, tc := range []struct {
		name   string
		rng    TsRange
		last   uint64
		want   uint64
		wantOK bool
	}{
		{"first of a fresh range", TsRange{10, 12}, 5, 10, true},
		{"above the shard's last ts", TsRange{10, 12}, 11, 12, true},
		{"a later range of the node covers it", TsRange{10, 12}, 15, 16, true},
		{"nothing handed out that high", TsRange{10, 12}, 20, 21, false},
	} {
		ts, ok := src.stamp(tc.rng, tc.last)
		if ts != tc.want || ok != tc.wantOK {
			t.Errorf("%s: stamp = %d, %v; want %d, %v", tc.name, ts, ok, tc.want, tc.wantOK)
		}
	}
	// The shard that found nothing high enough has the node ask for more.
	if got := src.floor.Load(); got != 21 {
		t.Errorf("floor after a used-up range = %d, want 21", got)
	}
}
