package fsm

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	"github.com/raftvec/raftvec/fsm/fsmpb"
	"github.com/raftvec/raftvec/index"
)

// Indexes of sealed segments. The spec is replicated state (m:index, set by
// CreateIndex and DropIndex in Apply); the built indexes are not: each
// replica builds its own in the background, off the apply path, and keeps
// the blob in Badger (i<seg>) so that a restart loads instead of
// rebuilding. A blob that does not decode, or was built under another
// spec, is dropped and rebuilt.

var keyIndexSpec = []byte("m:index")

const prefixIndexBlob = 'i'

func indexBlobKey(seg uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefixIndexBlob
	binary.BigEndian.PutUint64(k[1:], seg)
	return k
}

// IndexSpecFromProto resolves a replicated spec under the collection's
// metric and vector dimension, with defaults filled in (IVF_PQ's default
// pq_m depends on dim).
func IndexSpecFromProto(p *fsmpb.IndexSpec, m index.Metric, dim int) (index.Spec, error) {
	t, err := index.ParseType(p.Type)
	if err != nil {
		return index.Spec{}, invalidf("index_type: %v", err)
	}
	s := index.Spec{Type: t, Metric: m, Params: index.Params{
		M: int(p.M), EfConstruction: int(p.EfConstruction), Nlist: int(p.Nlist), KMeansIters: int(p.KmeansIters), PQM: int(p.PqM),
	}}.WithDim(dim)
	if err := s.ValidateDim(dim); err != nil {
		return index.Spec{}, invalidf("%v", strings.TrimPrefix(err.Error(), index.ErrInvalidSpec.Error()+": "))
	}
	return s, nil
}

// ValidateIndexSpec checks a CreateIndex on the leader, before proposing.
func (s *Schema) ValidateIndexSpec(p *fsmpb.IndexSpec) error {
	if p.Field != "" && p.Field != s.Vector.Name {
		return invalidf("field_name: %q is not the vector field of collection %q (it is %q)", p.Field, s.pb.Name, s.Vector.Name)
	}
	_, err := IndexSpecFromProto(p, s.Metric, s.Dim)
	return err
}

// indexHolder is what a segment points at once its index is built.
type indexHolder struct {
	ix   index.Index
	spec index.Spec
}

// IndexCounters says what the shard did with indexes since Open.
type IndexCounters struct {
	Built, Loaded, Corrupt uint64
}

type indexCounters struct {
	built, loaded, corrupt atomic.Uint64
}

// IndexCounters returns the index counters.
func (s *Shard) IndexCounters() IndexCounters {
	return IndexCounters{Built: s.ixc.built.Load(), Loaded: s.ixc.loaded.Load(), Corrupt: s.ixc.corrupt.Load()}
}

// IndexSpec returns the replicated index spec, or nil.
func (s *Shard) IndexSpec() *fsmpb.IndexSpec {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.ixSpec
}

// IndexKick is signalled when there may be new segments to index.
func (s *Shard) IndexKick() <-chan struct{} { return s.kick }

func (s *Shard) kickIndex() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// IndexProgress returns how many sealed segments there are and how many of
// them have their index.
func (s *Shard) IndexProgress() (sealed, indexed int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, g := range s.segs {
		g.mu.RLock()
		if g.sealed {
			sealed++
			if g.ix.Load() != nil {
				indexed++
			}
		}
		g.mu.RUnlock()
	}
	return sealed, indexed
}

// IndexJob builds the index of one sealed segment.
type IndexJob struct {
	s    *Shard
	seg  *segment
	spec index.Spec
}

// Segment is the id of the segment the job indexes.
func (j IndexJob) Segment() uint64 { return j.seg.id }

// IndexJobs returns a job for every sealed segment that lacks an index
// under the current spec and is not being built.
func (s *Shard) IndexJobs() []IndexJob {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.ixSpec == nil || s.closed || s.dropped {
		return nil
	}
	spec, err := IndexSpecFromProto(s.ixSpec, s.schema.Metric, s.schema.Dim)
	if err != nil {
		return nil
	}
	var jobs []IndexJob
	for _, g := range s.segs {
		g.mu.RLock()
		sealed := g.sealed
		g.mu.RUnlock()
		if !sealed || g.building.Load() {
			continue
		}
		if h := g.ix.Load(); h != nil && h.spec == spec {
			continue
		}
		jobs = append(jobs, IndexJob{s: s, seg: g, spec: spec})
	}
	return jobs
}

// Run builds the index, stores its blob and swaps it into the segment. A
// job whose segment or spec changed meanwhile (restore, drop, new spec)
// discards its result.
func (j IndexJob) Run(ctx context.Context, b index.Builder) error {
	g := j.seg
	if !g.building.CompareAndSwap(false, true) {
		return nil
	}
	defer g.building.Store(false)
	g.mu.RLock()
	vectors := g.vectors[:len(g.insertTs)*g.dim]
	g.mu.RUnlock()
	ix, err := b.Build(ctx, j.spec, vectors, g.dim)
	if err != nil {
		return fmt.Errorf("build index of segment %d: %w", g.id, err)
	}
	blob, err := index.Encode(ix)
	if err != nil {
		return fmt.Errorf("encode index of segment %d: %w", g.id, err)
	}
	s := j.s
	s.pins.RLock()
	defer s.pins.RUnlock()
	s.mu.RLock()
	current := !s.closed && s.segByID[g.id] == g && s.ixSpec != nil
	if current {
		spec, err := IndexSpecFromProto(s.ixSpec, s.schema.Metric, s.schema.Dim)
		current = err == nil && spec == j.spec
	}
	s.mu.RUnlock()
	if !current {
		return nil
	}
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(indexBlobKey(g.id), blob) }); err != nil {
		return fmt.Errorf("store index of segment %d: %w", g.id, err)
	}
	g.ix.Store(&indexHolder{ix: ix, spec: j.spec})
	s.ixc.built.Add(1)
	return nil
}

// loadIndexes loads the stored index blobs of sealed segments. Called by
// load, with the state in place.
func (s *Shard) loadIndexes(txn *badger.Txn) error {
	p := new(fsmpb.IndexSpec)
	if err := getProto(txn, keyIndexSpec, p); err != nil {
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		return err
	}
	s.ixSpec = p
	spec, err := IndexSpecFromProto(p, s.schema.Metric, s.schema.Dim)
	if err != nil {
		return fmt.Errorf("%w: stored index spec: %v", ErrCorrupt, err)
	}
	for _, g := range s.segs {
		if !g.sealed {
			continue
		}
		item, err := txn.Get(indexBlobKey(g.id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		var ix index.Index
		err = item.Value(func(v []byte) error {
			var derr error
			ix, derr = index.Decode(v, g.vectors, g.dim)
			return derr
		})
		if err != nil || ix.Spec() != spec {
			// A bad or stale blob is a cache miss: the builder makes a
			// new one. It is never half-loaded.
			s.ixc.corrupt.Add(1)
			s.log.Warn("index blob not usable; it will be rebuilt", "segment", g.id, "err", err)
			continue
		}
		g.ix.Store(&indexHolder{ix: ix, spec: spec})
		s.ixc.loaded.Add(1)
	}
	return nil
}

// applyCreateIndex sets the spec. A new spec drops the indexes built under
// the old one.
func (a *applier) createIndex(ci *fsmpb.CreateIndex) {
	s := a.s
	if s.ixSpec != nil && proto.Equal(s.ixSpec, ci.Spec) {
		return
	}
	a.dropIndexes()
	s.ixSpec = ci.Spec
	a.put(keyIndexSpec, ci.Spec)
	s.kickIndex()
}

func (a *applier) dropIndexes() {
	s := a.s
	if s.ixSpec == nil {
		return
	}
	s.ixSpec = nil
	a.err = errOr(a.err, a.txn.Delete(keyIndexSpec))
	for _, g := range s.segs {
		g.ix.Store(nil)
		a.err = errOr(a.err, a.txn.Delete(indexBlobKey(g.id)))
	}
}
