import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TorchGenerator } from '../../src/core/rng.ts';

// torch.randn reference vectors (torch 1.13 CPU generator; see "generator" in the file), copied from shared/vectors
// so any clone tests itself.
const vectorsPath = new URL('../fixtures/torch-randn.json', import.meta.url);
const raw = readFileSync(vectorsPath, 'utf8');
const vectors = JSON.parse(raw) as { cases: { calls: { shape: number[]; values: number[] }[] }[] };
// JSON numbers lose precision beyond 2^53 (one case seeds with 2^63 - 1): read the seeds as text.
const seeds = [...raw.matchAll(/"seed":\s*(\d+)/g)].map((m) => BigInt(m[1]!));

describe('TorchGenerator matches torch.randn on the CPU generator', () => {
  it('has one exact seed per case', () => {
    expect(seeds).toHaveLength(vectors.cases.length);
  });

  vectors.cases.forEach((c, caseIndex) => {
    const seed = seeds[caseIndex]!;
    it(`seed ${seed}: ${c.calls.map((call) => `[${call.shape.join(',')}]`).join(' then ')}`, () => {
      const generator = new TorchGenerator(seed);
      for (const call of c.calls) {
        const values = generator.randn(call.shape);
        expect(values).toHaveLength(call.values.length);
        call.values.forEach((expected, i) => {
          expect(Math.abs(values[i]! - expected)).toBeLessThanOrEqual(2e-6);
        });
      }
    });
  });

  it('is deterministic per seed and differs across seeds', () => {
    const a = new TorchGenerator(123).randn([64]);
    const b = new TorchGenerator(123).randn([64]);
    const c = new TorchGenerator(124).randn([64]);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });
});
