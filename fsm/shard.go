package fsm

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	"github.com/raftvec/raftvec/fsm/fsmpb"
)

// Options configure a shard state machine.
type Options struct {
	// Dir is the Badger directory.
	Dir string
	// Logger receives Badger's warnings and the shard's own messages.
	Logger *slog.Logger
	// Fatal is called when durable state cannot be written or a log entry
	// cannot be decoded. The replica must stop; it must not go on applying.
	Fatal func(error)
	// UnsafeSkipDedup applies retried requests again (negative control of
	// the consistency suite only).
	UnsafeSkipDedup bool
}

// DefaultOptions returns options with every default set except Dir.
func DefaultOptions() Options {
	return Options{Logger: slog.Default()}
}

// Validate checks the options.
func (o Options) Validate() error {
	if o.Dir == "" {
		return errors.New("fsm: dir must be set")
	}
	return nil
}

// Shard is the state machine of one shard replica: one collection's rows in
// a growing segment and sealed segments, kept in memory for search and in
// Badger for durability.
//
// ApplyBatch, Snapshot and Restore are called by Raft's FSM goroutine, one at
// a time. The read methods (Search, Get, Applied, Digest ...) may run on any
// goroutine, concurrently with each other and with apply.
type Shard struct {
	opts Options
	log  *slog.Logger
	db   *badger.DB

	// pins is held for reading by every snapshot that has not been released
	// (it streams from the Badger database it pinned) and for writing while
	// that database is swapped (Restore) or closed.
	pins sync.RWMutex

	mu        sync.RWMutex // guards everything below; apply holds it while mutating
	create    *fsmpb.CreateCollection
	schema    *Schema
	dropped   bool
	segs      []*segment // by id, ascending; the last is the growing one
	segByID   map[uint64]*segment
	pkInt     map[int64]rowRef // newest row of each key, deleted or not
	pkStr     map[string]rowRef
	dedup     map[string]*fsmpb.Result
	dedupAge  []dedupEntry // in apply order, for pruning
	applied   *fsmpb.Applied
	closed    bool
	ixSpec    *fsmpb.IndexSpec
	horizon   uint64          // oldest readable ts (compaction)
	compacted map[uint64]bool // segments merged away

	kick chan struct{} // index builder wake-up
	ixc  indexCounters

	applies  atomic.Uint64 // entries applied since open
	skips    atomic.Uint64 // entries skipped as already applied since open
	restores atomic.Uint64 // snapshots restored since open
	// openedAt is the applied index found on disk at open; firstApplied
	// is the index of the first entry applied since (0 if none).
	openedAt     uint64
	firstApplied atomic.Uint64
}

type dedupEntry struct {
	index uint64 // log index the request was applied at
	id    string
}

// Open opens (or creates) the shard state in opts.Dir and loads it.
func Open(opts Options) (*Shard, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Fatal == nil {
		opts.Fatal = func(err error) { panic(err) }
	}
	s := &Shard{opts: opts, log: opts.Logger, kick: make(chan struct{}, 1)}
	db, err := openBadger(opts.Dir, opts.Logger)
	if err != nil {
		return nil, err
	}
	s.db = db
	if err := s.load(); err != nil {
		db.Close()
		return nil, fmt.Errorf("load shard state from %s: %w", opts.Dir, err)
	}
	s.openedAt = s.applied.Index
	return s, nil
}

func openBadger(dir string, log *slog.Logger) (*badger.DB, error) {
	bo := badger.DefaultOptions(dir).
		WithLogger(badgerLogger{log}).
		WithMemTableSize(16 << 20).
		WithNumMemtables(2).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(8).
		WithBlockCacheSize(8 << 20).
		WithValueThreshold(1 << 10).
		WithValueLogFileSize(64 << 20).
		WithNumCompactors(2).
		WithSyncWrites(false)
	db, err := badger.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("open badger %s: %w", dir, err)
	}
	return db, nil
}

// Close releases the Badger database. Reads after Close return ErrClosed.
func (s *Shard) Close() error {
	s.pins.Lock()
	defer s.pins.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.db.Close()
}

// load reads the whole durable state into memory.
func (s *Shard) load() error {
	s.create, s.schema, s.dropped, s.ixSpec, s.horizon, s.compacted = nil, nil, false, nil, 0, map[uint64]bool{}
	s.segs, s.segByID = nil, map[uint64]*segment{}
	s.pkInt, s.pkStr = map[int64]rowRef{}, map[string]rowRef{}
	s.dedup, s.dedupAge = map[string]*fsmpb.Result{}, nil
	s.applied = &fsmpb.Applied{NextSegment: 1, NextAutoId: 1}
	return s.db.View(func(txn *badger.Txn) error {
		if err := getProto(txn, keyApplied, s.applied); err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		cc := new(fsmpb.CreateCollection)
		switch err := getProto(txn, keySchema, cc); {
		case err == nil:
			if err := s.setCollection(cc); err != nil {
				return fmt.Errorf("%w: stored schema: %v", ErrCorrupt, err)
			}
		case !errors.Is(err, badger.ErrKeyNotFound):
			return err
		}
		if _, err := txn.Get(keyDropped); err == nil {
			s.dropped = true
		}
		if s.schema == nil {
			return nil
		}
		manifest := new(fsmpb.Manifest)
		if err := getProto(txn, keySegments, manifest); err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		for _, m := range manifest.Segments {
			seg := s.addSegment(m.Id)
			seg.sealed, seg.sealTs = m.Sealed, m.SealTs
		}
		s.horizon = manifest.Horizon
		for _, id := range manifest.Compacted {
			s.compacted[id] = true
		}
		if err := s.loadBlocks(txn); err != nil {
			return err
		}
		if err := s.loadDeletes(txn); err != nil {
			return err
		}
		if err := s.loadIndexes(txn); err != nil {
			return err
		}
		return s.loadDedup(txn)
	})
}

func (s *Shard) loadBlocks(txn *badger.Txn) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixBlock}, PrefetchValues: true, PrefetchSize: 64})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		b := new(fsmpb.Block)
		if err := it.Item().Value(func(v []byte) error { return proto.Unmarshal(v, b) }); err != nil {
			return fmt.Errorf("%w: block %x: %v", ErrCorrupt, it.Item().Key(), err)
		}
		seg := s.segByID[b.Segment]
		if seg == nil {
			return fmt.Errorf("%w: block for unknown segment %d", ErrCorrupt, b.Segment)
		}
		n := rowCount(b.Rows, s.schema.Dim)
		if int(b.FirstRow) != len(seg.insertTs) || len(b.Prev) != n {
			return fmt.Errorf("%w: block %d/%d does not follow row %d", ErrCorrupt, b.Segment, b.FirstRow, len(seg.insertTs))
		}
		seg.appendRows(b.Rows, 0, n, rowMeta{ts: b.Ts, partition: b.Partition, tss: b.InsertTs, partitions: b.Partitions}, refs(b.Prev))
		for i := 0; i < n; i++ {
			// Newest by insert ts, not by key order: a segment made by
			// compaction has a higher id than the growing segment that
			// may hold later versions.
			ref := makeRef(seg.id, b.FirstRow+uint32(i))
			if cur := s.newest(b.Rows, i); cur == 0 || s.segByID[cur.seg()].insertTs[cur.row()] <= seg.insertTs[ref.row()] {
				s.setNewest(b.Rows, i, ref)
			}
		}
	}
	return nil
}

func (s *Shard) loadDeletes(txn *badger.Txn) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixDeletes}, PrefetchValues: true})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		d := new(fsmpb.Deletes)
		if err := it.Item().Value(func(v []byte) error { return proto.Unmarshal(v, d) }); err != nil {
			return fmt.Errorf("%w: deletes %x: %v", ErrCorrupt, it.Item().Key(), err)
		}
		for _, r := range d.Rows {
			ref := rowRef(r)
			if s.compacted[ref.seg()] {
				continue // the row was merged away (or dropped) by compaction
			}
			seg := s.segByID[ref.seg()]
			if seg == nil || int(ref.row()) >= len(seg.deleteTs) {
				return fmt.Errorf("%w: delete of unknown row %d/%d", ErrCorrupt, ref.seg(), ref.row())
			}
			seg.deleteTs[ref.row()] = d.Ts
		}
	}
	return nil
}

func (s *Shard) loadDedup(txn *badger.Txn) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixDedup}, PrefetchValues: true})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		r := new(fsmpb.Result)
		if err := it.Item().Value(func(v []byte) error { return proto.Unmarshal(v, r) }); err != nil {
			return fmt.Errorf("%w: dedup entry: %v", ErrCorrupt, err)
		}
		id := string(it.Item().Key()[1:])
		s.dedup[id] = r
		s.dedupAge = append(s.dedupAge, dedupEntry{index: r.Index, id: id})
	}
	sort.Slice(s.dedupAge, func(i, j int) bool {
		a, b := s.dedupAge[i], s.dedupAge[j]
		return a.index < b.index || (a.index == b.index && a.id < b.id)
	})
	return nil
}

func (s *Shard) setCollection(cc *fsmpb.CreateCollection) error {
	sc, err := NewSchema(cc.Schema)
	if err != nil {
		return err
	}
	if cc.SealRows == 0 {
		return fmt.Errorf("seal_rows is 0")
	}
	s.create, s.schema = cc, sc
	return nil
}

func (s *Shard) addSegment(id uint64) *segment {
	seg := newSegment(id, s.schema)
	if s.create != nil {
		seg.capRows = int(s.create.SealRows)
	}
	s.segs = append(s.segs, seg)
	s.segByID[id] = seg
	return seg
}

func (s *Shard) newest(r *fsmpb.Rows, i int) rowRef {
	if len(r.IntPks) > 0 {
		return s.pkInt[r.IntPks[i]]
	}
	return s.pkStr[r.StrPks[i]]
}

func (s *Shard) setNewest(r *fsmpb.Rows, i int, ref rowRef) {
	if len(r.IntPks) > 0 {
		s.pkInt[r.IntPks[i]] = ref
	} else {
		s.pkStr[r.StrPks[i]] = ref
	}
}

func rowCount(r *fsmpb.Rows, dim int) int {
	if n := len(r.IntPks) + len(r.StrPks); n > 0 {
		return n
	}
	if dim == 0 {
		return 0
	}
	return len(r.Vectors) / dim
}

func refs(p []uint64) []rowRef {
	out := make([]rowRef, len(p))
	for i, v := range p {
		out[i] = rowRef(v)
	}
	return out
}

func getProto(txn *badger.Txn, key []byte, m proto.Message) error {
	item, err := txn.Get(key)
	if err != nil {
		return err
	}
	return item.Value(func(v []byte) error {
		if err := proto.Unmarshal(v, m); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrCorrupt, key, err)
		}
		return nil
	})
}

// Schema returns the collection schema, or nil before CreateCollection.
func (s *Shard) Schema() *Schema {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.schema
}

// Applied returns the index and ts of the last applied entry.
func (s *Shard) Applied() (index, ts uint64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.applied.Index, s.applied.Ts
}

// Counters says what the shard did since Open.
type Counters struct {
	Applied, Skipped, Restores uint64
	// OpenedAt is the applied index found on disk at Open; FirstApplied is
	// the first entry applied since (0 if none). FirstApplied > OpenedAt
	// shows that no entry was applied twice.
	OpenedAt, FirstApplied uint64
}

// Counters returns what the shard did since Open.
func (s *Shard) Counters() Counters {
	return Counters{Applied: s.applies.Load(), Skipped: s.skips.Load(), Restores: s.restores.Load(),
		OpenedAt: s.openedAt, FirstApplied: s.firstApplied.Load()}
}

// checkReadable returns the schema for a read, or why it cannot be served.
func (s *Shard) checkReadable() (*Schema, error) {
	if s.closed {
		return nil, ErrClosed
	}
	if s.dropped {
		return nil, ErrDropped
	}
	if s.schema == nil {
		return nil, ErrNotReady
	}
	return s.schema, nil
}
