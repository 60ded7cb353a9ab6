#!/usr/bin/python3
"""Secondary, weaker hnswlib row for `make bench-index`: Debian's
python3-hnswlib (built without -march=native, so no AVX kernels, and every
query pays a Python call), with the same settings as main.cpp: M=16,
efConstruction=200, build on `threads` threads, single-threaded queries one
at a time, ef in {10, 20, 40, 80, 160}, recall@10 against the exact ground
truth that bench/cmd/benchindex computed (little-endian int32, nq*10).

    pyhnswlib.py <fashion-mnist dir> <truth file> [threads] [nq]

Prints the line format of main.cpp with the program name "pyhnswlib".
"""
import gzip
import sys
import time

import hnswlib
import numpy as np


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    rows = int.from_bytes(raw[4:8], "big")
    dim = int.from_bytes(raw[8:12], "big") * int.from_bytes(raw[12:16], "big")
    return np.frombuffer(raw, dtype=np.uint8, offset=16, count=rows * dim).reshape(rows, dim).astype(np.float32)


def main():
    d = sys.argv[1]
    truth_path = sys.argv[2]
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    k = 10
    base = read_idx(d + "/train-images-idx3-ubyte.gz")
    queries = read_idx(d + "/t10k-images-idx3-ubyte.gz")
    nq = min(int(sys.argv[4]) if len(sys.argv) > 4 else len(queries), len(queries))
    truth = np.fromfile(truth_path, dtype="<i4").reshape(-1, k)[:nq]
    n, dim = base.shape

    p = hnswlib.Index(space="l2", dim=dim)
    p.init_index(max_elements=n, ef_construction=200, M=16, random_seed=100)
    t0 = time.perf_counter()
    p.add_items(base, np.arange(n), num_threads=threads)
    print("pyhnswlib build_threads=%d build_s=%.3f" % (threads, time.perf_counter() - t0), flush=True)
    p.set_num_threads(1)
    qs = [queries[i : i + 1] for i in range(nq)]
    truth_sets = [set(truth[i].tolist()) for i in range(nq)]
    for ef in (10, 20, 40, 80, 160):
        p.set_ef(ef)
        labels = []
        t1 = time.perf_counter()
        for q in qs:
            labels.append(p.knn_query(q, k=k, num_threads=1)[0])
        el = time.perf_counter() - t1
        hit = sum(len(truth_sets[i].intersection(labels[i][0].tolist())) for i in range(nq))
        print("pyhnswlib ef=%d recall@10=%.4f qps=%.0f" % (ef, hit / (nq * k), nq / el), flush=True)


if __name__ == "__main__":
    main()
