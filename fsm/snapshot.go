package fsm

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"sync"

	"github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/raft"
)

// The snapshot stream is every key and value of the shard's Badger database
// as of the snapshot's entry:
//
//	magic, then for each pair: uvarint(len(key)) key uvarint(len(value)) value,
//	then uvarint(0), then the CRC-32C of everything before it (4 bytes, BE).
var snapMagic = []byte("RAFTVEC-SNAP-1\n")

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Snapshot captures the shard's state as of the last applied entry. Called
// by Raft's FSM goroutine between applies; the returned snapshot is
// persisted on another goroutine while apply goes on.
func (s *Shard) Snapshot() (raft.FSMSnapshot, error) {
	s.pins.RLock()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		s.pins.RUnlock()
		return nil, ErrClosed
	}
	return &snapshot{db: s.db, txn: s.db.NewTransaction(false), release: s.pins.RUnlock}, nil
}

type snapshot struct {
	db      *badger.DB
	txn     *badger.Txn
	once    sync.Once
	release func()
}

// Persist syncs Badger, so that the state the snapshot stands for is
// durable before Raft may compact its log up to it, then streams it.
func (sn *snapshot) Persist(sink raft.SnapshotSink) error {
	if err := sn.db.Sync(); err != nil {
		sink.Cancel()
		return fmt.Errorf("sync badger before snapshot: %w", err)
	}
	if err := sn.write(sink); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (sn *snapshot) write(w io.Writer) error {
	crc := crc32.New(crcTable)
	bw := bufio.NewWriterSize(io.MultiWriter(w, crc), 1<<20)
	var lenBuf [binary.MaxVarintLen64]byte
	putLen := func(n int) error {
		_, err := bw.Write(lenBuf[:binary.PutUvarint(lenBuf[:], uint64(n))])
		return err
	}
	if _, err := bw.Write(snapMagic); err != nil {
		return err
	}
	it := sn.txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 64})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		if err := putLen(len(item.Key())); err != nil {
			return err
		}
		if _, err := bw.Write(item.Key()); err != nil {
			return err
		}
		err := item.Value(func(v []byte) error {
			if err := putLen(len(v)); err != nil {
				return err
			}
			_, err := bw.Write(v)
			return err
		})
		if err != nil {
			return err
		}
	}
	if err := putLen(0); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc.Sum32())
	_, err := w.Write(sum[:])
	return err
}

// Release ends the snapshot and unpins the database. Raft calls it once
// after Persist; it is safe to call twice.
func (sn *snapshot) Release() {
	sn.once.Do(func() {
		sn.txn.Discard()
		sn.release()
	})
}

// Restore replaces the shard's state with a snapshot stream. The stream is
// loaded into a new Badger directory beside the live one and checked before
// the two are swapped, so a truncated or corrupt stream leaves the shard as
// it was. Called by Raft's FSM goroutine.
func (s *Shard) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	tmp := s.opts.Dir + ".restore"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := loadSnapshot(tmp, rc, s.log); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("restore snapshot: %w", err)
	}
	// Wait for snapshots still streaming from the current database.
	s.pins.Lock()
	defer s.pins.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		os.RemoveAll(tmp)
		return ErrClosed
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close badger for restore: %w", err)
	}
	old := s.opts.Dir + ".old"
	os.RemoveAll(old)
	if err := os.Rename(s.opts.Dir, old); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := os.Rename(tmp, s.opts.Dir); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	os.RemoveAll(old)
	db, err := openBadger(s.opts.Dir, s.log)
	if err != nil {
		return err
	}
	s.db = db
	if err := s.load(); err != nil {
		return fmt.Errorf("load restored state: %w", err)
	}
	s.restores.Add(1)
	return nil
}

// crcReader hashes every byte read through it.
type crcReader struct {
	r *bufio.Reader
	h hash.Hash32
}

func (c *crcReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	return n, err
}

func (c *crcReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.h.Write([]byte{b})
	}
	return b, err
}

// loadSnapshot writes a snapshot stream into a new Badger database in dir
// and checks its checksum.
func loadSnapshot(dir string, r io.Reader, log *slog.Logger) error {
	db, err := openBadger(dir, log)
	if err != nil {
		return err
	}
	br := bufio.NewReaderSize(r, 1<<20)
	cr := &crcReader{r: br, h: crc32.New(crcTable)}
	wb := db.NewWriteBatch()
	err = readPairs(cr, wb.Set)
	if err == nil {
		var sum [4]byte
		if _, rerr := io.ReadFull(br, sum[:]); rerr != nil {
			err = fmt.Errorf("%w: snapshot has no checksum", ErrCorrupt)
		} else if binary.BigEndian.Uint32(sum[:]) != cr.h.Sum32() {
			err = fmt.Errorf("%w: snapshot checksum mismatch", ErrCorrupt)
		}
	}
	if err == nil {
		err = wb.Flush()
	} else {
		wb.Cancel()
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}

func readPairs(cr *crcReader, set func(k, v []byte) error) error {
	magic := make([]byte, len(snapMagic))
	if _, err := io.ReadFull(cr, magic); err != nil || string(magic) != string(snapMagic) {
		return fmt.Errorf("%w: snapshot stream has no header", ErrCorrupt)
	}
	for {
		kl, err := binary.ReadUvarint(cr)
		if err != nil {
			return fmt.Errorf("%w: truncated snapshot: %v", ErrCorrupt, err)
		}
		if kl == 0 {
			return nil
		}
		if kl > 1<<20 {
			return fmt.Errorf("%w: snapshot key of %d bytes", ErrCorrupt, kl)
		}
		key := make([]byte, kl)
		if _, err := io.ReadFull(cr, key); err != nil {
			return fmt.Errorf("%w: truncated snapshot: %v", ErrCorrupt, err)
		}
		vl, err := binary.ReadUvarint(cr)
		if err != nil || vl > 1<<31 {
			return fmt.Errorf("%w: truncated snapshot value", ErrCorrupt)
		}
		val := make([]byte, vl)
		if _, err := io.ReadFull(cr, val); err != nil {
			return fmt.Errorf("%w: truncated snapshot: %v", ErrCorrupt, err)
		}
		if err := set(key, val); err != nil {
			return err
		}
	}
}
