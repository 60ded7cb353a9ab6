#!/usr/bin/env bash
# Fails when a package imports what docs/architecture (the design's package
# table) forbids. Checks transitive imports of every package in each tree.
set -euo pipefail
mod=github.com/raftvec/raftvec
fail=0
check() { # tree, forbidden import prefixes...
  local tree=$1; shift
  local deps
  deps=$(go list -deps "./$tree/..." 2>/dev/null | grep -v '^[a-z]*$' || true)
  for bad in "$@"; do
    if echo "$deps" | grep -qE "^${bad}(/|$)"; then
      echo "depcheck: $tree imports $bad (forbidden by the package table)"
      fail=1
    fi
  done
}
check index  $mod/fsm $mod/raftnode $mod/shard $mod/rpc github.com/dgraph-io/badger/v4
check search $mod/raftnode $mod/fsm $mod/rpc
check fsm    $mod/raftnode $mod/shard $mod/rpc
check raftnode $mod/fsm $mod/shard $mod/index $mod/rpc
check shard  $mod/rpc
# certs is a leaf (the standard library's crypto only); auth reads users
# from fsm and speaks the protobuf API, but reaches no shard or Raft group.
check certs  $mod/fsm $mod/raftnode $mod/shard $mod/rpc $mod/index $mod/search $mod/auth
check auth   $mod/raftnode $mod/shard $mod/rpc/client
if go list -f '{{join .Imports "\n"}}' ./auth/... | grep -qx "$mod/rpc"; then
  echo "depcheck: auth imports $mod/rpc (the request layer imports auth, not the other way)"
  fail=1
fi
# backup speaks to a cluster only through the Go SDK.
check backup $mod/fsm $mod/raftnode $mod/shard $mod/index $mod/search $mod/auth github.com/dgraph-io/badger/v4
if go list -f '{{join .Imports "\n"}}' ./backup/... | grep -qx "$mod/rpc"; then
  echo "depcheck: backup imports $mod/rpc (it is a client of the API)"
  fail=1
fi
# Tracing: telemetry (the API side every layer uses) and telemetry/otlp
# (the SDK and exporter) are leaves; only the wiring (rpc, cmd/raftvec)
# takes the exporter, the layers below start spans through telemetry alone.
check telemetry $mod/fsm $mod/raftnode $mod/shard $mod/rpc $mod/index $mod/search $mod/auth $mod/certs
for tree in index search fsm raftnode shard; do
  check $tree $mod/telemetry/otlp go.opentelemetry.io/otel/sdk go.opentelemetry.io/otel/exporters
done
check jepsen $mod/fsm $mod/raftnode $mod/shard $mod/index $mod/search
# The Go SDK stays light: protobuf messages and the wire rules only.
check rpc/client $mod/fsm $mod/raftnode $mod/shard $mod/index $mod/search github.com/dgraph-io/badger/v4 github.com/hashicorp/raft
check rpc/wire $mod/fsm $mod/raftnode $mod/shard $mod/index $mod/search $mod/rpc/pb
# The Milvus endpoint is an adapter over the request layer (rpc): it may
# reach the shards only through it. Direct imports are checked, since rpc
# itself imports shard.
check_direct() { # tree, forbidden import prefixes...
  local tree=$1; shift
  local imps
  imps=$(go list -f '{{join .Imports "\n"}}' "./$tree/..." 2>/dev/null || true)
  for bad in "$@"; do
    if echo "$imps" | grep -qE "^${bad}(/|$)"; then
      echo "depcheck: $tree imports $bad directly (it must go through $mod/rpc)"
      fail=1
    fi
  done
}
check_direct milvus $mod/fsm $mod/raftnode $mod/shard $mod/index $mod/search
exit $fail
