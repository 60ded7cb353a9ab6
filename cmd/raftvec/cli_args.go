package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/shard"
)

// Parsing of client flag values into request fields. Pure functions; the
// table tests in cli_test.go pin their behaviour.

// splitList splits a comma-separated flag value, trimming spaces and
// dropping empty items ("a, b," is a and b).
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseIDList parses --ids: comma-separated keys ("1,2,3" or "a,b"), or a
// JSON array (["a,b", "c"]) for varchar keys that contain commas. Keys
// are int64 unless varchar is set. A key given twice is an error, since
// the server refuses it and the user most likely mistyped.
func parseIDList(s string, varchar bool) ([]int64, []string, error) {
	var items []string
	if t := strings.TrimSpace(s); strings.HasPrefix(t, "[") {
		var raw []json.RawMessage
		if err := json.Unmarshal([]byte(t), &raw); err != nil {
			return nil, nil, fmt.Errorf("--ids: invalid JSON array: %v", err)
		}
		for _, r := range raw {
			if varchar {
				var str string
				if err := json.Unmarshal(r, &str); err != nil {
					return nil, nil, fmt.Errorf("--ids: %s is not a string; the primary key is varchar", r)
				}
				items = append(items, str)
			} else {
				items = append(items, string(r))
			}
		}
	} else {
		items = splitList(s)
	}
	if len(items) == 0 {
		return nil, nil, errors.New("--ids: no ids given (want e.g. --ids 1,2,3)")
	}
	if varchar {
		seen := make(map[string]bool, len(items))
		for _, id := range items {
			if id == "" {
				return nil, nil, errors.New("--ids: an id is empty")
			}
			if seen[id] {
				return nil, nil, fmt.Errorf("--ids: %q is given twice", id)
			}
			seen[id] = true
		}
		return nil, items, nil
	}
	ids := make([]int64, 0, len(items))
	seen := make(map[int64]bool, len(items))
	for _, it := range items {
		id, err := strconv.ParseInt(it, 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("--ids: %q is not an int64; the primary key is int64", it)
		}
		if seen[id] {
			return nil, nil, fmt.Errorf("--ids: %d is given twice", id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	return ids, nil, nil
}

// parseVectorArg parses --vector: a JSON array of numbers ('[0.1,0.2]'),
// an array of such arrays for several queries at once, or bare
// comma-separated numbers. It returns the queries back to back and their
// count.
func parseVectorArg(s string) ([]float32, int, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return nil, 0, errors.New("--vector: empty (want e.g. --vector '[0.1,0.2,0.3,0.4]')")
	}
	if !strings.HasPrefix(t, "[") {
		t = "[" + t + "]"
	}
	var raw []json.RawMessage
	if err := json.Unmarshal([]byte(t), &raw); err != nil {
		return nil, 0, fmt.Errorf("--vector: want a JSON array of numbers: %v", err)
	}
	if len(raw) == 0 {
		return nil, 0, errors.New("--vector: the array is empty")
	}
	if !strings.HasPrefix(strings.TrimSpace(string(raw[0])), "[") {
		v, err := floatElems(raw)
		if err != nil {
			return nil, 0, fmt.Errorf("--vector: %w", err)
		}
		return v, 1, nil
	}
	var out []float32
	dim := -1
	for q, r := range raw {
		var elems []json.RawMessage
		if err := json.Unmarshal(r, &elems); err != nil {
			return nil, 0, fmt.Errorf("--vector: query %d: want an array of numbers, got %s", q, jsonKind(r))
		}
		if dim >= 0 && len(elems) != dim {
			return nil, 0, fmt.Errorf("--vector: query %d has %d numbers but query 0 has %d", q, len(elems), dim)
		}
		dim = len(elems)
		if dim == 0 {
			return nil, 0, fmt.Errorf("--vector: query %d is empty", q)
		}
		v, err := floatElems(elems)
		if err != nil {
			return nil, 0, fmt.Errorf("--vector: query %d: %w", q, err)
		}
		out = append(out, v...)
	}
	return out, len(raw), nil
}

func floatElems(raw []json.RawMessage) ([]float32, error) {
	v := make([]float32, len(raw))
	for i, r := range raw {
		x, err := parseFloat32(json.RawMessage(strings.TrimSpace(string(r))))
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		v[i] = x
	}
	return v, nil
}

// parseLevel parses --consistency; empty (or "default") is DEFAULT, which
// the server replaces with the collection's level.
func parseLevel(s string) (pb.ConsistencyLevel, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "default":
		return pb.ConsistencyLevel_DEFAULT, nil
	case "strong":
		return pb.ConsistencyLevel_STRONG, nil
	case "bounded":
		return pb.ConsistencyLevel_BOUNDED, nil
	case "session":
		return pb.ConsistencyLevel_SESSION, nil
	case "eventual":
		return pb.ConsistencyLevel_EVENTUAL, nil
	}
	return 0, fmt.Errorf("--consistency: %q is not a level; want strong, bounded, session or eventual", s)
}

// levelName is a level as the CLI spells it; DEFAULT is shown as the level
// it stands for.
func levelName(l pb.ConsistencyLevel) string {
	if l == pb.ConsistencyLevel_DEFAULT {
		return "strong"
	}
	return strings.ToLower(l.String())
}

// readFlags are the read commands' consistency flags as given.
type readFlags struct {
	consistency  string
	maxStaleness time.Duration
	asOf         string
	sessionToken uint64
}

// readOptions turns the read flags into ReadOptions. --max-staleness alone
// implies bounded and --session-token alone implies session; combining
// either with a level it does not apply to is an error rather than a flag
// silently ignored. now resolves a relative --as-of.
func (f readFlags) readOptions(now time.Time) (*pb.ReadOptions, error) {
	level, err := parseLevel(f.consistency)
	if err != nil {
		return nil, err
	}
	ro := &pb.ReadOptions{Level: level}
	if f.maxStaleness != 0 {
		if ro.Level == pb.ConsistencyLevel_DEFAULT {
			ro.Level = pb.ConsistencyLevel_BOUNDED
		}
		if ro.Level != pb.ConsistencyLevel_BOUNDED {
			return nil, fmt.Errorf("--max-staleness applies to --consistency bounded, not %s", strings.ToLower(ro.Level.String()))
		}
		if f.maxStaleness < time.Millisecond || f.maxStaleness > time.Duration(math.MaxUint32)*time.Millisecond {
			return nil, fmt.Errorf("--max-staleness (%v) must be between 1ms and %v", f.maxStaleness, time.Duration(math.MaxUint32)*time.Millisecond)
		}
		ro.MaxStalenessMs = uint32(f.maxStaleness / time.Millisecond)
	}
	if f.sessionToken != 0 {
		if ro.Level == pb.ConsistencyLevel_DEFAULT {
			ro.Level = pb.ConsistencyLevel_SESSION
		}
		if ro.Level != pb.ConsistencyLevel_SESSION {
			return nil, fmt.Errorf("--session-token applies to --consistency session, not %s", strings.ToLower(ro.Level.String()))
		}
		ro.SessionToken = f.sessionToken
	}
	ts, err := parseAsOf(f.asOf, now)
	if err != nil {
		return nil, err
	}
	ro.AsOfTs = ts
	return ro, nil
}

// parseAsOf parses --as-of: a raftvec ts (as printed by writes and reads),
// an RFC 3339 time, or a negative duration meaning that long before now.
func parseAsOf(s string, now time.Time) (uint64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if ts, err := strconv.ParseUint(s, 10, 64); err == nil {
		if ts == 0 {
			return 0, errors.New("--as-of: ts 0 is not a time; leave the flag out to read the latest state")
		}
		return ts, nil
	}
	if strings.HasPrefix(s, "-") {
		d, err := time.ParseDuration(s)
		if err == nil {
			return shard.MakeTs(now.Add(d)), nil
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return shard.MakeTs(t), nil
	}
	return 0, fmt.Errorf("--as-of: %q is not a ts (e.g. 475063948640665600), an RFC 3339 time (2026-01-02T15:04:05Z) or a negative duration (-30s)", s)
}

func parseMetric(s string) (pb.Metric, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "l2":
		return pb.Metric_L2, nil
	case "ip":
		return pb.Metric_IP, nil
	case "cosine":
		return pb.Metric_COSINE, nil
	}
	return 0, fmt.Errorf("--metric: %q is not a metric; want l2, ip or cosine", s)
}

// createFlags are the flags of `collection create` as given.
type createFlags struct {
	dim      uint
	metric   string
	replicas uint
	shards   uint
	autoID   bool
	// consistency is --consistency: the level of reads that name none.
	consistency string
	schema      []byte // contents of --schema, nil when not given
}

// createRequest builds the CreateCollection request: either the simple
// schema (int64 "id", "vector" of --dim and --metric) or the full schema
// from --schema, never a mix of the two. --consistency goes with either;
// it may repeat the schema's defaultConsistency but not contradict it.
func (f createFlags) createRequest(name string) (*pb.CreateCollectionRequest, error) {
	req, err := f.schemaRequest(name)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(f.consistency) == "" {
		return req, nil
	}
	level, err := parseLevel(f.consistency)
	if err != nil {
		return nil, err
	}
	if has := req.Schema.DefaultConsistency; has != pb.ConsistencyLevel_DEFAULT && levelName(has) != levelName(level) {
		return nil, fmt.Errorf("--consistency %s contradicts the schema's defaultConsistency %s; give one of them", levelName(level), levelName(has))
	}
	req.Schema.DefaultConsistency = level
	return req, nil
}

func (f createFlags) schemaRequest(name string) (*pb.CreateCollectionRequest, error) {
	req := &pb.CreateCollectionRequest{Replicas: uint32(f.replicas), Shards: uint32(f.shards)}
	if f.schema != nil {
		if f.dim != 0 || f.metric != "" || f.autoID {
			return nil, errors.New("--schema gives the whole schema; leave out --dim, --metric and --auto-id")
		}
		s := &pb.CollectionSchema{}
		if err := protojson.Unmarshal(f.schema, s); err != nil {
			return nil, fmt.Errorf("--schema: not a CollectionSchema in protojson: %v", err)
		}
		switch {
		case s.Name == "":
			s.Name = name
		case s.Name != name:
			return nil, fmt.Errorf("--schema names collection %q but the command names %q", s.Name, name)
		}
		req.Schema = s
		return req, nil
	}
	if f.dim == 0 {
		return nil, errors.New("--dim is required (or --schema)")
	}
	if f.dim > math.MaxUint32 {
		return nil, fmt.Errorf("--dim (%d) is too large", f.dim)
	}
	if f.metric == "" {
		return nil, errors.New("--metric is required: l2, ip or cosine")
	}
	m, err := parseMetric(f.metric)
	if err != nil {
		return nil, err
	}
	req.Schema = &pb.CollectionSchema{Name: name, Fields: []*pb.FieldSchema{
		{Name: "id", Type: pb.FieldType_INT64, PrimaryKey: true, AutoId: f.autoID},
		{Name: "vector", Type: pb.FieldType_FLOAT_VECTOR, Dim: uint32(f.dim), Metric: m},
	}}
	return req, nil
}

// replicaFlags are the flags of `replica add` as given.
type replicaFlags struct {
	node     string
	nonVoter bool
}

// check says whether `replica add` can be sent. Voters are placed by the
// cluster when a collection is created (--replicas); by hand one adds only
// analytics replicas, and the flag says so explicitly.
func (f replicaFlags) check() error {
	if strings.TrimSpace(f.node) == "" {
		return errors.New("--node is required: the id of the node to hold the replica (raftvec status lists the nodes)")
	}
	if !f.nonVoter {
		return errors.New("only analytics (non-voter) replicas can be added by hand for now; add --non-voter " +
			"(a voter would count toward the write quorum; voters are chosen by collection create --replicas)")
	}
	return nil
}
