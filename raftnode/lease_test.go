package raftnode

import (
	"testing"
	"time"
)

func TestLeaseHolds(t *testing.T) {
	t0 := time.UnixMilli(1_790_000_000_000)
	for _, tc := range []struct {
		name  string
		now   time.Time
		until time.Time
		ready bool
		want  bool
	}{
		{"inside the lease", t0, t0.Add(time.Millisecond), true, true},
		{"at the end: expired", t0, t0, true, false},
		{"after the end", t0.Add(time.Second), t0, true, false},
		{"no successful round yet in this term", t0, time.Time{}, true, false},
		{"term not ready (predecessor's entries not applied)", t0, t0.Add(time.Second), false, false},
	} {
		if got := leaseHolds(tc.now, tc.until, tc.ready); got != tc.want {
			t.Errorf("%s: leaseHolds = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestLeaseNeverOutlivesElectionWindow(t *testing.T) {
	c := DefaultConfig()
	c.NodeID, c.Group, c.Dir = "n1", "g", "/tmp/x"
	c.LeaseDriftMargin = c.HeartbeatTimeout
	if err := c.Validate(); err == nil {
		t.Fatal("a drift margin as long as the heartbeat timeout was accepted")
	}
	c.LeaseDriftMargin = 0
	if err := c.Validate(); err == nil {
		t.Fatal("a zero drift margin was accepted")
	}
	c.LeaseDriftMargin = c.HeartbeatTimeout / 5
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.LeaseDuration() >= c.HeartbeatTimeout {
		t.Fatalf("lease %v is not shorter than the heartbeat timeout %v", c.LeaseDuration(), c.HeartbeatTimeout)
	}
}
