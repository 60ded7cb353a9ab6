// A plain C squared-L2 loop, the yardstick for raftvec's kernels in
// `make bench-index` (bench/cmd/benchindex compiles it twice: with
// `gcc -O3 -march=native`, and with `-ffast-math` added, which lets the
// compiler reassociate the sum and so vectorise the reduction).
//
//   l2loop [dim]   prints: ns_per_op=<ns> gbps=<GB/s>
//
// Throughput counts both vectors (2*4*dim bytes per call), like
// BenchmarkL2Squared in index/kernels_bench_test.go. The vectors stay in L1.
// The asm barrier makes the pointers opaque so that the call cannot be
// hoisted out of the timing loop.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

__attribute__((noinline)) float l2(const float *a, const float *b, int n) {
  float s = 0;
  for (int i = 0; i < n; i++) {
    float d = a[i] - b[i];
    s += d * d;
  }
  return s;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  int d = argc > 1 ? atoi(argv[1]) : 128;
  if (d <= 0 || d > 4096) d = 128;
  float *a = aligned_alloc(64, 4096 * sizeof(float));
  float *b = aligned_alloc(64, 4096 * sizeof(float));
  srand(1);
  for (int i = 0; i < d; i++) {
    a[i] = rand() / (float)RAND_MAX;
    b[i] = rand() / (float)RAND_MAX;
  }
  float sink = 0;
  for (long iters = 1000;; iters *= 2) {
    double t0 = now();
    for (long i = 0; i < iters; i++) {
      __asm__ volatile("" : "+r"(a), "+r"(b)::"memory");
      sink += l2(a, b, d);
    }
    double el = now() - t0;
    if (el > 1.0) {
      printf("ns_per_op=%.3f gbps=%.2f\n", el / iters * 1e9, 2.0 * sizeof(float) * d * iters / el / 1e9);
      return sink == -1; // keep sink alive
    }
  }
}
