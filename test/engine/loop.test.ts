/**
 * The loop's contract with a sampler (src/core/sampler.ts): one model call per timestep on the sample as
 * is for a plain sampler; initNoiseSigma scales x_T, scaleModelInput changes only what the model sees, and
 * evaluateAgain repeats the model call at the same timestep. Fake model and samplers that record calls.
 */
import { describe, expect, it } from 'vitest';
import type { Sampler, StepOutput } from '../../src/core/sampler.ts';
import type { NoiseSource } from '../../src/core/rng.ts';
import type { Tensor } from '../../src/core/tensor.ts';
import { PerRequestNoise, denoise, type Denoiser, type LoopStep } from '../../src/engine/pipeline.ts';

const SHAPE = [1, 1, 1, 3];
const t3 = (values: number[]): Tensor => ({ data: Float32Array.from(values), shape: SHAPE });

/** Records (input, t); predicts input * 0.5 + t / 1000. */
class RecordingModel implements Denoiser {
  readonly calls: { input: number[]; t: number }[] = [];
  async predict(sample: Tensor, timestep: number): Promise<Tensor> {
    this.calls.push({ input: Array.from(sample.data), t: timestep });
    return { data: sample.data.map((v) => v * 0.5 + timestep / 1000), shape: sample.shape };
  }
}

/** x_{next} = x - 0.1 * prediction; records what step saw. */
class PlainSampler implements Sampler {
  readonly steps: { prediction: number[]; t: number; sample: number[] }[] = [];
  constructor(readonly timesteps: readonly number[]) {}
  setTimesteps(): void {}
  step(modelOutput: Tensor, t: number, sample: Tensor, _rng: NoiseSource): StepOutput {
    this.steps.push({ prediction: Array.from(modelOutput.data), t, sample: Array.from(sample.data) });
    const prev = sample.data.map((v, i) => v - 0.1 * modelOutput.data[i]!);
    return { prevSample: { data: prev, shape: sample.shape }, predOriginalSample: { data: prev.slice(), shape: sample.shape } };
  }
}

const noise = () => new PerRequestNoise([{ seed: 0, count: 1 }]);
const X_T = [1, -2, 0.5];

describe('denoise and the sampler contract', () => {
  it('a sampler without the optional members: one model call per timestep on the unscaled sample', async () => {
    const model = new RecordingModel();
    const sampler = new PlainSampler([900, 500, 100]);
    const seen: LoopStep[] = [];
    const result = await denoise(model, sampler, t3(X_T), sampler.timesteps, noise(), (s) => seen.push(s));
    expect(model.calls.map((c) => c.t)).toEqual([900, 500, 100]);
    expect(model.calls[0]!.input).toEqual(X_T);
    // each step got the model's output on the very sample it steps from
    for (const [i, s] of sampler.steps.entries()) {
      expect(model.calls[i]!.input).toEqual(s.sample);
      expect(s.prediction).toEqual(s.sample.map((v) => Math.fround(v * 0.5 + s.t / 1000)));
    }
    expect(seen.map((s) => [s.index, s.timestep])).toEqual([[0, 900], [1, 500], [2, 100]]);
    expect(Array.from(result.sample.data)).toEqual(Array.from(seen[2]!.sample.data));
  });

  it('initNoiseSigma scales x_T once, in float32; scaleModelInput changes only what the model sees', async () => {
    const model = new RecordingModel();
    const sampler = Object.assign(new PlainSampler([700, 300]), {
      initNoiseSigma: 14.6,
      scaleModelInput: (x: Tensor, t: number): Tensor => ({ data: x.data.map((v) => v / (t / 100)), shape: x.shape }),
    });
    const start = t3(X_T);
    await denoise(model, sampler, start, sampler.timesteps, noise());
    expect(Array.from(start.data)).toEqual(X_T); // the caller's x_T is not modified
    const x0 = X_T.map((v) => Math.fround(v * Math.fround(14.6)));
    expect(sampler.steps[0]!.sample).toEqual(x0);
    expect(model.calls[0]!.input).toEqual(x0.map((v) => Math.fround(v / 7)));
    // the second model call sees the scaled version of the sample step 2 starts from
    expect(model.calls[1]!.input).toEqual(sampler.steps[1]!.sample.map((v) => Math.fround(v / 3)));
    // step receives the unscaled sample and the model's output on the scaled one
    expect(sampler.steps[0]!.prediction).toEqual(model.calls[0]!.input.map((v) => Math.fround(v * 0.5 + 0.7)));
  });

  it('evaluateAgain: more model calls at the same timestep, one progress report per timestep', async () => {
    const model = new RecordingModel();
    const sampler = new PlainSampler([800, 400]);
    let calls = 0;
    const again = Object.assign(sampler, {
      step(modelOutput: Tensor, t: number, sample: Tensor, rng: NoiseSource): StepOutput {
        const out = PlainSampler.prototype.step.call(sampler, modelOutput, t, sample, rng);
        calls++;
        // two extra evaluations at 800, one at 400
        const evaluateAgain = t === 800 ? calls % 3 !== 0 : calls === 4;
        return { ...out, evaluateAgain };
      },
    });
    const seen: LoopStep[] = [];
    const result = await denoise(model, again, t3(X_T), sampler.timesteps, noise(), (s) => seen.push(s));
    expect(model.calls.map((c) => c.t)).toEqual([800, 800, 800, 400, 400]);
    // every evaluation sees the sample the previous (unfinished) step returned
    for (let i = 1; i < model.calls.length; i++) expect(model.calls[i]!.input).toEqual(sampler.steps[i]!.sample);
    expect(seen.map((s) => [s.index, s.timestep])).toEqual([[0, 800], [1, 400]]);
    expect(seen[0]!.sample.data).toEqual(Float32Array.from(sampler.steps[3]!.sample));
    expect(result.sample.data).toEqual(seen[1]!.sample.data);
  });

  it('an abort between the evaluations of one timestep stops the loop', async () => {
    const model = new RecordingModel();
    const controller = new AbortController();
    const sampler = new PlainSampler([800]);
    const again = Object.assign(sampler, {
      step(modelOutput: Tensor, t: number, sample: Tensor, rng: NoiseSource): StepOutput {
        controller.abort();
        return { ...PlainSampler.prototype.step.call(sampler, modelOutput, t, sample, rng), evaluateAgain: true };
      },
    });
    await expect(denoise(model, again, t3(X_T), [800], noise(), undefined, controller.signal)).rejects.toThrow();
    expect(model.calls).toHaveLength(1);
  });
});
