/** Peak signal-to-noise ratio, the reconstruction measure of the DDIM paper's section 5.4 (Table 2). */

/** 10 log10(peak^2 / MSE) in dB over equal-length arrays; Infinity when they are identical. */
export function psnr(a: ArrayLike<number>, b: ArrayLike<number>, peak: number): number {
  if (a.length !== b.length || a.length === 0) throw new Error(`psnr of arrays of ${a.length} and ${b.length} values`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  const mse = sum / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((peak * peak) / mse);
}
