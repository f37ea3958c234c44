# Two entry points, each doing all set-up on a fresh Debian 12 machine:
#   make demo   install missing packages, configure, build (Release), run `rnngraph demo`
#   make test   the same, then the whole test suite through CTest
# make test-asan runs the same suite built with AddressSanitizer + UndefinedBehaviorSanitizer.

BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
PACKAGES := g++ cmake make pkg-config libopenblas-dev libfmt-dev libboost-test-dev \
            nlohmann-json3-dev libgraphviz-dev graphviz libonnx-dev libprotobuf-dev
# The ONNX Runtime tests run exported models in npm's onnxruntime-node (pinned in
# tests/onnx/package-lock.json, installed with --ignore-scripts: its CPU library ships in the
# package); Debian's nodejs and npm are installed only where node is missing.
ORT_MODULES := tests/onnx/node_modules/onnxruntime-node

.PHONY: deps ort build demo test test-asan format clean

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

ort:
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	  if [ "$$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm; \
	fi
	@[ -f $(ORT_MODULES)/package.json ] || \
	  (cd tests/onnx && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	$(BUILD)/rnngraph demo

test: build ort
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: deps ort
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRNNGRAPH_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

format:
	clang-format -i $$(git ls-files '*.h' '*.cpp')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
