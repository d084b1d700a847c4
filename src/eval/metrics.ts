/**
 * Sample-quality and likelihood metrics (pure math): the Frechet distance between Gaussian fits of
 * feature sets (FID-style), and the pieces of the DDPM variational bound (DDPM eq. 5): the Gaussian
 * KL and the discretised Gaussian decoder of eq. 13.
 */

/** Feature rows (n x d, row-major) to their mean (d) and unbiased covariance (d x d). */
export function gaussianFit(features: Float64Array, n: number, d: number): { mean: Float64Array; cov: Float64Array } {
  if (n < 2) throw new Error('a covariance needs at least two samples');
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += features[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= n;
  const cov = new Float64Array(d * d);
  const centered = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) centered[j] = features[i * d + j]! - mean[j]!;
    for (let a = 0; a < d; a++) {
      const ca = centered[a]!;
      for (let b = a; b < d; b++) cov[a * d + b]! += ca * centered[b]!;
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const v = cov[a * d + b]! / (n - 1);
      cov[a * d + b] = v;
      cov[b * d + a] = v;
    }
  }
  return { mean, cov };
}

/** Eigenvalues and eigenvectors (columns of `vectors`) of a symmetric d x d matrix, by cyclic Jacobi rotations. */
export function symmetricEigen(matrix: Float64Array, d: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += a[p * d + q]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * d + q]! - a[p * d + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = a[k * d + p]!;
          const akq = a[k * d + q]!;
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p * d + k]!;
          const aqk = a[q * d + k]!;
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p]!;
          const vkq = v[k * d + q]!;
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(d);
  for (let i = 0; i < d; i++) values[i] = a[i * d + i]!;
  return { values, vectors: v };
}

function multiply(x: Float64Array, y: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const xik = x[i * d + k]!;
      if (xik === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j]! += xik * y[k * d + j]!;
    }
  }
  return out;
}

/** Symmetric square root of a PSD matrix (negative eigenvalues from round-off are clamped to 0). */
function sqrtPsd(m: Float64Array, d: number): Float64Array {
  const { values, vectors } = symmetricEigen(m, d);
  const out = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const s = Math.sqrt(Math.max(values[k]!, 0));
    for (let i = 0; i < d; i++) {
      const vik = vectors[i * d + k]! * s;
      for (let j = 0; j < d; j++) out[i * d + j]! += vik * vectors[j * d + k]!;
    }
  }
  return out;
}

/**
 * Frechet distance between N(mu1, S1) and N(mu2, S2): |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)).
 * Tr((S1 S2)^(1/2)) is computed as Tr((A S2 A)^(1/2)) with A = S1^(1/2), which is symmetric PSD and
 * has the same eigenvalues, so no non-symmetric matrix square root is needed.
 */
export function frechetDistance(
  a: { mean: Float64Array; cov: Float64Array },
  b: { mean: Float64Array; cov: Float64Array },
  d: number,
): number {
  return frechetWithRoot(a, sqrtPsd(a.cov, d), b, d);
}

/** frechetDistance with A = S1^(1/2) given, so a fixed `a` compared with many `b` pays for it once. */
function frechetWithRoot(
  a: { mean: Float64Array; cov: Float64Array },
  root: Float64Array,
  b: { mean: Float64Array; cov: Float64Array },
  d: number,
): number {
  let meanTerm = 0;
  for (let i = 0; i < d; i++) meanTerm += (a.mean[i]! - b.mean[i]!) ** 2;
  const { values } = symmetricEigen(multiply(multiply(root, b.cov, d), root, d), d);
  let traceSqrt = 0;
  for (const v of values) traceSqrt += Math.sqrt(Math.max(v, 0));
  let trace = 0;
  for (let i = 0; i < d; i++) trace += a.cov[i * d + i]! + b.cov[i * d + i]!;
  return meanTerm + trace - 2 * traceSqrt;
}

/**
 * Bootstrap of the Frechet distance between a feature set (n x d rows) and a fixed `target` fit: for
 * each of `resamples` rounds, n rows drawn with replacement using `uniform` (values in [0, 1)). Two
 * feature sets of the same n resampled with equally seeded `uniform`s get the same row indices in each
 * round, so their distances are paired (the evaluation's rows share seeds, so sample i matches sample i).
 */
export function bootstrapFrechet(
  features: Float64Array,
  n: number,
  d: number,
  target: { mean: Float64Array; cov: Float64Array },
  resamples: number,
  uniform: () => number,
): Float64Array {
  const root = sqrtPsd(target.cov, d);
  const drawn = new Float64Array(n * d);
  const out = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) {
      const k = Math.min(n - 1, Math.floor(uniform() * n));
      drawn.set(features.subarray(k * d, (k + 1) * d), i * d);
    }
    out[r] = frechetWithRoot(target, root, gaussianFit(drawn, n, d), d);
  }
  return out;
}

/** Sample standard deviation (n - 1 in the denominator); NaN for fewer than two values. */
export function standardDeviation(values: ArrayLike<number>): number {
  const n = values.length;
  if (n < 2) return NaN;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i]! / n;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += (values[i]! - mean) ** 2;
  return Math.sqrt(sum / (n - 1));
}

/** Nearest-rank percentile (p in 0..100) of ascending values; NaN when there are none. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** KL(N(mean1, exp(logvar1)) || N(mean2, exp(logvar2))) per dimension, in nats. */
export function gaussianKl(mean1: number, logvar1: number, mean2: number, logvar2: number): number {
  return 0.5 * (-1 + logvar2 - logvar1 + Math.exp(logvar1 - logvar2) + (mean1 - mean2) ** 2 * Math.exp(-logvar2));
}

/**
 * The standard normal CDF approximation of the DDPM reference code (tanh form), used so bits/dim are
 * computed the way the paper's Table 2 numbers were.
 */
export function approxStandardNormalCdf(x: number): number {
  return 0.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
}

/**
 * log p(x) of one pixel x (a uint8 value rescaled to [-1, 1]) under the discretised Gaussian decoder
 * (DDPM eq. 13): the Gaussian mass of its bin of width 2/255, with the edge bins open to +-infinity.
 */
export function discretizedGaussianLogLikelihood(x: number, mean: number, logScale: number): number {
  const centered = x - mean;
  const invStdv = Math.exp(-logScale);
  const cdfPlus = approxStandardNormalCdf(invStdv * (centered + 1 / 255));
  const cdfMin = approxStandardNormalCdf(invStdv * (centered - 1 / 255));
  if (x < -0.999) return Math.log(Math.max(cdfPlus, 1e-12));
  if (x > 0.999) return Math.log(Math.max(1 - cdfMin, 1e-12));
  return Math.log(Math.max(cdfPlus - cdfMin, 1e-12));
}
