import { describe, expect, it } from 'vitest';
import { psnr } from '../../src/core/psnr.ts';

describe('psnr', () => {
  it('is 10 log10(peak^2 / MSE)', () => {
    // MSE = (0 + 4) / 2 = 2 with peak 2: 10 log10(4 / 2) = 3.0103 dB
    expect(psnr([0, 0], [0, 2], 2)).toBeCloseTo(10 * Math.log10(2), 12);
    // one gray level off everywhere: 20 log10(255) = 48.13 dB
    expect(psnr([10, 20, 30], [11, 21, 31], 255)).toBeCloseTo(48.1308, 4);
  });

  it('is Infinity for identical inputs and refuses mismatched ones', () => {
    expect(psnr([1, 2], [1, 2], 255)).toBe(Infinity);
    expect(() => psnr([1], [1, 2], 255)).toThrow(/1 and 2 values/);
  });
});
