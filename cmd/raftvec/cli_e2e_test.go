package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/raftvec/raftvec/rpc/pb"
)

// cliRow is one row of the end-to-end data set.
type cliRow struct {
	id       int64
	vector   [4]float32
	category string
	color    string // "" = the row has no meta at all
	size     int64
	stock    int64 // 0 = left out of the row, so the server's default fills it
}

var cliCategories = []string{"shoes", "hats", "bags"}
var cliColors = []string{"red", "blue", "green"}

// cliRows is 60 rows: categories, colours and sizes cycle at different
// periods so every combination occurs; every 10th row has no meta and
// every 4th leaves out stock.
func cliRows(first int64, n int) []cliRow {
	var rows []cliRow
	for i := range int64(n) {
		id := first + i
		r := cliRow{id: id, vector: [4]float32{float32(id), float32(id % 7), float32(id % 3), 1},
			category: cliCategories[id%3], color: cliColors[(id/2)%3], size: id % 5}
		if id%10 == 0 {
			r.color = ""
		}
		if id%4 != 0 {
			r.stock = 100 + id
		}
		rows = append(rows, r)
	}
	return rows
}

func (r cliRow) jsonl() string {
	s := fmt.Sprintf(`{"id": %d, "vector": [%g, %g, %g, %g], "category": %q`, r.id, r.vector[0], r.vector[1], r.vector[2], r.vector[3], r.category)
	if r.color != "" {
		s += fmt.Sprintf(`, "meta": {"color": %q, "size": %d, "tags": ["a", "b"]}`, r.color, r.size)
	}
	if r.stock != 0 {
		s += fmt.Sprintf(`, "stock": %d`, r.stock)
	}
	return s + "}\n"
}

const cliSchema = `{"fields": [
  {"name": "id", "type": "INT64", "primaryKey": true},
  {"name": "vector", "type": "FLOAT_VECTOR", "dim": 4, "metric": "L2"},
  {"name": "category", "type": "VARCHAR", "maxLength": 32},
  {"name": "meta", "type": "JSON", "nullable": true},
  {"name": "stock", "type": "INT64", "defaultValue": {"int64": "7"}}
]}`

// cliRunner runs the built raftvec binary against the cluster.
type cliRunner struct {
	t    *testing.T
	bin  string
	addr string
}

// run runs raftvec with args and --addr, and returns its standard output;
// a non-zero exit is returned as an error carrying standard error.
func (c *cliRunner) run(args ...string) (string, error) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, append(args, "--addr", c.addr)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("raftvec %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

func (c *cliRunner) must(args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

// queryIDs runs query --json and returns the ids in ascending order.
func (c *cliRunner) queryIDs(args ...string) []int64 {
	c.t.Helper()
	out := c.must(append([]string{"query"}, append(args, "--json")...)...)
	var resp pb.QueryResponse
	if err := protojson.Unmarshal([]byte(out), &resp); err != nil {
		c.t.Fatalf("query %q: output is not a QueryResponse: %v\n%s", args, err, out)
	}
	ids := slices.Clone(resp.GetRows().GetIntIds())
	slices.Sort(ids)
	return ids
}

// describeIndexUntil runs index describe until its output contains want.
// DescribeIndex is answered by whichever replica the request reaches,
// without waiting for it to apply the CreateIndex or DropIndex that the
// leader acknowledged, so right after one a follower may still report the
// previous spec; the test waits that out (and logs it) rather than
// asserting on the first answer.
func (c *cliRunner) describeIndexUntil(collection, want string) string {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for i := 1; ; i++ {
		out := c.must("index", "describe", collection)
		if strings.Contains(out, want) {
			if i > 1 {
				c.t.Logf("index describe showed %q only on attempt %d (a follower answered before applying the change)", want, i)
			}
			return out
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("index describe never showed %q:\n%s", want, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func idsWhere(rows []cliRow, pred func(cliRow) bool) []int64 {
	ids := []int64{}
	for _, r := range rows {
		if pred(r) {
			ids = append(ids, r.id)
		}
	}
	return ids
}

// TestCLIJSONFilterEndToEnd drives a three-node cluster through the CLI
// binary only: a collection with a varchar and a JSON field made from a
// --schema file, a JSONL insert that carries them (leaving out a field with
// a default), query, filtered search and delete by a JSON-field filter,
// then partitions, an index and a compaction.
func TestCLIJSONFilterEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	procs := startProcs(t, 3)
	var addrs []string
	for _, p := range procs {
		addrs = append(addrs, p.api)
	}
	c := &cliRunner{t: t, bin: procs[0].cmd.Path, addr: strings.Join(addrs, ",")}
	dir := t.TempDir()
	schemaFile := filepath.Join(dir, "schema.json")
	if err := os.WriteFile(schemaFile, []byte(cliSchema), 0o644); err != nil {
		t.Fatal(err)
	}

	// The cluster may still be electing its leaders: retry the first
	// command until it is up.
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := c.run("collection", "create", "products", "--schema", schemaFile, "--timeout", "20s")
		if err == nil {
			if !strings.Contains(out, "created collection products") {
				t.Fatalf("collection create printed %q", out)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	desc := c.must("collection", "describe", "products")
	for _, want := range []string{"meta", "JSON", "category", "VARCHAR", "DEFAULT"} {
		if !strings.Contains(desc, want) {
			t.Errorf("collection describe lacks %q:\n%s", want, desc)
		}
	}

	rows := cliRows(1, 60)
	var text strings.Builder
	for _, r := range rows {
		text.WriteString(r.jsonl())
	}
	rowsFile := filepath.Join(dir, "rows.jsonl")
	if err := os.WriteFile(rowsFile, []byte(text.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := c.must("insert", "products", "--file", rowsFile, "--batch", "25", "--timeout", "60s"); !strings.Contains(out, "inserted 60 rows into products in 3 batches") {
		t.Fatalf("insert printed %q", out)
	}

	// The JSON-field filter of issue 7.
	redBig := idsWhere(rows, func(r cliRow) bool { return r.color == "red" && r.size > 2 })
	if len(redBig) == 0 {
		t.Fatal("the data set has no red rows of size > 2")
	}
	if got := c.queryIDs("products", "--filter", `meta["color"] == "red" and meta["size"] > 2`); !slices.Equal(got, redBig) {
		t.Errorf("query red and size > 2 = %v, want %v", got, redBig)
	}
	// Rows without meta: a missing JSON field is null.
	noMeta := idsWhere(rows, func(r cliRow) bool { return r.color == "" })
	if got := c.queryIDs("products", "--filter", `meta["color"] is null`); !slices.Equal(got, noMeta) {
		t.Errorf("query meta is null = %v, want %v", got, noMeta)
	}
	// stock was left out of every 4th row: the server filled in the default.
	defaulted := idsWhere(rows, func(r cliRow) bool { return r.stock == 0 })
	if got := c.queryIDs("products", "--filter", "stock == 7"); !slices.Equal(got, defaulted) {
		t.Errorf("query stock == 7 (the default) = %v, want %v", got, defaulted)
	}
	// The table form shows the JSON as stored, and the default.
	table := c.must("query", "products", "--filter", "id in [4, 5]", "--output-fields", "category,meta,stock")
	for _, want := range []string{"id", "category", "meta", "stock", `{"color":"green","size":4,"tags":["a","b"]}`, "105", "2 rows", "read at ts"} {
		if !strings.Contains(table, want) {
			t.Errorf("query table lacks %q:\n%s", want, table)
		}
	}
	// Rows of several shards come shard by shard, not in id order.
	row4 := ""
	for _, l := range strings.Split(table, "\n") {
		if strings.HasPrefix(l, "4 ") {
			row4 = l
		}
	}
	if !strings.Contains(row4, "7") {
		t.Errorf("row 4 (no stock given) should show the default 7:\n%s", table)
	}
	// A bad filter is refused with its position.
	if _, err := c.run("query", "products", "--filter", `meta["color"] = "red"`); err == nil || !strings.Contains(err.Error(), "INVALID_ARGUMENT: filter: position 15: ") {
		t.Errorf("bad filter: error = %v, want INVALID_ARGUMENT with a position", err)
	}

	// Filtered search: every hit is a shoe, and top-k is filled.
	out := c.must("search", "products", "--vector", "[30, 2, 0, 1]", "--top-k", "5", "--filter", `category == "shoes"`, "--output-fields", "category", "--json")
	var sr pb.SearchResponse
	if err := protojson.Unmarshal([]byte(out), &sr); err != nil {
		t.Fatalf("search output is not a SearchResponse: %v\n%s", err, out)
	}
	if len(sr.Results) != 1 || len(sr.Results[0].Hits) != 5 {
		t.Fatalf("filtered search returned %v, want one list of 5 hits", sr.Results)
	}
	for _, h := range sr.Results[0].Hits {
		if h.IntId%3 != 0 || len(h.Fields) != 1 || h.Fields[0].GetVarchar() != "shoes" {
			t.Errorf("hit %d (%v) is not a shoe", h.IntId, h.Fields)
		}
	}
	// The table form with paging: ranks continue after the offset.
	// (Hits 4 and 5 are at the same distance, so their order is not
	// compared.)
	page := c.must("search", "products", "--vector", "[30, 2, 0, 1]", "--top-k", "2", "--offset", "3", "--filter", `category == "shoes"`)
	var ranks, pageIDs []string
	for _, l := range strings.Split(page, "\n")[1:] {
		if f := strings.Fields(l); len(f) == 3 {
			ranks, pageIDs = append(ranks, f[0]), append(pageIDs, f[1])
		}
	}
	wantIDs := []string{fmt.Sprint(sr.Results[0].Hits[3].IntId), fmt.Sprint(sr.Results[0].Hits[4].IntId)}
	slices.Sort(pageIDs)
	slices.Sort(wantIDs)
	if !slices.Equal(ranks, []string{"4", "5"}) || !slices.Equal(pageIDs, wantIDs) {
		t.Errorf("search --offset 3 --top-k 2 should show hits 4 and 5 (%v) ranked 4 and 5:\n%s", wantIDs, page)
	}

	// Delete by a JSON-field filter.
	blue := idsWhere(rows, func(r cliRow) bool { return r.color == "blue" })
	out = c.must("delete", "products", "--filter", `meta["color"] == "blue"`)
	if want := fmt.Sprintf("deleted %d rows matching the filter from products", len(blue)); !strings.Contains(out, want) {
		t.Errorf("delete printed %q, want %q", out, want)
	}
	if got := c.queryIDs("products", "--filter", `meta["color"] == "blue"`); len(got) != 0 {
		t.Errorf("blue rows left after delete: %v", got)
	}
	notBlue := idsWhere(rows, func(r cliRow) bool { return r.color != "blue" })
	if got := c.queryIDs("products"); !slices.Equal(got, notBlue) {
		t.Errorf("rows after delete = %v, want %v", got, notBlue)
	}
	if _, err := c.run("delete", "products", "--ids", "1", "--filter", "id == 1"); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("delete with --ids and --filter: error = %v", err)
	}

	// Partitions: insert into one, then query and search only there.
	c.must("partition", "create", "products", "sale")
	if got := strings.Fields(c.must("partition", "list", "products")); !slices.Equal(got, []string{"_default", "sale"}) {
		t.Errorf("partition list = %q", got)
	}
	sale := cliRows(1001, 6)
	text.Reset()
	for _, r := range sale {
		text.WriteString(r.jsonl())
	}
	saleFile := filepath.Join(dir, "sale.jsonl")
	if err := os.WriteFile(saleFile, []byte(text.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := c.must("upsert", "products", "--file", saleFile, "--partition", "sale"); !strings.Contains(out, "upserted 6 rows into products (partition sale)") {
		t.Errorf("upsert --partition printed %q", out)
	}
	if got := c.queryIDs("products", "--partitions", "sale"); !slices.Equal(got, idsWhere(sale, func(cliRow) bool { return true })) {
		t.Errorf("query --partitions sale = %v", got)
	}
	out = c.must("search", "products", "--vector", "[1, 1, 1, 1]", "--top-k", "10", "--partitions", "sale", "--filter", `category == "shoes"`, "--json")
	sr.Reset()
	if err := protojson.Unmarshal([]byte(out), &sr); err != nil {
		t.Fatal(err)
	}
	var hits []int64
	for _, h := range sr.Results[0].Hits {
		hits = append(hits, h.IntId)
	}
	slices.Sort(hits)
	if want := idsWhere(sale, func(r cliRow) bool { return r.category == "shoes" }); !slices.Equal(hits, want) {
		t.Errorf("search --partitions sale --filter shoes = %v, want %v", hits, want)
	}
	out = c.must("delete", "products", "--filter", `category == "hats"`, "--partitions", "sale")
	if want := fmt.Sprintf("deleted %d rows", len(idsWhere(sale, func(r cliRow) bool { return r.category == "hats" }))); !strings.Contains(out, want) {
		t.Errorf("delete in partition printed %q, want %q", out, want)
	}
	if got := c.queryIDs("products", "--filter", `category == "hats"`); !slices.Equal(got, idsWhere(rows, func(r cliRow) bool { return r.category == "hats" && r.color != "blue" })) {
		t.Errorf("hats outside the partition were touched: %v", got)
	}
	c.must("partition", "drop", "products", "sale")
	if got := c.queryIDs("products"); !slices.Equal(got, notBlue) {
		t.Errorf("rows after partition drop = %v, want %v", got, notBlue)
	}

	// Index, compaction and status.
	if _, err := c.run("index", "create", "products", "--type", "ivf_flat", "--m", "8"); err == nil || !strings.Contains(err.Error(), "--m does not apply") {
		t.Errorf("index create ivf_flat --m: error = %v", err)
	}
	c.must("index", "create", "products", "--type", "hnsw", "--m", "8")
	idx := c.describeIndexUntil("products", "index       HNSW")
	for _, want := range []string{"index       HNSW (m 8, ef-construction 200)", "sealed segments indexed on node", "builder     cpu"} {
		if !strings.Contains(idx, want) {
			t.Errorf("index describe lacks %q:\n%s", want, idx)
		}
	}
	if out := c.must("compact", "products"); !strings.HasPrefix(out, "compacted products: ") {
		t.Errorf("compact printed %q", out)
	}
	if got := c.queryIDs("products", "--filter", `meta["color"] == "red" and meta["size"] > 2`); !slices.Equal(got, redBig) {
		t.Errorf("after compaction, query = %v, want %v", got, redBig)
	}
	c.must("index", "drop", "products")
	c.describeIndexUntil("products", "index       none")
	st := c.must("status")
	if !strings.Contains(st, "index builder: ") || !strings.Contains(st, "INDEXED") {
		t.Errorf("status lacks the index builder or INDEXED:\n%s", st)
	}
}
