/**
 * Normal noise equal, within 2e-6 per value, to PyTorch's CPU generator:
 * `torch.Generator().manual_seed(seed)` followed by successive `torch.randn(shape)` calls. (torch's own
 * AVX2 and scalar kernels differ from each other by ~1e-6, so closer agreement is not well defined.)
 *
 * torch draws from an MT19937 engine seeded with the low 32 bits of the seed. For fewer than
 * 16 values it uses a double-precision Box-Muller that caches the second value of each pair on
 * the generator; for 16 or more it fills float32 uniforms, transforms them in blocks of 16
 * (u1 = data[j], u2 = data[j + 8]) and, when the count is not a multiple of 16, redraws the
 * last 16 uniforms and recomputes that tail block.
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

export const MAX_SEED = 2 ** 32 - 1;

class MersenneTwister {
  private readonly state = new Uint32Array(N);
  private index = N;

  constructor(seed: number) {
    this.state[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = this.state[i - 1]! ^ (this.state[i - 1]! >>> 30);
      // 1812433253 * prev + i in uint32 arithmetic, split to stay exact in doubles.
      this.state[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  nextUint32(): number {
    if (this.index >= N) this.twist();
    let y = this.state[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  private twist(): void {
    const s = this.state;
    for (let i = 0; i < N; i++) {
      const y = (s[i]! & UPPER_MASK) | (s[(i + 1) % N]! & LOWER_MASK);
      s[i] = s[(i + M) % N]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    this.index = 0;
  }
}

/** Anything that hands out standard normal noise of a given shape (the samplers only see this). */
export interface NoiseSource {
  randn(shape: readonly number[]): Float32Array;
}

const TWO_POW_24 = 2 ** 24;
const TWO_POW_53 = 2 ** 53;

export class TorchGenerator implements NoiseSource {
  private readonly engine: MersenneTwister;
  /** torch keeps the second value of a double Box-Muller pair for the next scalar draw. */
  private cachedNormal: number | null = null;

  /** Accepts any non-negative integer seed (bigint for values beyond 2^53); torch uses its low 32 bits. */
  constructor(seed: number | bigint) {
    const low32 = typeof seed === 'bigint' ? Number(seed & 0xffffffffn) : Number(BigInt(seed) & 0xffffffffn);
    this.engine = new MersenneTwister(low32);
  }

  /** torch's uniform_real_distribution<float>: 24 random bits scaled to [0, 1). */
  private uniformFloat(): number {
    return (this.engine.nextUint32() & 0xffffff) / TWO_POW_24;
  }

  /**
   * torch's uniform_real_distribution<double>: 53 bits of a 64-bit draw (first word high), in [0, 1).
   * Public for seeded resampling (the evaluation's bootstrap); the samplers only use randn.
   */
  uniformDouble(): number {
    const hi = this.engine.nextUint32();
    const lo = this.engine.nextUint32();
    // (hi << 32 | lo) & (2^53 - 1) == (hi & 0x1fffff) * 2^32 + lo
    return ((hi & 0x1fffff) * 2 ** 32 + lo) / TWO_POW_53;
  }

  private normalDouble(): number {
    if (this.cachedNormal !== null) {
      const cached = this.cachedNormal;
      this.cachedNormal = null;
      return cached;
    }
    const u1 = this.uniformDouble();
    const u2 = this.uniformDouble();
    const r = Math.sqrt(-2 * Math.log1p(-u2));
    const theta = 2 * Math.PI * u1;
    this.cachedNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  randn(shape: readonly number[]): Float32Array {
    const size = shape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(size);
    if (size < 16) {
      for (let i = 0; i < size; i++) out[i] = this.normalDouble();
      return out;
    }
    for (let i = 0; i < size; i++) out[i] = this.uniformFloat();
    for (let i = 0; i + 16 <= size; i += 16) normalFill16(out, i);
    if (size % 16 !== 0) {
      const tail = size - 16;
      for (let i = 0; i < 16; i++) out[tail + i] = this.uniformFloat();
      normalFill16(out, tail);
    }
    return out;
  }
}

/** Box-Muller over one block of 16 float32 uniforms, as torch's normal_fill_16 (float radius, double angle). */
function normalFill16(data: Float32Array, offset: number): void {
  for (let j = 0; j < 8; j++) {
    const u1 = Math.fround(1 - data[offset + j]!);
    const u2 = data[offset + j + 8]!;
    const radius = Math.fround(Math.sqrt(Math.fround(-2 * Math.fround(Math.log(u1)))));
    const theta = 2 * Math.PI * u2;
    data[offset + j] = radius * Math.cos(theta);
    data[offset + j + 8] = radius * Math.sin(theta);
  }
}

/** A fresh random seed in 0..2^32-1 for requests that did not give one. */
export function randomSeed(): number {
  return Math.floor(Math.random() * (MAX_SEED + 1));
}
