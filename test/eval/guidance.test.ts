import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/index.ts';
import type { EvalOptions } from '../../src/eval/evaluate.ts';
import { evaluateModel } from '../../src/eval/evaluate.ts';
import type { Results } from '../../src/eval/results.ts';
import { fdBaseline, mergeResults } from '../../src/eval/results.ts';
import { sweepTargets } from '../../src/eval/guidance.ts';
import { quantized } from '../../src/eval/sampling.ts';
import { confidentShare, labelAccuracy, perClass } from '../../src/eval/scores.ts';
import { gridPng } from '../../src/render/index.ts';

const fixtures = path.resolve(import.meta.dirname, '../fixtures');

describe('label scores', () => {
  // Four images, three classes; rows are the classifier's probabilities.
  const probs = Float64Array.from([0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.3, 0.3, 0.4, 0.95, 0.05, 0]);

  it('counts a sample as correct when the argmax is the requested class, overall and per class', () => {
    const { accuracy, correct } = labelAccuracy(probs, 3, [0, 1, 0, 2]);
    expect(correct).toEqual([true, true, false, false]);
    expect(accuracy).toBe(0.5);
    expect(perClass(correct, [0, 1, 0, 2], 3)).toEqual({ samples: [2, 1, 1], correct: [1, 1, 0] });
    expect(confidentShare(probs, 3)).toBe(0.25);
  });

  it('refuses labels that do not match the images one to one', () => {
    expect(() => labelAccuracy(probs, 3, [0, 1])).toThrow('2 labels for 4 images');
  });
});

describe('sweep targets', () => {
  const conditioning = { type: 'class' as const, null_class: 5, default_guidance_scale: 3 };

  it('asks for the classes round-robin and scores them as they are', () => {
    const t = sweepTargets({ ...conditioning, classes: ['a', 'b', 'c', 'd', 'e'] });
    expect(t.names).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect([0, 1, 5, 7].map((i) => [t.labelOf(i), t.targetOf(i)])).toEqual([[0, 0], [1, 1], [0, 0], [2, 2]]);
  });

  it("scores fine labels on their groups, balanced by group, cycling through each group's labels", () => {
    // Group X has labels 0, 2 and 4; group Y has 1 and 3.
    const t = sweepTargets({ ...conditioning, classes: ['x1', 'y1', 'x2', 'y2', 'x3'], groups: ['X', 'Y', 'X', 'Y', 'X'] });
    expect(t.names).toEqual(['X', 'Y']);
    const asked = Array.from({ length: 8 }, (_, i) => [t.labelOf(i), t.targetOf(i)]);
    expect(asked).toEqual([[0, 0], [1, 1], [2, 0], [3, 1], [4, 0], [1, 1], [0, 0], [3, 1]]);
  });
});

describe('guidance sweep on tiny-cond with a hand-written band classifier', () => {
  let modelsDir: string;
  let engine: Engine;
  let results: Results;
  const opts: EvalOptions = {
    samples: 6, batch: 4, seed: 3, vlbImages: 1, rows: [], threads: 1, bootstrap: 20,
    only: ['guidance'], guidanceScales: [0, 1], timingRepeats: 1,
  };

  beforeAll(async () => {
    modelsDir = await mkdtemp(path.join(os.tmpdir(), 'eval-guidance-'));
    await cp(path.join(fixtures, 'conditional/tiny-cond'), path.join(modelsDir, 'tiny-cond'), { recursive: true });
    await cp(path.join(fixtures, 'eval/tiny-cond'), path.join(modelsDir, 'tiny-cond/eval'), { recursive: true });
    engine = await Engine.load({ modelsDir, executionProvider: 'cpu', threads: 1 });
    results = await evaluateModel(engine, engine.model('tiny-cond'), opts, () => {});
  });
  afterAll(async () => {
    await engine?.close();
    await rm(modelsDir, { recursive: true, force: true });
  });

  it("reports the classifier's readings of the real held-out images", () => {
    // Held-out (make_tiny_eval.py): clear 0, 1, 2 (right, sure); a clear 1 labelled 0 (wrong, sure);
    // a 1 with p about 0.88 (right, unsure); a black image labelled 2 (argmax 0: wrong, unsure).
    const g = results.guidance!;
    expect(g.heldoutAccuracy).toBeCloseTo(4 / 6, 12);
    expect(g.heldoutConfident).toBeCloseTo(4 / 6, 12);
    expect(g.heldoutClassAccuracy).toEqual([0.5, 1, 0.5]);
  });

  it('sweeps the given scales plus the default, after an unconditional row, asking for the classes round-robin', () => {
    const g = results.guidance!;
    expect(g.rows.map((r) => r.guidance)).toEqual([null, 0, 1, 2.5]);
    expect(g.rows[0]!.accuracy).toBeNull();
    for (const row of g.rows.slice(1)) {
      expect(row.classSamples).toEqual([2, 2, 2]);
      expect(row.accuracy).toBeCloseTo(row.classCorrect!.reduce((a, b) => a + b) / 6, 12);
    }
  });

  it("measures accuracy as the band classifier reads the engine's images for label i mod 3 and seed + i", async () => {
    // The band classifier's reading worked out here from the pixels, without the ONNX classifier.
    const expected = [0, 0, 0];
    for (let i = 0; i < 6; i++) {
      const params = engine.validate({ model: 'tiny-cond', sampler: 'ddim', steps: 50, options: { eta: 0 }, seed: 3 + i, label: i % 3, guidance: 2.5 });
      const image = quantized((await engine.generate(params)).images).data;
      const bands = [image.subarray(0, 24), image.subarray(24, 48), image.subarray(48, 64)].map((b) => b.reduce((s, v) => s + v, 0) / b.length);
      if (bands.indexOf(Math.max(...bands)) === i % 3) expected[i % 3]!++;
    }
    expect(results.guidance!.rows.find((r) => r.guidance === 2.5)!.classCorrect).toEqual(expected);
  });

  it('writes a 16-image grid per class, the timing, and the EVAL.md section', async () => {
    const g = results.guidance!;
    expect(g.grids.map((x) => x.file)).toEqual(['samples/class-0.png', 'samples/class-1.png', 'samples/class-2.png']);
    const blank = { data: new Uint8Array(64), width: 8, height: 8, channels: 1 as const };
    const size = await sharp(await gridPng(Array(16).fill(blank), { columns: 8, scale: 2 })).metadata();
    const grid = await sharp(path.join(modelsDir, 'tiny-cond/eval', g.grids[2]!.file)).metadata();
    expect([grid.width, grid.height]).toEqual([size.width, size.height]);
    expect(g.timing!.guided).toHaveLength(1);
    expect(g.timing!.doubled[0]).toBeGreaterThan(0);
    const markdown = await readFile(path.join(modelsDir, 'tiny-cond/EVAL.md'), 'utf8');
    expect(markdown).toContain('## Class-conditional: guidance sweep');
    expect(markdown).toMatch(/\| \*\*2\.5 \(default\)\*\* \| \d+\.\d% ± /);
    expect(JSON.parse(await readFile(path.join(modelsDir, 'tiny-cond/eval/results.json'), 'utf8')).guidance.rows).toHaveLength(4);
  });

  it('refuses --only guidance for an unconditional model', async () => {
    const plain = await Engine.load({ modelsDir: fixtures, executionProvider: 'cpu' });
    try {
      await expect(evaluateModel(plain, plain.model('tiny'), opts, () => {})).rejects.toThrow('tiny is not class-conditional');
    } finally {
      await plain.close();
    }
  });
});

describe('results.json across runs', () => {
  const base = { model: 'm', classes: ['a', 'b'], heldoutCount: 2, heldoutConfident: 1 };
  const rowsPart = { date: '2026-11-29T00:00:00Z', machine: 'x', floor: 1, floorCount: 2, samples: 2, seed: 0, bootstrapResamples: 2, claims: [] };
  const ddpm = { sampler: 'ddpm', steps: 1000, samples: 2, frechet: 2.5, frechetBootstrapSd: 0.5, confident: null, confidentSe: null, histogram: null, secondsPerImage: 1, grid: 'g' };
  const prior: Results = { ...base, ...rowsPart, weights: 'old', rows: [ddpm] };

  it('keeps the parts a run skipped only when they were measured on the same weights', () => {
    const ran = { rows: false, bound: false, guidance: true };
    expect(mergeResults({ ...base, weights: 'old' }, prior, ran).rows).toEqual([ddpm]);
    expect(mergeResults({ ...base, weights: 'new' }, prior, ran).rows).toBeUndefined();
  });

  it("takes the Frechet baseline from the unconditional model's DDPM row once, then keeps it", async () => {
    const first = await fdBaseline(prior, 'new', 1000);
    expect(first).toMatchObject({ sampler: 'ddpm', steps: 1000, frechet: 2.5, date: rowsPart.date });
    expect(await fdBaseline({ ...base, weights: 'new', fdBaseline: first }, 'newer', 1000)).toEqual(first);
    // Results of the conditional model itself (same weights) are no baseline.
    expect(await fdBaseline(prior, 'old', 1000)).toBeNull();
  });

  it('reads an explicit --fd-baseline file, and says what is wrong with one that has no DDPM row', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'eval-baseline-'));
    try {
      await writeFile(path.join(dir, 'ok.json'), JSON.stringify(prior));
      await writeFile(path.join(dir, 'bad.json'), JSON.stringify({ ...prior, rows: [] }));
      expect(await fdBaseline(null, 'new', 1000, path.join(dir, 'ok.json'))).toMatchObject({ frechet: 2.5 });
      await expect(fdBaseline(null, 'new', 1000, path.join(dir, 'bad.json'))).rejects.toThrow('has no DDPM 1000 row');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
