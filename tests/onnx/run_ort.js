// Runs ONNX models in ONNX Runtime (npm's onnxruntime-node) for rnngraph's tests.
//
//   node run_ort.js cases.json
//
// cases.json: {"cases": [{"model": "m.onnx", "out": "dir",
//                         "inputs": [{"name": "x", "type": "float32", "dims": [5, 2, 3],
//                                     "file": "x.bin"}, ...]}, ...]}
// Inputs are raw little-endian arrays (float32, int32 or int64). Output number i is written raw to
// <out>/output<i>.bin; stdout gets one JSON line:
//   {"cases": [{"outputs": {"y": {"dims": [...], "file": ".../output0.bin"}, ...}}, ...]}
// One thread per session, as the tests compare numbers, not speed.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const arrays = { float32: Float32Array, int32: Int32Array, int64: BigInt64Array };

async function main() {
  const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const results = [];
  for (const c of spec.cases) {
    const session = await ort.InferenceSession.create(c.model, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    });
    const feeds = {};
    for (const input of c.inputs) {
      const bytes = fs.readFileSync(input.file);
      const Array = arrays[input.type];
      const data = new Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
      feeds[input.name] = new ort.Tensor(input.type, data, input.dims);
    }
    const out = await session.run(feeds);
    const outputs = {};
    for (const [i, [name, tensor]] of Object.entries(out).entries()) {
      const data = tensor.data;
      const file = path.join(c.out, `output${i}.bin`);
      fs.writeFileSync(file, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      outputs[name] = { dims: tensor.dims, file };
    }
    results.push({ outputs });
  }
  process.stdout.write(JSON.stringify({ cases: results }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`run_ort.js: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
});
