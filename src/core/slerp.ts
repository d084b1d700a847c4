/**
 * Spherical linear interpolation between two noise tensors, as the DDIM paper (Song et al. 2021, section
 * 5.3, after White 2016) interpolates x_T: a linear mix of two N(0, I) draws has too small a norm and decodes
 * to washed-out images; slerp keeps the norm a Gaussian draw has.
 */
import type { Tensor } from './tensor.ts';

/**
 * slerp(a, b, alpha) = sin((1 - alpha) theta) / sin(theta) a + sin(alpha theta) / sin(theta) b, with
 * theta = arccos(a . b / (|a| |b|)), in float64, rounded once to float32. alpha = 0 and 1 return exact copies
 * of a and b (the interpolation's ends must be the two seeds' own images). Nearly parallel inputs
 * (sin theta ~ 0) fall back to the linear mix, the formula's limit.
 */
export function slerp(a: Tensor, b: Tensor, alpha: number): Tensor {
  if (a.data.length !== b.data.length) throw new Error(`slerp of tensors of ${a.data.length} and ${b.data.length} values`);
  if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`slerp alpha must be in 0..1 (got ${alpha})`);
  if (alpha === 0) return { data: a.data.slice(), shape: [...a.shape] };
  if (alpha === 1) return { data: b.data.slice(), shape: [...a.shape] };
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.data.length; i++) {
    dot += a.data[i]! * b.data[i]!;
    na += a.data[i]! * a.data[i]!;
    nb += b.data[i]! * b.data[i]!;
  }
  if (na === 0 || nb === 0) throw new Error('slerp of a zero tensor is undefined');
  const theta = Math.acos(Math.min(1, Math.max(-1, dot / Math.sqrt(na * nb))));
  const sinTheta = Math.sin(theta);
  const [wa, wb] = sinTheta < 1e-12 ? [1 - alpha, alpha] : [Math.sin((1 - alpha) * theta) / sinTheta, Math.sin(alpha * theta) / sinTheta];
  const out = new Float32Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = wa * a.data[i]! + wb * b.data[i]!;
  return { data: out, shape: [...a.shape] };
}
