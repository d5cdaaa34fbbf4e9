# Thin wrappers around CMake. README documents `make run` and `make test`.
JOBS ?= $(shell nproc)
RUN_ARGS ?=

.PHONY: run test bench deps build-release build-test fuzz clean bench-keeper

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

fuzz:
	@bash tests/fuzz/run.sh $(or $(SECONDS),60)

clean:
	rm -rf build
