# insights-runtime-extractor — the ways in. See README.adoc.
SHELL := /bin/bash
GO ?= go
ARCHES ?= amd64 arm64
GOFLAGS_BUILD := -trimpath -ldflags='-s -w'
TEST_TIMEOUT ?= 80m
UNIT_TIMEOUT ?= 5m
BIN ?= bin
# The test machinery (node e2e, local node, sample builders, integration tests) is its own
# Go module, so that the product's go.mod names only what ships.
TEST_MODULE := test

NODE ?= containerd

.PHONY: all build unit test lint lint-product demo bench build-image e2e-test node-e2e runtime-samples clean

all: build

## build: static binaries for every architecture into $(BIN)/<arch>/, with the modes the
## extractor image ships: the fpr_* fingerprints execute-only (0111, which extractor_server
## requires at start and the sandbox at every run), the others 0755
build:
	@start=$$SECONDS; for arch in $(ARCHES); do \
	  mkdir -p $(BIN)/$$arch; \
	  for d in $(wildcard cmd/*) $(wildcard fingerprints/fpr_*); do \
	    out=$(BIN)/$$arch/$$(basename $$d); \
	    echo "build $$d ($$arch) [$$((SECONDS - start))s]"; \
	    rm -f $$out; \
	    CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build $(GOFLAGS_BUILD) -o $$out ./$$d || exit 1; \
	    case $$d in fingerprints/*) chmod 0111 $$out ;; *) chmod 0755 $$out ;; esac; \
	  done; \
	done; echo "build: done in $$((SECONDS - start))s"

## unit: gofmt, go vet and the tests of the product module: no root, no network, no containers
unit: lint-product
	$(GO) test -count=1 -timeout $(UNIT_TIMEOUT) ./...

## test: (root) lint of both modules; the product's tests with its privileged ones (-tags privileged:
## the sandbox in namespaces and cgroups, the real binaries); every test of the test module (the node
## e2e on containerd, the OpenShift-like VM, the release and integration tests); the node e2e on CRI-O
test: lint
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) -tags privileged ./...
	$(GO) -C $(TEST_MODULE) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	IRE_NODE=crio $(GO) -C $(TEST_MODULE) test -count=1 -timeout $(TEST_TIMEOUT) ./e2e/node ./localnode ./integration/cri

## lint: gofmt and go vet in both modules (the privileged tests and the cluster e2e included)
lint: lint-product
	$(GO) -C $(TEST_MODULE) vet ./...
	$(GO) -C $(TEST_MODULE) vet -tags e2e ./e2e/cluster/...

## lint-product: gofmt of every Go file, go vet of the product module (what make unit needs: no download for the test module)
lint-product:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags privileged ./...

## node-e2e: (root) the node e2e on one node: NODE=containerd (default) or crio (private, on this machine), or NODE=openshift (a cgroup v2 + systemd + CRI-O VM)
node-e2e:
	@case "$(NODE)" in \
	  containerd|crio) IRE_NODE=$(NODE) $(GO) -C $(TEST_MODULE) test -count=1 -v -timeout $(TEST_TIMEOUT) ./e2e/node ;; \
	  openshift) $(GO) -C $(TEST_MODULE) test -count=1 -v -timeout $(TEST_TIMEOUT) ./e2e/openshift ;; \
	  *) echo "node-e2e: NODE=$(NODE): want containerd, crio or openshift" >&2; exit 2 ;; \
	esac

## build-image: build and push the multi-arch images (IMAGE_REGISTRY=quay.io/<user> [TAG=latest] make build-image)
build-image:
	scripts/build-image.sh

## runtime-samples: build and push the sample images the cluster e2e runs (IMAGE_REGISTRY=quay.io/<user> [TAG=latest] make runtime-samples)
runtime-samples:
	scripts/runtime-samples.sh

## e2e-test: the cluster e2e against the cluster of KUBECONFIG (not part of make test)
e2e-test:
	scripts/e2e-test.sh

## demo: (root) a local node running sample workloads, the product run as its DaemonSet, the hash=false JSON
demo:
	@$(GO) -C $(TEST_MODULE) run ./e2e/node/demo

## bench: (root) on the local containerd node, N sample containers (BENCH_N, default 14,100,400; one JVM
## in ten): per N, the wall time of a cold and a repeat GET (answers checked exact for every container),
## the CPU time per container (coordinator, sandbox helpers, each fingerprint, containerd's), peak RSS per
## binary and the CPU per phase; BENCH_BASELINE=<git rev> adds its coordinator side by side (BENCH_PAIRS
## alternated runs, default 3); the plot goes to BENCH_PLOT (default bench.svg here)
bench:
	@$(GO) -C $(TEST_MODULE) run ./e2e/node/bench $(if $(BENCH_N),-n $(BENCH_N)) -plot $(abspath $(or $(BENCH_PLOT),bench.svg)) $(if $(BENCH_BASELINE),-baseline $(BENCH_BASELINE)) $(if $(BENCH_PAIRS),-pairs $(BENCH_PAIRS))

clean:
	rm -rf $(BIN)
