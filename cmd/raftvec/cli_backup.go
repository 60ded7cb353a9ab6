package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/raftvec/raftvec/backup"
)

// The backup commands: create, restore, list and describe, over package
// backup.

func backupCommands() map[string]clientCommand {
	return map[string]clientCommand{
		"backup create": {
			usage: "backup create COLLECTION... --to DIR|s3://BUCKET/PREFIX [--as-of TS|RFC3339|-30s]",
			about: `Writes one consistent backup of the collections into DIR (new or empty),
or under a prefix of an S3-compatible bucket that holds nothing yet:
every row of every shard as of one ts, taken online while writes go on;
their schemas, index specs, partitions and shard layout; and a manifest
with each file's size and SHA-256, written last. The ts is a fresh STRONG
one (every write acknowledged before the command started is in the
backup) unless --as-of names an earlier one (a compaction may have merged
versions that old away; the command then says so). Needs the read
privilege on each collection.
A bucket is reached at $RAFTVEC_S3_ENDPOINT (host:port, default
s3.amazonaws.com; $RAFTVEC_S3_INSECURE=1 for plain HTTP) with the
credentials of $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY (or
~/.aws/credentials) and $AWS_REGION.`,
			run: runBackupCreate,
		},
		"backup restore": {
			usage: "backup restore DIR|s3://BUCKET/PREFIX [--collection NAME]... [--as NEW_NAME] [--shards N] [--replicas R]",
			about: `Restores a backup into the cluster (this one or another). Every file is
read and checked against the manifest first; a missing, truncated or
corrupt file is named and nothing is created. Each collection is then
created (under --as NEW_NAME when one collection is restored), with its
partitions, rows (primary keys kept, auto_id ones too) and index. --shards
sets the shard count (default: the backup's); rows go to shards by key
hash as inserts do. A collection whose restore fails midway is dropped
again. Needs the manage and write privileges.`,
			run: runBackupRestore,
		},
		"backup list": {
			usage: "backup list DIR|s3://BUCKET/PREFIX",
			about: `Lists the backup at DIR, or else the backups directly under it (each a
directory or prefix with a manifest), with their ts, collections and rows,
without reading their data files.`,
			run: runBackupList,
		},
		"backup describe": {
			usage: "backup describe DIR|s3://BUCKET/PREFIX [--verify]",
			about: `Prints a backup's manifest: its ts, and per collection the schema, index,
partitions and shard files; --verify reads every file and checks it.`,
			run: runBackupDescribe,
		},
	}
}

// parseVarFlags is parseFlags for commands with one or more positional
// arguments.
func (e *cliEnv) parseVarFlags(fs *flag.FlagSet, name string, args []string, what string) ([]string, error) {
	flags, pos := interleave(fs, args)
	if _, err := e.parseFlags(fs, name, flags); err != nil {
		return nil, err
	}
	if len(pos) == 0 {
		return nil, fmt.Errorf("%s: want %s (raftvec %s -h shows the usage)", name, what, name)
	}
	return pos, nil
}

func runBackupCreate(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, 24*time.Hour)
	to := fs.String("to", "", "the backup's directory (new or empty) or s3://bucket/prefix")
	asOf := fs.String("as-of", "", "the cut: a ts, an RFC 3339 time or -DURATION (default: now, STRONG)")
	quiet := fs.Bool("quiet", false, "no progress bar or lines")
	every := fs.Duration("progress-every", 5*time.Second, "off a terminal, print a progress line this often")
	cols, err := e.parseVarFlags(fs, name, args, "COLLECTION...")
	if err != nil {
		return err
	}
	if *to == "" {
		return fmt.Errorf("%s: --to DIR is required", name)
	}
	ts, err := parseAsOf(*asOf, e.now())
	if err != nil {
		return err
	}
	c, err := e.dial(cf)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := e.ctxFor(cf)
	defer cancel()
	start := e.now()
	p := newRowProgress(e, *quiet, *every, "backing up", "backed up")
	m, err := backup.Create(ctx, c, *to, cols, backup.CreateOptions{AsOf: ts, Progress: p.set})
	p.stop()
	if err != nil {
		return apiErr(err, cf)
	}
	var rows uint64
	for _, col := range m.Collections {
		rows += col.Rows
	}
	fmt.Fprintf(e.stdout, "backed up %d rows of %s as of ts %s into %s in %s\n", rows, strings.Join(cols, ", "),
		formatTs(m.Ts), *to, e.now().Sub(start).Round(time.Millisecond))
	return nil
}

// collectionsFlag is a repeatable --collection.
type collectionsFlag []string

func (f *collectionsFlag) String() string     { return strings.Join(*f, ",") }
func (f *collectionsFlag) Set(v string) error { *f = append(*f, v); return nil }

func runBackupRestore(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, 24*time.Hour)
	var cols collectionsFlag
	fs.Var(&cols, "collection", "restore this collection of the backup (repeatable; default: all)")
	as := fs.String("as", "", "restore the one collection under this name")
	shards := fs.Int("shards", 0, "shards of each restored collection (default: the backup's)")
	replicas := fs.Int("replicas", 0, "voters per shard (default: min(3, nodes))")
	quiet := fs.Bool("quiet", false, "no progress bar or lines")
	every := fs.Duration("progress-every", 5*time.Second, "off a terminal, print a progress line this often")
	pos, err := e.parseFlags(fs, name, args, "DIR")
	if err != nil {
		return err
	}
	c, err := e.dial(cf)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := e.ctxFor(cf)
	defer cancel()
	start := e.now()
	p := newRowProgress(e, *quiet, *every, "verifying", "restored")
	out, err := backup.Restore(ctx, c, pos[0], backup.RestoreOptions{
		Collections: cols, As: *as, Shards: *shards, Replicas: *replicas,
		Verified: func(m *backup.Manifest) {
			p.stop()
			if !*quiet {
				fmt.Fprintf(e.stderr, "verified %s: %d collections as of ts %s\n", pos[0], len(m.Collections), formatTs(m.Ts))
			}
			p = newRowProgress(e, *quiet, *every, "restoring", "restored")
		},
		Progress: func(done, total int64) { p.set(done, total) },
	})
	p.stop()
	for _, r := range out {
		fmt.Fprintf(e.stdout, "restored %s as %s: %d rows\n", r.From, r.Name, r.Rows)
	}
	if err != nil {
		return apiErr(err, cf)
	}
	fmt.Fprintf(e.stdout, "restore of %s done in %s\n", pos[0], e.now().Sub(start).Round(time.Millisecond))
	return nil
}

func runBackupList(e *cliEnv, name string, args []string) error {
	fs, _ := e.newFlags(name, defaultTimeout)
	pos, err := e.parseFlags(fs, name, args, "DIR")
	if err != nil {
		return err
	}
	found, err := backup.List(e.ctx, pos[0])
	if err != nil {
		return err
	}
	if len(found) == 0 {
		return fmt.Errorf("%s: no backups in %s", name, pos[0])
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BACKUP\tTS\tCREATED\tCOLLECTIONS\tROWS")
	for _, b := range found {
		if b.Err != nil {
			fmt.Fprintf(tw, "%s\t(%v)\t\t\t\n", b.Location, b.Err)
			continue
		}
		var rows uint64
		var names []string
		for _, c := range b.Manifest.Collections {
			rows += c.Rows
			names = append(names, c.Name)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", b.Location, formatTs(b.Manifest.Ts), b.Manifest.Created.Format(time.RFC3339), strings.Join(names, ","), rows)
	}
	return tw.Flush()
}

func runBackupDescribe(e *cliEnv, name string, args []string) error {
	fs, _ := e.newFlags(name, defaultTimeout)
	verify := fs.Bool("verify", false, "read every file and check it against the manifest")
	pos, err := e.parseFlags(fs, name, args, "DIR")
	if err != nil {
		return err
	}
	read := backup.ReadManifest
	if *verify {
		read = backup.Verify
	}
	m, err := read(e.ctx, pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backup %s (%s), created %s, as of ts %s\n", pos[0], m.Format, m.Created.Format(time.RFC3339), formatTs(m.Ts))
	for _, c := range m.Collections {
		fmt.Fprintf(e.stdout, "\ncollection %s: %d rows, %d shards, %d replicas\n  schema: %s\n", c.Name, c.Rows, len(c.Shards), c.Replicas, compactJSON(c.Schema))
		if len(c.Index) > 0 {
			fmt.Fprintf(e.stdout, "  index: %s\n", compactJSON(c.Index))
		}
		fmt.Fprintf(e.stdout, "  partitions: %s\n", strings.Join(c.Partitions, ", "))
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  SHARD\tFILE\tROWS\tBYTES\tSHA-256")
		for _, sf := range c.Shards {
			fmt.Fprintf(tw, "  %d\t%s\t%d\t%d\t%s\n", sf.ID, sf.File, sf.Rows, sf.Bytes, sf.SHA256)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if *verify {
		fmt.Fprintln(e.stdout, "\nverified: every file matches the manifest")
	}
	return nil
}

// compactJSON prints a manifest's JSON on one line.
func compactJSON(raw []byte) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

// rowProgress shows a long command's rows done: a bar on a terminal,
// else a line every interval (progressLines). Its set may be called from
// any goroutine.
type rowProgress struct {
	bar     *bar
	stopped func()
	start   time.Time
	verb    string
	e       *cliEnv

	mu          sync.Mutex
	done, total int64
}

func newRowProgress(e *cliEnv, quiet bool, every time.Duration, desc, verb string) *rowProgress {
	p := &rowProgress{bar: newBar(e, quiet, -1, desc, false), start: e.now(), verb: verb, e: e}
	p.stopped = progressLines(e, quiet, every, p.line)
	return p
}

func (p *rowProgress) set(done, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done, p.total = done, total
	p.bar.pb.ChangeMax64(total)
	p.bar.set(done)
}

// stop ends the lines and clears the bar; it may be called twice.
func (p *rowProgress) stop() {
	p.stopped()
	p.stopped = func() {}
	p.bar.finish()
}

func (p *rowProgress) line() string {
	p.mu.Lock()
	done, total := p.done, p.total
	p.mu.Unlock()
	rate := float64(done) / max(p.e.now().Sub(p.start).Seconds(), 1e-9)
	return fmt.Sprintf("%s %d/%d rows (%d%%), %.0f rows/s", p.verb, done, total, done*100/max(total, 1), rate)
}
