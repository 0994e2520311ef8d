# Thin wrapper over CMake + CTest.  See README.md.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

.PHONY: all deps build check bench demo fuzz install clean

all: build

deps:
	@scripts/deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

check: deps
	@scripts/check

bench: deps
	@scripts/deps --bench || echo "bench: DPDK unavailable; baselines that need it are skipped"
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	@scripts/bench $(BUILD)

demo: build
	@scripts/demo $(BUILD)

fuzz: deps
	@scripts/fuzz

install: build
	@cmake --install $(BUILD) $(if $(DESTDIR),,)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
