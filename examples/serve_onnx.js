// Serving an exported rnngraph model with ONNX Runtime (npm's onnxruntime-node): a batch of
// sequences in one call, then the same sequences as a stream of chunks, the state carried from
// chunk to chunk (h_n, c_n of one call are h0, c0 of the next), as a stateful server does.
//
//   rnngraph build lstm --input-size 3 --hidden-size 8 --layers 2 -o m.json
//   rnngraph export m.json -o m.onnx
//   NODE_PATH=tests/onnx/node_modules node examples/serve_onnx.js m.onnx 3 2 8
//
// Arguments: the model, its input size I, its state rows L·D and its hidden size H (what
// `rnngraph export` prints). Exit code 0 when the stream and the whole run agree.
'use strict';
const ort = require('onnxruntime-node');

async function main() {
  const [file, I, rows, H] = [process.argv[2], ...process.argv.slice(3, 6).map(Number)];
  if (!file || !(I > 0 && rows > 0 && H > 0)) {
    console.error('usage: node serve_onnx.js model.onnx INPUT_SIZE STATE_ROWS HIDDEN_SIZE');
    process.exit(2);
  }
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1 });
  const lstm = session.inputNames.includes('c0');
  const T = 12, B = 2;

  // x [T, B, I] from a fixed sequence, so every run sees the same numbers.
  const x = Float32Array.from({ length: T * B * I }, (_, i) => Math.sin(0.37 * i));
  const zeros = () => new ort.Tensor('float32', new Float32Array(rows * B * H), [rows, B, H]);
  const call = (from, to, state) => {
    const feeds = {
      x: new ort.Tensor('float32', x.slice(from * B * I, to * B * I), [to - from, B, I]),
      h0: state.h,
    };
    if (lstm) feeds.c0 = state.c;
    return session.run(feeds);
  };

  const whole = await call(0, T, { h: zeros(), c: zeros() });

  let state = { h: zeros(), c: zeros() };
  const ys = [];
  for (const [from, to] of [[0, 5], [5, 10], [10, 12]]) {
    const out = await call(from, to, state);
    ys.push(...out.y.data);
    state = { h: out.h_n, c: out.c_n };  // carried into the next chunk
  }

  const diff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
  const d = Math.max(diff(whole.y.data, ys), diff(whole.h_n.data, state.h.data));
  console.log(`y ${JSON.stringify(whole.y.dims)}, h_n ${JSON.stringify(whole.h_n.dims)}; ` +
              `the 3-chunk stream and the whole run agree to ${d.toExponential(1)}`);
  process.exit(d <= 1e-5 ? 0 : 1);
}

main().catch((e) => {
  console.error(`serve_onnx.js: ${e.message}`);
  process.exit(1);
});
