package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/raftvec/raftvec/auth"
	"github.com/raftvec/raftvec/certs"
	"github.com/raftvec/raftvec/fsm"
	"github.com/raftvec/raftvec/milvus"
	"github.com/raftvec/raftvec/rpc"
	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/shard"
	"github.com/raftvec/raftvec/telemetry"
)

// serverFlags are the settings of one node; a config file (JSON, same keys
// as the flags with '-' → '_') sets them first and flags override it.
type serverFlags struct {
	NodeID               string        `json:"node_id"`
	DataDir              string        `json:"data_dir"`
	APIAddr              string        `json:"api_addr"`
	RaftAddr             string        `json:"raft_addr"`
	HTTPAddr             string        `json:"http_addr"`
	SerfAddr             string        `json:"serf_addr"`
	MilvusAddr           string        `json:"milvus_addr"`
	DownAfter            time.Duration `json:"down_after"`
	MaxMoves             int           `json:"max_moves"`
	Peers                string        `json:"peers"`
	Bootstrap            bool          `json:"bootstrap"`
	Join                 string        `json:"join"`
	SealRows             uint          `json:"seal_rows"`
	TickInterval         time.Duration `json:"tick_interval"`
	Heartbeat            time.Duration `json:"heartbeat_timeout"`
	Election             time.Duration `json:"election_timeout"`
	LeaseMargin          time.Duration `json:"lease_drift_margin"`
	SnapThreshold        uint64        `json:"snapshot_threshold"`
	TrailingLogs         uint64        `json:"trailing_logs"`
	LogLevel             string        `json:"log_level"`
	MaxBatchRows         int           `json:"max_batch_rows"`
	FaultInjection       bool          `json:"enable_fault_injection"`
	UnsafeLocal          bool          `json:"unsafe_local_reads"`
	UnsafeNoDedup        bool          `json:"unsafe_skip_dedup"`
	UnsafeFollowerNoWait bool          `json:"unsafe_follower_no_wait"`
	UnsafeLowCut         bool          `json:"unsafe_lowest_ts_cut"`
	UnsafeLocalTs        bool          `json:"unsafe_local_ts"`
	TLSCert              string        `json:"tls_cert"`
	TLSKey               string        `json:"tls_key"`
	TLSCA                string        `json:"tls_ca"`
	TLSReload            time.Duration `json:"tls_reload_interval"`
	GossipKeyFile        string        `json:"gossip_key_file"`
	Auth                 bool          `json:"auth"`
	RootPasswordFile     string        `json:"root_password_file"`
	OTLPEndpoint         string        `json:"otlp_endpoint"`
	OTLPInsecure         bool          `json:"otlp_insecure"`
	TraceSampleRatio     float64       `json:"trace_sample_ratio"`
	ConfigFileUsed       string        `json:"-"`
}

func defaultServerFlags() serverFlags {
	d := shard.DefaultHostConfig()
	return serverFlags{
		NodeID: "n1", DataDir: "./data/n1", APIAddr: "127.0.0.1:7400", RaftAddr: "127.0.0.1:7401", HTTPAddr: "127.0.0.1:7402", SerfAddr: "127.0.0.1:7403",
		DownAfter: d.Placement.DownAfter, MaxMoves: d.Placement.MaxMoves,
		SealRows: uint(d.SealRows), TickInterval: d.TickInterval, Heartbeat: d.Raft.HeartbeatTimeout, Election: d.Raft.ElectionTimeout,
		LeaseMargin: d.Raft.LeaseDriftMargin, SnapThreshold: d.Raft.SnapshotThreshold, TrailingLogs: d.Raft.TrailingLogs,
		LogLevel: "info", MaxBatchRows: d.Limits.MaxBatchRows, TLSReload: 10 * time.Second, TraceSampleRatio: 1,
	}
}

func parseServerFlags(args []string) (serverFlags, error) {
	sf := defaultServerFlags()
	// A config file is read before the flags so that flags override it.
	for i, a := range args {
		var path string
		switch {
		case a == "--config" || a == "-config":
			if i+1 < len(args) {
				path = args[i+1]
			}
		case strings.HasPrefix(a, "--config="), strings.HasPrefix(a, "-config="):
			path = a[strings.Index(a, "=")+1:]
		}
		if path != "" {
			b, err := os.ReadFile(path)
			if err != nil {
				return sf, err
			}
			dec := json.NewDecoder(strings.NewReader(string(b)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&sf); err != nil {
				return sf, fmt.Errorf("config file %s: %w", path, err)
			}
			sf.ConfigFileUsed = path
		}
	}
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.String("config", "", "JSON config file (keys as the flags, with _ for -); flags override it")
	fs.StringVar(&sf.NodeID, "node-id", sf.NodeID, "this node's id (unique in the cluster)")
	fs.StringVar(&sf.DataDir, "data-dir", sf.DataDir, "where this node keeps its data")
	fs.StringVar(&sf.APIAddr, "api-addr", sf.APIAddr, "gRPC API address (listen and advertise)")
	fs.StringVar(&sf.RaftAddr, "raft-addr", sf.RaftAddr, "Raft address shared by all groups (listen and advertise)")
	fs.StringVar(&sf.HTTPAddr, "http-addr", sf.HTTPAddr, "HTTP address for /healthz, /metrics (Prometheus) and /debug/pprof ('' to disable)")
	fs.StringVar(&sf.SerfAddr, "serf-addr", sf.SerfAddr, "membership (gossip) address, TCP and UDP, listen and advertise ('' runs without membership: failed nodes are never replaced)")
	fs.StringVar(&sf.MilvusAddr, "milvus-addr", sf.MilvusAddr, "Milvus-compatible gRPC endpoint (MilvusService; 19530 is Milvus's port) ('' to disable)")
	fs.DurationVar(&sf.DownAfter, "down-after", sf.DownAfter, "how long a node must be failed before its replicas are rebuilt on other nodes")
	fs.IntVar(&sf.MaxMoves, "max-moves", sf.MaxMoves, "replica moves in progress at once, cluster-wide")
	fs.StringVar(&sf.Peers, "peers", sf.Peers, "static initial cluster: id=raft_addr/api_addr,... (the same on every node)")
	fs.BoolVar(&sf.Bootstrap, "bootstrap", sf.Bootstrap, "start a new one-node cluster if this node has no state")
	fs.StringVar(&sf.Join, "join", sf.Join, "API address of a member to join through")
	fs.UintVar(&sf.SealRows, "seal-rows", sf.SealRows, "rows after which a growing segment is sealed (new collections)")
	fs.DurationVar(&sf.TickInterval, "tick-interval", sf.TickInterval, "idle leader time-tick interval")
	fs.DurationVar(&sf.Heartbeat, "heartbeat-timeout", sf.Heartbeat, "Raft heartbeat timeout")
	fs.DurationVar(&sf.Election, "election-timeout", sf.Election, "Raft election timeout")
	fs.DurationVar(&sf.LeaseMargin, "lease-drift-margin", sf.LeaseMargin, "clock-drift margin subtracted from the read lease")
	fs.Uint64Var(&sf.SnapThreshold, "snapshot-threshold", sf.SnapThreshold, "log entries between snapshots")
	fs.Uint64Var(&sf.TrailingLogs, "trailing-logs", sf.TrailingLogs, "log entries kept after a snapshot")
	fs.StringVar(&sf.LogLevel, "log-level", sf.LogLevel, "debug, info, warn or error")
	fs.IntVar(&sf.MaxBatchRows, "max-batch-rows", sf.MaxBatchRows, "most rows one write may carry")
	fs.BoolVar(&sf.FaultInjection, "enable-fault-injection", sf.FaultInjection, "allow the InjectFault admin call (consistency suite only)")
	fs.BoolVar(&sf.UnsafeLocal, "unsafe-local-reads", sf.UnsafeLocal, "UNSAFE: answer STRONG reads from local state (negative control of the consistency suite)")
	fs.BoolVar(&sf.UnsafeNoDedup, "unsafe-skip-dedup", sf.UnsafeNoDedup, "UNSAFE: apply retried requests again (negative control of the consistency suite)")
	fs.BoolVar(&sf.UnsafeLocalTs, "unsafe-local-ts", sf.UnsafeLocalTs, "UNSAFE: stamp ops from each shard leader's clock instead of the timestamp oracle (negative control of the consistency suite)")
	fs.BoolVar(&sf.UnsafeFollowerNoWait, "unsafe-follower-no-wait", sf.UnsafeFollowerNoWait, "UNSAFE: serve a follower's STRONG read once the leader answered its read index, without applying up to it (negative control of the consistency suite)")
	fs.BoolVar(&sf.UnsafeLowCut, "unsafe-lowest-ts-cut", sf.UnsafeLowCut, "UNSAFE: read every shard of a non-STRONG read across shards as of the lowest shard's ts (negative control of the consistency suite)")
	fs.StringVar(&sf.TLSCert, "tls-cert", sf.TLSCert, "this node's certificate (PEM, from raftvec cert node): turns on TLS on every listener and mutual TLS between nodes")
	fs.StringVar(&sf.TLSKey, "tls-key", sf.TLSKey, "the key of --tls-cert (PEM)")
	fs.StringVar(&sf.TLSCA, "tls-ca", sf.TLSCA, "the cluster CA (PEM) that signed every node's certificate")
	fs.DurationVar(&sf.TLSReload, "tls-reload-interval", sf.TLSReload, "how often the certificate files are checked for a rotation (SIGHUP checks at once)")
	fs.StringVar(&sf.GossipKeyFile, "gossip-key-file", sf.GossipKeyFile, "file with the base64 Serf gossip key (raftvec cert gossip-key): encrypts membership traffic; every node needs the same key")
	fs.BoolVar(&sf.Auth, "auth", sf.Auth, "require users: every request must authenticate and hold the privilege it needs (needs --tls-cert)")
	fs.StringVar(&sf.RootPasswordFile, "root-password-file", sf.RootPasswordFile, "file holding the root user's password, used once when the cluster has no users yet ($"+rootPasswordEnv+" instead)")
	fs.StringVar(&sf.OTLPEndpoint, "otlp-endpoint", sf.OTLPEndpoint, "OpenTelemetry collector (OTLP/gRPC, host:port, usually port 4317) to send request traces to ('' turns tracing off)")
	fs.BoolVar(&sf.OTLPInsecure, "otlp-insecure", sf.OTLPInsecure, "send traces to --otlp-endpoint in plaintext instead of TLS")
	fs.Float64Var(&sf.TraceSampleRatio, "trace-sample-ratio", sf.TraceSampleRatio, "fraction (0 to 1) of requests that start a trace; a request from a traced caller follows the caller's choice")
	if err := fs.Parse(args); err != nil {
		return sf, err
	}
	if fs.NArg() > 0 {
		return sf, fmt.Errorf("server: unexpected argument %q", fs.Arg(0))
	}
	return sf, nil
}

func parsePeers(s string) ([]fsm.NodeInfo, error) {
	if s == "" {
		return nil, nil
	}
	var out []fsm.NodeInfo
	for _, p := range strings.Split(s, ",") {
		id, addrs, ok := strings.Cut(strings.TrimSpace(p), "=")
		raftAddr, apiAddr, ok2 := strings.Cut(addrs, "/")
		if !ok || !ok2 || id == "" || raftAddr == "" || apiAddr == "" {
			return nil, fmt.Errorf("peers: %q is not id=raft_addr/api_addr", p)
		}
		out = append(out, fsm.NodeInfo{ID: id, RaftAddr: raftAddr, APIAddr: apiAddr})
	}
	return out, nil
}

func logLevel(s string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(s))
	return l, err
}

func runServer(args []string) error {
	sf, err := parseServerFlags(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	lvl, err := logLevel(sf.LogLevel)
	if err != nil {
		return fmt.Errorf("log-level: %w", err)
	}
	logger := slog.New(telemetry.LogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl})))
	slog.SetDefault(logger) // the audit lines of the request layer
	peers, err := parsePeers(sf.Peers)
	if err != nil {
		return err
	}
	hc := shard.DefaultHostConfig()
	hc.NodeID, hc.DataDir, hc.RaftAddr, hc.APIAddr, hc.SerfAddr = sf.NodeID, sf.DataDir, sf.RaftAddr, sf.APIAddr, sf.SerfAddr
	hc.Placement.DownAfter, hc.Placement.MaxMoves = sf.DownAfter, sf.MaxMoves
	hc.Peers, hc.Bootstrap = peers, sf.Bootstrap
	hc.SealRows, hc.TickInterval = uint32(sf.SealRows), sf.TickInterval
	hc.Raft.HeartbeatTimeout, hc.Raft.ElectionTimeout, hc.Raft.LeaseDriftMargin = sf.Heartbeat, sf.Election, sf.LeaseMargin
	if hc.Raft.LeaderLeaseTimeout > sf.Heartbeat {
		hc.Raft.LeaderLeaseTimeout = sf.Heartbeat / 2
	}
	hc.Raft.SnapshotThreshold, hc.Raft.TrailingLogs = sf.SnapThreshold, sf.TrailingLogs
	hc.Limits.MaxBatchRows = sf.MaxBatchRows
	hc.Unsafe = shard.Unsafe{LocalReads: sf.UnsafeLocal, SkipDedup: sf.UnsafeNoDedup, LowestTsCut: sf.UnsafeLowCut, LocalTs: sf.UnsafeLocalTs,
		FollowerNoWait: sf.UnsafeFollowerNoWait}
	if sf.UnsafeLocal || sf.UnsafeNoDedup || sf.UnsafeLowCut || sf.UnsafeLocalTs || sf.UnsafeFollowerNoWait {
		logger.Warn("UNSAFE mode: this node breaks raftvec's guarantees on purpose", "unsafe_local_reads", sf.UnsafeLocal, "unsafe_skip_dedup", sf.UnsafeNoDedup,
			"unsafe_lowest_ts_cut", sf.UnsafeLowCut, "unsafe_local_ts", sf.UnsafeLocalTs, "unsafe_follower_no_wait", sf.UnsafeFollowerNoWait)
	}
	hc.Logger = logger
	hc.Raft.LogOutput = os.Stderr
	if lvl <= slog.LevelDebug {
		hc.Raft.LogLevel = "DEBUG"
	}
	hc.Raft.NodeID, hc.Raft.Group, hc.Raft.Dir = "validate", "validate", "validate"
	if err := hc.Raft.Validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Clean(sf.DataDir), 0o755); err != nil {
		return err
	}
	var store *certs.Store
	if sf.TLSCert != "" || sf.TLSKey != "" || sf.TLSCA != "" {
		if store, err = certs.Load(certs.Files{Cert: sf.TLSCert, Key: sf.TLSKey, CA: sf.TLSCA}, logger); err != nil {
			return err
		}
		if !certs.IsNode(store.Leaf()) {
			return fmt.Errorf("tls-cert: %s is not a node certificate (make one with raftvec cert node)", sf.TLSCert)
		}
		hc.TLS = store
	}
	if sf.Auth && store == nil {
		return errors.New("auth: users and passwords need TLS; give --tls-cert, --tls-key and --tls-ca (raftvec cert)")
	}
	rootPassword, err := readRootPassword(sf)
	if err != nil {
		return err
	}
	if sf.GossipKeyFile != "" {
		if hc.GossipKey, err = certs.ReadGossipKey(sf.GossipKeyFile); err != nil {
			return err
		}
	}
	tp, stopTracing, err := startTracing(logger, sf)
	if err != nil {
		return err
	}
	defer stopTracing()
	// Before any group starts, so that Raft's metrics reach the registry.
	metricsHandler, err := startMetrics()
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	raftLn, err := net.Listen("tcp", sf.RaftAddr)
	if err != nil {
		return fmt.Errorf("raft-addr: %w", err)
	}
	apiLn, err := net.Listen("tcp", sf.APIAddr)
	if err != nil {
		raftLn.Close()
		return fmt.Errorf("api-addr: %w", err)
	}
	host, err := shard.NewHost(hc, raftLn)
	if err != nil {
		apiLn.Close()
		return err
	}
	var authn *auth.Authenticator
	if sf.Auth {
		authn = auth.NewAuthenticator(host.Accounts())
	}
	srv := rpc.NewServer(host, rpc.Options{FaultInjection: sf.FaultInjection, TLS: store, Auth: authn, TracerProvider: tp})
	gs := srv.GRPCServer()
	pb.RegisterAuthServer(gs, auth.NewService(authn, sf.NodeID, host.Meta, srv.ProposeOp))
	if sf.Auth {
		go bootstrapRoot(logger, host, srv, rootPassword)
	}
	ms := milvus.NewServer(milvus.Config{API: srv.Guarded(), NodeID: sf.NodeID, Peers: func() []string { return peerAPIAddrs(host) }, Dial: srv.Conn})
	ms.RegisterSessions(gs)
	go gs.Serve(apiLn)
	var mgs *grpc.Server
	if sf.MilvusAddr != "" {
		mln, err := net.Listen("tcp", sf.MilvusAddr)
		if err != nil {
			gs.Stop()
			host.Close()
			return fmt.Errorf("milvus-addr: %w", err)
		}
		// Only the Milvus service (and gRPC health): the Admin service
		// stays on the API port.
		mgs = grpc.NewServer(srv.ServerOptions()...)
		ms.Register(mgs)
		hs := health.NewServer()
		hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
		healthpb.RegisterHealthServer(mgs, hs)
		go mgs.Serve(mln)
	}
	var hs *http.Server
	if sf.HTTPAddr != "" {
		hs = &http.Server{Addr: sf.HTTPAddr, Handler: httpMux(host, metricsHandler), ReadHeaderTimeout: 5 * time.Second}
		serve := hs.ListenAndServe
		if store != nil {
			hs.TLSConfig = store.ServerConfig(false)
			serve = func() error { return hs.ListenAndServeTLS("", "") }
		}
		go func() {
			if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("http server", "err", err)
			}
		}()
	}
	logger.Info("raftvec node started", "node", sf.NodeID, "api", sf.APIAddr, "milvus", sf.MilvusAddr, "raft", sf.RaftAddr, "http", sf.HTTPAddr, "serf", sf.SerfAddr,
		"data", sf.DataDir, "tls", store != nil, "gossip_encrypted", len(hc.GossipKey) > 0)
	if sf.Join != "" {
		go joinCluster(logger, sf, store)
	}
	stopWatch := make(chan struct{})
	defer close(stopWatch)
	if store != nil && sf.TLSReload > 0 {
		go store.Watch(sf.TLSReload, stopWatch)
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	for s := range sig {
		if s != syscall.SIGHUP {
			break
		}
		if store == nil {
			continue
		}
		if _, err := store.Reload(); err != nil {
			logger.Warn("tls: reload on SIGHUP failed; keeping the current certificate", "err", err)
		}
	}
	logger.Info("shutting down")
	stopped := make(chan struct{})
	go func() {
		if mgs != nil {
			mgs.GracefulStop()
		}
		gs.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		if mgs != nil {
			mgs.Stop()
		}
		gs.Stop()
	}
	if hs != nil {
		hs.Close()
	}
	srv.Close()
	return host.Close()
}

const rootPasswordEnv = "RAFTVEC_ROOT_PASSWORD"

func readRootPassword(sf serverFlags) (string, error) {
	pw := os.Getenv(rootPasswordEnv)
	if sf.RootPasswordFile != "" {
		b, err := os.ReadFile(sf.RootPasswordFile)
		if err != nil {
			return "", fmt.Errorf("root-password-file: %w", err)
		}
		pw = strings.TrimRight(string(b), "\r\n")
	}
	if pw != "" {
		if err := auth.ValidPassword("root password", pw); err != nil {
			return "", err
		}
	}
	return pw, nil
}

// bootstrapRoot makes the root user once the metadata group has a leader,
// unless the cluster has users already.
func bootstrapRoot(logger *slog.Logger, host *shard.Host, srv *rpc.Server, password string) {
	for i := 0; !host.Accounts().HasUsers(); i++ {
		if password == "" {
			if host.MetaCaughtUp() && i%30 == 0 {
				logger.Warn("auth: the cluster has no users yet; start a node with $" + rootPasswordEnv + " or --root-password-file to make the root user")
			}
			time.Sleep(time.Second)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := auth.Bootstrap(ctx, password, srv.ProposeOp)
		cancel()
		if err == nil {
			logger.Info("auth: root user bootstrapped (or already present)")
			return
		}
		if i%10 == 0 {
			logger.Info("auth: waiting to bootstrap the root user", "err", err)
		}
		time.Sleep(time.Second)
	}
}

// joinCluster asks the cluster at sf.Join to add this node, retrying until
// it is added.
func joinCluster(logger *slog.Logger, sf serverFlags, store *certs.Store) {
	var opts []client.Option
	if store != nil {
		opts = append(opts, client.WithTLS(store.ClientConfig("")))
	}
	c, err := client.New(strings.Split(sf.Join, ","), opts...)
	if err != nil {
		logger.Error("join", "err", err)
		return
	}
	defer c.Close()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := c.Join(ctx, &pb.JoinRequest{NodeId: sf.NodeID, RaftAddr: sf.RaftAddr, ApiAddr: sf.APIAddr})
		cancel()
		if err == nil {
			logger.Info("joined the cluster", "via", sf.Join)
			return
		}
		logger.Warn("join failed; retrying", "via", sf.Join, "err", err)
		time.Sleep(time.Second)
	}
}

// peerAPIAddrs lists the API addresses of the other nodes in the metadata.
func peerAPIAddrs(host *shard.Host) []string {
	var out []string
	for id, n := range host.Meta().Nodes {
		if id != host.NodeID() && n.APIAddr != "" {
			out = append(out, n.APIAddr)
		}
	}
	return out
}

func httpMux(host *shard.Host, metrics http.Handler) *http.ServeMux {
	m := http.NewServeMux()
	m.Handle("/metrics", metrics)
	m.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	m.HandleFunc("/debug/pprof/", pprof.Index)
	m.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	m.HandleFunc("/debug/pprof/profile", pprof.Profile)
	m.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	m.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return m
}
