package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/raftvec/raftvec/certs"
	"github.com/raftvec/raftvec/rpc/client"
)

// The client subcommands of raftvec. Each one parses its flags, calls the
// Go SDK (rpc/client) and prints the answer as a table or, with --json, as
// protojson. cli_args.go and cli_rows.go hold the pure parsing they need.

const (
	defaultAddr       = "127.0.0.1:7400"
	addrEnv           = "RAFTVEC_ADDR"
	tlsCAEnv          = "RAFTVEC_TLS_CA"
	userEnv           = "RAFTVEC_USER"
	passwordEnv       = "RAFTVEC_PASSWORD"
	tokenEnv          = "RAFTVEC_TOKEN"
	defaultTimeout    = 10 * time.Second
	defaultRowTimeout = time.Minute // per batch, for insert and upsert
)

// cliEnv is what a client command runs against; tests can fill it with
// buffers.
type cliEnv struct {
	ctx            context.Context
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
	// stderrTerminal says whether progress bars can be drawn.
	stderrTerminal bool
}

type clientCommand struct {
	usage string // after "raftvec "
	about string
	run   func(e *cliEnv, name string, args []string) error
}

// clientCommands is keyed by the command as typed: "insert", "collection
// create". It is a function, not a variable, because the commands' usage
// refers back to it.
func clientCommands() map[string]clientCommand {
	m := map[string]clientCommand{
		"collection create": {
			usage: "collection create NAME --dim D --metric l2|ip|cosine [--replicas R] [--auto-id] [--consistency LEVEL]\n       raftvec collection create NAME --schema schema.json [--replicas R] [--consistency LEVEL]",
			about: `Creates a collection. With --dim and --metric the schema is an int64
primary key "id" (assigned by the server with --auto-id) and a float vector
"vector". --schema reads a whole CollectionSchema written as protojson, e.g.
  {"fields": [{"name": "pk", "type": "VARCHAR", "primaryKey": true, "maxLength": 64},
              {"name": "emb", "type": "FLOAT_VECTOR", "dim": 128, "metric": "COSINE"},
              {"name": "price", "type": "DOUBLE", "nullable": true},
              {"name": "category", "type": "VARCHAR", "maxLength": 32},
              {"name": "stock", "type": "INT64", "defaultValue": {"int64": "0"}},
              {"name": "meta", "type": "JSON", "nullable": true}]}
Scalar field types are BOOL, INT64, DOUBLE, VARCHAR (maxLength) and JSON;
rows may leave out a field that is nullable or has a defaultValue. Filters
(search, query, delete --filter) use the scalar fields.
--replicas is the number of voters per shard (default: min(3, nodes)).
--consistency strong|bounded|session|eventual is the level of reads that
name none (default strong; docs/consistency.md); a read's own
--consistency overrides it. It is the schema's "defaultConsistency".`,
			run: runCollectionCreate,
		},
		"collection list":     {usage: "collection list", about: "Lists the collections.", run: runCollectionList},
		"collection describe": {usage: "collection describe NAME", about: "Shows a collection's schema, default read level, shards and row count.", run: runCollectionDescribe},
		"collection drop":     {usage: "collection drop NAME", about: "Drops a collection and all its rows.", run: runCollectionDrop},
		"replica add": {
			usage: "replica add COLLECTION --node N --non-voter",
			about: `Adds an analytics replica of every shard of a collection on node N: a Raft
non-voter that receives the log but never counts toward a write quorum, so
a slow or stopped analytics replica never slows or stops writes. It serves
bounded, session and eventual reads and reads --as-of a past time; strong
reads always go to the shard leader. Only non-voters can be added by hand
for now (--non-voter is required); voters are placed when the collection is
created (collection create --replicas). raftvec status --all shows the new
replica's suffrage and lag.`,
			run: runReplicaAdd,
		},
		"replica move": {
			usage: "replica move SHARD --from N --to M",
			about: `Moves shard SHARD's voting replica from node N to node M, in the steps the
placement scheduler uses after a failure or a join: M starts an empty
replica and catches up as a non-voter, is promoted to voter, N is removed,
and N deletes its copy only once the move is recorded as finished. The
command returns when the move is recorded; raftvec status lists it until it
finishes. Shard ids are in raftvec collection describe and raftvec status.`,
			run: runReplicaMove,
		},
		"leader transfer": {
			usage: "leader transfer SHARD [--to N]",
			about: `Hands shard SHARD's leadership to voter N (or, without --to, to the most
up-to-date voter) and prints the new leader. The old leader gives up its
read lease first. The cluster also spreads leaders on its own.`,
			run: runLeaderTransfer,
		},
		"insert": {
			usage: "insert NAME --file rows.jsonl | --random N [flags]",
			about: insertAbout("Inserts", "A key that already exists is an error (use upsert to replace rows)."),
			run:   runInsert,
		},
		"upsert": {
			usage: "upsert NAME --file rows.jsonl | --random N [flags]",
			about: insertAbout("Inserts or replaces", "A row whose key exists replaces the old row."),
			run:   runInsert,
		},
		"import": {
			usage: "import COLLECTION --file F.jsonl|F.fvecs|F.npy [--batch N] [--parallel N] [--start-id N] [--partition P] [--state-dir D] [--restart]",
			about: importAbout,
			run:   runImport,
		},
		"search": {
			usage: "search NAME --vector '[0.1,0.2,...]' [--top-k K] [--output-fields a,b] [--filter EXPR] [--partitions a,b]\n" +
				"       [--offset N] [--radius R [--range-filter F]] [--ef N] [--nprobe N] [--refine R] [read flags]",
			about: `Finds the top-k nearest rows to a vector. --vector is a JSON array of numbers,
or an array of arrays to run several queries at once. Scores are squared L2
distances (smaller is closer) or inner-product / cosine similarities (larger
is closer).

--filter limits the candidates to the rows a boolean expression over the
scalar fields is true for, e.g.
  --filter 'category == "shoes" and price < 100'
  --filter 'meta["color"] in ["red", "blue"] and not (stock is null)'
before the search, so top-k is filled from the matching rows; the grammar is
in docs/filter-expressions.md. --partitions searches only those partitions.
--offset N skips the first N hits (paging). --radius R makes it a range
search: L2 keeps hits with distance < R (and >= --range-filter F), IP and
cosine keep similarity > R (and <= F). --ef (HNSW), --nprobe (IVF) and
--refine (IVF_PQ: refine×top-k candidates re-ranked exactly) trade speed for
recall on indexed segments.` + readAbout,
			run: runSearch,
		},
		"query": {
			usage: "query NAME --filter EXPR [--output-fields a,b] [--limit N] [--offset N] [--partitions a,b] [read flags]",
			about: `Returns the rows a filter expression is true for, e.g.
  raftvec query products --filter 'meta["color"] == "red" and meta["size"] > 2'
Without --output-fields every scalar field is shown (vector adds the
vector). Without --filter every row matches. Rows come in storage order, at
most --limit (the server's maximum, 16384, by default), after skipping
--offset. --partitions limits it to those partitions. The grammar is in
docs/filter-expressions.md; a bad filter is an INVALID_ARGUMENT error that
gives the position of the mistake.` + readAbout,
			run: runQuery,
		},
		"get": {
			usage: "get NAME --ids 1,2,3 [--output-fields vector,a,b] [read flags]",
			about: `Reads rows by primary key. Without --output-fields every field is shown.
Varchar keys are given as --ids a,b or as a JSON array --ids '["a,b","c"]'. ` + readAbout,
			run: runGet,
		},
		"delete": {
			usage: "delete NAME --ids 1,2 | --filter EXPR [--partitions a,b]",
			about: `Deletes rows by primary key (--ids; varchar keys as for get), or every row a
filter expression is true for (--filter, optionally only in --partitions):
the shard leader resolves the filter to keys at its latest state and deletes
those. It prints how many rows were deleted. raftvec query with the same
--filter shows beforehand which rows match.`,
			run: runDelete,
		},
		"partition create": {usage: "partition create NAME PARTITION", about: "Adds a partition to a collection; insert --partition writes into it.", run: runPartitionCreate},
		"partition drop": {
			usage: "partition drop NAME PARTITION",
			about: "Drops a partition and deletes its rows. The _default partition cannot be dropped.",
			run:   runPartitionDrop,
		},
		"partition list": {usage: "partition list NAME", about: "Lists a collection's partitions, _default first.", run: runPartitionList},
		"compact": {
			usage: "compact NAME",
			about: `Merges the collection's sealed segments that hold many deleted rows or are
small into new segments, on every replica alike, and prints how many
segments were merged. The leader also does this on its own (its policy is
in the server config); this runs it now. Reads --as-of a time before the
compaction may then be refused.`,
			run: runCompact,
		},
		"index create": {
			usage: "index create NAME --type hnsw|ivf_flat|ivf_sq8|ivf_pq|flat [--m 16] [--ef-construction 200] [--nlist 1024] [--pq-m M]",
			about: `Sets the index of a collection's vector field. Every replica builds it for each
sealed segment in the background; until a segment's index is built, that
segment is searched exactly. Parameters not given take their defaults, and a
parameter of another index type is an error. ivf_pq stores --pq-m bytes per
vector (8-bit product quantisation; --pq-m must divide dim, default the
largest divisor <= dim/4) and re-ranks a shortlist with the exact vectors.
raftvec index describe shows the progress; search --ef, --nprobe and
--refine tune recall per request.`,
			run: runIndexCreate,
		},
		"index describe": {
			usage: "index describe NAME",
			about: "Shows a collection's index: type, parameters, how many sealed segments have it built on the node that answers, and the builder.",
			run:   runIndexDescribe,
		},
		"index drop": {usage: "index drop NAME", about: "Drops a collection's index; its segments are searched exactly.", run: runIndexDrop},
		"status": {
			usage: "status [--all]",
			about: `Shows the cluster's nodes and every Raft group the node reports: role,
suffrage (voter, or nonvoter for an analytics replica), leader, term,
applied and commit index, safe ts (every write at or below it is applied
there) and its lag (how far the safe ts trails the reporting node's own
clock), segments, rows and the state digest. --all asks every node and
shows all groups side by side, so replicas' digests can be compared. The
first line names each node's distance kernel and index builder; INDEXED is
the sealed segments whose index is built, of all sealed segments.`,
			run: runStatus,
		},
	}
	maps.Copy(m, authCommands())
	maps.Copy(m, backupCommands())
	return m
}

const readAbout = `

Read flags choose how fresh the answer must be (docs/consistency.md):
--consistency strong|bounded|session|eventual (default: the collection's),
--max-staleness 5s (bounded; implies it), --session-token T (session; the
token a write printed, implies it), --as-of TS|RFC3339|-30s (read the state
as of a past time).`

func insertAbout(verb, exists string) string {
	return verb + ` rows. ` + exists + `

--file reads one JSON object per line; keys are field names, e.g.
  {"id": 1, "vector": [0.1, 0.2, 0.3, 0.4], "price": 9.5, "meta": {"color": "red", "size": 3}}
The primary key (left out when it is auto_id) and the vector are required;
other fields are typed by the schema (bool, int64, double, varchar, json:
any JSON value, stored as given); null or a missing key means "not given",
and the server fills in the field's default value, stores null if the field
is nullable, or refuses the row. Blank lines are skipped.

--partition P sends every row to partition P (raftvec partition create
makes one; the default is _default).

A file is checked completely before anything is sent: a bad line is reported
as FILE:LINE and nothing from the file is written. Rows are then sent in
batches of --batch rows. Reading from a pipe (--file -), or with --stream,
each batch is checked just before it is sent instead; after a bad line, the
batches before it stay written and the error says how many rows that was.
The server can still refuse a batch that the schema check passes (a key that
already exists, a per-request limit); the error names the batch's lines and
how many rows were written before it.

--random N writes N rows with ids --start-id+1 .. --start-id+N and random
unit vectors that depend only on --seed and the id.`
}

// commandGroups are the commands that take a subcommand, with their
// subcommands as the error for a missing one lists them.
var commandGroups = map[string]string{
	"collection": "create, list, describe or drop",
	"replica":    "add or move",
	"leader":     "transfer",
	"partition":  "create, drop or list",
	"index":      "create, describe or drop",
	"user":       "create, drop, passwd, list, token or whoami",
	"role":       "create, drop, grant, revoke or list",
	"backup":     "create, restore, list or describe",
}

// commandList lists the commands: server and dev, then the client
// commands sorted, a group's subcommands joined as "collection
// create|describe|drop|list".
func commandList() string {
	subs := map[string][]string{}
	var names []string
	for k := range clientCommands() {
		if group, sub, ok := strings.Cut(k, " "); ok {
			subs[group] = append(subs[group], sub)
		} else {
			names = append(names, k)
		}
	}
	for group, s := range subs {
		slices.Sort(s)
		names = append(names, group+" "+strings.Join(s, "|"))
	}
	slices.Sort(names)
	return strings.Join(append([]string{"server", "dev"}, names...), ", ")
}

// runClient runs a client subcommand; main calls it for anything that is not
// server or dev.
func runClient(cmd string, args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &cliEnv{
		ctx: ctx, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, now: time.Now,
		stderrTerminal: term.IsTerminal(int(os.Stderr.Fd())),
	}
	return e.run(cmd, args)
}

func (e *cliEnv) run(cmd string, args []string) error {
	name := cmd
	if subs, ok := commandGroups[cmd]; ok {
		if len(args) == 0 || strings.HasPrefix(args[0], "-") {
			return fmt.Errorf("%s: want a subcommand: %s", cmd, subs)
		}
		name, args = cmd+" "+args[0], args[1:]
	}
	c, ok := clientCommands()[name]
	if !ok {
		return fmt.Errorf("unknown command %q; the commands are %s (raftvec help shows their usage)", name, commandList())
	}
	err := c.run(e, name, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// commonFlags are the flags every client command has.
type commonFlags struct {
	addr     string
	timeout  time.Duration
	json     bool
	tlsCA    string
	user     string
	password string
	token    string
}

// newFlags returns the flag set of command name with the common flags
// registered.
func (e *cliEnv) newFlags(name string, timeout time.Duration) (*flag.FlagSet, *commonFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, usage printed on -h only
	cf := &commonFlags{}
	addr := e.getenv(addrEnv)
	if addr == "" {
		addr = defaultAddr
	}
	fs.StringVar(&cf.addr, "addr", addr, "node API addresses, comma-separated; $"+addrEnv+" sets the default")
	fs.DurationVar(&cf.timeout, "timeout", timeout, "deadline of the whole command")
	fs.BoolVar(&cf.json, "json", false, "print the response as protojson")
	fs.StringVar(&cf.tlsCA, "tls-ca", e.getenv(tlsCAEnv), "connect over TLS, trusting this CA certificate (PEM); $"+tlsCAEnv+" sets the default")
	fs.StringVar(&cf.user, "user", e.getenv(userEnv), "user name to authenticate as; $"+userEnv+" sets the default")
	fs.StringVar(&cf.password, "password", e.getenv(passwordEnv), "password of --user; $"+passwordEnv+" sets the default (safer than the flag, which other users can see in ps)")
	cf.token = e.getenv(tokenEnv)
	return fs, cf
}

// parseFlags parses args, in which flags may come before or after the
// positional arguments (`insert c --random 10` as well as `insert --random
// 10 c`); the flag package alone stops at the first positional. It wants
// exactly the named positional arguments.
func (e *cliEnv) parseFlags(fs *flag.FlagSet, name string, args []string, positional ...string) ([]string, error) {
	flags, pos := interleave(fs, args)
	if err := fs.Parse(flags); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			e.printUsage(fs, name)
			return nil, err
		}
		return nil, fmt.Errorf("%s: %v (raftvec %s -h shows the flags)", name, err, name)
	}
	if len(pos) != len(positional) {
		want := "no arguments"
		if len(positional) > 0 {
			want = strings.Join(positional, " ")
		}
		return nil, fmt.Errorf("%s: want %s, got %q (raftvec %s -h shows the usage)", name, want, pos, name)
	}
	return pos, nil
}

// interleave splits args into flags (with their values) and positional
// arguments. A flag's value is the next argument unless the flag is
// boolean or written --name=value; "--" ends the flags.
func interleave(fs *flag.FlagSet, args []string) (flags, pos []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return flags, append(pos, args[i+1:]...)
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		n := strings.TrimLeft(a, "-")
		if strings.Contains(n, "=") {
			continue
		}
		f := fs.Lookup(n)
		if f == nil { // fs.Parse reports it
			continue
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	return flags, pos
}

func (e *cliEnv) printUsage(fs *flag.FlagSet, name string) {
	c := clientCommands()[name]
	fmt.Fprintf(e.stdout, "Usage: raftvec %s\n\n%s\n\nFlags:\n", c.usage, c.about)
	fs.SetOutput(e.stdout)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// dial returns an SDK client for --addr.
func (e *cliEnv) dial(cf *commonFlags) (*client.Client, error) {
	addrs := splitList(cf.addr)
	if len(addrs) == 0 {
		return nil, errors.New("--addr: no address given")
	}
	var opts []client.Option
	if cf.tlsCA != "" {
		t, err := certs.ClientTLS(cf.tlsCA)
		if err != nil {
			return nil, err
		}
		opts = append(opts, client.WithTLS(t))
	}
	switch {
	case cf.user != "":
		if cf.tlsCA == "" {
			return nil, errors.New("--user: credentials are sent only over TLS; give --tls-ca (or $" + tlsCAEnv + ")")
		}
		opts = append(opts, client.WithPassword(cf.user, cf.password))
	case cf.token != "":
		if cf.tlsCA == "" {
			return nil, errors.New("$" + tokenEnv + ": credentials are sent only over TLS; give --tls-ca (or $" + tlsCAEnv + ")")
		}
		opts = append(opts, client.WithToken(cf.token))
	}
	return client.New(addrs, opts...)
}

// ctxFor returns the context of one request under --timeout.
func (e *cliEnv) ctxFor(cf *commonFlags) (context.Context, context.CancelFunc) {
	return context.WithTimeout(e.ctx, cf.timeout)
}

// apiError is an SDK error shown as the gRPC code and message,
// "INVALID_ARGUMENT: field ...", which is what a user can act on.
type apiError struct {
	code codes.Code
	msg  string
	err  error
}

func (e *apiError) Error() string { return code.Code(e.code).String() + ": " + e.msg }
func (e *apiError) Unwrap() error { return e.err }

// apiErr converts an error from the SDK into an apiError. A deadline or an
// interrupt on the client side becomes DEADLINE_EXCEEDED or CANCELLED with
// what the user can change; a refused connection gets a hint.
func apiErr(err error, cf *commonFlags) error {
	if err == nil {
		return nil
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return err
	}
	st, isStatus := status.FromError(err)
	switch {
	case errors.Is(err, context.Canceled) || isStatus && st.Code() == codes.Canceled:
		return &apiError{code: codes.Canceled, msg: "interrupted", err: err}
	case errors.Is(err, context.DeadlineExceeded) ||
		isStatus && st.Code() == codes.DeadlineExceeded && strings.Contains(st.Message(), "context deadline exceeded"):
		return &apiError{code: codes.DeadlineExceeded, msg: fmt.Sprintf("no answer within --timeout %v", cf.timeout), err: err}
	case !isStatus:
		return &apiError{code: codes.Unknown, msg: err.Error(), err: err}
	}
	msg := st.Message()
	// The server's messages repeat the code as a prefix ("invalid
	// argument: field ..."); once is enough.
	prefix := strings.ToLower(strings.ReplaceAll(code.Code(st.Code()).String(), "_", " ")) + ": "
	msg = strings.TrimPrefix(msg, prefix)
	if st.Code() == codes.Unavailable && strings.Contains(msg, "error reading server preface") && cf.tlsCA == "" {
		msg += " (does the node serve TLS? give --tls-ca or $" + tlsCAEnv + ")"
	}
	if st.Code() == codes.Unavailable && strings.Contains(msg, "connection refused") {
		msg += " (is a raftvec node running at that address? --addr or $" + addrEnv + " picks the nodes)"
	}
	return &apiError{code: st.Code(), msg: msg, err: err}
}

// printJSON prints m as indented protojson.
func (e *cliEnv) printJSON(m proto.Message) error {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "%s\n", b)
	return err
}
