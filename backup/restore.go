package backup

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
)

// maxRecordBytes bounds one record of a shard file (the export keeps its
// messages under 8 MiB of vectors).
const maxRecordBytes = 64 << 20

// ReadManifest reads and checks a backup's manifest, without its files.
func ReadManifest(ctx context.Context, loc string) (*Manifest, error) {
	st, err := openStore(loc)
	if err != nil {
		return nil, err
	}
	return readManifest(ctx, st)
}

func readManifest(ctx context.Context, st store) (*Manifest, error) {
	f, _, err := st.open(ctx, ManifestFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("backup %s: no %s (not a backup, or one that did not finish): %w", st, ManifestFile, ErrNoBackup)
	}
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, 64<<20))
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("backup %s: %s: %w", st, ManifestFile, err)
	}
	m := &Manifest{}
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("backup %s: %s: %w", st, ManifestFile, err)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("backup %s: %s: format %q, want %q", st, ManifestFile, m.Format, Format)
	}
	if len(m.Collections) == 0 {
		return nil, fmt.Errorf("backup %s: %s lists no collections", st, ManifestFile)
	}
	for _, col := range m.Collections {
		if _, err := col.schema(); err != nil {
			return nil, fmt.Errorf("backup %s: %s: collection %q: schema: %w", st, ManifestFile, col.Name, err)
		}
		for _, sf := range col.Shards {
			// A file name from the manifest must stay inside the backup.
			if !filepath.IsLocal(filepath.FromSlash(sf.File)) || path.Clean(sf.File) != sf.File {
				return nil, fmt.Errorf("backup %s: %s: shard %d: file %q is not a path inside the backup", st, ManifestFile, sf.ID, sf.File)
			}
		}
	}
	return m, nil
}

// ErrNoBackup: the location holds no manifest.
var ErrNoBackup = errors.New("no backup")

// Listed is a backup that List found.
type Listed struct {
	Location string
	Manifest *Manifest
	Err      error // the manifest could not be read
}

// List returns the backup at loc, or else the backups directly under it.
func List(ctx context.Context, loc string) ([]Listed, error) {
	st, err := openStore(loc)
	if err != nil {
		return nil, err
	}
	if m, err := readManifest(ctx, st); !errors.Is(err, ErrNoBackup) {
		return []Listed{{Location: loc, Manifest: m, Err: err}}, nil
	}
	kids, err := st.children(ctx)
	if err != nil {
		return nil, err
	}
	var out []Listed
	for _, k := range kids {
		m, err := ReadManifest(ctx, k)
		if !errors.Is(err, ErrNoBackup) {
			out = append(out, Listed{Location: k, Manifest: m, Err: err})
		}
	}
	return out, nil
}

func (col *Collection) schema() (*pb.CollectionSchema, error) {
	sc := &pb.CollectionSchema{}
	if err := protojson.Unmarshal(col.Schema, sc); err != nil {
		return nil, err
	}
	return sc, nil
}

func (col *Collection) index() (*pb.CreateIndexRequest, error) {
	if len(col.Index) == 0 {
		return nil, nil
	}
	ix := &pb.CreateIndexRequest{}
	return ix, protojson.Unmarshal(col.Index, ix)
}

// dim is the collection's vector dimension.
func dim(sc *pb.CollectionSchema) int {
	for _, f := range sc.Fields {
		if f.Type == pb.FieldType_FLOAT_VECTOR {
			return int(f.Dim)
		}
	}
	return 0
}

// Verify reads every file of the backup and checks it against the
// manifest: present, of the recorded size and checksum, and made of
// well-formed records of the recorded shard whose rows add up. An error
// names the file.
func Verify(ctx context.Context, loc string) (*Manifest, error) {
	st, err := openStore(loc)
	if err != nil {
		return nil, err
	}
	return verify(ctx, st)
}

func verify(ctx context.Context, st store) (*Manifest, error) {
	m, err := readManifest(ctx, st)
	if err != nil {
		return nil, err
	}
	for _, col := range m.Collections {
		for _, sf := range col.Shards {
			if err := readShard(ctx, st, &col, sf, nil); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// readShard reads one shard file, checking it, and hands each batch of
// rows to emit (if set). The checksum is known only at the end, so emit
// may have seen rows of a file that then fails.
func readShard(ctx context.Context, st store, col *Collection, sf ShardFile, emit func(*pb.ExportResponse) error) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("backup %s: file %s: %s", st, sf.File, fmt.Sprintf(format, args...))
	}
	f, size, err := st.open(ctx, sf.File)
	if errors.Is(err, os.ErrNotExist) {
		return bad("missing (shard %d of collection %q)", sf.ID, col.Name)
	}
	if err != nil {
		return bad("%v", err)
	}
	defer f.Close()
	if size != sf.Bytes {
		return bad("%d bytes, the manifest says %d (truncated or replaced)", size, sf.Bytes)
	}
	sc, err := col.schema()
	if err != nil {
		return err
	}
	d := dim(sc)
	sum := sha256.New()
	r := bufio.NewReaderSize(io.TeeReader(f, sum), 1<<20)
	var rows uint64
	done := false
	for rec := 0; ; rec++ {
		msg := &pb.ExportResponse{}
		err := protodelim.UnmarshalOptions{MaxSize: maxRecordBytes}.UnmarshalFrom(r, msg)
		if err == io.EOF {
			break
		}
		if err != nil {
			return bad("record %d: %v (corrupt)", rec, err)
		}
		switch {
		case done:
			return bad("record %d follows the shard's end (corrupt)", rec)
		case msg.ShardId != sf.ID:
			return bad("record %d is of shard %d, not %d (corrupt)", rec, msg.ShardId, sf.ID)
		case msg.ShardDone:
			if msg.ShardRows != rows {
				return bad("the shard's end says %d rows, the file has %d (corrupt)", msg.ShardRows, rows)
			}
			done = true
			continue
		}
		n := len(msg.Rows.GetIntIds()) + len(msg.Rows.GetStrIds())
		if n == 0 || len(msg.Rows.GetVectors()) != n*d {
			return bad("record %d: %d rows and %d floats for dim %d (corrupt)", rec, n, len(msg.Rows.GetVectors()), d)
		}
		rows += uint64(n)
		if emit != nil {
			if err := emit(msg); err != nil {
				return err
			}
		}
	}
	switch {
	case !done:
		return bad("ends without the shard's end record (truncated)")
	case rows != sf.Rows:
		return bad("%d rows, the manifest says %d", rows, sf.Rows)
	case hex.EncodeToString(sum.Sum(nil)) != sf.SHA256:
		return bad("SHA-256 %x does not match the manifest's %s (corrupt)", sum.Sum(nil), sf.SHA256)
	}
	return nil
}

// RestoreOptions tune Restore.
type RestoreOptions struct {
	// Collections limits the restore to these collections of the backup
	// (all when empty).
	Collections []string
	// As renames the one collection restored.
	As string
	// Shards is the restored collections' shard count (0: the backup's).
	Shards int
	// Replicas is the voters per shard (0: the cluster's default,
	// min(3, nodes)).
	Replicas int
	// Progress, if set, is called with the rows restored and the total.
	Progress func(done, total int64)
	// Verified, if set, is called once the whole backup is verified,
	// before anything is created.
	Verified func(*Manifest)
}

// Restored is one collection Restore created.
type Restored struct {
	From, Name string
	Rows       uint64
}

// Restore verifies the whole backup, then creates each collection (under
// its own name, or opt.As) with its partitions, writes its rows and
// creates its index. It changes nothing unless every file checks out and
// no target collection exists; a collection whose restore fails midway is
// dropped again.
func Restore(ctx context.Context, c *client.Client, loc string, opt RestoreOptions) ([]Restored, error) {
	st, err := openStore(loc)
	if err != nil {
		return nil, err
	}
	m, err := verify(ctx, st)
	if err != nil {
		return nil, err
	}
	cols, err := pickCollections(m, opt)
	if err != nil {
		return nil, err
	}
	existing, err := c.ListCollections(ctx)
	if err != nil {
		return nil, err
	}
	var total int64
	for _, col := range cols {
		if slices.Contains(existing, col.target) {
			return nil, fmt.Errorf("restore: collection %q exists; restore under another name with --as, or drop it first", col.target)
		}
		total += int64(col.Rows)
	}
	if opt.Verified != nil {
		opt.Verified(m)
	}
	var out []Restored
	var done int64
	var mu sync.Mutex
	progress := func(n int) {
		mu.Lock()
		defer mu.Unlock()
		done += int64(n)
		if opt.Progress != nil {
			opt.Progress(done, total)
		}
	}
	for _, col := range cols {
		created, err := restoreCollection(ctx, c, st, m, col, opt, progress)
		if err != nil && !created {
			// Nothing of this collection was made (it may exist and not
			// be ours to drop).
			return out, fmt.Errorf("restore of %q into %q: %w", col.Name, col.target, err)
		}
		if err != nil {
			if derr := c.DropCollection(context.WithoutCancel(ctx), col.target); derr != nil {
				return out, fmt.Errorf("restore of %q into %q: %w (dropping the partly restored collection failed too: %v)", col.Name, col.target, err, derr)
			}
			return out, fmt.Errorf("restore of %q into %q: %w (the partly restored collection was dropped)", col.Name, col.target, err)
		}
		out = append(out, Restored{From: col.Name, Name: col.target, Rows: col.Rows})
	}
	return out, nil
}

type pickedCollection struct {
	*Collection
	target string
}

func pickCollections(m *Manifest, opt RestoreOptions) ([]pickedCollection, error) {
	var out []pickedCollection
	for i := range m.Collections {
		col := &m.Collections[i]
		if len(opt.Collections) == 0 || slices.Contains(opt.Collections, col.Name) {
			out = append(out, pickedCollection{Collection: col, target: col.Name})
		}
	}
	for _, name := range opt.Collections {
		if !slices.ContainsFunc(m.Collections, func(c Collection) bool { return c.Name == name }) {
			return nil, fmt.Errorf("restore: the backup has no collection %q (it has %s)", name, strings.Join(names(m), ", "))
		}
	}
	if opt.As != "" {
		if len(out) != 1 {
			return nil, fmt.Errorf("restore: --as renames one collection, and the backup has %d (%s): name one", len(out), strings.Join(names(m), ", "))
		}
		out[0].target = opt.As
	}
	if opt.Shards < 0 || opt.Replicas < 0 {
		return nil, fmt.Errorf("restore: shards (%d) and replicas (%d) must not be negative", opt.Shards, opt.Replicas)
	}
	return out, nil
}

func names(m *Manifest) []string {
	var out []string
	for _, c := range m.Collections {
		out = append(out, c.Name)
	}
	return out
}

// restoreParallel is how many shard files are restored at once, and
// insertTimeout bounds each batch.
const (
	restoreParallel = 4
	insertTimeout   = time.Minute
)

func restoreCollection(ctx context.Context, c *client.Client, st store, m *Manifest, col pickedCollection, opt RestoreOptions, progress func(int)) (created bool, err error) {
	sc, err := col.schema()
	if err != nil {
		return false, err
	}
	sc.Name = col.target
	autoID := false
	for _, f := range sc.Fields {
		autoID = autoID || (f.PrimaryKey && f.AutoId)
	}
	req := &pb.CreateCollectionRequest{Schema: sc, Shards: uint32(opt.Shards), Replicas: uint32(opt.Replicas)}
	if req.Shards == 0 {
		req.Shards = uint32(len(col.Shards))
	}
	if autoID {
		req.AutoIdStart = col.MaxIntID
	}
	if err := c.CreateCollection(ctx, req); err != nil {
		return false, err
	}
	for _, p := range col.Partitions {
		if p != "_default" {
			if err := c.CreatePartition(ctx, col.target, p); err != nil {
				return true, fmt.Errorf("partition %q: %w", p, err)
			}
		}
	}
	// Each shard file's batches are inserted under request ids of their
	// own, so a batch retried after a lost answer applies once.
	sem := make(chan struct{}, restoreParallel)
	errs := make([]error, len(col.Shards))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for i, sf := range col.Shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			rec := 0
			errs[i] = readShard(ctx, st, col.Collection, sf, func(msg *pb.ExportResponse) error {
				rec++
				ins := &pb.InsertRequest{Collection: col.target, Rows: msg.Rows, PartitionName: msg.Partition, FromBackup: true,
					RequestId: fmt.Sprintf("restore-%d-%s-%d-%d", m.Ts, col.target, sf.ID, rec)}
				ictx, cancel := context.WithTimeout(ctx, insertTimeout)
				_, err := c.Insert(ictx, ins)
				cancel()
				if err != nil {
					return fmt.Errorf("file %s, record %d: %w", sf.File, rec, err)
				}
				progress(len(msg.Rows.IntIds) + len(msg.Rows.StrIds))
				return nil
			})
			if errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return true, err
		}
	}
	if err := errors.Join(errs...); err != nil {
		return true, err
	}
	ix, err := col.index()
	if err != nil {
		return true, err
	}
	if ix != nil {
		ix.Collection = col.target
		if err := c.CreateIndex(ctx, ix); err != nil {
			return true, fmt.Errorf("index: %w", err)
		}
	}
	return true, nil
}
