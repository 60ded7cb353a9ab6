package raftnode

import (
	"context"
	"sync"
	"testing"
	"time"
)

// A read that arrives while a call is in flight waits for the next call,
// and every read that arrived during one call shares the next.
func TestRoundsNeverReuseAnEarlierCall(t *testing.T) {
	release := make(chan uint64)
	var mu sync.Mutex
	calls := 0
	b := &Rounds{Call: func(context.Context) (uint64, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		return <-release, nil
	}}
	ctx := context.Background()
	first := make(chan uint64)
	go func() { i, _ := b.Get(ctx); first <- i }()
	waitCalls := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; {
			mu.Lock()
			c := calls
			mu.Unlock()
			if c == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d calls, want %d", c, n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitCalls(1)
	// Three reads arrive while call 1 is in flight.
	later := make(chan uint64, 3)
	for range 3 {
		go func() { i, _ := b.Get(ctx); later <- i }()
	}
	time.Sleep(20 * time.Millisecond) // let them join
	release <- 10                     // call 1 answers
	if got := <-first; got != 10 {
		t.Fatalf("first read got index %d, want 10", got)
	}
	waitCalls(2) // one call for the three
	release <- 20
	for range 3 {
		if got := <-later; got != 20 {
			t.Fatalf("a read that arrived during call 1 got index %d, want call 2's 20", got)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 2 {
		t.Fatalf("%d calls for 4 reads in two waves, want 2", calls)
	}
}
