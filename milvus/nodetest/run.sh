#!/usr/bin/env bash
# The official Milvus Node SDK against raftvec's Milvus endpoint: starts a
# three-node cluster (`raftvec dev`) on free ports, waits for node n1's Milvus
# port, runs flow.mjs against it, and stops the cluster.
#
#   RAFTVEC_BIN=./bin/raftvec ./milvus/nodetest/run.sh
#
# RAFTVEC_BIN: the raftvec binary (default: built from this repo into a temp
# dir). KEEP_TMP=1 keeps the temp dir (data and logs); it is always kept on
# failure. FLOW_TRACE=1 makes flow.mjs log every RPC. Needs Go (only to build
# raftvec) and Node; installs Debian's nodejs and npm if node is missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
sdk_version=3.0.6

log() { printf 'run.sh: %s\n' "$*"; }

# --- Node and the SDK --------------------------------------------------------
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	log "installing Debian's nodejs and npm"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm >/dev/null
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 18 ]; then
	log "node $(node -v) is too old (need 18 or later)"
	exit 1
fi

# node_modules is current when npm's hidden lockfile is newer than ours and
# the SDK in it is the pinned version; otherwise reinstall from the lockfile.
installed="$(node -p "try { require('$here/node_modules/@zilliz/milvus2-sdk-node/package.json').version } catch { '' }")"
if [ ! -f "$here/node_modules/.package-lock.json" ] ||
	[ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ] ||
	[ "$installed" != "$sdk_version" ]; then
	log "npm ci (node $(node -v), npm $(npm -v))"
	(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

# --- raftvec binary ----------------------------------------------------------
tmp="$(mktemp -d "${TMPDIR:-/tmp}/raftvec-nodetest.XXXXXX")"
devpid=""
cleanup() {
	rc=$?
	trap - EXIT INT TERM
	if [ -n "$devpid" ] && kill -0 -- "-$devpid" 2>/dev/null; then
		# dev forwards SIGTERM to its nodes and waits for them; the whole group
		# gets it, and SIGKILL after 10 s.
		kill -TERM -- "-$devpid" 2>/dev/null || true
		for _ in $(seq 1 100); do
			kill -0 -- "-$devpid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "-$devpid" 2>/dev/null || true
		wait "$devpid" 2>/dev/null || true
	fi
	if [ "$rc" -ne 0 ]; then
		for f in "$tmp/dev.log" "$tmp"/data/n*.log; do
			[ -f "$f" ] || continue
			echo "----- tail -n 60 $f"
			tail -n 60 "$f"
		done
		log "FAILED (exit $rc); data and logs kept in $tmp"
	elif [ "${KEEP_TMP:-}" = 1 ]; then
		log "data and logs kept in $tmp"
	else
		rm -rf "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "${RAFTVEC_BIN:-}" ]; then
	log "building raftvec"
	(cd "$root" && go build -o "$tmp/raftvec" ./cmd/raftvec)
	RAFTVEC_BIN="$tmp/raftvec"
fi
if [ ! -x "$RAFTVEC_BIN" ]; then
	log "RAFTVEC_BIN=$RAFTVEC_BIN is not an executable"
	exit 1
fi

# --- free ports --------------------------------------------------------------
# Node i uses base+10*i .. base+10*i+4 (API, Raft, HTTP, Serf tcp+udp, Milvus),
# so base..base+24 must all be free.
in_use=""
if command -v ss >/dev/null 2>&1; then
	# every local tcp/udp port in use, listening or not, one per line
	in_use="$(ss -Htanu 2>/dev/null | awk '{n = split($5, a, ":"); print a[n]}' | sort -u)"
fi
port_busy() {
	if [ -n "$in_use" ] && grep -qx "$1" <<<"$in_use"; then
		return 0
	fi
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
BASE=""
for _ in $(seq 1 50); do
	b=$((20000 + RANDOM % 12001))
	free=1
	for p in $(seq "$b" $((b + 24))); do
		if port_busy "$p"; then free=0; break; fi
	done
	if [ "$free" = 1 ]; then BASE=$b; break; fi
done
if [ -z "$BASE" ]; then
	log "no free port range base..base+24 found in 20000-32024"
	exit 1
fi
MILVUS_ADDR="127.0.0.1:$((BASE + 4))"

# --- cluster -----------------------------------------------------------------
log "starting a 3-node cluster: $RAFTVEC_BIN dev --data-dir $tmp/data --base-port $BASE"
mkdir -p "$tmp/data"
set -m # the dev process leads its own process group, which cleanup kills
"$RAFTVEC_BIN" dev --data-dir "$tmp/data" --base-port "$BASE" >"$tmp/dev.log" 2>&1 &
devpid=$!
set +m

cd "$here"
deadline=$((SECONDS + 60))
up=0
last=""
while [ "$SECONDS" -lt "$deadline" ]; do
	if ! kill -0 "$devpid" 2>/dev/null; then
		log "raftvec dev exited early"
		exit 1
	fi
	if (exec 3<>"/dev/tcp/127.0.0.1/$((BASE + 4))") 2>/dev/null; then
		if last="$(MILVUS_ADDR="$MILVUS_ADDR" timeout 15 node flow.mjs --probe 2>&1)"; then
			up=1
			break
		fi
	else
		last="port $((BASE + 4)) not accepting connections"
	fi
	sleep 0.5
done
if [ "$up" != 1 ]; then
	log "the Milvus endpoint $MILVUS_ADDR did not come up within 60 s; last: $last"
	exit 1
fi
log "$last (after $((SECONDS - (deadline - 60))) s)"

# --- the flow ----------------------------------------------------------------
MILVUS_ADDR="$MILVUS_ADDR" node flow.mjs
