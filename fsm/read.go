package fsm

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"google.golang.org/protobuf/proto"

	"github.com/raftvec/raftvec/fsm/fsmpb"
	"github.com/raftvec/raftvec/index"
	"github.com/raftvec/raftvec/search"
	"github.com/raftvec/raftvec/telemetry"
)

// VectorField is the name output_fields uses for the vector, whatever the
// schema calls it.
const VectorField = "vector"

// Row is one row as a read returns it.
type Row struct {
	IntPK  int64
	StrPK  string
	Vector []float32 // set when the output fields ask for it
	Fields []*fsmpb.Value
	Dist   float32 // search only: smaller is closer
}

// resolveFields maps output field names to column positions; -1 stands for
// the vector.
func (s *Schema) resolveFields(names []string) ([]int, error) {
	out := make([]int, 0, len(names))
	for _, n := range names {
		if n == VectorField || n == s.Vector.Name {
			out = append(out, -1)
			continue
		}
		found := false
		for i, f := range s.Scalars {
			if f.Name == n {
				out = append(out, i)
				found = true
				break
			}
		}
		if !found {
			return nil, invalidf("output_fields: field %q is not in collection %q", n, s.pb.Name)
		}
	}
	return out, nil
}

// row reads row r of seg with the requested fields.
func (seg *segment) row(r uint32, fields []int) Row {
	seg.mu.RLock()
	defer seg.mu.RUnlock()
	out := Row{}
	if len(seg.intPKs) > 0 {
		out.IntPK = seg.intPKs[r]
	} else if len(seg.strPKs) > 0 {
		out.StrPK = seg.strPKs[r]
	}
	for _, f := range fields {
		if f < 0 {
			out.Vector = append([]float32(nil), seg.vectors[int(r)*seg.dim:(int(r)+1)*seg.dim]...)
			continue
		}
		out.Fields = append(out.Fields, ColumnValue(seg.cols[f], int(r)))
	}
	return out
}

// SearchRequest is a top-k search inside one shard.
type SearchRequest struct {
	Vectors      []float32 // nq*dim floats
	TopK         int
	Offset       int // results to skip before the TopK returned
	Ts           uint64
	OutputFields []string
	Params       index.SearchParams
	Filter       Filter
	// Range, if set, keeps only hits with Lo <= distance < Hi (distances
	// are smaller-is-closer, so callers convert similarities).
	Range *DistRange
}

// DistRange bounds the distance of range-search hits.
type DistRange struct{ Lo, Hi float32 }

// Limits of reads.
const (
	MaxTopK     = 16384
	MaxQueryRow = 16384
)

// readViews takes views of every segment at ts, narrowed by the filter.
func (s *Shard) readViews(ts uint64, f Filter) (*Schema, []*View, error) {
	s.mu.RLock()
	sc, err := s.checkReadable()
	if err == nil && ts < s.horizon {
		err = fmt.Errorf("%w: ts %d is older than the oldest readable ts %d (compaction has merged older versions away)", ErrTsTooOld, ts, s.horizon)
	}
	if err != nil {
		s.mu.RUnlock()
		return nil, nil, err
	}
	views := make([]*View, len(s.segs))
	for i, g := range s.segs {
		views[i] = g.view(ts)
	}
	s.mu.RUnlock()
	f.schema = sc
	for _, v := range views {
		if err := f.apply(v); err != nil {
			return nil, nil, err
		}
	}
	return sc, views, nil
}

// Search returns, for each query vector, the TopK closest rows visible at
// req.Ts that pass the filter. The caller has made sure the shard has
// applied req.Ts.
//
// A traced request gets an fsm.search span: the index and brute-force
// search of every segment visible at req.Ts, with how many segments and
// rows it looked at.
func (s *Shard) Search(ctx context.Context, req SearchRequest) (_ [][]Row, err error) {
	ctx, span := telemetry.Start(ctx, "fsm.search")
	defer func() { telemetry.End(span, err) }()
	if req.TopK < 1 || req.TopK > MaxTopK {
		return nil, invalidf("top_k (%d) must be between 1 and %d", req.TopK, MaxTopK)
	}
	if req.Offset < 0 || req.TopK+req.Offset > MaxTopK {
		return nil, invalidf("offset (%d) + top_k (%d) must be at most %d", req.Offset, req.TopK, MaxTopK)
	}
	if err := req.Params.Validate(); err != nil {
		return nil, invalidf("%v", strings.TrimPrefix(err.Error(), index.ErrInvalidSpec.Error()+": "))
	}
	sc, views, err := s.readViews(req.Ts, req.Filter)
	if err != nil {
		return nil, err
	}
	if len(req.Vectors) == 0 || len(req.Vectors)%sc.Dim != 0 {
		return nil, invalidf("vectors: got %d floats; want a positive multiple of dim %d", len(req.Vectors), sc.Dim)
	}
	fields, err := sc.resolveFields(req.OutputFields)
	if err != nil {
		return nil, err
	}
	segs := make([]search.Segment, len(views))
	total := 0
	for i, v := range views {
		segs[i] = v
		total += v.n
	}
	nq := len(req.Vectors) / sc.Dim
	if span.IsRecording() {
		span.SetAttributes(attribute.Int64("raftvec.ts", int64(req.Ts)), attribute.Int("raftvec.nq", nq), attribute.Int("raftvec.top_k", req.TopK),
			attribute.Int("raftvec.segments", len(segs)), attribute.Int("raftvec.rows", total))
	}
	out := make([][]Row, nq)
	q := make([]float32, sc.Dim)
	for i := 0; i < nq; i++ {
		copy(q, req.Vectors[i*sc.Dim:(i+1)*sc.Dim])
		if err := checkFinite(q); err != nil {
			return nil, err
		}
		if sc.Metric == index.Cosine { // queries are normalised like rows
			index.Normalize(q)
		}
		hits, err := searchRange(ctx, sc, segs, q, req, total)
		if err != nil {
			return nil, err
		}
		rows := make([]Row, len(hits))
		for j, h := range hits {
			rows[j] = views[h.Segment].seg.row(h.Row, fields)
			rows[j].Dist = h.Dist
		}
		out[i] = rows
	}
	return out, nil
}

// searchRange runs one query: the top TopK after Offset, and with a range
// only hits inside it. Hits closer than the range's near end would crowd
// the top k, so a range search widens k until it has enough in range or
// has looked at every row.
func searchRange(ctx context.Context, sc *Schema, segs []search.Segment, q []float32, req SearchRequest, total int) ([]search.Hit, error) {
	want := req.TopK + req.Offset
	k := want
	for {
		hits, err := search.Segments(ctx, sc.Metric, sc.Dim, segs, q, k, req.Params)
		if err != nil {
			return nil, err
		}
		if req.Range != nil {
			kept := hits[:0:0]
			for _, h := range hits {
				if h.Dist >= req.Range.Lo && h.Dist < req.Range.Hi {
					kept = append(kept, h)
				}
			}
			exhausted := len(hits) < k || k >= total || hits[len(hits)-1].Dist >= req.Range.Hi
			if len(kept) < want && !exhausted {
				k = min(k*4, total)
				continue
			}
			hits = kept
		}
		if len(hits) <= req.Offset {
			return nil, nil
		}
		hits = hits[req.Offset:]
		if len(hits) > req.TopK {
			hits = hits[:req.TopK]
		}
		return hits, nil
	}
}

// QueryRequest asks for the rows that pass a filter.
type QueryRequest struct {
	Filter       Filter
	Ts           uint64
	OutputFields []string
	Limit        int // at most MaxQueryRow
	Offset       int
}

// Query returns the rows visible at req.Ts that pass the filter, in
// segment and row order (insert order), after skipping Offset, at most
// Limit of them.
//
// A traced request gets an fsm.query span.
func (s *Shard) Query(ctx context.Context, req QueryRequest) (_ []Row, err error) {
	ctx, span := telemetry.Start(ctx, "fsm.query")
	defer func() { telemetry.End(span, err) }()
	if req.Limit < 1 || req.Limit > MaxQueryRow {
		return nil, invalidf("limit (%d) must be between 1 and %d", req.Limit, MaxQueryRow)
	}
	if req.Offset < 0 {
		return nil, invalidf("offset (%d) must not be negative", req.Offset)
	}
	sc, views, err := s.readViews(req.Ts, req.Filter)
	if err != nil {
		return nil, err
	}
	fields, err := sc.resolveFields(req.OutputFields)
	if err != nil {
		return nil, err
	}
	var out []Row
	skip := req.Offset
	for _, v := range views {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for r := 0; r < v.n; r++ {
			if !v.Visible(uint32(r)) {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			out = append(out, v.seg.row(uint32(r), fields))
			if len(out) == req.Limit {
				return out, nil
			}
		}
	}
	return out, nil
}

// MatchingKeys returns the primary keys of every row visible at ts that
// passes the filter (for delete by expression).
func (s *Shard) MatchingKeys(ctx context.Context, f Filter, ts uint64) (ints []int64, strs []string, err error) {
	_, views, err := s.readViews(ts, f)
	if err != nil {
		return nil, nil, err
	}
	for _, v := range views {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		for r := 0; r < v.n; r++ {
			if v.Visible(uint32(r)) {
				if len(v.intPKs) > 0 {
					ints = append(ints, v.intPKs[r])
				} else {
					strs = append(strs, v.strPKs[r])
				}
			}
		}
	}
	return ints, strs, nil
}

// Get returns the rows with the given keys as of ts, in the order asked;
// keys with no visible row are left out.
func (s *Shard) Get(ctx context.Context, intPKs []int64, strPKs []string, ts uint64, outputFields []string) ([]Row, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sc, err := s.checkReadable()
	if err != nil {
		return nil, err
	}
	if ts < s.horizon {
		return nil, fmt.Errorf("%w: ts %d is older than the oldest readable ts %d (compaction has merged older versions away)", ErrTsTooOld, ts, s.horizon)
	}
	fields, err := sc.resolveFields(outputFields)
	if err != nil {
		return nil, err
	}
	var out []Row
	visit := func(ref rowRef) {
		for ref != 0 {
			seg := s.segByID[ref.seg()]
			if seg == nil {
				return // merged away by compaction: older than the horizon
			}
			seg.mu.RLock()
			ins, del, prev := seg.insertTs[ref.row()], atomic.LoadUint64(&seg.deleteTs[ref.row()]), seg.prev[ref.row()]
			seg.mu.RUnlock()
			if ins <= ts {
				if del > ts {
					out = append(out, seg.row(ref.row(), fields))
				}
				return
			}
			ref = prev
		}
	}
	for _, pk := range intPKs {
		visit(s.pkInt[pk])
	}
	for _, pk := range strPKs {
		visit(s.pkStr[pk])
	}
	return out, ctx.Err()
}

func checkFinite(v []float32) error {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return invalidf("vectors: element %d is %v; NaN and Inf are not allowed", i, x)
		}
	}
	return nil
}

// SegmentInfo describes one segment.
type SegmentInfo struct {
	ID     uint64
	Sealed bool
	Rows   int
}

// Stats describes the shard's contents.
type Stats struct {
	Segments   []SegmentInfo
	Rows       int // rows ever inserted (all versions)
	LiveRows   int
	Collection string
}

// Stats returns the segments and row counts.
func (s *Shard) Stats() Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var st Stats
	if s.schema != nil {
		st.Collection = s.schema.pb.Name
	}
	for _, g := range s.segs {
		v := g.view(math.MaxUint64 - 1)
		st.Segments = append(st.Segments, SegmentInfo{ID: g.id, Sealed: g.sealed, Rows: v.n})
		st.Rows += v.n
		for r := 0; r < v.n; r++ {
			if atomic.LoadUint64(&v.deleteTs[r]) == live {
				st.LiveRows++
			}
		}
	}
	return st
}

// Digest is a hash of the shard's logical state: every segment with its
// seal state, and every row with its key, vector, scalar values and insert
// and delete timestamps. Replicas that applied the same writes have equal
// digests; TimeTicks do not change it.
func (s *Shard) Digest() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	h := sha256.New()
	var b [8]byte
	put := func(x uint64) {
		binary.LittleEndian.PutUint64(b[:], x)
		h.Write(b[:])
	}
	for _, g := range s.segs {
		g.mu.RLock()
		put(g.id)
		if g.sealed {
			put(1)
		} else {
			put(0)
		}
		put(uint64(len(g.insertTs)))
		for r := range g.insertTs {
			if len(g.intPKs) > 0 {
				put(uint64(g.intPKs[r]))
			} else {
				h.Write([]byte(g.strPKs[r]))
				h.Write([]byte{0})
			}
			put(g.insertTs[r])
			put(atomic.LoadUint64(&g.deleteTs[r]))
		}
		for _, x := range g.vectors {
			binary.LittleEndian.PutUint32(b[:4], math.Float32bits(x))
			h.Write(b[:4])
		}
		for _, c := range g.cols {
			cb, _ := proto.MarshalOptions{Deterministic: true}.Marshal(c)
			h.Write(cb)
		}
		g.mu.RUnlock()
	}
	return hex.EncodeToString(h.Sum(nil))
}

// CheckAbsent returns ErrAlreadyExists if any key of rows is live. The
// leader calls it before proposing an insert, for a clear error; Apply
// checks again, since another insert of the key may be in flight.
func (s *Shard) CheckAbsent(rows *fsmpb.Rows) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, pk := range rows.IntPks {
		if _, ok := s.liveRef(pk, "", true); ok {
			return invalidExists(pk)
		}
	}
	for _, pk := range rows.StrPks {
		if _, ok := s.liveRef(0, pk, false); ok {
			return invalidExists(pk)
		}
	}
	return nil
}

func invalidExists(pk any) error {
	return fmt.Errorf("%w: primary key %v already exists (use upsert to replace it)", ErrAlreadyExists, pk)
}

// Deduped returns the stored result of a request id that was applied. A
// different request under the same id (another fingerprint) gets a result
// that refuses it.
func (s *Shard) Deduped(requestID string, fingerprint []byte) (*fsmpb.Result, bool) {
	if requestID == "" {
		return nil, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.dedup[requestID]
	if ok && reused(r, fingerprint) {
		return &fsmpb.Result{Code: CodeRequestReused, Message: reusedMessage(requestID)}, true
	}
	return r, ok
}
