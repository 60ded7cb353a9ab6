// hnswlib peer for raftvec's index benchmark (see README.md).
//
// Reads Fashion-MNIST (train = base, t10k = queries, 784-d float32 L2) from
// the IDX files, builds hnswlib's HNSW with M=16, efConstruction=200 on
// `threads` threads, computes exact ground truth (or reads it), then runs
// every query single-threaded, one at a time, at each ef and prints one
// line per ef:
//
//   hnswlib ef=<ef> recall@10=<r> qps=<q>
//
// plus build time and memory. Build with:
//   g++ -O3 -march=native -std=c++17 -pthread main.cpp -lz -o hnswlib-bench
#include <hnswlib/hnswlib.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

static std::vector<float> readIDX(const std::string &path, int &rows, int &dim) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) { fprintf(stderr, "open %s\n", path.c_str()); exit(1); }
  unsigned char hdr[16];
  if (gzread(f, hdr, 16) != 16) { fprintf(stderr, "short %s\n", path.c_str()); exit(1); }
  auto be = [&](int o) { return (hdr[o] << 24) | (hdr[o + 1] << 16) | (hdr[o + 2] << 8) | hdr[o + 3]; };
  rows = be(4);
  dim = be(8) * be(12);
  std::vector<unsigned char> raw((size_t)rows * dim);
  if (gzread(f, raw.data(), raw.size()) != (int)raw.size()) { fprintf(stderr, "short %s\n", path.c_str()); exit(1); }
  gzclose(f);
  std::vector<float> out(raw.size());
  for (size_t i = 0; i < raw.size(); i++) out[i] = raw[i];
  return out;
}

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int main(int argc, char **argv) {
  std::string dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
  int threads = argc > 2 ? atoi(argv[2]) : 2;
  int nq = argc > 3 ? atoi(argv[3]) : 10000;
  const int k = 10, M = 16, efc = 200;
  int n, dim, qn, qdim;
  std::vector<float> base = readIDX(dir + "/train-images-idx3-ubyte.gz", n, dim);
  std::vector<float> queries = readIDX(dir + "/t10k-images-idx3-ubyte.gz", qn, qdim);
  nq = std::min(nq, qn);

  // Exact ground truth with hnswlib's own SIMD L2, ties by lower row like
  // raftvec's FlatSearch.
  hnswlib::L2Space space(dim);
  auto dist = space.get_dist_func();
  void *dparam = space.get_dist_func_param();
  std::vector<int> truth((size_t)nq * k);
  {
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; t++) {
      ts.emplace_back([&, t] {
        std::vector<std::pair<float, int>> d(n);
        for (int q = t; q < nq; q += threads) {
          const float *qv = &queries[(size_t)q * dim];
          for (int i = 0; i < n; i++) {
            d[i] = {dist(qv, &base[(size_t)i * dim], dparam), i};
          }
          std::partial_sort(d.begin(), d.begin() + k, d.end());
          for (int j = 0; j < k; j++) truth[(size_t)q * k + j] = d[j].second;
        }
      });
    }
    for (auto &t : ts) t.join();
  }

  hnswlib::HierarchicalNSW<float> index(&space, n, M, efc, 100);
  double t0 = now();
  index.addPoint(&base[0], 0);
  std::atomic<int> next(1);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; t++) {
    ts.emplace_back([&] {
      for (int i; (i = next++) < n;) index.addPoint(&base[(size_t)i * dim], i);
    });
  }
  for (auto &t : ts) t.join();
  double build = now() - t0;
  printf("hnswlib build_threads=%d build_s=%.3f\n", threads, build);
  // Graph memory per vector: hnswlib stores links and the vector together;
  // report the link part (size_data_per_element_ minus the vector) plus
  // upper layers, comparable with raftvec's MemoryBytes.
  size_t upper = 0;
  for (int i = 0; i < n; i++) upper += index.element_levels_[i] * index.size_links_per_element_;
  double perVec = (double)(index.size_data_per_element_ - index.data_size_) + (double)upper / n;
  printf("hnswlib graph_bytes_per_vector=%.1f\n", perVec);

  for (int ef : {10, 20, 40, 80, 160}) {
    index.setEf(ef);
    int hit = 0;
    double t1 = now();
    for (int q = 0; q < nq; q++) {
      auto res = index.searchKnn(&queries[(size_t)q * dim], k);
      while (!res.empty()) {
        int id = (int)res.top().second;
        res.pop();
        for (int j = 0; j < k; j++) if (truth[(size_t)q * k + j] == id) { hit++; break; }
      }
    }
    double el = now() - t1;
    printf("hnswlib ef=%d recall@10=%.4f qps=%.0f\n", ef, (double)hit / (nq * k), nq / el);
  }
  return 0;
}
