import { describe, expect, it } from 'vitest';
import { TorchGenerator } from '../../src/core/rng.ts';
import {
  approxStandardNormalCdf,
  bootstrapFrechet,
  discretizedGaussianLogLikelihood,
  frechetDistance,
  gaussianFit,
  gaussianKl,
  percentile,
  standardDeviation,
  symmetricEigen,
} from '../../src/eval/metrics.ts';

describe('Gaussian KL', () => {
  it('matches values worked out by hand', () => {
    // Same distribution: 0.
    expect(gaussianKl(0.3, -1, 0.3, -1)).toBeCloseTo(0, 15);
    // KL(N(1, 1) || N(0, 1)) = (1 - 0)^2 / 2 = 0.5
    expect(gaussianKl(1, 0, 0, 0)).toBeCloseTo(0.5, 15);
    // KL(N(0, 4) || N(0, 1)) = 0.5 (4 - 1 - ln 4) = 0.8068528194400546
    expect(gaussianKl(0, Math.log(4), 0, 0)).toBeCloseTo(0.8068528194400546, 14);
    // KL(N(2, 0.25) || N(-1, 9)) = ln(3 / 0.5) + (0.25 + 9) / 18 - 0.5 = 1.7917594692280550 + 0.5138888888888888 - 0.5
    expect(gaussianKl(2, Math.log(0.25), -1, Math.log(9))).toBeCloseTo(1.805648358116944, 13);
  });
});

describe('discretised Gaussian decoder (DDPM eq. 13)', () => {
  it('is the mass of the pixel bin under the (tanh-approximated) normal CDF', () => {
    // Interior bin of x = 0 under N(0, sigma = 1/255): mass between -1 and +1 standard deviations.
    const logScale = Math.log(1 / 255);
    const mass = approxStandardNormalCdf(1) - approxStandardNormalCdf(-1);
    expect(mass).toBeCloseTo(0.6827, 3); // the true normal mass within one sigma is 0.682689...
    expect(discretizedGaussianLogLikelihood(0, 0, logScale)).toBeCloseTo(Math.log(mass), 12);
  });

  it('opens the edge bins to infinity', () => {
    // x = -1 under N(-1, sigma=2/255): P(X < -1 + 1/255) = Phi(0.5)
    expect(discretizedGaussianLogLikelihood(-1, -1, Math.log(2 / 255))).toBeCloseTo(Math.log(approxStandardNormalCdf(0.5)), 12);
    // x = 1 with the mean far below: P(X > 1 - 1/255) for N(0, 1) = 1 - Phi(254/255)
    expect(discretizedGaussianLogLikelihood(1, 0, 0)).toBeCloseTo(Math.log(1 - approxStandardNormalCdf(1 - 1 / 255)), 12);
  });

  it('sums to one over all 256 bins', () => {
    let total = 0;
    for (let k = 0; k < 256; k++) total += Math.exp(discretizedGaussianLogLikelihood(k / 127.5 - 1, 0.1, Math.log(0.3)));
    expect(total).toBeCloseTo(1, 10);
  });

  it('approximates the normal CDF within 2e-4', () => {
    // Phi(1.96) = 0.9750021048517795, Phi(-0.5) = 0.3085375387259869
    expect(Math.abs(approxStandardNormalCdf(1.96) - 0.9750021048517795)).toBeLessThan(2e-4);
    expect(Math.abs(approxStandardNormalCdf(-0.5) - 0.3085375387259869)).toBeLessThan(2e-4);
  });
});

describe('Frechet distance', () => {
  it('has the closed form |mu1 - mu2|^2 + sum (s1 - s2)^2 for diagonal covariances', () => {
    const a = { mean: Float64Array.from([0, 1, 2]), cov: Float64Array.from([4, 0, 0, 0, 1, 0, 0, 0, 9]) };
    const b = { mean: Float64Array.from([1, 1, 0]), cov: Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 16]) };
    // 1 + 0 + 4 + (2 - 1)^2 + 0 + (3 - 4)^2 = 7
    expect(frechetDistance(a, b, 3)).toBeCloseTo(7, 9);
    expect(frechetDistance(a, a, 3)).toBeCloseTo(0, 9);
  });

  it('is invariant to a rotation applied to both sets (non-diagonal covariances)', () => {
    const c = Math.cos(0.7);
    const s = Math.sin(0.7);
    const rotate = (cov: number[]) => {
      const [x, , , y] = cov as [number, number, number, number];
      return Float64Array.from([c * c * x + s * s * y, c * s * (x - y), c * s * (x - y), s * s * x + c * c * y]);
    };
    const a = { mean: Float64Array.from([0, 0]), cov: rotate([4, 0, 0, 1]) };
    const b = { mean: Float64Array.from([0, 0]), cov: rotate([1, 0, 0, 9]) };
    // (2 - 1)^2 + (1 - 3)^2 = 5
    expect(frechetDistance(a, b, 2)).toBeCloseTo(5, 9);
  });

  it('fits mean and unbiased covariance from samples', () => {
    const rows = Float64Array.from([1, 2, 3, 6, 5, 4]); // three samples of dimension 2
    const fit = gaussianFit(rows, 3, 2);
    expect(Array.from(fit.mean)).toEqual([3, 4]);
    // x: 1, 3, 5 -> var 4; y: 2, 6, 4 -> var 4; cov = ((-2)(-2) + 0 * 2 + 2 * 0) / 2 = 2
    expect(Array.from(fit.cov)).toEqual([4, 2, 2, 4]);
  });

  it('is near zero for two large samples of one distribution and grows with a shift', () => {
    const g = new TorchGenerator(3);
    const n = 4000;
    const d = 4;
    const x = Float64Array.from(g.randn([n * d]));
    const y = Float64Array.from(g.randn([n * d]));
    const shifted = y.map((v, i) => (i % d === 0 ? v + 1 : v));
    const fx = gaussianFit(x, n, d);
    expect(frechetDistance(fx, gaussianFit(y, n, d), d)).toBeLessThan(0.02);
    expect(frechetDistance(fx, gaussianFit(shifted, n, d), d)).toBeCloseTo(1, 1);
  });

  it('finds eigenvalues of a symmetric matrix', () => {
    const { values } = symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2);
    expect(Array.from(values).sort()).toEqual([expect.closeTo(1, 12), expect.closeTo(3, 12)]);
  });
});

describe('bootstrap of the Frechet distance', () => {
  const d = 3;
  const n = 200;
  const standardNormal = { mean: new Float64Array(d), cov: Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]) };

  it('reproduces the spread of the distance over independent sample sets', () => {
    // Reference: the standard deviation of FD(n samples of N(shift, 2.25 I), N(0, I)) over 400
    // independent sets (Monte Carlo with the closed-form-tested frechetDistance); one set's bootstrap
    // should estimate it. Generated and real features differ like this in the evaluation. (When the two
    // distributions are equal the bootstrap overestimates the spread, about 1.7x: conservative.)
    const g = new TorchGenerator(11);
    const draw = () => Float64Array.from(g.randn([n * d])).map((v, i) => v * 1.5 + (i % d === 0 ? 0.5 : 0));
    const independent = Array.from({ length: 400 }, () => frechetDistance(gaussianFit(draw(), n, d), standardNormal, d));
    const resampler = new TorchGenerator(5);
    const boot = bootstrapFrechet(draw(), n, d, standardNormal, 400, () => resampler.uniformDouble());
    expect(standardDeviation(boot) / standardDeviation(independent)).toBeGreaterThan(0.7);
    expect(standardDeviation(boot) / standardDeviation(independent)).toBeLessThan(1.4);
  });

  it('maps uniforms to sample rows: one draw per row in order gives the plain distance', () => {
    const features = Float64Array.from(new TorchGenerator(2).randn([n * d]));
    let i = 0;
    const inOrder = () => ((i++ % n) + 0.5) / n;
    const [first] = bootstrapFrechet(features, n, d, standardNormal, 1, inOrder);
    expect(first).toBeCloseTo(frechetDistance(gaussianFit(features, n, d), standardNormal, d), 9);
    // u -> 1 - 2^-53 must still land on the last row (no index n).
    const nearOne = bootstrapFrechet(features, n, d, standardNormal, 1, () => 1 - 2 ** -53)[0]!;
    expect(Number.isFinite(nearOne)).toBe(true);
  });

  it('pairs two feature sets resampled with equally seeded uniforms', () => {
    const g = new TorchGenerator(4);
    const a = Float64Array.from(g.randn([n * d]));
    const b = a.map((v) => v * 1.5);
    const ua = new TorchGenerator(9);
    const ub = new TorchGenerator(9);
    const bootA = bootstrapFrechet(a, n, d, standardNormal, 20, () => ua.uniformDouble());
    const bootB = bootstrapFrechet(b, n, d, standardNormal, 20, () => ub.uniformDouble());
    // b is a scaled copy of a, so with the same rows drawn each round its fitted covariance is exactly
    // 2.25 x a's: the paired distances follow from the same resample, and differ when unpaired.
    const fitOf = (x: Float64Array, u: () => number) => {
      const drawn = new Float64Array(n * d);
      for (let k = 0; k < n; k++) {
        const row = Math.floor(u() * n);
        drawn.set(x.subarray(row * d, (row + 1) * d), k * d);
      }
      return gaussianFit(drawn, n, d);
    };
    const replay = new TorchGenerator(9);
    const fitA0 = fitOf(a, () => replay.uniformDouble());
    const fitB0 = { mean: fitA0.mean.map((v) => v * 1.5), cov: fitA0.cov.map((v) => v * 2.25) };
    expect(bootA[0]).toBeCloseTo(frechetDistance(fitA0, standardNormal, d), 9);
    expect(bootB[0]).toBeCloseTo(frechetDistance(fitB0, standardNormal, d), 9);
    const other = new TorchGenerator(10);
    const unpaired = bootstrapFrechet(b, n, d, standardNormal, 20, () => other.uniformDouble());
    expect(unpaired[0]).not.toBeCloseTo(bootB[0]!, 6);
  });
});

describe('standard deviation', () => {
  it('uses n - 1: {2, 4, 4, 4, 5, 5, 7, 9} has variance 32 / 7', () => {
    expect(standardDeviation([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 14);
    expect(standardDeviation([3])).toBeNaN();
  });
});

describe('percentile', () => {
  it('is the nearest-rank percentile (ordinal rank ceil(p/100 N))', () => {
    // The textbook example: {15, 20, 35, 40, 50}.
    const sorted = [15, 20, 35, 40, 50];
    expect(percentile(sorted, 5)).toBe(15);
    expect(percentile(sorted, 30)).toBe(20);
    expect(percentile(sorted, 40)).toBe(20);
    expect(percentile(sorted, 50)).toBe(35);
    expect(percentile(sorted, 100)).toBe(50);
    expect(percentile([], 50)).toBeNaN();
  });
});
