// Everything a user of the graph API needs: #include <rnngraph/rnngraph.h>
#pragma once

#include <rnngraph/framework/autodiff.h>
#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/executor.h>
#include <rnngraph/framework/graph.h>
#include <rnngraph/framework/io/csv.h>
#include <rnngraph/framework/io/files.h>
#include <rnngraph/framework/io/graph_file.h>
#include <rnngraph/framework/io/npy.h>
#include <rnngraph/framework/io/safetensors.h>
#include <rnngraph/framework/passes/passes.h>
#include <rnngraph/framework/rewrite.h>
#include <rnngraph/framework/tensor.h>
#include <rnngraph/framework/threads.h>
#include <rnngraph/models/cell.h>
#include <rnngraph/models/gru.h>
#include <rnngraph/models/losses.h>
#include <rnngraph/models/lstm.h>
#include <rnngraph/models/model.h>
#include <rnngraph/models/model_runner.h>
#include <rnngraph/models/optim.h>
#include <rnngraph/models/rnn.h>
#include <rnngraph/models/torch_state.h>
#include <rnngraph/models/training.h>
#include <rnngraph/ops/ops.h>
