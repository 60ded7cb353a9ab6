// Package backup writes and restores consistent backups of collections.
//
// A backup is a directory: manifest.json and one file per shard of each
// collection. The rows are one cut of every shard of every collection in
// it at one ts, taken online (the Export call: each shard's replica reads
// as of the ts, however writes and compactions go on meanwhile). A shard
// file is a sequence of length-delimited ExportResponse messages (rows of
// one partition each) ending with the shard's done record; the manifest
// holds the schemas, index specs, partitions, shard layout, the ts and
// each file's size and SHA-256, and is written last, so a backup without
// one is incomplete. Restore checks every file against the manifest
// before it creates anything, and restores into any shard count: rows go
// to shards by primary-key hash as inserts do.
//
// The package speaks to the cluster only through the Go SDK.
package backup

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
)

// Format names the layout this package writes and reads.
const Format = "raftvec-backup/1"

// ManifestFile is the manifest's name in a backup directory.
const ManifestFile = "manifest.json"

// Manifest describes a backup.
type Manifest struct {
	Format      string       `json:"format"`
	Created     time.Time    `json:"created"`
	Ts          uint64       `json:"ts"` // the cut: every row is as of this ts
	Collections []Collection `json:"collections"`
}

// Collection is one collection of a backup.
type Collection struct {
	Name string `json:"name"`
	// Schema is the protojson of its pb.CollectionSchema.
	Schema json.RawMessage `json:"schema"`
	// Index is the protojson of the pb.CreateIndexRequest that rebuilds
	// its index, or absent.
	Index      json.RawMessage `json:"index,omitempty"`
	Partitions []string        `json:"partitions"`
	Replicas   int             `json:"replicas"`
	Rows       uint64          `json:"rows"`
	// MaxIntID is the highest int64 primary key in the backup: an auto_id
	// collection is restored to hand out ids above it.
	MaxIntID int64       `json:"max_int_id,omitempty"`
	Shards   []ShardFile `json:"shards"`
}

// ShardFile is one shard's rows.
type ShardFile struct {
	ID     uint64 `json:"id"`
	File   string `json:"file"` // relative to the backup directory, slash-separated
	Rows   uint64 `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// CreateOptions tune Create.
type CreateOptions struct {
	// AsOf is the cut's ts; 0 takes a fresh STRONG one.
	AsOf uint64
	// Progress, if set, is called as rows arrive, with the rows written
	// and the rows expected (from the collections' row counts).
	Progress func(done, total int64)
}

// Create backs up the named collections into loc (a directory, which
// must not exist or be empty, or s3://bucket/prefix under which nothing
// is stored yet). All of them are cut at one ts.
func Create(ctx context.Context, c *client.Client, loc string, names []string, opt CreateOptions) (*Manifest, error) {
	if len(names) == 0 {
		return nil, errors.New("backup: no collections named")
	}
	st, err := openStore(loc)
	if err != nil {
		return nil, err
	}
	if err := st.empty(ctx); err != nil {
		return nil, err
	}
	m, err := describe(ctx, c, names)
	if err != nil {
		return nil, err
	}
	var total, done int64
	for _, col := range m.Collections {
		total += int64(col.Rows)
	}
	// A compaction can move a shard's oldest readable ts past a fresh cut
	// before its export starts; a fresh cut is then taken again. A ts the
	// caller named cannot be.
	for attempt := 0; ; attempt++ {
		m.Ts, done = opt.AsOf, 0
		err = exportAll(ctx, c, st, m, func(n int) {
			done += int64(n)
			if opt.Progress != nil {
				opt.Progress(done, max(total, done))
			}
		})
		if err == nil || opt.AsOf != 0 || attempt == 2 || status.Code(err) != codes.OutOfRange {
			break
		}
		if err := st.clear(ctx); err != nil {
			return nil, err
		}
	}
	if err != nil {
		// Leave the location empty, so the same command can run again.
		if cerr := st.clear(context.WithoutCancel(ctx)); cerr != nil {
			return nil, fmt.Errorf("%w (and removing what it wrote from %s failed: %v)", err, st, cerr)
		}
		return nil, err
	}
	m.Format, m.Created = Format, time.Now().UTC()
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := st.putAtomic(ctx, ManifestFile, append(js, '\n')); err != nil {
		return nil, err
	}
	return m, nil
}

// describe reads what the manifest needs of each collection.
func describe(ctx context.Context, c *client.Client, names []string) (*Manifest, error) {
	m := &Manifest{}
	for _, name := range names {
		if slices.ContainsFunc(m.Collections, func(x Collection) bool { return x.Name == name }) {
			return nil, fmt.Errorf("backup: collection %q is named twice", name)
		}
		d, err := c.DescribeCollection(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("collection %q: %w", name, err)
		}
		js, err := protojson.Marshal(d.Schema)
		if err != nil {
			return nil, err
		}
		col := Collection{Name: name, Schema: js, Rows: d.Rows}
		for _, sh := range d.Shards {
			col.Replicas = max(col.Replicas, len(sh.Replicas))
			col.Shards = append(col.Shards, ShardFile{ID: sh.Id, File: fmt.Sprintf("%s/shard-%d.rvb", name, sh.Id)})
		}
		ix, err := c.DescribeIndex(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("collection %q: index: %w", name, err)
		}
		if ix.IndexType != "" {
			spec := &pb.CreateIndexRequest{FieldName: ix.FieldName, IndexType: ix.IndexType, M: ix.M, EfConstruction: ix.EfConstruction, Nlist: ix.Nlist, PqM: ix.PqM}
			if col.Index, err = protojson.Marshal(spec); err != nil {
				return nil, err
			}
		}
		if col.Partitions, err = c.ListPartitions(ctx, name); err != nil {
			return nil, fmt.Errorf("collection %q: partitions: %w", name, err)
		}
		m.Collections = append(m.Collections, col)
	}
	return m, nil
}

// exportAll exports every collection of m into dir as of m.Ts, taking
// the ts from the first export when m.Ts is 0, and fills in the shard
// files' rows, sizes and checksums.
func exportAll(ctx context.Context, c *client.Client, st store, m *Manifest, progress func(int)) error {
	for ci := range m.Collections {
		col := &m.Collections[ci]
		files := map[uint64]*shardWriter{}
		for i := range col.Shards {
			sf := &col.Shards[i]
			w, err := newShardWriter(ctx, st, sf.File)
			if err != nil {
				return err
			}
			defer w.abort()
			files[sf.ID] = w
		}
		if err := exportCollection(ctx, c, m, col, files, progress); err != nil {
			return fmt.Errorf("collection %q: %w", col.Name, err)
		}
		for i := range col.Shards {
			sf := &col.Shards[i]
			w := files[sf.ID]
			if err := w.close(); err != nil {
				return err
			}
			sf.Bytes, sf.SHA256 = w.n, hex.EncodeToString(w.sum.Sum(nil))
		}
	}
	return nil
}

func exportCollection(ctx context.Context, c *client.Client, m *Manifest, col *Collection, files map[uint64]*shardWriter, progress func(int)) error {
	stream, err := c.Export(ctx, &pb.ExportRequest{Collection: col.Name, AsOfTs: m.Ts})
	if err != nil {
		return err
	}
	col.Rows, col.MaxIntID = 0, 0
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if m.Ts == 0 {
			m.Ts = msg.Ts
		}
		w, ok := files[msg.ShardId]
		if !ok || msg.Ts != m.Ts {
			return fmt.Errorf("export answered shard %d at ts %d; the collection's shards changed during the backup (want ts %d): run it again", msg.ShardId, msg.Ts, m.Ts)
		}
		n := len(msg.Rows.GetIntIds()) + len(msg.Rows.GetStrIds())
		for _, id := range msg.Rows.GetIntIds() {
			col.MaxIntID = max(col.MaxIntID, id)
		}
		msg.Ts = 0 // the manifest has it
		if err := w.write(msg); err != nil {
			return err
		}
		if msg.ShardDone {
			w.done, w.expect = true, msg.ShardRows
		}
		w.rows += uint64(n)
		progress(n)
	}
	for i := range col.Shards {
		sf := &col.Shards[i]
		w := files[sf.ID]
		if !w.done || w.rows != w.expect {
			return fmt.Errorf("shard %d: the export ended after %d rows without the shard's end (%v)", sf.ID, w.rows, w.done)
		}
		sf.Rows = w.rows
		col.Rows += w.rows
	}
	return nil
}

// shardWriter writes one shard file and hashes what it writes.
type shardWriter struct {
	f      io.WriteCloser
	buf    *bufio.Writer
	sum    hash.Hash
	n      int64
	rows   uint64
	expect uint64
	done   bool
}

func newShardWriter(ctx context.Context, st store, name string) (*shardWriter, error) {
	f, err := st.create(ctx, name)
	if err != nil {
		return nil, err
	}
	return &shardWriter{f: f, buf: bufio.NewWriterSize(f, 1<<20), sum: sha256.New()}, nil
}

func (w *shardWriter) write(msg *pb.ExportResponse) error {
	if w.done {
		return fmt.Errorf("shard %d: rows after the shard's end", msg.ShardId)
	}
	n, err := protodelim.MarshalTo(io.MultiWriter(w.buf, w.sum), msg)
	w.n += int64(n)
	return err
}

// close flushes the file and makes it durable: a backup is stored when
// Create returns.
func (w *shardWriter) close() error {
	if w.f == nil {
		return nil
	}
	err := w.buf.Flush()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f = nil
	return err
}

// abort gives up on a file that was not closed (a bucket's upload then
// ends with the error of its pipe; the attempt's files are cleared).
func (w *shardWriter) abort() {
	if w.f != nil {
		if p, ok := w.f.(*s3Writer); ok {
			p.pw.CloseWithError(errors.New("backup aborted"))
			<-p.done
		} else {
			w.f.Close()
		}
		w.f = nil
	}
}
