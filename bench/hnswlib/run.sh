#!/usr/bin/env bash
# Interleaved raftvec-vs-hnswlib HNSW benchmark on Fashion-MNIST.
#
#   bench/hnswlib/run.sh [rounds]      (from the repository root)
#
# Needs Debian's dataset-fashion-mnist and libhnswlib-dev (installed here if
# missing and running as root), g++ and zlib. Each round runs raftvec's
# BenchmarkFashionMNIST and the hnswlib peer back to back, alternating which
# goes first; the summary gives per-ef medians over the rounds and the
# raftvec/hnswlib QPS ratio. The machine is shared: trust medians, not runs.
set -euo pipefail
rounds=${1:-3}
root=$(cd "$(dirname "$0")/../.." && pwd)
data=${RAFTVEC_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ ! -f "$data/train-images-idx3-ubyte.gz" ] || [ ! -f /usr/include/hnswlib/hnswlib.h ]; then
	if [ "$(id -u)" = 0 ]; then
		apt-get install -y dataset-fashion-mnist libhnswlib-dev zlib1g-dev >/dev/null
	else
		echo "install dataset-fashion-mnist and libhnswlib-dev first" >&2
		exit 1
	fi
fi

g++ -O3 -march=native -std=c++17 -pthread "$root/bench/hnswlib/main.cpp" -lz -o "$work/hnswlib-peer"
(cd "$root" && go test -c -o "$work/index.test" ./index/)

run_raftvec() { RAFTVEC_FASHION_MNIST=$data "$work/index.test" -test.run x -test.bench FashionMNIST -test.benchtime 1x -test.timeout 30m | grep '^raftvec'; }
run_hnswlib() { "$work/hnswlib-peer" "$data" 2 10000; }

for r in $(seq 1 "$rounds"); do
	if [ $((r % 2)) = 1 ]; then run_raftvec; run_hnswlib; else run_hnswlib; run_raftvec; fi
done | tee "$work/all.txt" >&2

# Medians per (program, metric key).
awk '
function median(arr, n,   i, j, t) {
	for (i = 2; i <= n; i++) for (j = i; j > 1 && arr[j-1] > arr[j]; j--) { t = arr[j]; arr[j] = arr[j-1]; arr[j-1] = t }
	return n % 2 ? arr[(n+1)/2] : (arr[n/2] + arr[n/2+1]) / 2
}
{
	prog = $1
	if ($2 ~ /^ef=/) {
		ef = substr($2, 4); split($3, a, "="); split($4, b, "=")
		key = prog SUBSEP ef
		nr[key]++; rec[key, nr[key]] = a[2]; qps[key, nr[key]] = b[2]; efs[ef] = 1
	} else if ($3 ~ /^build_s=/) {
		split($3, a, "="); nb[prog]++; build[prog, nb[prog]] = a[2]
	} else if ($2 ~ /^graph_bytes_per_vector=/) {
		split($2, a, "="); mem[prog] = a[2]
	}
}
END {
	printf "| ef | raftvec recall@10 | raftvec QPS | hnswlib recall@10 | hnswlib QPS | QPS ratio |\n|---|---|---|---|---|---|\n"
	n = split("10 20 40 80 160", sorted, " ")
	for (i = 1; i <= n; i++) {
		ef = sorted[i]
		if (!(ef in efs)) continue
		for (p = 0; p < 2; p++) {
			prog = p ? "hnswlib" : "raftvec"; key = prog SUBSEP ef
			split("", x); split("", y)
			for (j = 1; j <= nr[key]; j++) { x[j] = rec[key, j]; y[j] = qps[key, j] }
			R[p] = median(x, nr[key]); Q[p] = median(y, nr[key])
		}
		printf "| %s | %.4f | %.0f | %.4f | %.0f | %.2f |\n", ef, R[0], Q[0], R[1], Q[1], Q[0] / Q[1]
	}
	for (p = 0; p < 2; p++) {
		prog = p ? "hnswlib" : "raftvec"; split("", x)
		for (j = 1; j <= nb[prog]; j++) x[j] = build[prog, j]
		B[p] = median(x, nb[prog])
	}
	printf "\nbuild (2 threads, median of %d): raftvec %.2f s, hnswlib %.2f s, ratio %.2f\n", nb["raftvec"], B[0], B[1], B[0] / B[1]
	printf "graph memory per vector: raftvec %s B, hnswlib %s B (vectors excluded)\n", mem["raftvec"], mem["hnswlib"]
}' "$work/all.txt"
