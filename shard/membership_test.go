package shard

import (
	"fmt"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/raftvec/raftvec/raftnode"
)

func freeLoopback(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func gossiper(t *testing.T, id string, key []byte) *membership {
	t.Helper()
	cfg := HostConfig{NodeID: id, SerfAddr: freeLoopback(t), GossipKey: key, Raft: raftnode.DefaultConfig()}
	m, err := startMembership(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.close)
	return m
}

// TestGossipKey: a Serf agent with another key, or with none, cannot join
// agents whose gossip is encrypted; one with the same key can.
func TestGossipKey(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	seed := gossiper(t, "n1", key)
	for _, tc := range []struct {
		name string
		key  []byte
		want bool
	}{
		{"same key", key, true},
		{"another key", []byte("fedcba9876543210fedcba9876543210"), false},
		{"no key", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := gossiper(t, fmt.Sprintf("n-%d", time.Now().UnixNano()), tc.key)
			n, err := m.serf.Join([]string{seed.addr}, true)
			if joined := err == nil && n == 1; joined != tc.want {
				t.Fatalf("joined %v (n=%d, err=%v), want %v", joined, n, err, tc.want)
			}
			if !tc.want {
				for _, mem := range seed.serf.Members() {
					if mem.Name == m.serf.LocalMember().Name {
						t.Fatalf("the seed lists %s as a member", mem.Name)
					}
				}
			}
		})
	}
}
