package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// A backup lives in a store: a local directory, or a prefix of an
// S3-compatible bucket (s3://bucket/prefix). Files are named by
// slash-separated paths relative to the backup.
type store interface {
	// empty checks that the backup's location holds nothing yet.
	empty(ctx context.Context) error
	// clear removes what a failed attempt wrote.
	clear(ctx context.Context) error
	// create writes a file; it is durable (and, in a bucket, visible)
	// once Close returns nil.
	create(ctx context.Context, name string) (io.WriteCloser, error)
	// putAtomic writes a whole small file at once (the manifest).
	putAtomic(ctx context.Context, name string, data []byte) error
	// open reads a file and says its size; a missing one is
	// os.ErrNotExist.
	open(ctx context.Context, name string) (io.ReadCloser, int64, error)
	// children lists the backups directly under the location.
	children(ctx context.Context) ([]string, error)
	String() string
}

// S3 configuration comes from the environment, as the AWS tools take it.
const (
	S3EndpointEnv = "RAFTVEC_S3_ENDPOINT" // host:port; default s3.amazonaws.com
	S3InsecureEnv = "RAFTVEC_S3_INSECURE" // "1": plain HTTP (a local test server)
)

// openStore returns the store of a location: s3://bucket/prefix or a
// directory.
func openStore(loc string) (store, error) {
	rest, ok := strings.CutPrefix(loc, "s3://")
	if !ok {
		return dirStore(loc), nil
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return nil, fmt.Errorf("backup: %q names no bucket (want s3://bucket/prefix)", loc)
	}
	endpoint := os.Getenv(S3EndpointEnv)
	if endpoint == "" {
		endpoint = "s3.amazonaws.com"
	}
	c, err := minio.New(endpoint, &minio.Options{
		Creds:  credentials.NewChainCredentials([]credentials.Provider{&credentials.EnvAWS{}, &credentials.EnvMinio{}, &credentials.FileAWSCredentials{}}),
		Secure: os.Getenv(S3InsecureEnv) != "1",
		Region: os.Getenv("AWS_REGION"),
	})
	if err != nil {
		return nil, fmt.Errorf("backup: %s: %w", loc, err)
	}
	return &s3Store{c: c, bucket: bucket, prefix: strings.Trim(prefix, "/")}, nil
}

// --- a local directory ---

type dirStore string

func (d dirStore) String() string { return string(d) }

func (d dirStore) path(name string) string { return filepath.Join(string(d), filepath.FromSlash(name)) }

func (d dirStore) empty(context.Context) error {
	ents, err := os.ReadDir(string(d))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return os.MkdirAll(string(d), 0o755)
	case err != nil:
		return err
	case len(ents) > 0:
		return fmt.Errorf("backup: %s is not empty (a backup goes into a new or empty directory)", d)
	}
	return nil
}

func (d dirStore) clear(context.Context) error {
	ents, err := os.ReadDir(string(d))
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(string(d), e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func (d dirStore) create(_ context.Context, name string) (io.WriteCloser, error) {
	p := d.path(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	return syncCloser{f}, nil
}

// syncCloser syncs a file before closing it.
type syncCloser struct{ *os.File }

func (f syncCloser) Close() error {
	err := f.Sync()
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	return err
}

// putAtomic writes a temporary file, syncs and renames it, and syncs the
// directory.
func (d dirStore) putAtomic(_ context.Context, name string, data []byte) error {
	p := d.path(name)
	tmp := p + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := (syncCloser{f}).Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		return err
	}
	dir, err := os.Open(filepath.Dir(p))
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}

func (d dirStore) open(_ context.Context, name string) (io.ReadCloser, int64, error) {
	f, err := os.Open(d.path(name))
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

func (d dirStore) children(context.Context) ([]string, error) {
	ents, err := os.ReadDir(string(d))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, filepath.Join(string(d), e.Name()))
		}
	}
	return out, nil
}

// --- an S3-compatible bucket ---

type s3Store struct {
	c      *minio.Client
	bucket string
	prefix string // without slashes at either end; "" is the bucket's root
}

func (s *s3Store) String() string { return "s3://" + path.Join(s.bucket, s.prefix) }

func (s *s3Store) key(name string) string { return path.Join(s.prefix, name) }

func (s *s3Store) dirPrefix() string {
	if s.prefix == "" {
		return ""
	}
	return s.prefix + "/"
}

func (s *s3Store) empty(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx) // stops the listing after the first key
	defer cancel()
	obj, ok := <-s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.dirPrefix(), Recursive: true, MaxKeys: 1})
	switch {
	case !ok:
		return nil
	case obj.Err != nil:
		return fmt.Errorf("backup: %s: %w", s, obj.Err)
	}
	return fmt.Errorf("backup: %s is not empty (it holds %s; a backup goes under a new prefix)", s, obj.Key)
}

func (s *s3Store) clear(ctx context.Context) error {
	objs := s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.dirPrefix(), Recursive: true})
	var err error
	for e := range s.c.RemoveObjects(ctx, s.bucket, objs, minio.RemoveObjectsOptions{}) {
		err = errors.Join(err, fmt.Errorf("backup: %s: removing %s: %w", s, e.ObjectName, e.Err))
	}
	return err
}

// create streams the file to the bucket as it is written (a multipart
// upload); the object exists once Close returns nil.
func (s *s3Store) create(ctx context.Context, name string) (io.WriteCloser, error) {
	pr, pw := io.Pipe()
	w := &s3Writer{pw: pw, done: make(chan error, 1)}
	go func() {
		_, err := s.c.PutObject(ctx, s.bucket, s.key(name), pr, -1, minio.PutObjectOptions{ContentType: "application/octet-stream", DisableContentSha256: true})
		pr.CloseWithError(err)
		w.done <- err
	}()
	return w, nil
}

type s3Writer struct {
	pw   *io.PipeWriter
	done chan error
}

func (w *s3Writer) Write(p []byte) (int, error) { return w.pw.Write(p) }

func (w *s3Writer) Close() error {
	w.pw.Close()
	return <-w.done
}

func (s *s3Store) putAtomic(ctx context.Context, name string, data []byte) error {
	_, err := s.c.PutObject(ctx, s.bucket, s.key(name), bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{ContentType: "application/json"})
	return err
}

func (s *s3Store) open(ctx context.Context, name string) (io.ReadCloser, int64, error) {
	st, err := s.c.StatObject(ctx, s.bucket, s.key(name), minio.StatObjectOptions{})
	if err != nil {
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return nil, 0, fmt.Errorf("%w: %s", os.ErrNotExist, s.key(name))
		}
		return nil, 0, err
	}
	obj, err := s.c.GetObject(ctx, s.bucket, s.key(name), minio.GetObjectOptions{})
	if err != nil {
		return nil, 0, err
	}
	return obj, st.Size, nil
}

func (s *s3Store) children(ctx context.Context) ([]string, error) {
	var out []string
	for obj := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.dirPrefix()}) {
		if obj.Err != nil {
			return nil, obj.Err
		}
		if strings.HasSuffix(obj.Key, "/") {
			out = append(out, "s3://"+s.bucket+"/"+strings.TrimSuffix(obj.Key, "/"))
		}
	}
	return out, nil
}
