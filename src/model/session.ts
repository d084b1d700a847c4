/**
 * One ONNX noise-prediction network: session creation with an explicit execution-provider
 * fallback, a graph check against the manifest, and a typed forward pass.
 */
import path from 'node:path';
import ort from 'onnxruntime-node';
import type { Tensor } from '../core/tensor.ts';
import { roundHalfEven } from '../core/timesteps.ts';
import type { ModelManifest } from './manifest.ts';
import { ManifestError } from './manifest.ts';
import { planProviders, type ExecutionProvider } from './providers.ts';

export type { ExecutionProvider } from './providers.ts';

export interface SessionOptions {
  /** Preferred provider; the rest of cuda -> webgpu -> cpu that can work here is tried after it (src/model/providers.ts). Default: cuda first. */
  readonly executionProvider?: ExecutionProvider;
  /** Intra-op threads for the CPU provider (0 = onnxruntime's default: one per core). */
  readonly threads?: number;
  /** Told which provider was chosen and why others failed (the caller logs). */
  readonly onProviderFallback?: (provider: ExecutionProvider, error: string) => void;
}

export class NoiseModel {
  private constructor(
    readonly manifest: ModelManifest,
    readonly file: string,
    readonly provider: ExecutionProvider,
    /** Why the providers before `provider` were not used, e.g. "cuda: not installed (…)"; empty when it was the first choice. */
    readonly passedOver: readonly string[],
    private readonly session: ort.InferenceSession,
    private readonly timestepType: 'int64' | 'float32',
    private readonly outputName: string,
  ) {}

  /** The label the network reads as "no label" (its unconditional prediction); null for unconditional models. */
  get nullClass(): number | null {
    return this.manifest.conditioning?.null_class ?? null;
  }

  static async load(modelDir: string, manifest: ModelManifest, options: SessionOptions = {}): Promise<NoiseModel> {
    const file = path.join(modelDir, manifest.onnx);
    // A session asked for ["cuda", "cpu"] does not fall back by itself: creation throws when the
    // CUDA libraries are absent, so each provider is tried on its own.
    let lastError = '';
    const plan = await planProviders(options.executionProvider, file);
    const passedOver = [...plan.skipped];
    for (const provider of plan.candidates) {
      let session: ort.InferenceSession;
      try {
        session = await ort.InferenceSession.create(file, {
          executionProviders: [provider],
          intraOpNumThreads: options.threads ?? 0,
          graphOptimizationLevel: 'all',
          // A provider that cannot load is expected during fallback; its error is reported via onProviderFallback.
          logSeverityLevel: provider === 'cpu' ? 2 : 4,
        });
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
        if (provider !== 'cpu') options.onProviderFallback?.(provider, lastError);
        passedOver.push(`${provider}: ${lastError.split('\n')[0]}`);
        continue;
      }
      const { timestepType, outputName } = checkGraph(session, manifest, file);
      return new NoiseModel(manifest, file, provider, passedOver, session, timestepType, outputName);
    }
    throw new ManifestError(file, `no execution provider could load the model (${lastError})`);
  }

  /**
   * eps/v/x0 prediction for a batch at one timestep. A class-conditional model takes one label per
   * image (its null class when `classLabels` is omitted). Rejects NaN/Inf: such output is an error, not an image.
   * A fractional timestep (Euler's linspace spacing, Karras sigmas) goes as is to a float32 `timestep` input;
   * an int64 input can only take the nearest integer (ties to even). diffusers would hand a torch network
   * the fraction, so for such timesteps an int64 graph is within half a training step of diffusers, not equal.
   */
  async predict(sample: Tensor, timestep: number, classLabels?: readonly number[]): Promise<Tensor> {
    const batch = sample.shape[0]!;
    const feeds: Record<string, ort.Tensor> = {};
    const nullClass = this.nullClass;
    if (nullClass !== null) {
      if (classLabels && classLabels.length !== batch) throw new Error(`${classLabels.length} class labels for a batch of ${batch}`);
      const labels = classLabels ?? new Array<number>(batch).fill(nullClass);
      if (labels.some((l) => !Number.isInteger(l) || l < 0 || l > nullClass)) throw new Error(`class labels must be integers in 0..${nullClass}`);
      feeds['class_labels'] = new ort.Tensor('int64', BigInt64Array.from(labels, (l) => BigInt(l)), [batch]);
    } else if (classLabels) {
      throw new Error(`${this.file}: this model is not class-conditional`);
    }
    const t =
      this.timestepType === 'int64'
        ? new ort.Tensor('int64', BigInt64Array.from({ length: batch }, () => BigInt(roundHalfEven(timestep))), [batch])
        : new ort.Tensor('float32', new Float32Array(batch).fill(timestep), [batch]);
    const input = new ort.Tensor('float32', sample.data, [...sample.shape]);
    const outputs = await this.session.run({ ...feeds, sample: input, timestep: t });
    const out = outputs[this.outputName]!;
    const data = out.data;
    if (!(data instanceof Float32Array) || data.length !== sample.data.length) {
      throw new Error(`${this.file}: output "${this.outputName}" has ${data.length} values, expected ${sample.data.length} float32`);
    }
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i]!)) {
        throw new Error(`${this.file}: the model produced a non-finite value at timestep ${timestep}`);
      }
    }
    return { data, shape: sample.shape };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

function checkGraph(session: ort.InferenceSession, manifest: ModelManifest, file: string) {
  const inputs = new Map(session.inputMetadata.map((m) => [m.name, m]));
  const sample = inputs.get('sample');
  const timestep = inputs.get('timestep');
  if (!sample || !timestep) {
    throw new ManifestError(file, `expected inputs "sample" and "timestep", found ${[...inputs.keys()].map((n) => `"${n}"`).join(', ')}`);
  }
  if (!sample.isTensor || sample.type !== 'float32') throw new ManifestError(file, 'input "sample" must be a float32 tensor');
  const { channels, height, width } = manifest.image;
  const expected = [channels, height, width];
  const shape = sample.shape;
  if (shape.length !== 4) throw new ManifestError(file, `input "sample" has rank ${shape.length}, expected [N, C, H, W]`);
  if (typeof shape[0] === 'number' && shape[0] !== -1) {
    throw new ManifestError(file, `input "sample" has a fixed batch of ${shape[0]}; the batch axis must be dynamic`);
  }
  shape.slice(1).forEach((dim, i) => {
    if (typeof dim === 'number' && dim !== expected[i]) {
      throw new ManifestError(file, `input "sample" is [N, ${shape.slice(1).join(', ')}] but model.json says [N, ${expected.join(', ')}]`);
    }
  });
  if (!timestep.isTensor || (timestep.type !== 'int64' && timestep.type !== 'float32')) {
    throw new ManifestError(file, 'input "timestep" must be an int64 or float32 tensor of shape [N]');
  }
  const labels = inputs.get('class_labels');
  if (manifest.conditioning && !labels) throw new ManifestError(file, 'model.json has a conditioning block but the graph has no input "class_labels"');
  if (!manifest.conditioning && labels) throw new ManifestError(file, 'the graph takes "class_labels" but model.json has no conditioning block');
  if (labels && (!labels.isTensor || labels.type !== 'int64')) throw new ManifestError(file, 'input "class_labels" must be an int64 tensor of shape [N]');
  const extra = [...inputs.keys()].filter((n) => !['sample', 'timestep', 'class_labels'].includes(n));
  if (extra.length > 0) throw new ManifestError(file, `unexpected graph inputs ${extra.map((n) => `"${n}"`).join(', ')}`);
  const outputName = session.outputNames[0];
  if (!outputName) throw new ManifestError(file, 'the graph has no outputs');
  const output = session.outputMetadata[0]!;
  if (output.isTensor && output.type !== 'float32') throw new ManifestError(file, `output "${outputName}" must be float32`);
  if (output.isTensor && output.shape.length === 4) {
    output.shape.slice(1).forEach((dim, i) => {
      if (typeof dim === 'number' && dim !== expected[i]) {
        throw new ManifestError(file, `output "${outputName}" is [N, ${output.shape.slice(1).join(', ')}] but model.json says [N, ${expected.join(', ')}]`);
      }
    });
  }
  return { timestepType: timestep.type, outputName };
}
