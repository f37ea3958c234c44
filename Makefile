# Two entry points, each doing all set-up on a fresh Debian 12 machine:
#   make demo   install missing packages, configure, build (Release), run `rnngraph demo`
#   make test   the same, then the whole test suite through CTest
# make python builds the Python module into build/python (python/: pybind11, from Debian).
# make test-asan runs the same suite built with AddressSanitizer + UndefinedBehaviorSanitizer
# (clang, in the tree that also holds the fuzz targets, so CI compiles the library once for both).
# make test-tsan runs the thread tests (suite concurrency) under ThreadSanitizer.
# make mutants applies each one-line bug of tests/mutants/mutants.txt in a scratch copy
# (build-mutants/), rebuilds, runs the whole suite and reports the bugs it missed (not in CI).
# make fuzz runs every libFuzzer target (tests/fuzz) for FUZZ_SECONDS each (default 60) from its
# seed corpus; make fuzz-smoke is the same for 30 seconds each (what CI runs).

SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := npy safetensors csv graph_file checkpoint onnx_import cli_args
FUZZ_PACKAGES := clang libclang-rt-14-dev
JOBS ?= $(shell nproc)
PACKAGES := g++ cmake make pkg-config libopenblas-dev libfmt-dev libboost-test-dev \
            nlohmann-json3-dev libgraphviz-dev graphviz libonnx-dev libprotobuf-dev \
            libopenmpi-dev openmpi-bin
# The ONNX Runtime tests run exported models in npm's onnxruntime-node (pinned in
# tests/onnx/package-lock.json, installed with --ignore-scripts: its CPU library ships in the
# package); Debian's nodejs and npm are installed only where node is missing.
ORT_MODULES := tests/onnx/node_modules/onnxruntime-node

.PHONY: deps test-deps python-deps python ort serve-deps configure build demo test asan-configure test-asan test-tsan mutants fuzz fuzz-smoke format clean

deps:
	@missing=$$(for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  if [ "$$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# onnxruntime-node for examples/serve_onnx.js (the README's road map) and the ONNX tests
serve-deps: ort

ort:
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	  if [ "$$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm; \
	fi
	@[ -f $(ORT_MODULES)/package.json ] || \
	  (cd tests/onnx && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

configure: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# The demo needs only the program (not the tests and examples).
demo: configure
	cmake --build $(BUILD) -j $(JOBS) --target rnngraph-cli
	$(BUILD)/rnngraph demo

# The Python module (python/): pybind11 and Python's headers from Debian, numpy to use it.
PYTHON_PACKAGES := python3 python3-dev pybind11-dev python3-numpy
# The README's python blocks (test readme_commands) and the Python module's pytest suite (test
# python) run on Debian's numpy, torch and sklearn.
TEST_PACKAGES := $(PYTHON_PACKAGES) python3-sklearn python3-torch python3-pytest

test-deps:
	@$(MAKE) --no-print-directory deps PACKAGES="$(TEST_PACKAGES)"

python-deps:
	@$(MAKE) --no-print-directory deps PACKAGES="$(PYTHON_PACKAGES)"

# build/python/rnngraph: PYTHONPATH=build/python python3 -c "import rnngraph"
python: python-deps configure
	cmake --build $(BUILD) -j $(JOBS) --target rnngraph_python

# The test packages first: the Python module is configured only where pybind11 is installed.
test: test-deps build ort
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# One clang tree with ASan + UBSan and the fuzzers' coverage: the suite (test-asan) and the
# fuzz targets (fuzz) are built from the same library objects.
asan-configure: deps
	@$(MAKE) --no-print-directory deps PACKAGES="$(FUZZ_PACKAGES)"
	CC=clang CXX=clang++ cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRNNGRAPH_FUZZ=ON

test-asan: asan-configure ort test-deps
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

test-tsan: deps
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRNNGRAPH_TSAN=ON
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target rnngraph_concurrency_tests
	OPENBLAS_NUM_THREADS=1 TSAN_OPTIONS=halt_on_error=1 \
	  $(TSAN_BUILD)/tests/rnngraph_concurrency_tests --log_level=test_suite

mutants: deps ort
	@$(MAKE) --no-print-directory deps PACKAGES="python3"
	python3 tests/mutants/run.py --jobs $(JOBS)

fuzz: asan-configure
	cmake --build $(ASAN_BUILD) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(ASAN_BUILD)/corpus/$$t && \
	  echo "fuzz_$$t: $(FUZZ_SECONDS) s" && \
	  $(ASAN_BUILD)/tests/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
	    -timeout=20 -print_final_stats=1 -artifact_prefix=$(ASAN_BUILD)/fuzz_$$t- \
	    $(ASAN_BUILD)/corpus/$$t tests/fuzz/corpus/$$t 2>&1 | \
	    grep -E "^(stat::number_of_executed_units|stat::new_units_added|==[0-9]+==|SUMMARY|Done)" ; \
	  test $${PIPESTATUS[0]} -eq 0 || exit 1; \
	done

fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=30

format:
	clang-format -i $$(git ls-files '*.h' '*.cpp')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) build-fuzz build-mutants
