package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/shard"
)

// --- collections ---

func runCollectionCreate(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, defaultTimeout)
	var f createFlags
	fs.UintVar(&f.dim, "dim", 0, "vector dimension")
	fs.StringVar(&f.metric, "metric", "", "l2, ip or cosine")
	fs.UintVar(&f.replicas, "replicas", 0, "voters per shard (0: min(3, nodes))")
	fs.UintVar(&f.shards, "shards", 0, "shards, each its own Raft group (0: 1 on one or two nodes, else 2 per node up to 8)")
	fs.BoolVar(&f.autoID, "auto-id", false, "the server assigns the int64 primary keys")
	fs.StringVar(&f.consistency, "consistency", "", "level of reads that name none: strong (the default), bounded, session or eventual")
	schemaFile := fs.String("schema", "", "file holding the whole CollectionSchema as protojson")
	pos, err := e.parseFlags(fs, name, args, "NAME")
	if err != nil {
		return err
	}
	if *schemaFile != "" {
		if f.schema, err = os.ReadFile(*schemaFile); err != nil {
			return fmt.Errorf("--schema: %w", err)
		}
	}
	req, err := f.createRequest(pos[0])
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
	if err := c.CreateCollection(ctx, req); err != nil {
		return apiErr(err, cf)
	}
	if cf.json {
		return e.printJSON(&pb.CreateCollectionResponse{})
	}
	fmt.Fprintf(e.stdout, "created collection %s\n", pos[0])
	return nil
}

func runCollectionList(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, defaultTimeout)
	if _, err := e.parseFlags(fs, name, args); err != nil {
		return err
	}
	c, err := e.dial(cf)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := e.ctxFor(cf)
	defer cancel()
	names, err := c.ListCollections(ctx)
	if err != nil {
		return apiErr(err, cf)
	}
	slices.Sort(names)
	if cf.json {
		return e.printJSON(&pb.ListCollectionsResponse{Names: names})
	}
	if len(names) == 0 {
		fmt.Fprintln(e.stderr, "no collections")
	}
	for _, n := range names {
		fmt.Fprintln(e.stdout, n)
	}
	return nil
}

func runCollectionDescribe(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, defaultTimeout)
	pos, err := e.parseFlags(fs, name, args, "NAME")
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
	d, err := c.DescribeCollection(ctx, pos[0])
	if err != nil {
		return apiErr(err, cf)
	}
	if cf.json {
		return e.printJSON(d)
	}
	printDescribe(e.stdout, d)
	return nil
}

func printDescribe(out io.Writer, d *pb.DescribeCollectionResponse) {
	s := d.GetSchema()
	fmt.Fprintf(out, "collection  %s\n", s.GetName())
	if s.GetDescription() != "" {
		fmt.Fprintf(out, "description %s\n", s.GetDescription())
	}
	fmt.Fprintf(out, "consistency %s (reads that name no level)\n", levelName(s.GetDefaultConsistency()))
	fmt.Fprintf(out, "rows        %d\n\n", d.GetRows())
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "FIELD\tTYPE\tPRIMARY KEY\tAUTO ID\tDIM\tMETRIC\tMAX LENGTH\tNULLABLE\tDEFAULT")
	for _, f := range s.GetFields() {
		dim, metric, maxLen := "-", "-", "-"
		if f.Type == pb.FieldType_FLOAT_VECTOR {
			dim, metric = strconv.Itoa(int(f.Dim)), f.Metric.String()
		}
		if f.Type == pb.FieldType_VARCHAR {
			maxLen = strconv.Itoa(int(f.MaxLength))
		}
		def := "-"
		if f.DefaultValue != nil && f.DefaultValue.Kind != nil {
			def = formatValue(f.DefaultValue)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Name, f.Type, yesNo(f.PrimaryKey), yesNo(f.AutoId), dim, metric, maxLen, yesNo(f.Nullable), def)
	}
	w.Flush()
	if len(d.GetShards()) == 0 {
		return
	}
	fmt.Fprintln(out)
	w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SHARD\tLEADER\tREPLICAS")
	for _, sh := range d.GetShards() {
		fmt.Fprintf(w, "%d\t%s\t%s\n", sh.Id, dash(sh.Leader), strings.Join(sh.Replicas, ","))
	}
	w.Flush()
}

func runCollectionDrop(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, defaultTimeout)
	pos, err := e.parseFlags(fs, name, args, "NAME")
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
	if err := c.DropCollection(ctx, pos[0]); err != nil {
		return apiErr(err, cf)
	}
	if cf.json {
		return e.printJSON(&pb.DropCollectionResponse{})
	}
	fmt.Fprintf(e.stdout, "dropped collection %s\n", pos[0])
	return nil
}

// --- replicas ---

func runReplicaAdd(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, defaultTimeout)
	var f replicaFlags
	fs.StringVar(&f.node, "node", "", "id of the node to hold the replica")
	fs.BoolVar(&f.nonVoter, "non-voter", false, "an analytics replica: gets the log, never counts toward a write quorum (required)")
	pos, err := e.parseFlags(fs, name, args, "COLLECTION")
	if err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	c, err := e.dial(cf)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := e.ctxFor(cf)
	defer cancel()
	if err := c.AddReplica(ctx, pos[0], f.node, f.nonVoter); err != nil {
		return apiErr(err, cf)
	}
	if cf.json {
		return e.printJSON(&pb.AddReplicaResponse{})
	}
	fmt.Fprintf(e.stdout, "added an analytics (non-voter) replica of %s on node %s; it catches up from the log (raftvec status --all shows its lag)\n", pos[0], f.node)
	return nil
}

func runReplicaMove(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, defaultTimeout)
	from := fs.String("from", "", "node whose voting replica moves")
	to := fs.String("to", "", "node that receives it")
	pos, err := e.parseFlags(fs, name, args, "SHARD")
	if err != nil {
		return err
	}
	shardID, err := parseShardID(name, pos[0])
	if err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return fmt.Errorf("%s: --from and --to are both required", name)
	}
	c, err := e.dial(cf)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := e.ctxFor(cf)
	defer cancel()
	if err := c.MoveReplica(ctx, shardID, *from, *to); err != nil {
		return apiErr(err, cf)
	}
	if cf.json {
		return e.printJSON(&pb.MoveReplicaResponse{})
	}
	fmt.Fprintf(e.stdout, "moving shard %d's replica from %s to %s; raftvec status lists the move until it finishes\n", shardID, *from, *to)
	return nil
}

// parseShardID reads a command's SHARD argument.
func parseShardID(name, arg string) (uint64, error) {
	id, err := strconv.ParseUint(arg, 10, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("%s: SHARD: %q is not a shard id (a positive integer)", name, arg)
	}
	return id, nil
}

func runLeaderTransfer(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, defaultTimeout)
	to := fs.String("to", "", "voter to hand leadership to (default: the most up-to-date voter)")
	pos, err := e.parseFlags(fs, name, args, "SHARD")
	if err != nil {
		return err
	}
	shardID, err := parseShardID(name, pos[0])
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
	leader, err := c.TransferLeader(ctx, shardID, *to)
	if err != nil {
		return apiErr(err, cf)
	}
	if cf.json {
		return e.printJSON(&pb.TransferLeaderResponse{Leader: leader})
	}
	fmt.Fprintf(e.stdout, "shard %d is now led by %s\n", shardID, dash(leader))
	return nil
}

// describe fetches a collection's schema in the form row parsing uses.
func describe(ctx context.Context, c *client.Client, cf *commonFlags, collection string) (*rowSchema, error) {
	d, err := c.DescribeCollection(ctx, collection)
	if err != nil {
		return nil, apiErr(err, cf)
	}
	return newRowSchema(d.GetSchema())
}

// --- reads ---

func addReadFlags(fs *flag.FlagSet) *readFlags {
	rf := &readFlags{}
	fs.StringVar(&rf.consistency, "consistency", "", "strong, bounded, session or eventual (default: the collection's)")
	fs.DurationVar(&rf.maxStaleness, "max-staleness", 0, "bounded: how old the answer may be (server default 5s)")
	fs.StringVar(&rf.asOf, "as-of", "", "read as of a ts, an RFC 3339 time, or a negative duration (-30s)")
	fs.Uint64Var(&rf.sessionToken, "session-token", 0, "session: a token printed by a write or read; wait until it is applied")
	return rf
}

// outputFields resolves --output-fields against the schema: the vector is
// asked for by the name "vector", whatever the schema calls it, because
// that is the name the server leaves out of the scalar columns.
func outputFields(rs *rowSchema, s string) ([]string, error) {
	var out []string
	for _, f := range splitList(s) {
		if f == rs.vector.Name {
			f = "vector"
		}
		if f != "vector" && f != rs.pk.Name {
			if _, ok := rs.scalarPos[f]; !ok {
				return nil, fmt.Errorf("--output-fields: %q is not a field of collection %q (fields: %s)", f, rs.collection, rs.fieldNames())
			}
		}
		if f == rs.pk.Name || slices.Contains(out, f) {
			continue // the key is always shown
		}
		out = append(out, f)
	}
	return out, nil
}

func runSearch(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, defaultTimeout)
	vector := fs.String("vector", "", "query vector as a JSON array, or an array of arrays")
	topK := fs.Uint("top-k", 10, "number of nearest rows per query")
	output := fs.String("output-fields", "", "comma-separated fields to return with each hit (vector for the vector)")
	sf := addSearchFlags(fs)
	rf := addReadFlags(fs)
	pos, err := e.parseFlags(fs, name, args, "NAME")
	if err != nil {
		return err
	}
	vecs, nq, err := parseVectorArg(*vector)
	if err != nil {
		return err
	}
	if *topK < 1 || *topK > math.MaxUint32 {
		return fmt.Errorf("--top-k (%d) must be between 1 and %d", *topK, uint32(math.MaxUint32))
	}
	req := &pb.SearchRequest{Collection: pos[0], Vectors: vecs, TopK: uint32(*topK)}
	if err := sf.apply(req); err != nil {
		return err
	}
	ro, err := rf.readOptions(e.now())
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
	var fields []string
	vectorName := "vector"
	if *output != "" {
		// Only output fields need the schema; a plain search saves the
		// round trip.
		rs, err := describe(ctx, c, cf, pos[0])
		if err != nil {
			return err
		}
		if fields, err = outputFields(rs, *output); err != nil {
			return err
		}
		vectorName = rs.vector.Name
		if len(vecs) != nq*rs.dim {
			return fmt.Errorf("--vector: %d numbers; collection %q has dim %d", len(vecs)/nq, pos[0], rs.dim)
		}
	}
	req.OutputFields, req.Read = fields, ro
	resp, err := c.Search(ctx, req)
	if err != nil {
		return apiErr(err, cf)
	}
	if cf.json {
		return e.printJSON(resp)
	}
	printSearch(e.stdout, resp, fields, vectorName, int(req.Offset))
	return nil
}

// printSearch prints hits; a hit's scalar values follow the non-vector
// output fields in order, and the vector column is headed vectorName.
// Ranks start after offset, the hits a paged search skipped.
func printSearch(out io.Writer, resp *pb.SearchResponse, fields []string, vectorName string, offset int) {
	for q, hl := range resp.GetResults() {
		if len(resp.Results) > 1 {
			if q > 0 {
				fmt.Fprintln(out)
			}
			fmt.Fprintf(out, "query %d\n", q)
		}
		if len(hl.Hits) == 0 {
			fmt.Fprintln(out, "no hits")
			continue
		}
		w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprint(w, "RANK\tID\tSCORE")
		for _, f := range fields {
			if f == "vector" {
				f = vectorName
			}
			fmt.Fprint(w, "\t"+f)
		}
		fmt.Fprintln(w)
		for i, h := range hl.Hits {
			id := strconv.FormatInt(h.IntId, 10)
			if h.StrId != "" {
				id = h.StrId
			}
			fmt.Fprintf(w, "%d\t%s\t%s", offset+i+1, id, formatScore(h.Score))
			j := 0
			for _, f := range fields {
				cell := "-"
				switch {
				case f == "vector":
					cell = formatVector(decodeVector(h.Vector), 4)
				case j < len(h.Fields):
					cell = formatValue(h.Fields[j])
					j++
				}
				fmt.Fprint(w, "\t"+cell)
			}
			fmt.Fprintln(w)
		}
		w.Flush()
	}
	fmt.Fprintf(out, "read at ts %s; session token %d\n", formatTs(resp.GetTs()), resp.GetSessionToken())
}

func runGet(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, defaultTimeout)
	idsFlag := fs.String("ids", "", "primary keys, comma-separated or a JSON array")
	output := fs.String("output-fields", "", "comma-separated fields to return (default: all)")
	rf := addReadFlags(fs)
	pos, err := e.parseFlags(fs, name, args, "NAME")
	if err != nil {
		return err
	}
	ro, err := rf.readOptions(e.now())
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
	rs, err := describe(ctx, c, cf, pos[0])
	if err != nil {
		return err
	}
	ints, strs, err := parseIDList(*idsFlag, rs.varcharPK())
	if err != nil {
		return err
	}
	fields := []string{}
	if *output == "" {
		for _, f := range rs.scalars {
			fields = append(fields, f.Name)
		}
		fields = append(fields, "vector")
	} else if fields, err = outputFields(rs, *output); err != nil {
		return err
	}
	resp, err := c.Get(ctx, &pb.GetRequest{Collection: pos[0], IntIds: ints, StrIds: strs, OutputFields: fields, Read: ro})
	if err != nil {
		return apiErr(err, cf)
	}
	if cf.json {
		return e.printJSON(resp)
	}
	printRows(e.stdout, rs, resp.GetRows(), fields)
	if missing := missingIDs(ints, strs, resp.GetRows()); len(missing) > 0 {
		fmt.Fprintf(e.stdout, "not found: %s\n", strings.Join(missing, ", "))
	}
	fmt.Fprintf(e.stdout, "read at ts %s; session token %d\n", formatTs(resp.GetTs()), resp.GetSessionToken())
	return nil
}

// printRows prints rows as Get returns them: the scalar columns follow the
// non-vector output fields in order, and vectors are rows*dim floats when
// the vector was asked for.
func printRows(out io.Writer, rs *rowSchema, rows *pb.Rows, fields []string) {
	n := len(rows.GetIntIds()) + len(rows.GetStrIds())
	if n == 0 {
		return
	}
	cols := map[string]*pb.FieldColumn{}
	for _, c := range rows.GetFields() {
		cols[c.Name] = c
	}
	withVector := len(rows.GetVectors()) == n*rs.dim && rs.dim > 0
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprint(w, rs.pk.Name)
	for _, f := range fields {
		if f == "vector" {
			f = rs.vector.Name
		}
		fmt.Fprint(w, "\t"+f)
	}
	fmt.Fprintln(w)
	for i := 0; i < n; i++ {
		if i < len(rows.IntIds) {
			fmt.Fprint(w, rows.IntIds[i])
		} else {
			fmt.Fprint(w, rows.StrIds[i-len(rows.IntIds)])
		}
		for _, f := range fields {
			cell := "-"
			if f == "vector" {
				if withVector {
					cell = formatVector(rows.Vectors[i*rs.dim:(i+1)*rs.dim], 4)
				}
			} else if c := cols[f]; c != nil && i < len(c.Values) {
				cell = formatValue(c.Values[i])
			}
			fmt.Fprint(w, "\t"+cell)
		}
		fmt.Fprintln(w)
	}
	w.Flush()
}

func missingIDs(ints []int64, strs []string, rows *pb.Rows) []string {
	var out []string
	gotInt := map[int64]bool{}
	for _, id := range rows.GetIntIds() {
		gotInt[id] = true
	}
	for _, id := range ints {
		if !gotInt[id] {
			out = append(out, strconv.FormatInt(id, 10))
		}
	}
	gotStr := map[string]bool{}
	for _, id := range rows.GetStrIds() {
		gotStr[id] = true
	}
	for _, id := range strs {
		if !gotStr[id] {
			out = append(out, strconv.Quote(id))
		}
	}
	return out
}

func runDelete(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, defaultTimeout)
	idsFlag := fs.String("ids", "", "primary keys, comma-separated or a JSON array")
	ff := addFilterFlags(fs, "the rows to delete")
	pos, err := e.parseFlags(fs, name, args, "NAME")
	if err != nil {
		return err
	}
	byFilter, err := deleteTarget(*idsFlag, ff)
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
	if byFilter {
		resp, err := c.Delete(ctx, &pb.DeleteRequest{Collection: pos[0], Filter: ff.expr(), PartitionNames: ff.partitionNames()})
		if err != nil {
			return apiErr(err, cf)
		}
		if cf.json {
			return e.printJSON(resp)
		}
		rows := "rows"
		if resp.Deleted == 1 {
			rows = "row"
		}
		fmt.Fprintf(e.stdout, "deleted %d %s matching the filter from %s at ts %s; session token %d\n",
			resp.Deleted, rows, pos[0], formatTs(resp.Ts), resp.SessionToken)
		return nil
	}
	rs, err := describe(ctx, c, cf, pos[0])
	if err != nil {
		return err
	}
	ints, strs, err := parseIDList(*idsFlag, rs.varcharPK())
	if err != nil {
		return err
	}
	resp, err := c.Delete(ctx, &pb.DeleteRequest{Collection: pos[0], IntIds: ints, StrIds: strs})
	if err != nil {
		return apiErr(err, cf)
	}
	if cf.json {
		return e.printJSON(resp)
	}
	fmt.Fprintf(e.stdout, "deleted %d of %d ids from %s at ts %s; session token %d\n",
		resp.Deleted, len(ints)+len(strs), pos[0], formatTs(resp.Ts), resp.SessionToken)
	return nil
}

// --- status ---

func runStatus(e *cliEnv, name string, args []string) error {
	fs, cf := e.newFlags(name, defaultTimeout)
	all := fs.Bool("all", false, "ask every node of the cluster, not only the first that answers")
	if _, err := e.parseFlags(fs, name, args); err != nil {
		return err
	}
	c, err := e.dial(cf)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := e.ctxFor(cf)
	defer cancel()
	first, err := c.Status(ctx, "")
	if err != nil {
		return apiErr(err, cf)
	}
	resps := []*pb.StatusResponse{first}
	var failed []string
	if *all {
		resps, failed = statusAll(ctx, c, cf, first)
	}
	if cf.json {
		if err := e.printStatusJSON(resps, *all); err != nil {
			return err
		}
	} else {
		printStatus(e.stdout, resps)
	}
	for _, f := range failed {
		fmt.Fprintln(e.stderr, f)
	}
	if len(failed) > 0 {
		return fmt.Errorf("status: %d of %d nodes did not answer", len(failed), len(first.Nodes))
	}
	return nil
}

// statusAll asks every node listed in first, concurrently so that one
// unreachable node costs one timeout, not one per node.
func statusAll(ctx context.Context, c *client.Client, cf *commonFlags, first *pb.StatusResponse) ([]*pb.StatusResponse, []string) {
	resps := make([]*pb.StatusResponse, len(first.Nodes))
	errs := make([]error, len(first.Nodes))
	var wg sync.WaitGroup
	for i, n := range first.Nodes {
		if n.Id == first.Node {
			resps[i] = first
			continue
		}
		wg.Go(func() {
			resps[i], errs[i] = c.Status(ctx, n.ApiAddr)
		})
	}
	wg.Wait()
	var ok []*pb.StatusResponse
	var failed []string
	for i, n := range first.Nodes {
		if errs[i] != nil {
			failed = append(failed, fmt.Sprintf("node %s (%s): %v", n.Id, n.ApiAddr, apiErr(errs[i], cf)))
			continue
		}
		if resps[i] != nil {
			ok = append(ok, resps[i])
		}
	}
	return ok, failed
}

func (e *cliEnv) printStatusJSON(resps []*pb.StatusResponse, all bool) error {
	if !all {
		return e.printJSON(resps[0])
	}
	parts := make([]string, len(resps))
	for i, r := range resps {
		b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(r)
		if err != nil {
			return err
		}
		parts[i] = string(b)
	}
	_, err := fmt.Fprintf(e.stdout, "[\n%s\n]\n", strings.Join(parts, ",\n"))
	return err
}

// printStatus prints the nodes of the first response, then the groups of
// all responses in one table sorted by group and node, so the replicas of a
// group sit on adjacent lines. SUFFRAGE says whether a replica votes (and
// counts toward the write quorum) or is an analytics non-voter. LAG is how
// far a group's safe ts trails the clock of the node that reported it, as
// that node measured it, so this machine's clock does not enter into it.
func printStatus(out io.Writer, resps []*pb.StatusResponse) {
	if len(resps) == 0 {
		return
	}
	var kernels, builders []string
	for _, r := range resps {
		kernels = append(kernels, fmt.Sprintf("%s %s", r.Node, dash(r.Kernel)))
		builders = append(builders, fmt.Sprintf("%s %s", r.Node, dash(r.IndexBuilder)))
	}
	fmt.Fprintf(out, "answered by %s; kernel: %s; index builder: %s\n\n", nodeNames(resps), strings.Join(kernels, ", "), strings.Join(builders, ", "))
	var groups []*pb.GroupStatus
	for _, r := range resps {
		groups = append(groups, r.Groups...)
	}
	// LEADS is what each node gossips about itself; STATE is what the
	// membership layer last recorded (alive, failed), and since when.
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NODE\tAPI\tRAFT\tSTATE\tMETADATA\tSHARDS\tLEADS")
	for _, n := range resps[0].Nodes {
		state := dash(n.State)
		if n.StateSinceUnixMs > 0 && n.State != "alive" {
			state += " for " + time.Since(time.UnixMilli(n.StateSinceUnixMs)).Round(time.Second).String()
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%d\n", n.Id, n.ApiAddr, n.RaftAddr, state, dash(n.MetadataRole), n.ShardsHeld, n.LeadersHeld)
	}
	w.Flush()
	if moves := resps[0].Moves; len(moves) > 0 {
		fmt.Fprintln(out)
		w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "MOVE\tCOLLECTION\tFROM\tTO\tSTEP\tREASON\tRUNNING")
		for _, m := range moves {
			step := "new replica catching up"
			if m.Ready {
				step = "promoting, removing old"
			}
			fmt.Fprintf(w, "shard-%d\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Shard, m.Collection, m.From, m.To, step, m.Reason,
				time.Since(time.UnixMilli(m.StartedUnixMs)).Round(time.Second))
		}
		w.Flush()
	}
	slices.SortStableFunc(groups, func(a, b *pb.GroupStatus) int {
		if c := strings.Compare(a.Group, b.Group); c != 0 {
			return c
		}
		return strings.Compare(a.Node, b.Node)
	})
	if len(groups) == 0 {
		return
	}
	fmt.Fprintln(out)
	w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "GROUP\tCOLLECTION\tNODE\tROLE\tSUFFRAGE\tLEADER\tTERM\tAPPLIED\tCOMMIT\tSAFE TS\tLAG\tSEGMENTS\tINDEXED\tROWS\tDIGEST")
	for _, g := range groups {
		// The metadata group has no timestamps: its safe ts is 0 and its
		// lag means nothing.
		safe, lag := "-", "-"
		if g.SafeTs != 0 {
			safe = strconv.FormatUint(g.SafeTs, 10)
			lag = formatLag(g.LagMs)
		}
		digest := g.Digest
		if len(digest) > 12 {
			digest = digest[:12]
		}
		// INDEXED is sealed segments with their index built, of all
		// sealed segments; the metadata group has none.
		indexed := "-"
		if g.Collection != "" {
			indexed = fmt.Sprintf("%d/%d", g.IndexedSegments, g.SealedSegments)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%d\t%s\t%d\t%s\n", g.Group, dash(g.Collection), g.Node,
			strings.ToLower(g.Role), dash(g.Suffrage), dash(g.Leader), g.Term, g.AppliedIndex, g.CommitIndex, safe, lag, g.Segments, indexed, g.Rows, dash(digest))
	}
	w.Flush()
}

// formatLag prints GroupStatus.lag_ms. It is negative when the node's clock
// is behind the leader that stamped the safe ts; that is shown as is, since
// it says something about the clocks.
func formatLag(ms int64) string {
	return (time.Duration(ms) * time.Millisecond).String()
}

func nodeNames(resps []*pb.StatusResponse) string {
	names := make([]string, len(resps))
	for i, r := range resps {
		names[i] = r.Node
	}
	return strings.Join(names, ", ")
}

// --- formatting ---

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// formatScore prints a score with 6 significant digits.
func formatScore(s float32) string { return strconv.FormatFloat(float64(s), 'g', 6, 32) }

// formatTs prints a ts with the wall-clock time it stands for, which is
// also accepted by --as-of.
func formatTs(ts uint64) string {
	if ts == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%s)", ts, shard.TsTime(ts).UTC().Format("2006-01-02T15:04:05.000Z"))
}

// formatValue prints a scalar for a table cell; strings with tabs or line
// breaks are quoted so the table keeps its shape.
func formatValue(v *pb.Value) string {
	switch k := v.GetKind().(type) {
	case *pb.Value_Bool:
		return strconv.FormatBool(k.Bool)
	case *pb.Value_Int64:
		return strconv.FormatInt(k.Int64, 10)
	case *pb.Value_Double:
		return strconv.FormatFloat(k.Double, 'g', -1, 64)
	case *pb.Value_Varchar:
		if strings.ContainsAny(k.Varchar, "\t\n\r") || k.Varchar == "" {
			return strconv.Quote(k.Varchar)
		}
		return k.Varchar
	case *pb.Value_Json:
		return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(string(k.Json))
	}
	return "null"
}

// formatVector prints the first max elements of v and the dimension.
func formatVector(v []float32, max int) string {
	if v == nil {
		return "-"
	}
	parts := make([]string, 0, max+1)
	for i, x := range v {
		if i == max {
			parts = append(parts, fmt.Sprintf("… (%d dims)", len(v)))
			break
		}
		parts = append(parts, strconv.FormatFloat(float64(x), 'g', 6, 32))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// decodeVector decodes Hit.vector: little-endian float32s.
func decodeVector(b []byte) []float32 {
	if len(b) == 0 || len(b)%4 != 0 {
		return nil
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24)
	}
	return v
}
