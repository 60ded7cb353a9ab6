package shard

import (
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"

	"github.com/raftvec/raftvec/fsm"
)

// Serf tags this node publishes.
const tagLeaders = "leaders" // how many shard leaders the node holds

// membership is this node's Serf agent: it gossips the node's presence and
// tells every node which others are alive, failed or gone. The metadata
// leader records what it says (SetHealth); the scheduler acts on that.
type membership struct {
	serf    *serf.Serf
	events  chan serf.Event
	addr    string      // advertised host:port
	joining atomic.Bool // a join attempt is running
}

func startMembership(cfg HostConfig, logger *slog.Logger) (*membership, error) {
	host, portStr, err := net.SplitHostPort(cfg.SerfAddr)
	if err != nil {
		return nil, fmt.Errorf("serf address %q: %w", cfg.SerfAddr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("serf address %q: port: %w", cfg.SerfAddr, err)
	}
	w := slogWriter{logger.With("component", "serf")}
	mc := memberlist.DefaultLANConfig()
	mc.BindAddr, mc.BindPort = host, port
	mc.AdvertiseAddr, mc.AdvertisePort = host, port
	mc.LogOutput = w
	if len(cfg.GossipKey) > 0 {
		if err := memberlist.ValidateKey(cfg.GossipKey); err != nil {
			return nil, fmt.Errorf("gossip key: %w", err)
		}
		mc.SecretKey = cfg.GossipKey
	}
	// A restarted node may come back on another port (tests); let it
	// reclaim its name from its dead former self.
	mc.DeadNodeReclaimTime = cfg.Raft.HeartbeatTimeout
	sc := serf.DefaultConfig()
	sc.Init()
	sc.NodeName = cfg.NodeID
	sc.MemberlistConfig = mc
	sc.LogOutput = w
	sc.Logger = log.New(w, "", 0)
	sc.Tags = map[string]string{tagLeaders: "0"}
	events := make(chan serf.Event, 64)
	sc.EventCh = events
	s, err := serf.Create(sc)
	if err != nil {
		return nil, fmt.Errorf("serf: %w", err)
	}
	lm := s.LocalMember()
	return &membership{serf: s, events: events, addr: net.JoinHostPort(lm.Addr.String(), strconv.Itoa(int(lm.Port)))}, nil
}

// health maps a Serf member status to the metadata's node states.
func health(s serf.MemberStatus) string {
	switch s {
	case serf.StatusFailed:
		return fsm.NodeFailed
	case serf.StatusLeft:
		return fsm.NodeLeft
	}
	return fsm.NodeAlive // alive, and leaving until it has left
}

// joinKnown joins the Serf agents of the nodes the metadata records that
// this agent does not know yet. The attempt runs in the background, one at
// a time: a dead machine's address can take a connect timeout to fail.
func (m *membership) joinKnown(st fsm.MetaState, self string) {
	known := map[string]bool{}
	for _, mem := range m.serf.Members() {
		known[mem.Name] = true
	}
	var addrs []string
	for id, n := range st.Nodes {
		if id != self && n.SerfAddr != "" && !known[id] {
			addrs = append(addrs, n.SerfAddr)
		}
	}
	if len(addrs) > 0 && m.joining.CompareAndSwap(false, true) {
		go func() {
			defer m.joining.Store(false)
			m.serf.Join(addrs, true) // an unreachable node is retried next time
		}()
	}
}

// leaders returns the shard leaders each node last published.
func (m *membership) leaders() map[string]int {
	out := map[string]int{}
	for _, mem := range m.serf.Members() {
		if mem.Status != serf.StatusAlive {
			continue
		}
		if n, err := strconv.Atoi(mem.Tags[tagLeaders]); err == nil {
			out[mem.Name] = n
		}
	}
	return out
}

// publishLeaders gossips how many shard leaders this node holds, when it
// changed.
func (m *membership) publishLeaders(n int) {
	v := strconv.Itoa(n)
	if m.serf.LocalMember().Tags[tagLeaders] == v {
		return
	}
	m.serf.SetTags(map[string]string{tagLeaders: v})
}

// close stops the agent without a graceful leave: a node that stops is
// failed to the others, restarted within down_after or replaced, the same
// whether it crashed or was stopped.
func (m *membership) close() {
	m.serf.Shutdown()
}

// slogWriter turns the log lines of Serf and memberlist into debug records
// (warnings and errors at their level).
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	switch {
	case strings.Contains(msg, "[ERR]"):
		w.l.Error(msg)
	case strings.Contains(msg, "[WARN]"):
		w.l.Warn(msg)
	default:
		w.l.Debug(msg)
	}
	return len(p), nil
}

var _ io.Writer = slogWriter{}
