/**
 * Parity with diffusers: for the same weights, seed, sampler, options and steps, our images equal the
 * real diffusers pipelines' output (CPU torch.Generator) within 1 gray level per pixel.
 *
 * The reference, test/parity/diffusers-reference.json, was made by running diffusers' DDPMPipeline /
 * DDIMPipeline (DPM-Solver++: DDPMPipeline with DPMSolverMultistepScheduler swapped in) on the torch
 * twin of test/fixtures/tiny; see test/parity/make_reference.py and scripts/reference/README.md.
 * Scheduler configs the fixture's manifest does not carry (spacing, clip_sample, prediction_type) run
 * from a variant model folder written to a temp dir: the same model.onnx with an edited model.json.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/core/tensor.ts';
import { Engine } from '../../src/engine/index.ts';
import { PerRequestNoise, denoise, initialNoise } from '../../src/engine/pipeline.ts';
import { toPixels } from '../../src/render/index.ts';

interface ReferenceImage {
  /** base64 uint8 HWC, as diffusers' numpy_to_pil returns it */
  readonly pixels: string;
  /** base64 float32 HWC: (x / 2 + 0.5).clamp(0, 1), the pipeline's output_type="np" */
  readonly clamped01: string;
}

interface ReferenceCase {
  readonly id: string;
  readonly model: string;
  /** the models folder the test loads `model` from, relative to the repository root */
  readonly modelsDir: string;
  readonly pipeline: string;
  readonly scheduler: string;
  readonly schedulerConfig: Record<string, unknown>;
  readonly sampler: string;
  readonly steps: number;
  readonly options: Record<string, unknown>;
  readonly seed: number;
  readonly count: number;
  readonly timesteps: number[];
  readonly images: ReferenceImage[];
  /** base64 float32 NCHW: the last step's prev_sample, before (x / 2 + 0.5).clamp(0, 1) */
  readonly finalSample: string;
  /** base64 float32 NCHW: the sample fed to the model at `step` (step 0: x_T), every few steps */
  readonly trajectory: { step: number; timestep: number; sample: string }[];
}

interface Reference {
  readonly diffusers: string;
  readonly torch: string;
  readonly modelCheck: Record<string, { modelsDir: string; probes: { timestep: number; shape: number[]; sample: string; output: string }[] }>;
  readonly cases: ReferenceCase[];
}

const ROOT = path.resolve(import.meta.dirname, '../..');
/** PARITY_REFERENCE=<file> checks against another reference (e.g. one made with another diffusers version). */
const referenceFile = process.env['PARITY_REFERENCE'] ?? path.join(import.meta.dirname, 'diffusers-reference.json');
const reference = JSON.parse(await readFile(referenceFile, 'utf8')) as Reference;

function bytes(b64: string): Uint8Array {
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

function floats(b64: string): Float32Array {
  const b = Buffer.from(b64, 'base64');
  const out = new Float32Array(b.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = b.readFloatLE(i * 4);
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** max |a - b| / (1 + |b|) elementwise: absolute near 0, relative for the large values unclipped runs reach. */
function maxScaledDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
  return m;
}

/**
 * Cases where our samplers knowingly differ from diffusers (plugins/README.md, "Where these follow
 * diffusers only approximately"). The test checks that the difference is exactly the documented one and
 * reports the resulting pixel difference, instead of asserting the 1-gray-level promise.
 */
const KNOWN_DEVIATIONS: Readonly<Record<string, string>> = {
  'gauss-ddim-61-trailing': 'trailing-minus-one',
  'gauss-ddpm-61-trailing': 'trailing-minus-one',
  'gauss-dpm-61-trailing': 'trailing-minus-one',
};

/** Our final sample before quantization agrees with diffusers' this closely (scaled by 1 + |value|). */
const FINAL_SAMPLE_TOLERANCE = 1e-3;

interface CaseReport {
  id: string;
  maxDiff: number;
  offByOne: number;
  pixels: number;
  /** max |ours - diffusers| of (x / 2 + 0.5).clamp(0, 1) before quantization */
  finalDiff: number;
  /** max |ours - diffusers| / (1 + |diffusers|) of the final sample before clamping */
  finalSampleDiff: number;
  /** max |ours - diffusers| / (1 + |diffusers|) of the sample fed to the model, at the first and last recorded step */
  firstStepDiff: number;
  lastStepDiff: number;
  /** first recorded step whose sample differs by more than FINAL_SAMPLE_TOLERANCE (scaled), if any */
  firstDivergence: string;
}
const reports: CaseReport[] = [];
const modelChecks: string[] = [];

/** One engine per models folder (test/fixtures, test/fixtures/parity) and one for the variant folders. */
const engines = new Map<string, Engine>();
let variantEngine: Engine;
let variantsDir: string;
/** `${model} ${JSON.stringify(config)}` -> name of the variant model with that scheduler block */
const variantModel = new Map<string, string>();
const variantKey = (c: ReferenceCase) => `${c.model} ${JSON.stringify(c.schedulerConfig)}`;

beforeAll(async () => {
  const dirs = new Set([...Object.values(reference.modelCheck).map((m) => m.modelsDir), ...reference.cases.map((c) => c.modelsDir)]);
  for (const dir of dirs) engines.set(dir, await Engine.load({ modelsDir: path.join(ROOT, dir), threads: 1 }));
  variantsDir = await mkdtemp(path.join(os.tmpdir(), 'ddpm-parity-'));
  let n = 0;
  for (const c of reference.cases) {
    const base = engines.get(c.modelsDir)!.model(c.model);
    if (isDeepStrictEqual(c.schedulerConfig, base.manifest.scheduler) || variantModel.has(variantKey(c))) continue;
    const name = `${c.model}-variant-${++n}`;
    const dir = path.join(variantsDir, name);
    await mkdir(dir);
    await copyFile(path.join(base.dir, base.manifest.onnx), path.join(dir, base.manifest.onnx));
    await writeFile(path.join(dir, 'model.json'), JSON.stringify({ ...base.manifest, name, scheduler: c.schedulerConfig }, null, 2));
    variantModel.set(variantKey(c), name);
  }
  variantEngine = await Engine.load({ modelsDir: variantsDir, threads: 1 });
});

afterAll(async () => {
  for (const e of engines.values()) await e.close();
  await variantEngine?.close();
  if (variantsDir) await rm(variantsDir, { recursive: true, force: true });
  if (reports.length === 0) return;
  const lines = reports.map(
    (r) =>
      `${r.id.padEnd(34)} max ${r.maxDiff}  off-by-1 ${r.offByOne}/${r.pixels} (${((100 * r.offByOne) / r.pixels).toFixed(2)}%)` +
      `  [0,1] diff ${r.finalDiff.toExponential(1)}  final sample rel ${r.finalSampleDiff.toExponential(1)}  sample diff x_T ${r.firstStepDiff.toExponential(1)} last recorded ${r.lastStepDiff.toExponential(1)}  diverges ${r.firstDivergence}`,
  );
  console.log(
    `parity with diffusers ${reference.diffusers} (torch ${reference.torch}); ${modelChecks.join('; ')}\n` +
      `case, max gray-level diff, pixels off by 1, ...:\n${lines.join('\n')}`,
  );
});

describe('the torch twins used for the reference', () => {
  for (const [model, check] of Object.entries(reference.modelCheck)) {
    it(`${model}: is the network inside its model.onnx (same outputs on fixed inputs)`, async () => {
      const denoiser = await engines.get(check.modelsDir)!.denoiser(model);
      let worst = 0;
      for (const probe of check.probes) {
        const expected = floats(probe.output);
        const out = await denoiser.predict({ data: floats(probe.sample), shape: probe.shape }, probe.timestep);
        const diff = maxAbsDiff(out.data, expected);
        worst = Math.max(worst, diff);
        expect(diff, `timestep ${probe.timestep}`).toBeLessThan(1e-5 * (1 + maxAbs(expected)));
      }
      modelChecks.push(`${model}: ONNX vs torch twin max |diff| ${worst.toExponential(1)}`);
    });
  }
});

describe(`our images equal diffusers ${reference.diffusers} pipelines' within 1 gray level`, () => {
  for (const c of reference.cases) {
    it(`${c.id}: ${c.sampler} ${c.steps} steps, seed ${c.seed}, count ${c.count} (${c.pipeline} + ${c.scheduler})`, async () => {
      const variant = variantModel.get(variantKey(c));
      const eng = variant ? variantEngine : engines.get(c.modelsDir)!;
      const modelName = variant ?? c.model;
      const params = eng.validate({ model: modelName, sampler: c.sampler, steps: c.steps, seed: c.seed, count: c.count, options: c.options });

      // Diagnostics first (they never fail the case on their own): our loop's samples against diffusers' trajectory.
      const manifest = eng.model(modelName).manifest;
      const sampler = eng.sampler(c.sampler).create(manifest.scheduler, params.options);
      sampler.setTimesteps(c.steps);
      const members = [{ seed: c.seed, count: c.count }];
      const noise = new PerRequestNoise(members);
      const start = initialNoise(noise, members, [manifest.image.channels, manifest.image.height, manifest.image.width]);
      const inputs: Tensor[] = [start];
      await denoise(await eng.denoiser(modelName), sampler, start, sampler.timesteps, noise, (step) =>
        inputs.push({ data: step.sample.data.slice(), shape: step.sample.shape }),
      );
      const stepDiffs = c.trajectory.map((p) => ({ ...p, diff: inputs[p.step] ? maxScaledDiff(inputs[p.step]!.data, floats(p.sample)) : NaN }));
      const diverged = stepDiffs.find((s) => !(s.diff <= FINAL_SAMPLE_TOLERANCE));
      const firstDivergence = diverged ? `at step ${diverged.step} (t=${diverged.timestep}) by ${diverged.diff.toExponential(2)}` : 'nowhere';

      // The promise: engine.generate + toPixels against the pipeline's pixels.
      const result = await eng.generate(params);
      let maxDiff = 0;
      let offByOne = 0;
      let pixels = 0;
      let finalDiff = 0;
      const [, ch, h, w] = result.images.shape as [number, number, number, number];
      c.images.forEach((img, i) => {
        const theirs01 = floats(img.clamped01);
        const image = result.images.data.subarray(i * ch * h * w, (i + 1) * ch * h * w);
        for (let k = 0; k < ch; k++) {
          for (let p = 0; p < h * w; p++) {
            const v = Math.fround(Math.fround(image[k * h * w + p]! / 2) + 0.5);
            finalDiff = Math.max(finalDiff, Math.abs(Math.min(1, Math.max(0, v)) - theirs01[p * ch + k]!));
          }
        }
        const ours = toPixels(result.images, i).data;
        const theirs = bytes(img.pixels);
        expect(ours.length).toBe(theirs.length);
        for (let p = 0; p < ours.length; p++) {
          const d = Math.abs(ours[p]! - theirs[p]!);
          maxDiff = Math.max(maxDiff, d);
          if (d === 1) offByOne++;
        }
        pixels += ours.length;
      });
      const finalSampleDiff = maxScaledDiff(result.images.data, floats(c.finalSample));
      reports.push({
        id: c.id,
        maxDiff,
        offByOne,
        pixels,
        finalDiff,
        finalSampleDiff,
        firstStepDiff: stepDiffs[0]?.diff ?? NaN,
        lastStepDiff: stepDiffs.at(-1)?.diff ?? NaN,
        firstDivergence,
      });

      const context = `timesteps ours [${sampler.timesteps.slice(0, 4).join(', ')} ...] diffusers [${c.timesteps.slice(0, 4).join(', ')} ...]; sample diverges ${firstDivergence}`;
      if (KNOWN_DEVIATIONS[c.id] === 'trailing-minus-one') {
        // numpy's arange gave diffusers n + 1 trailing timesteps ending at -1 (a last model call and step
        // at t = -1, i.e. alphas_cumprod[-1]); we take the n non-negative ones and nothing else differs.
        reports.at(-1)!.firstDivergence = `known deviation: diffusers adds a step at t=-1 (${c.timesteps.length} steps for ${c.steps})`;
        expect(c.timesteps.at(-1)).toBe(-1);
        expect(sampler.timesteps).toEqual(c.timesteps.slice(0, -1));
        expect(stepDiffs.filter((p) => p.step < c.steps).every((p) => p.diff <= FINAL_SAMPLE_TOLERANCE)).toBe(true);
        return;
      }
      expect.soft(sampler.timesteps, 'inference timesteps').toEqual(c.timesteps);
      expect.soft(maxDiff, `max |ours - diffusers| in gray levels; ${context}`).toBeLessThanOrEqual(1);
      // Pixels say little where images saturate (the untrained tiny model with DPM-Solver++ or without
      // clipping); the final sample before clamping must agree too.
      expect.soft(finalSampleDiff, `final sample max |ours - diffusers| / (1 + |diffusers|); ${context}`).toBeLessThanOrEqual(FINAL_SAMPLE_TOLERANCE);
    });
  }
});

describe('requests batched together (generateBatch) still equal diffusers, each its own pipeline run', () => {
  const groups = new Map<string, ReferenceCase[]>();
  for (const c of reference.cases) {
    const key = `${variantKey(c)} ${c.sampler} ${c.steps} ${JSON.stringify(c.options)}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  for (const group of [...groups.values()].filter((g) => g.length > 1)) {
    it(group.map((c) => c.id).join(' + '), async () => {
      const first = group[0]!;
      const variant = variantModel.get(variantKey(first));
      const eng = variant ? variantEngine : engines.get(first.modelsDir)!;
      const model = variant ?? first.model;
      const params = group.map((c) => eng.validate({ model, sampler: c.sampler, steps: c.steps, seed: c.seed, count: c.count, options: c.options }));
      const results = await eng.generateBatch(params);
      group.forEach((c, r) => {
        c.images.forEach((img, i) => {
          const ours = toPixels(results[r]!.images, i).data;
          expect(maxAbsDiff(ours, bytes(img.pixels)), `${c.id} image ${i}`).toBeLessThanOrEqual(1);
        });
      });
    });
  }
});
