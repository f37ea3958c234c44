// rnngraph quantize: a model file whose products run in int8 (or back in float32).
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include <rnngraph/models/model.h>
#include <rnngraph/models/model_runner.h>

#include "cli.h"

namespace rnngraph::cli {

namespace {
constexpr std::string_view kUsage =
    R"(usage: rnngraph quantize M.json --dtype int8|bf16|f32 -o Q.json

Writes M.json's model with its products in another precision. Every product of a weight
(input and recurrent products of every layer and direction, the output layer) runs in it;
nonlinearities, the cell state and the sums stay float32 (docs/formats.md,
docs/architecture.md).

  int8   dynamic quantization, as PyTorch's quantize_dynamic and ONNX Runtime's
         DynamicQuantizeLSTM do it: the weights per output column to 8 bits (7 on a CPU
         without VNNI or AMX), once, kept between runs; each row of a product's input (x_t,
         h_{t-1}) to 8 bits as the product runs; the byte products summed exactly in int32
  bf16   the weights rounded to bfloat16 (8 bits of mantissa, float32's range), and each
         product's input rows when it runs; the sums float32: a smaller error than int8, half
         the weight bytes of f32
  f32    a float32 model of an int8 or bf16 file's stored weights

Q.json is a model file like any other: run, eval, sample and info read it, 'bench Q.json'
times it, and dot draws its (float32) structure ('bench CELL --dtype int8|bf16' times a
built-in cell in that precision without a file). It runs forward only: train, grad and export
to ONNX refuse it (quantize the float32 model again after training). Its
product weights are stored as int8 with a float32 scale per column (a quarter of their float32
bytes) or as bf16 (half); biases stay float32 (docs/formats.md).

Prints how far the quantized model's y is from the float32 model's on random unit-scale input
(x ~ N(0, 1), or random tokens; T = 100, B = 16): its largest difference, and that over max |y|.
)";

constexpr int64_t kSteps = 100, kBatch = 16;  // the comparison's input

// y of `model` on x ~ N(0, 1) (or random tokens), seeded.
Tensor sample_output(models::Model& model) {
  return model.run(random_model_input(model.config(), kSteps, kBatch, 7))["y"].clone();
}

int quantize_main(const std::vector<std::string>& argv) {
  const Args args(argv, {"-o", "--dtype"});
  if (args.positional().size() != 1) throw UsageError("quantize takes one model file");
  const std::string in = args.positional()[0], out = args.require("-o");
  const std::string dtype = args.require("--dtype");
  if (dtype != "int8" && dtype != "bf16" && dtype != "f32")
    throw UsageError(fmt::format("--dtype must be int8, bf16 or f32, got {}", quote(dtype)));
  const io::GraphFile file = models::load_file(in);
  if (!models::is_model(file))
    throw UsageError(fmt::format("{} is a graph built by hand; quantize takes a model file", in));
  models::Model model = models::Model::from_file(file, in);
  models::Config target = model.config();
  target.precision = models::precision_from_string(dtype, "--dtype");
  // The file's meta (training record, vocabulary) carries over; the recipe's precision is new.
  models::Recipe meta = file.meta;
  meta.erase("precision");
  models::save_file(model.weights(), target, out, meta, file.extra);
  // The comparison needs the float32 model as the reference: M.json itself, if it is one.
  if (target.precision == models::Precision::Float32 ||
      model.config().precision != models::Precision::Float32) {
    fmt::print("wrote {}: {} model, products in {}\n", out, models::to_string(target.cell),
               models::to_string(target.precision));
    return 0;
  }
  // The float32 model against the one just written, on the same input.
  models::Model quantized = models::Model::load(out);
  const Tensor expected = sample_output(model), got = sample_output(quantized);
  float top = 0, worst = 0;
  for (int64_t i = 0; i < expected.numel(); ++i) {
    top = std::max(top, std::fabs(expected.data()[i]));
    worst = std::max(worst, std::fabs(got.data()[i] - expected.data()[i]));
  }
  fmt::print(
      "wrote {}: {} model, products in {}; on random unit-scale input (T = {}, B = {}) its y "
      "is within {:.3g} of the float32 model's ({:.2f}% of max |y| = {:.3g})\n",
      out, models::to_string(target.cell), models::to_string(target.precision), kSteps, kBatch,
      worst, top > 0 ? 100 * worst / top : 0.0f, top);
  return 0;
}
}  // namespace

Command quantize_command() {
  return {"quantize", "write a model whose products run in int8 (dynamic quantization) or bf16",
          kUsage, quantize_main};
}

}  // namespace rnngraph::cli
