package milvus

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"
)

type fakePeer struct {
	ts      uint64
	started time.Time
	err     error
}

func (p fakePeer) SessionTs(context.Context, int64) (uint64, time.Time, error) {
	return p.ts, p.started, p.err
}

func TestIdentifier(t *testing.T) {
	now := time.UnixMilli(1_800_000_000_000)
	a, b := newIdentifier(now), newIdentifier(now)
	if a <= 0 || a == b {
		t.Fatalf("identifiers %d, %d: want positive and distinct", a, b)
	}
	if got := identifierTime(a); !got.Equal(now) {
		t.Errorf("identifierTime = %v, want %v", got, now)
	}
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(identifierKey, "12345"))
	if got := identifierOf(ctx); got != 12345 {
		t.Errorf("identifierOf = %d", got)
	}
	for _, bad := range []string{"", "x", "-5", "0"} {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(identifierKey, bad))
		if got := identifierOf(ctx); got != 0 {
			t.Errorf("identifierOf(%q) = %d, want 0", bad, got)
		}
	}
}

// A Session token is the highest ts any node has for the connection, and
// only when every node can vouch for its part.
func TestSessionToken(t *testing.T) {
	made := time.Now()
	id := newIdentifier(made)
	early := made.Add(-time.Hour)      // up since before the identifier
	late := made.Add(-clockMargin / 2) // restarted too recently to know
	tests := []struct {
		name   string
		self   time.Time
		local  uint64
		peers  []SessionPeer
		tok    uint64
		wantOK bool
	}{
		{"alone", early, 7, nil, 7, true},
		{"a peer has the latest write", early, 7, []SessionPeer{fakePeer{ts: 9, started: early}, fakePeer{ts: 3, started: early}}, 9, true},
		{"nobody has seen it", early, 0, []SessionPeer{fakePeer{started: early}}, 0, true},
		{"a peer cannot be asked", early, 7, []SessionPeer{fakePeer{ts: 9, started: early}, fakePeer{err: errors.New("down")}}, 9, false},
		{"a peer restarted since", early, 7, []SessionPeer{fakePeer{ts: 0, started: late}}, 7, false},
		{"this node restarted since", late, 0, []SessionPeer{fakePeer{ts: 9, started: early}}, 0, false},
	}
	for _, tt := range tests {
		s := newSessions()
		s.started = tt.self
		s.observe(id, tt.local)
		tok, ok := s.token(context.Background(), id, tt.peers)
		if ok != tt.wantOK || (ok && tok != tt.tok) {
			t.Errorf("%s: token = %d, %v; want %d, %v", tt.name, tok, ok, tt.tok, tt.wantOK)
		}
	}
}

func TestSessionsObserve(t *testing.T) {
	s := newSessions()
	s.observe(1, 10)
	s.observe(1, 5) // older: kept at 10
	s.observe(0, 99)
	s.observe(2, 0)
	if got := s.local(1); got != 10 {
		t.Errorf("local(1) = %d, want 10", got)
	}
	if len(s.byID) != 1 {
		t.Errorf("table has %d entries, want 1 (id 0 and ts 0 are not recorded)", len(s.byID))
	}
	s.byID[1].seen = time.Now().Add(-2 * sessionIdle)
	for i := 0; i < sweepEvery; i++ {
		s.observe(3, 1)
	}
	if _, ok := s.byID[1]; ok {
		t.Error("an entry idle for longer than sessionIdle survived a sweep")
	}
}
