/**
 * `npm run bench`: generation speed per sampler and step count.
 *
 * For each case the whole generation's wall time is compared with N x the raw ONNX forward time
 * measured in the same run on a separate plain onnxruntime session (overhead ratio: what the loop,
 * the sampler math and progress reporting add; target <= 1.03), and images/s is measured for
 * batch 1, 4 and 16. On a busy machine that baseline drifts between measurements, so the in-run
 * ratio (wall time over the time spent inside the model calls of the same generation) is reported
 * beside it. Prints a table and writes bench-results/generation.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { TorchGenerator } from '../src/core/rng.ts';
import { Engine } from '../src/engine/index.ts';

const modelName = process.argv[2] ?? process.env['BENCH_MODEL'];
const engine = await Engine.load({ executionProvider: 'cpu' });
const model = modelName ? engine.model(modelName) : engine.models.list()[0];
if (!model) throw new Error('no model installed to benchmark');
const { channels, height, width } = model.manifest.image;

const raw = await ort.InferenceSession.create(path.join(model.dir, model.manifest.onnx), {
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
});
const timestepMeta = raw.inputMetadata.find((m) => m.name === 'timestep');
const timestepType = timestepMeta?.isTensor ? timestepMeta.type : undefined;

/** Mean seconds of one raw session.run at this batch size (after warm-up). */
async function rawForwardSeconds(batch: number, repeats: number): Promise<number> {
  const sample = new ort.Tensor('float32', new TorchGenerator(0).randn([batch, channels, height, width]), [batch, channels, height, width]);
  const t =
    timestepType === 'int64'
      ? new ort.Tensor('int64', new BigInt64Array(batch).fill(500n), [batch])
      : new ort.Tensor('float32', new Float32Array(batch).fill(500), [batch]);
  for (let i = 0; i < 3; i++) await raw.run({ sample, timestep: t });
  const start = performance.now();
  for (let i = 0; i < repeats; i++) await raw.run({ sample, timestep: t });
  return (performance.now() - start) / 1000 / repeats;
}

interface Row {
  sampler: string;
  steps: number;
  batch: number;
  wallSeconds: number;
  rawForwardSeconds: number;
  /** wall / (steps x raw forward measured after the run): the definition. */
  overheadRatio: number;
  /** wall / time inside the model calls of this same run: robust to load that changes between runs. */
  inRunOverheadRatio: number;
  imagesPerSecond: number;
}

const cases: [string, number[]][] = [
  ['ddpm', [100, 1000]],
  ['ddim', [10, 50]],
  ['dpm-solver', [10, 20]],
];
const batches = (process.env['BENCH_BATCHES'] ?? '1,4,16').split(',').map(Number);
const rows: Row[] = [];
for (const batch of batches) {
  for (const [sampler, stepCounts] of cases) {
    for (const steps of stepCounts) {
      const params = engine.validate({ model: model.name, sampler, steps, seed: 1, count: batch });
      await engine.generate({ ...params, steps: Math.min(steps, 5) }); // warm-up
      const start = performance.now();
      const result = await engine.generate(params, () => undefined);
      const wallSeconds = (performance.now() - start) / 1000;
      // Measured right after the generation, so both see the same machine state.
      const forward = await rawForwardSeconds(batch, Math.min(steps, 100));
      const row = {
        sampler,
        steps,
        batch,
        wallSeconds,
        rawForwardSeconds: forward,
        overheadRatio: wallSeconds / (steps * forward),
        inRunOverheadRatio: wallSeconds / (result.modelMs / 1000),
        imagesPerSecond: batch / wallSeconds,
      };
      rows.push(row);
      console.log(
        `${sampler.padEnd(10)} steps ${String(steps).padStart(4)} batch ${String(batch).padStart(2)}  ` +
          `wall ${wallSeconds.toFixed(3)} s  raw forward ${(forward * 1000).toFixed(2)} ms  ` +
          `overhead ${row.overheadRatio.toFixed(3)} (in-run ${row.inRunOverheadRatio.toFixed(3)})  ${row.imagesPerSecond.toFixed(2)} img/s`,
      );
    }
  }
}

const report = {
  model: model.name,
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, onnxruntime: ort.env.versions.node },
  rows,
};
await mkdir('bench-results', { recursive: true });
await writeFile('bench-results/generation.json', `${JSON.stringify(report, null, 2)}\n`);
console.log('\n| sampler | steps | batch | wall s | raw forward ms | overhead ratio | in-run overhead | images/s |\n|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.sampler} | ${r.steps} | ${r.batch} | ${r.wallSeconds.toFixed(3)} | ${(r.rawForwardSeconds * 1000).toFixed(2)} | ${r.overheadRatio.toFixed(3)} | ${r.inRunOverheadRatio.toFixed(3)} | ${r.imagesPerSecond.toFixed(2)} |`,
  );
}
await raw.release();
await engine.close();
