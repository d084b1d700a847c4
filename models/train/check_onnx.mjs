#!/usr/bin/env node
// Compare an ONNX model run by onnxruntime-node against reference outputs computed by PyTorch.
//
//   node models/train/check_onnx.mjs <model.onnx> <case.json> [--tol 1e-4]
//
// case.json: {"inputs": {name: {"dims": [...], "type": "float32"|"int64", "data": [...]}},
//             "outputs": {name: {"dims": [...], "data": [...]}}}
// Prints one JSON line {"ok", "max_abs_diff", "outputs": {...}} and exits 1 if a diff exceeds tol.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';

const args = process.argv.slice(2);
if (args.length < 2 || args.includes('--help') || args.includes('-h')) {
  console.log('usage: node check_onnx.mjs <model.onnx> <case.json> [--tol 1e-4]');
  process.exit(args.includes('--help') || args.includes('-h') ? 0 : 2);
}
const [modelPath, casePath] = args;
const tolIdx = args.indexOf('--tol');
const tol = tolIdx >= 0 ? Number(args[tolIdx + 1]) : 1e-4;

const testCase = JSON.parse(readFileSync(casePath, 'utf8'));
const session = await ort.InferenceSession.create(modelPath, { executionProviders: ['cpu'] });
const feeds = {};
for (const [name, t] of Object.entries(testCase.inputs)) {
  const data = t.type === 'int64' ? BigInt64Array.from(t.data.map((v) => BigInt(v))) : Float32Array.from(t.data);
  feeds[name] = new ort.Tensor(t.type, data, t.dims);
}
const results = await session.run(feeds);
let ok = true;
let maxAll = 0;
const report = {};
for (const [name, ref] of Object.entries(testCase.outputs)) {
  const got = results[name];
  if (!got) {
    ok = false;
    report[name] = { error: 'missing output' };
    continue;
  }
  const dimsOk = JSON.stringify(Array.from(got.dims)) === JSON.stringify(ref.dims);
  let maxDiff = 0;
  for (let i = 0; i < ref.data.length; i++) {
    const d = Math.abs(got.data[i] - ref.data[i]);
    if (!(d <= maxDiff)) maxDiff = Number.isNaN(d) ? Infinity : d;
  }
  if (!dimsOk || maxDiff > tol) ok = false;
  maxAll = Math.max(maxAll, maxDiff);
  report[name] = { dims: Array.from(got.dims), dims_ok: dimsOk, max_abs_diff: maxDiff };
}
console.log(JSON.stringify({ ok, tol, max_abs_diff: maxAll, inputs: session.inputNames, outputs: report,
  onnxruntime_node: ort.env.versions?.node ?? null }));
process.exit(ok ? 0 : 1);
