// Everything a user of the graph API needs: #include <rnngraph/rnngraph.h>
#pragma once

#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/executor.h>
#include <rnngraph/framework/graph.h>
#include <rnngraph/framework/io/npy.h>
#include <rnngraph/framework/tensor.h>
#include <rnngraph/models/rnn.h>
#include <rnngraph/ops/ops.h>
