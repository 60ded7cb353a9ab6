package fsm

import (
	"fmt"
	"sort"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	"github.com/raftvec/raftvec/fsm/fsmpb"
)

// DedupWindowEntries is how long a request id is remembered: until this many
// log entries after the one that applied it. It is counted in entries, not
// in op time, because op time can be moved by a leader's clock or a
// client's token, and a constant rather than a setting because every
// replica must forget the same ids at the same entry. A shard writes at most
// a few thousand entries a second (group commit puts concurrent writes into
// one) and an idle one a tick per tick interval, so this is at least about
// ten minutes at full load and days when idle.
const DedupWindowEntries = 1 << 22

// MaxDedupIDs bounds how many request ids a shard remembers at once (the
// oldest go first), so that memory stays bounded however many requests an
// entry carries: at 2,000 requests a second that is still over eight
// minutes.
const MaxDedupIDs = 1 << 20

// MaxTs is the highest ts an op may take: math.MaxUint64 marks a row as not
// deleted.
const MaxTs = live - 1

// maxDedupPrunePerEntry bounds the work one entry spends forgetting old
// request ids, so that a burst of expiries does not stall apply.
const maxDedupPrunePerEntry = 256

// ApplyBatch applies the commands of the log entry at index and returns one
// result per command (a *fsmpb.Result, or an error for a command refused at
// apply time) and the entry's timestamp. Entries at or below the applied
// index are skipped: replaying a log after restart is harmless.
//
// Called by Raft's FSM goroutine only. Deterministic.
func (s *Shard) ApplyBatch(index uint64, cmds [][]byte) ([]any, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return make([]any, len(cmds)), s.applied.Ts
	}
	if index <= s.applied.Index {
		s.skips.Add(1)
		return make([]any, len(cmds)), s.applied.Ts
	}
	ops := make([]*fsmpb.Op, len(cmds))
	for i, c := range cmds {
		op, err := DecodeOp(c)
		if err != nil {
			s.opts.Fatal(fmt.Errorf("entry %d command %d: %w", index, i, err))
			return make([]any, len(cmds)), s.applied.Ts
		}
		ops[i] = op
	}
	a := &applier{s: s, index: index, txn: s.db.NewTransaction(true)}
	defer a.txn.Discard()
	results := make([]any, len(ops))
	for i, op := range ops {
		// Timestamps strictly increase along the log even if a leader
		// stamped an op below its predecessor (it lost and regained
		// leadership between stamping and proposing): the effective ts is
		// decided here, identically on every replica.
		if op.Ts <= s.applied.Ts {
			op.Ts = s.applied.Ts + 1
		}
		if op.Ts > MaxTs || op.Ts < s.applied.Ts {
			// Leaders refuse client timestamps this far ahead; an op that
			// got here anyway is refused, the same way on every replica.
			results[i] = invalidf("ts %d is beyond the highest ts %d", op.Ts, uint64(MaxTs))
			continue
		}
		s.applied.Ts = op.Ts
		results[i] = a.apply(op)
	}
	s.applied.Index = index
	a.pruneDedup()
	a.put(keyApplied, s.applied)
	if a.manifestDirty {
		a.put(keySegments, s.manifest())
	}
	if a.err == nil {
		a.err = a.txn.Commit()
	}
	if a.err != nil {
		s.opts.Fatal(fmt.Errorf("write entry %d to badger: %w", index, a.err))
	}
	s.applies.Add(1)
	s.firstApplied.CompareAndSwap(0, index)
	return results, s.applied.Ts
}

// applier carries one entry's Badger transaction.
type applier struct {
	s             *Shard
	index         uint64
	txn           *badger.Txn
	err           error
	manifestDirty bool
}

func (a *applier) put(key []byte, m proto.Message) {
	if a.err != nil {
		return
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		a.err = err
		return
	}
	a.err = a.txn.Set(key, b)
}

func (a *applier) apply(op *fsmpb.Op) any {
	s := a.s
	if op.RequestId != "" && !s.opts.UnsafeSkipDedup {
		if r, ok := s.dedup[op.RequestId]; ok {
			if reused(r, op.Fingerprint) {
				return &fsmpb.Result{Ts: op.Ts, Code: CodeRequestReused, Message: reusedMessage(op.RequestId)}
			}
			return r
		}
	}
	res := &fsmpb.Result{Ts: op.Ts, Index: a.index, Fingerprint: op.Fingerprint}
	switch k := op.Kind.(type) {
	case *fsmpb.Op_CreateCollection:
		a.createCollection(k.CreateCollection, res)
	case *fsmpb.Op_DropCollection:
		if s.schema != nil && !s.dropped {
			s.dropped = true
			a.err = errOr(a.err, a.txn.Set(keyDropped, nil))
		}
	case *fsmpb.Op_Insert:
		if a.ready(res) {
			a.insert(k.Insert, op.Ts, res)
		}
	case *fsmpb.Op_Delete:
		if a.ready(res) {
			a.delete(k.Delete, op.Ts, res)
		}
	case *fsmpb.Op_Seal:
		if a.ready(res) {
			a.seal(op.Ts)
		}
	case *fsmpb.Op_TimeTick:
	case *fsmpb.Op_CreateIndex:
		if a.ready(res) {
			a.createIndex(k.CreateIndex)
		}
	case *fsmpb.Op_DropIndex:
		if a.ready(res) {
			a.dropIndexes()
		}
	case *fsmpb.Op_Compact:
		if a.ready(res) {
			a.compact(k.Compact, op.Ts, res)
		}
	}
	if op.RequestId != "" {
		s.dedup[op.RequestId] = res
		s.dedupAge = append(s.dedupAge, dedupEntry{index: a.index, id: op.RequestId})
		a.put(dedupKey(op.RequestId), res)
	}
	return res
}

func errOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func (a *applier) ready(res *fsmpb.Result) bool {
	switch {
	case a.s.dropped:
		res.Code, res.Message = CodeDropped, "collection dropped"
	case a.s.schema == nil:
		res.Code, res.Message = CodeNotReady, "shard has no collection yet"
	default:
		return true
	}
	return false
}

func (a *applier) createCollection(cc *fsmpb.CreateCollection, res *fsmpb.Result) {
	s := a.s
	if s.schema != nil {
		return // a repeated create (a new leader re-proposing) changes nothing
	}
	if err := s.setCollection(cc); err != nil {
		// The leader validated the schema; a bad one here means the log is
		// not what this version of raftvec wrote.
		s.opts.Fatal(fmt.Errorf("%w: create collection: %v", ErrCorrupt, err))
		return
	}
	a.put(keySchema, cc)
	s.addSegment(s.applied.NextSegment)
	s.applied.NextSegment++
	a.manifestDirty = true
}

// liveRef returns the newest row of a key if it is not deleted.
func (s *Shard) liveRef(intPK int64, strPK string, isInt bool) (rowRef, bool) {
	var ref rowRef
	if isInt {
		ref = s.pkInt[intPK]
	} else {
		ref = s.pkStr[strPK]
	}
	if ref == 0 {
		return 0, false
	}
	seg := s.segByID[ref.seg()]
	if seg == nil {
		return 0, false
	}
	return ref, seg.deletedAt(ref.row()) == live
}

func (a *applier) insert(ins *fsmpb.Insert, ts uint64, res *fsmpb.Result) {
	s := a.s
	rows := ins.Rows
	n := rowCount(rows, s.schema.Dim)
	if n == 0 || len(rows.Vectors) != n*s.schema.Dim || len(rows.Columns) != len(s.schema.Scalars) {
		s.opts.Fatal(fmt.Errorf("%w: insert of %d rows does not fit the schema", ErrCorrupt, n))
		return
	}
	if s.schema.PK.AutoId && len(rows.IntPks) == 0 {
		// Shards stripe the id space: shard i of n hands out i+1, i+1+n, …
		count := uint64(max(s.create.ShardCount, 1))
		rows.IntPks = make([]int64, n)
		for i := range rows.IntPks {
			rows.IntPks[i] = s.schema.pb.AutoIdStart + int64((s.applied.NextAutoId-1)*count+uint64(s.create.ShardIndex)) + 1
			s.applied.NextAutoId++
		}
		res.AutoIds = rows.IntPks
	}
	isInt := len(rows.IntPks) > 0
	// Refuse the whole batch, deterministically, if a key is live (insert)
	// or repeats: validation caught this before proposing, but two inserts
	// of one key can race to the log.
	seen := make(map[any]bool, n)
	prev := make([]rowRef, n)
	var replaced []uint64
	for i := 0; i < n; i++ {
		var key any
		if isInt {
			key = rows.IntPks[i]
		} else {
			key = rows.StrPks[i]
		}
		if seen[key] {
			res.Code, res.Message = CodeAlreadyExists, fmt.Sprintf("primary key %v appears twice in one batch", key)
			return
		}
		seen[key] = true
		var ref rowRef
		var isLive bool
		if isInt {
			ref, isLive = s.liveRef(rows.IntPks[i], "", true)
		} else {
			ref, isLive = s.liveRef(0, rows.StrPks[i], false)
		}
		prev[i] = ref
		if isLive {
			if !ins.Upsert {
				res.Code, res.Message = CodeAlreadyExists, fmt.Sprintf("primary key %v already exists (use upsert to replace it)", key)
				return
			}
			replaced = append(replaced, uint64(ref))
		}
	}
	for _, r := range replaced {
		ref := rowRef(r)
		s.segByID[ref.seg()].markDeleted(ref.row(), ts)
	}
	if len(replaced) > 0 {
		a.put(deletesKey(ts), &fsmpb.Deletes{Ts: ts, Rows: replaced})
	}
	sealRows := int(s.create.SealRows)
	for from := 0; from < n; {
		g := s.segs[len(s.segs)-1]
		have := g.len()
		to := min(n, from+sealRows-have)
		chunk := sliceRows(rows, from, to, s.schema.Dim)
		p := prev[from:to]
		g.appendRows(rows, from, to, rowMeta{ts: ts, partition: ins.Partition}, p)
		for i := from; i < to; i++ {
			s.setNewest(rows, i, makeRef(g.id, uint32(have+i-from)))
		}
		pu := make([]uint64, len(p))
		for i, r := range p {
			pu[i] = uint64(r)
		}
		a.put(blockKey(g.id, uint32(have)), &fsmpb.Block{Segment: g.id, FirstRow: uint32(have), Ts: ts, Rows: chunk, Prev: pu, Partition: ins.Partition})
		if have+to-from >= sealRows {
			a.seal(ts)
		}
		from = to
	}
	res.Inserted = uint32(n)
	res.Deleted = uint32(len(replaced))
}

// sliceRows returns rows [from, to) of r (sharing r's arrays).
func sliceRows(r *fsmpb.Rows, from, to, dim int) *fsmpb.Rows {
	if from == 0 && to == rowCount(r, dim) {
		return r
	}
	out := &fsmpb.Rows{Vectors: r.Vectors[from*dim : to*dim]}
	if len(r.IntPks) > 0 {
		out.IntPks = r.IntPks[from:to]
	} else {
		out.StrPks = r.StrPks[from:to]
	}
	for _, c := range r.Columns {
		nc := &fsmpb.Column{Field: c.Field}
		appendColumn(nc, c, from, to, 0)
		out.Columns = append(out.Columns, nc)
	}
	return out
}

func (a *applier) delete(d *fsmpb.Delete, ts uint64, res *fsmpb.Result) {
	s := a.s
	var rows []uint64
	for _, pk := range d.IntPks {
		if ref, ok := s.liveRef(pk, "", true); ok {
			rows = append(rows, uint64(ref))
			s.segByID[ref.seg()].markDeleted(ref.row(), ts)
		}
	}
	for _, pk := range d.StrPks {
		if ref, ok := s.liveRef(0, pk, false); ok {
			rows = append(rows, uint64(ref))
			s.segByID[ref.seg()].markDeleted(ref.row(), ts)
		}
	}
	if len(rows) > 0 {
		a.put(deletesKey(ts), &fsmpb.Deletes{Ts: ts, Rows: rows})
	}
	res.Deleted = uint32(len(rows))
}

// seal closes the growing segment (if it has rows) and opens a new one.
func (a *applier) seal(ts uint64) {
	s := a.s
	g := s.segs[len(s.segs)-1]
	if g.len() == 0 {
		return
	}
	g.mu.Lock()
	g.sealed, g.sealTs = true, ts
	g.mu.Unlock()
	s.addSegment(s.applied.NextSegment)
	s.applied.NextSegment++
	a.manifestDirty = true
	s.kickIndex()
}

func (s *Shard) manifest() *fsmpb.Manifest {
	m := &fsmpb.Manifest{Horizon: s.horizon}
	for id := range s.compacted {
		m.Compacted = append(m.Compacted, id)
	}
	sort.Slice(m.Compacted, func(i, j int) bool { return m.Compacted[i] < m.Compacted[j] })
	for _, g := range s.segs {
		g.mu.RLock()
		m.Segments = append(m.Segments, &fsmpb.Segment{Id: g.id, Sealed: g.sealed, Rows: uint32(len(g.insertTs)), SealTs: g.sealTs})
		g.mu.RUnlock()
	}
	return m
}

// pruneDedup forgets request ids applied more than DedupWindowEntries
// entries ago, and the oldest beyond MaxDedupIDs, so that every replica
// forgets the same ids at the same entry.
func (a *applier) pruneDedup() {
	s := a.s
	var cutoff uint64
	if a.index > DedupWindowEntries {
		cutoff = a.index - DedupWindowEntries
	}
	n := 0
	for n < len(s.dedupAge) && n < maxDedupPrunePerEntry && (s.dedupAge[n].index < cutoff || len(s.dedupAge)-n > MaxDedupIDs) {
		id := s.dedupAge[n].id
		delete(s.dedup, id)
		a.err = errOr(a.err, a.txn.Delete(dedupKey(id)))
		n++
	}
	s.dedupAge = s.dedupAge[n:]
}
