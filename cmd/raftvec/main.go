// Command raftvec is the raftvec server, a local development cluster, and a
// command-line client. It turns flags into configs and wires packages
// together; it holds no logic of its own.
package main

import (
	"fmt"
	"os"
)

const usage = `raftvec — a vector database in which every shard is a Raft group

Usage:
  raftvec server [flags]        run a node (raftvec server -h for flags)
  raftvec dev [flags]           run a three-node cluster on 127.0.0.1
  raftvec cert ca|node|client|gossip-key|dev    TLS certificates and the gossip key
  raftvec collection create NAME --dim D --metric l2|ip|cosine [--consistency LEVEL]
  raftvec collection list | describe NAME | drop NAME
  raftvec replica add COLLECTION --node N --non-voter
  raftvec collection create NAME --schema schema.json
  raftvec partition create NAME PART | drop NAME PART | list NAME
  raftvec insert | upsert NAME --file rows.jsonl | --random N [--partition P]
  raftvec search NAME --vector '[...]' --top-k K [--filter EXPR] [--partitions a,b]
                 [--offset N] [--radius R [--range-filter F]] [--ef N] [--nprobe N] [--refine R] [read flags]
  raftvec query NAME --filter EXPR [--output-fields a,b] [--limit N] [--offset N]
                 [--partitions a,b] [read flags]
  raftvec get NAME --ids 1,2,3 [read flags]
  raftvec delete NAME --ids 1,2 | --filter EXPR [--partitions a,b]
  raftvec compact NAME
  raftvec index create NAME --type hnsw|ivf_flat|ivf_sq8|ivf_pq|flat [--m 16] [--ef-construction 200] [--nlist 1024] [--pq-m M]
  raftvec index describe NAME | drop NAME
  raftvec status [--all]
  raftvec backup create COLLECTION... --to DIR [--as-of TS] | restore DIR [--as NEW_NAME] [--shards N]
  raftvec backup list DIR | describe DIR [--verify]

Filters are boolean expressions over scalar fields, e.g.
  'category == "shoes" and price < 100'   'meta["color"] == "red"'
(docs/filter-expressions.md).

Read flags say how fresh the answer must be (docs/consistency.md):
  --consistency strong|bounded|session|eventual   default: the collection's
  --max-staleness 5s          bounded: how old the answer may be
  --session-token T           session: wait until this token is applied
  --as-of TS|RFC3339|-30s     read the state as of a past time

Client commands talk to --addr (default 127.0.0.1:7400, or $RAFTVEC_ADDR;
comma-separated for several nodes). raftvec COMMAND -h shows a command's flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "server":
		err = runServer(args)
	case "dev":
		err = runDev(args)
	case "cert":
		err = runCert(args)
	case "help", "-h", "--help":
		fmt.Print(usage)
		return
	default:
		err = runClient(cmd, args)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "raftvec:", err)
		os.Exit(1)
	}
}
