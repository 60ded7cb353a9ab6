package raftnode

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Each connection to a Mux starts with a header naming the group it is for
// and the address of the node that dialled:
//
//	magic(2) len(group)(1) group len(from)(1) from
var muxMagic = [2]byte{'R', 'V'}

const headerTimeout = 5 * time.Second

// groupWait is how long an incoming connection waits for its group to be
// started on this node.
const groupWait = 5 * time.Second

// ErrBlocked is returned when dialling a peer that the mux was told to cut
// off (a test and fault-injection hook).
var ErrBlocked = errors.New("raftnode: link blocked")

// Mux shares one TCP listener among every Raft group of a node.
type Mux struct {
	ln   net.Listener
	addr string // advertised address, sent in every header
	tls  *MuxTLS

	mu      sync.Mutex
	groups  map[string]*streamLayer
	blocked map[string]bool              // peer addresses cut off
	conns   map[string]map[net.Conn]bool // live connections by peer address
	closed  bool
}

// MuxTLS makes every Raft connection mutual TLS: Server configures the
// listener (it must demand and verify the peer's certificate), Client the
// connections the node dials, for the host it dials.
type MuxTLS struct {
	Server *tls.Config
	Client func(host string) *tls.Config
}

// NewMux serves ln. advertise is the address other nodes dial to reach it.
// With t, connections in both directions are TLS; without, plaintext.
func NewMux(ln net.Listener, advertise string, t *MuxTLS) *Mux {
	if t != nil {
		ln = tls.NewListener(ln, t.Server)
	}
	m := &Mux{ln: ln, addr: advertise, tls: t, groups: map[string]*streamLayer{},
		blocked: map[string]bool{}, conns: map[string]map[net.Conn]bool{}}
	go m.serve()
	return m
}

// Addr is the advertised address.
func (m *Mux) Addr() string { return m.addr }

// Close stops the listener and every group's layer.
func (m *Mux) Close() error {
	m.mu.Lock()
	m.closed = true
	for _, g := range m.groups {
		g.closeLocked()
	}
	var open []net.Conn
	for _, cs := range m.conns {
		for c := range cs {
			open = append(open, c)
		}
	}
	m.conns = map[string]map[net.Conn]bool{}
	m.mu.Unlock()
	for _, c := range open {
		c.Close()
	}
	return m.ln.Close()
}

// Block cuts (or restores) the links between this node and peer in both
// directions and closes the connections already open. Used by tests and by
// the fault-injection admin call of the consistency suite.
func (m *Mux) Block(peer string, blocked bool) {
	m.mu.Lock()
	if !blocked {
		delete(m.blocked, peer)
		m.mu.Unlock()
		return
	}
	m.blocked[peer] = true
	open := m.conns[peer]
	delete(m.conns, peer)
	m.mu.Unlock()
	for c := range open {
		c.Close()
	}
}

// Blocked lists the peers currently cut off.
func (m *Mux) Blocked() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for p := range m.blocked {
		out = append(out, p)
	}
	return out
}

func (m *Mux) serve() {
	for {
		c, err := m.ln.Accept()
		if err != nil {
			return
		}
		go m.route(c)
	}
}

func (m *Mux) route(c net.Conn) {
	c.SetDeadline(time.Now().Add(headerTimeout))
	if tc, ok := c.(*tls.Conn); ok {
		// A peer without a certificate from the cluster CA is refused
		// here, before it can name a group.
		if err := tc.Handshake(); err != nil {
			c.Close()
			return
		}
	}
	br := bufio.NewReader(c)
	group, from, err := readHeader(br)
	if err != nil {
		c.Close()
		return
	}
	c.SetDeadline(time.Time{})
	// A peer may dial a group this node is about to start (it learns of a
	// new shard a moment after the peer does). Holding the connection for a
	// while, rather than refusing it, spares the peer Raft's replication
	// backoff, which grows to tens of seconds after repeated failures.
	var g *streamLayer
	deadline := time.Now().Add(groupWait)
	for {
		m.mu.Lock()
		g = m.groups[group]
		if g != nil || m.blocked[from] || m.closed || time.Now().After(deadline) {
			break
		}
		m.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	if g == nil || m.blocked[from] || m.closed {
		m.mu.Unlock()
		c.Close()
		return
	}
	tc := m.trackLocked(from, &bufConn{Conn: c, r: br})
	m.mu.Unlock()
	select {
	case g.accept <- tc:
	case <-g.done:
		c.Close()
	case <-time.After(headerTimeout):
		c.Close()
	}
}

// trackLocked records c as a link to peer so that Block can cut it.
func (m *Mux) trackLocked(peer string, c net.Conn) net.Conn {
	if m.conns[peer] == nil {
		m.conns[peer] = map[net.Conn]bool{}
	}
	tc := &trackedConn{Conn: c, m: m, peer: peer}
	m.conns[peer][tc] = true
	return tc
}

func (m *Mux) untrack(peer string, c net.Conn) {
	m.mu.Lock()
	delete(m.conns[peer], c)
	m.mu.Unlock()
}

func readHeader(r *bufio.Reader) (group, from string, err error) {
	var magic [2]byte
	if _, err = io.ReadFull(r, magic[:]); err != nil {
		return
	}
	if magic != muxMagic {
		return "", "", fmt.Errorf("raftnode: bad connection header")
	}
	read := func() (string, error) {
		n, err := r.ReadByte()
		if err != nil {
			return "", err
		}
		b := make([]byte, n)
		_, err = io.ReadFull(r, b)
		return string(b), err
	}
	if group, err = read(); err != nil {
		return
	}
	from, err = read()
	return
}

func writeHeader(w io.Writer, group, from string) error {
	if len(group) > 255 || len(from) > 255 {
		return fmt.Errorf("raftnode: group or address longer than 255 bytes")
	}
	b := append([]byte{}, muxMagic[:]...)
	b = append(b, byte(len(group)))
	b = append(b, group...)
	b = append(b, byte(len(from)))
	b = append(b, from...)
	_, err := w.Write(b)
	return err
}

// Layer returns the raft.StreamLayer of one group. A group's layer is
// removed by closing it.
func (m *Mux) Layer(group string) (raft.StreamLayer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, net.ErrClosed
	}
	if _, ok := m.groups[group]; ok {
		return nil, fmt.Errorf("raftnode: group %q already has a layer", group)
	}
	l := &streamLayer{m: m, group: group, accept: make(chan net.Conn), done: make(chan struct{})}
	m.groups[group] = l
	return l, nil
}

type streamLayer struct {
	m      *Mux
	group  string
	accept chan net.Conn
	done   chan struct{}
	once   sync.Once
}

func (l *streamLayer) Accept() (net.Conn, error) {
	select {
	case c := <-l.accept:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *streamLayer) Close() error {
	l.m.mu.Lock()
	defer l.m.mu.Unlock()
	l.closeLocked()
	return nil
}

func (l *streamLayer) closeLocked() {
	l.once.Do(func() { close(l.done) })
	if l.m.groups[l.group] == l {
		delete(l.m.groups, l.group)
	}
}

func (l *streamLayer) Addr() net.Addr { return strAddr(l.m.addr) }

func (l *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	peer := string(address)
	l.m.mu.Lock()
	blocked := l.m.blocked[peer]
	l.m.mu.Unlock()
	if blocked {
		return nil, ErrBlocked
	}
	c, err := l.m.dial(peer, timeout)
	if err != nil {
		return nil, err
	}
	c.SetWriteDeadline(time.Now().Add(timeout))
	if err := writeHeader(c, l.group, l.m.addr); err != nil {
		c.Close()
		return nil, err
	}
	c.SetWriteDeadline(time.Time{})
	l.m.mu.Lock()
	defer l.m.mu.Unlock()
	if l.m.blocked[peer] {
		c.Close()
		return nil, ErrBlocked
	}
	return l.m.trackLocked(peer, c), nil
}

func (m *Mux) dial(peer string, timeout time.Duration) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout}
	if m.tls == nil {
		return d.Dial("tcp", peer)
	}
	host, _, err := net.SplitHostPort(peer)
	if err != nil {
		return nil, err
	}
	return tls.DialWithDialer(d, "tcp", peer, m.tls.Client(host))
}

type strAddr string

func (a strAddr) Network() string { return "tcp" }
func (a strAddr) String() string  { return string(a) }

// bufConn reads through the reader that consumed the header.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

type trackedConn struct {
	net.Conn
	m    *Mux
	peer string
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.m.untrack(c.peer, c) })
	return c.Conn.Close()
}
