// Times ONNX Runtime (npm's onnxruntime-node, CPU) on one ONNX model for bench/compare.py.
//   node bench/ort_bench.js MODEL.onnx THREADS REPEAT  (NODE_PATH: the folder holding
//   onnxruntime-node) — prints one JSON line: {"median_ms": …, "min_ms": …}.
// Every input is fed random normal-ish values of its declared shape; one warm-up run, then
// REPEAT timed runs of session.run, one after another.
const ort = require("onnxruntime-node");

async function main() {
  const [model, threads, repeat] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: Number(threads),
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
  const shapes = JSON.parse(process.env.ORT_SHAPES);  // {name: [dims]}
  const feeds = {};
  for (const name of session.inputNames) {
    const dims = shapes[name];
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; ++i) data[i] = Math.random() * 2 - 1;
    feeds[name] = new ort.Tensor("float32", data, dims);
  }
  await session.run(feeds);
  const times = [];
  for (let i = 0; i < Number(repeat); ++i) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({median_ms: times[Math.floor(times.length / 2)], min_ms: times[0]}));
}
main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
