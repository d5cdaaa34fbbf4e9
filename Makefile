# Thin wrappers around CMake. README documents `make run` and `make test`.
JOBS ?= $(shell nproc)
RUN_ARGS ?=

.PHONY: run test bench deps build-release build-test fuzz clean bench-keeper bench-keeper-cluster jepsen jepsen-cluster

deps:
	@bash scripts/install-deps.sh test

build-release:
	@bash scripts/install-deps.sh build
	@cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DDOUGONG_BUILD_TESTS=OFF >/dev/null
	@ninja -C build/release -j$(JOBS) dougong_cli

# Builds, then starts the all-in-one local stack on its embedded defaults.
run: build-release
	./build/release/src/dougong dev $(RUN_ARGS)

# Builds with AddressSanitizer + UBSan and runs every test.
build-test: deps
	@cmake -S . -B build/test -G Ninja -DCMAKE_BUILD_TYPE=Debug -DDOUGONG_SANITIZE=ON \
	  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" >/dev/null
	@ninja -C build/test -j$(JOBS)

test: build-test
	@cd build/test && ctest --output-on-failure -j$(JOBS) --timeout 900

# Figures, not tests: Dougong vs grpc++ on this machine (Release build).
bench:
	@bash scripts/install-deps.sh bench
	@JOBS=$(JOBS) bash bench/compare_grpc.sh

# keeper vs Apache ZooKeeper 3.8 (throughput, p99, memory, restart, snapshot stall).
bench-keeper:
	@bash scripts/install-deps.sh bench
	@JOBS=$(JOBS) bash bench/compare_zk.sh

# 3-member keeper vs a 3-member ZooKeeper 3.8 ensemble (issue 5: throughput,
# p99, failover, recovery of a wiped member by snapshot).
bench-keeper-cluster:
	@bash scripts/install-deps.sh bench
	@JOBS=$(JOBS) bash bench/compare_keeper_cluster.sh

# The long linearizability run (docs/linearizability.md): clients against
# keeper under kill -9 (or pause) faults, history checked, report in
# build/jepsen/report.md. Settings from the environment or make variables.
# `make jepsen-cluster` is the cluster mode: a replicated keeper
# (JEPSEN_MEMBERS, default 3) in network namespaces under mixed faults: kill -9
# of leader and followers, SIGSTOP of the leader, wiped data dirs, the leader
# partitioned from the majority; the report adds the election times.
JEPSEN_SECONDS ?= 300
JEPSEN_CLIENTS ?= 10
JEPSEN_KEYS ?= 5
JEPSEN_FAULTS ?= kill
JEPSEN_MEMBERS ?= 1
JEPSEN_INTERVAL_MS ?= 3000
JEPSEN_MAX_FAULT_MS ?= 1000
JEPSEN_SEED ?= 1
JEPSEN_ARGS ?=
jepsen: deps
	@cmake -S . -B build/test -G Ninja -DCMAKE_BUILD_TYPE=Debug -DDOUGONG_SANITIZE=ON \
	  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" >/dev/null
	@ninja -C build/test -j$(JOBS) dougong_cli lin_workload
	@rm -rf build/jepsen/run && mkdir -p build/jepsen
	./build/test/tests/lincheck/lin_workload --dougong-bin build/test/src/dougong \
	  --work-dir build/jepsen/run --members $(JEPSEN_MEMBERS) --duration-s $(JEPSEN_SECONDS) \
	  --clients $(JEPSEN_CLIENTS) --keys $(JEPSEN_KEYS) --faults $(JEPSEN_FAULTS) \
	  --fault-interval-ms $(JEPSEN_INTERVAL_MS) --max-fault-ms $(JEPSEN_MAX_FAULT_MS) --seed $(JEPSEN_SEED) \
	  --min-faults 1 --plant-stale-read --report build/jepsen/report.md --history build/jepsen/history.txt \
	  $(JEPSEN_ARGS)

jepsen-cluster:
	@$(MAKE) --no-print-directory jepsen JEPSEN_MEMBERS=$(if $(filter 1,$(JEPSEN_MEMBERS)),3,$(JEPSEN_MEMBERS)) \
	  JEPSEN_FAULTS=$(if $(filter kill,$(JEPSEN_FAULTS)),cluster-partition,$(JEPSEN_FAULTS)) \
	  JEPSEN_ARGS="--netns --snap-count 1000 $(JEPSEN_ARGS)"

fuzz:
	@bash tests/fuzz/run.sh $(or $(SECONDS),60)

clean:
	rm -rf build
