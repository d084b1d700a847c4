import { describe, expect, it } from 'vitest';
import { TorchGenerator } from '../../src/core/rng.ts';
import { slerp } from '../../src/core/slerp.ts';

const v = (...x: number[]) => ({ data: Float32Array.from(x), shape: [x.length] });

describe('slerp (DDIM paper section 5.3)', () => {
  it('walks the great circle: between orthogonal unit vectors, alpha of the right angle', () => {
    // Reference: the point at angle alpha * 90 degrees on the unit circle, (cos, sin).
    for (const alpha of [0.25, 1 / 3, 0.5, 0.8]) {
      const out = slerp(v(1, 0), v(0, 1), alpha);
      expect(out.data[0]).toBeCloseTo(Math.cos((alpha * Math.PI) / 2), 6);
      expect(out.data[1]).toBeCloseTo(Math.sin((alpha * Math.PI) / 2), 6);
    }
  });

  it('at 60 degrees apart, the middle is the normalised sum', () => {
    // a = (1, 0), b = (cos 60, sin 60): the midpoint is (cos 30, sin 30).
    const out = slerp(v(1, 0), v(0.5, Math.sqrt(3) / 2), 0.5);
    expect(out.data[0]).toBeCloseTo(Math.sqrt(3) / 2, 6);
    expect(out.data[1]).toBeCloseTo(0.5, 6);
  });

  it('ends are exact copies of the inputs', () => {
    const a = { data: new TorchGenerator(1).randn([64]), shape: [1, 1, 8, 8] };
    const b = { data: new TorchGenerator(2).randn([64]), shape: [1, 1, 8, 8] };
    expect(Array.from(slerp(a, b, 0).data)).toEqual(Array.from(a.data));
    expect(Array.from(slerp(a, b, 1).data)).toEqual(Array.from(b.data));
    expect(slerp(a, b, 0.5).shape).toEqual([1, 1, 8, 8]);
  });

  it('keeps the norm of two equal-norm inputs (a linear mix would shrink it)', () => {
    const out = slerp(v(3, 0, 0), v(0, 0, 3), 0.5);
    expect(Math.hypot(...out.data)).toBeCloseTo(3, 5);
  });

  it('rejects mismatched sizes, alpha outside 0..1 and zero tensors', () => {
    expect(() => slerp(v(1, 0), v(1, 0, 0), 0.5)).toThrow(/2 and 3 values/);
    expect(() => slerp(v(1, 0), v(0, 1), 1.5)).toThrow(/alpha must be in 0..1/);
    expect(() => slerp(v(0, 0), v(0, 1), 0.5)).toThrow(/zero tensor/);
  });
});
