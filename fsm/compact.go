package fsm

import (
	"github.com/dgraph-io/badger/v4"

	"github.com/raftvec/raftvec/fsm/fsmpb"
)

// compactBlockRows bounds the rows of one block a compaction writes.
const compactBlockRows = 4096

// CompactionPolicy says when the leader compacts on its own.
type CompactionPolicy struct {
	// DeletedFraction: a sealed segment with at least this fraction of its
	// rows deleted is compacted.
	DeletedFraction float64
	// SmallFraction: sealed segments below this fraction of seal_rows are
	// merged, when there are at least two.
	SmallFraction float64
}

// DefaultCompactionPolicy returns the default policy.
func DefaultCompactionPolicy() CompactionPolicy {
	return CompactionPolicy{DeletedFraction: 0.3, SmallFraction: 0.25}
}

// SegmentUsage is what the compaction plan looks at.
type SegmentUsage struct {
	ID      uint64
	Sealed  bool
	Rows    int
	Deleted int
}

// PlanCompaction picks the sealed segments to merge: those with enough
// deleted rows, and the small ones when there are at least two. manual
// picks every sealed segment that has deleted rows or is small, and merges
// two or more sealed segments even if none is. Pure: the leader's decision.
func PlanCompaction(segs []SegmentUsage, sealRows int, p CompactionPolicy, manual bool) []uint64 {
	var pick, small, sealed []uint64
	for _, s := range segs {
		if !s.Sealed || s.Rows == 0 {
			continue
		}
		sealed = append(sealed, s.ID)
		frac := float64(s.Deleted) / float64(s.Rows)
		switch {
		case s.Deleted > 0 && (manual || frac >= p.DeletedFraction):
			pick = append(pick, s.ID)
		case float64(s.Rows-s.Deleted) < p.SmallFraction*float64(sealRows):
			small = append(small, s.ID)
		}
	}
	if len(small) >= 2 || (len(small) == 1 && len(pick) > 0) {
		pick = append(pick, small...)
	}
	if manual && len(pick) == 0 && len(sealed) >= 2 {
		pick = sealed
	}
	sortIDs(pick)
	return pick
}

func sortIDs(ids []uint64) {
	for i := 1; i < len(ids); i++ {
		for j := i; j > 0 && ids[j] < ids[j-1]; j-- {
			ids[j], ids[j-1] = ids[j-1], ids[j]
		}
	}
}

// SegmentUsage reports every segment's rows and deleted rows.
func (s *Shard) SegmentUsage() ([]SegmentUsage, int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []SegmentUsage
	for _, g := range s.segs {
		g.mu.RLock()
		u := SegmentUsage{ID: g.id, Sealed: g.sealed, Rows: len(g.insertTs)}
		g.mu.RUnlock()
		for r := 0; r < u.Rows; r++ {
			if g.deletedAt(uint32(r)) != live {
				u.Deleted++
			}
		}
		out = append(out, u)
	}
	seal := 0
	if s.create != nil {
		seal = int(s.create.SealRows)
	}
	return out, seal
}

// compact merges the named sealed segments into one new sealed segment of
// the rows live at ts, and moves the read horizon to ts. Segments that are
// not (or no longer) sealed are skipped, so a compaction that raced another
// is harmless. Deterministic.
func (a *applier) compact(c *fsmpb.Compact, ts uint64, res *fsmpb.Result) {
	s := a.s
	var olds []*segment
	for _, id := range c.Segments {
		if g := s.segByID[id]; g != nil && g.sealed && !containsSeg(olds, g) {
			olds = append(olds, g)
		}
	}
	if len(olds) == 0 {
		return
	}
	ng := newSegment(s.applied.NextSegment, s.schema)
	s.applied.NextSegment++
	isInt := s.schema.PK.Type == fsmpb.FieldType_INT64
	batch := &fsmpb.Rows{}
	var tss []uint64
	var parts []uint32
	flush := func() {
		n := len(tss)
		if n == 0 {
			return
		}
		first := uint32(ng.len())
		ng.appendRows(batch, 0, n, rowMeta{tss: tss, partitions: parts}, make([]rowRef, n))
		a.put(blockKey(ng.id, first), &fsmpb.Block{Segment: ng.id, FirstRow: first, Ts: ts, Rows: batch,
			Prev: make([]uint64, n), InsertTs: tss, Partitions: parts})
		batch, tss, parts = &fsmpb.Rows{}, nil, nil
	}
	for _, g := range olds {
		for r := 0; r < len(g.insertTs); r++ {
			old := makeRef(g.id, uint32(r))
			var newest rowRef
			if isInt {
				newest = s.pkInt[g.intPKs[r]]
			} else {
				newest = s.pkStr[g.strPKs[r]]
			}
			if g.deleteTs[r] != live {
				if newest == old { // a deleted key whose tombstone goes away
					if isInt {
						delete(s.pkInt, g.intPKs[r])
					} else {
						delete(s.pkStr, g.strPKs[r])
					}
				}
				continue
			}
			if isInt {
				batch.IntPks = append(batch.IntPks, g.intPKs[r])
			} else {
				batch.StrPks = append(batch.StrPks, g.strPKs[r])
			}
			batch.Vectors = append(batch.Vectors, g.vectors[r*g.dim:(r+1)*g.dim]...)
			if len(batch.Columns) == 0 {
				for _, col := range g.cols {
					batch.Columns = append(batch.Columns, &fsmpb.Column{Field: col.Field})
				}
			}
			for ci, col := range g.cols {
				appendColumn(batch.Columns[ci], col, r, r+1, len(tss))
			}
			tss = append(tss, g.insertTs[r])
			parts = append(parts, g.parts[r])
			newRef := makeRef(ng.id, uint32(ng.len()+len(tss)-1))
			if isInt {
				s.pkInt[g.intPKs[r]] = newRef
			} else {
				s.pkStr[g.strPKs[r]] = newRef
			}
			if len(tss) == compactBlockRows {
				flush()
			}
		}
	}
	flush()
	ng.sealed, ng.sealTs = true, ts
	// Remove the old segments and their durable blocks and index blobs.
	for _, g := range olds {
		a.deletePrefix(blockKey(g.id, 0)[:9])
		a.err = errOr(a.err, a.txn.Delete(indexBlobKey(g.id)))
		delete(s.segByID, g.id)
		s.compacted[g.id] = true
	}
	kept := s.segs[:0:0]
	for _, g := range s.segs {
		if !s.compacted[g.id] {
			kept = append(kept, g)
		}
	}
	// The new segment goes before the growing one, which stays last.
	growing := kept[len(kept)-1]
	s.segs = append(append(kept[:len(kept)-1:len(kept)-1], ng), growing)
	s.segByID[ng.id] = ng
	s.horizon = ts
	a.manifestDirty = true
	res.Deleted = uint32(len(olds)) // segments merged
	s.kickIndex()
}

func containsSeg(list []*segment, g *segment) bool {
	for _, x := range list {
		if x == g {
			return true
		}
	}
	return false
}

// deletePrefix deletes every key with the prefix, within the entry's
// transaction. Iteration order is key order, so it is deterministic.
func (a *applier) deletePrefix(prefix []byte) {
	if a.err != nil {
		return
	}
	it := a.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	var keys [][]byte
	for it.Rewind(); it.Valid(); it.Next() {
		keys = append(keys, it.Item().KeyCopy(nil))
	}
	it.Close()
	for _, k := range keys {
		a.err = errOr(a.err, a.txn.Delete(k))
	}
}
