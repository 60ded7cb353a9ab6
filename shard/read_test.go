package shard

import (
	"errors"
	"testing"
	"time"

	"github.com/raftvec/raftvec/fsm"
)

func TestNextTs(t *testing.T) {
	const ms = 1 << LogicalBits
	for _, tc := range []struct {
		name                   string
		physical, last, client uint64
		want                   uint64
	}{
		{"clock ahead of everything", 100 * ms, 50 * ms, 10 * ms, 100 * ms},
		{"two writes in one millisecond", 100 * ms, 100 * ms, 0, 100*ms + 1},
		{"clock stepped backwards", 90 * ms, 100*ms + 7, 0, 100*ms + 8},
		{"clock jumped forwards", 5000 * ms, 100 * ms, 0, 5000 * ms},
		{"client has seen a later ts (another leader's clock was ahead)", 100 * ms, 100 * ms, 200 * ms, 200*ms + 1},
		{"first write of a new leader", 100 * ms, 0, 0, 100 * ms},
	} {
		if got := NextTs(tc.physical, tc.last, tc.client); got != tc.want {
			t.Errorf("%s: NextTs(%d, %d, %d) = %d, want %d", tc.name, tc.physical, tc.last, tc.client, got, tc.want)
		}
		if got := NextTs(tc.physical, tc.last, tc.client); got <= tc.last || got <= tc.client {
			t.Errorf("%s: %d is not above last %d and client %d", tc.name, got, tc.last, tc.client)
		}
	}
}

func TestTsRoundTrip(t *testing.T) {
	now := time.UnixMilli(1_790_000_000_123)
	if got := TsTime(MakeTs(now)); !got.Equal(now) {
		t.Fatalf("TsTime(MakeTs(%v)) = %v", now, got)
	}
	if MakeTs(now)+1 <= MakeTs(now) || TsTime(MakeTs(now)+1) != now {
		t.Fatal("the logical part must not change the physical time")
	}
}

func TestPlanRead(t *testing.T) {
	now := time.UnixMilli(1_790_000_000_000)
	for _, tc := range []struct {
		name  string
		o     ReadOptions
		lease bool
		want  readPlan
		err   bool
	}{
		{"strong needs a read index", ReadOptions{Level: Strong}, true, readPlan{readIndex: true}, false},
		{"strong ignores the lease", ReadOptions{Level: Strong}, false, readPlan{readIndex: true}, false},
		{"bounded on a leader with a lease reads locally", ReadOptions{Level: Bounded, MaxStaleness: time.Second}, true, readPlan{}, false},
		{"bounded elsewhere waits for now - staleness and needs recent contact with the leader", ReadOptions{Level: Bounded, MaxStaleness: time.Second}, false,
			readPlan{waitTs: MakeTs(now.Add(-time.Second)), fresh: time.Second}, false},
		{"bounded default staleness", ReadOptions{Level: Bounded}, false, readPlan{waitTs: MakeTs(now.Add(-DefaultMaxStaleness)), fresh: DefaultMaxStaleness}, false},
		{"session waits for its token", ReadOptions{Level: Session, SessionToken: 12345}, false, readPlan{waitTs: 12345}, false},
		{"session with no token reads locally", ReadOptions{Level: Session}, false, readPlan{}, false},
		{"eventual never waits", ReadOptions{Level: Eventual}, false, readPlan{}, false},
		{"as-of waits for the ts and reads at it, whatever the level", ReadOptions{Level: Strong, AsOf: 777}, true, readPlan{waitTs: 777, asOf: 777}, false},
		{"unknown level", ReadOptions{Level: 9}, false, readPlan{}, true},
	} {
		got, err := planRead(tc.o, now, tc.lease)
		if (err != nil) != tc.err {
			t.Errorf("%s: err = %v", tc.name, err)
			continue
		}
		if tc.err && !errors.Is(err, fsm.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", tc.name, err)
		}
		if got != tc.want {
			t.Errorf("%s: plan = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestClockOffset(t *testing.T) {
	base := time.UnixMilli(1_790_000_000_000)
	c := NewClock(func() time.Time { return base })
	c.SetOffset(-3 * time.Second)
	if got := c.Now(); !got.Equal(base.Add(-3 * time.Second)) {
		t.Fatalf("Now() = %v", got)
	}
	if c.Physical() != MakeTs(base.Add(-3*time.Second)) {
		t.Fatal("Physical ignores the offset")
	}
}
