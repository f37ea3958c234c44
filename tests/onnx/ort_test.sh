#!/bin/sh
# CTest's entry to the onnx_runtime suite: runs it when node and onnxruntime-node are there
# (make installs them into tests/onnx/node_modules); otherwise reports a skip (exit 77), which
# under CI (CI set to anything but empty or "false") is a failure instead.
#   ort_test.sh TEST_BINARY NODE_MODULES_DIR
tests=$1
modules=$2
node=$(command -v node || true)
if [ -z "$node" ] || [ ! -f "$modules/onnxruntime-node/package.json" ]; then
  reason="ONNX Runtime tests need node and $modules/onnxruntime-node (make test installs them)"
  if [ -n "${CI:-}" ] && [ "$CI" != false ]; then
    echo "FAILED: $reason; under CI a skip is a failure"
    exit 1
  fi
  echo "SKIPPED: $reason"
  exit 77
fi
NODE_PATH=$modules RNNGRAPH_NODE=$node exec "$tests" --run_test=onnx_runtime --log_level=test_suite
