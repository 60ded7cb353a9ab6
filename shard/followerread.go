package shard

import (
	"context"
	"sync"
	"time"
)

// leaderIndexTimeout bounds one read-index call to the leader; a read that
// gets no index in time goes to the leader by forwarding.
const leaderIndexTimeout = time.Second

// indexBatcher shares one read-index call to the leader among all of a
// follower's STRONG reads that arrive while the previous call is in flight,
// as the leader shares one quorum round among its reads. A read never
// joins a call that began before it arrived: it waits for the next one,
// whose answer the leader computes after the read arrived.
type indexBatcher struct {
	call func(ctx context.Context) (uint64, error)

	mu      sync.Mutex
	next    *indexRound
	running bool
}

type indexRound struct {
	done  chan struct{}
	index uint64
	err   error
}

// get returns a read index fetched by a call begun after get was called.
func (b *indexBatcher) get(ctx context.Context) (uint64, error) {
	b.mu.Lock()
	if b.next == nil {
		b.next = &indexRound{done: make(chan struct{})}
	}
	r := b.next
	if !b.running {
		b.running = true
		go b.run()
	}
	b.mu.Unlock()
	select {
	case <-r.done:
		return r.index, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (b *indexBatcher) run() {
	for {
		b.mu.Lock()
		r := b.next
		b.next = nil
		if r == nil {
			b.running = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), leaderIndexTimeout)
		r.index, r.err = b.call(ctx)
		cancel()
		close(r.done)
	}
}
