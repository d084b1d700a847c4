/**
 * What every part of the evaluation measures against: the held-out and reference sheets of real
 * images (eval/sets.json, written by models/train/export_eval_sets.py) and the project's classifier
 * (eval/classifier.onnx), whose penultimate features give the Frechet distances and whose logits
 * give the class probabilities.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { z } from 'zod';
import type { Tensor } from '../core/tensor.ts';
import { concatBatch } from '../core/tensor.ts';
import { fromPixels } from '../render/index.ts';
import { frechetDistance, gaussianFit } from './metrics.ts';
import { confidentShare, labelAccuracy } from './scores.ts';

const sheetSchema = z.object({ file: z.string(), count: z.number().int(), labels: z.array(z.number().int()) });
const setsSchema = z.object({
  tile: z.object({ channels: z.union([z.literal(1), z.literal(3)]), height: z.number().int(), width: z.number().int() }),
  columns: z.number().int().positive(),
  heldout: sheetSchema,
  reference: sheetSchema,
});
type Sets = z.infer<typeof setsSchema>;
const classifierSchema = z.object({ onnx: z.string(), classes: z.array(z.string()) }).passthrough();

type Fit = ReturnType<typeof gaussianFit>;

/** Classifier outputs for n images: features (n x dim) and class probabilities (n x classes). */
export interface ClassifierRun {
  features: Float64Array;
  dim: number;
  probs: Float64Array;
}

export class Classifier {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly classes: string[],
  ) {}

  static async open(dir: string, threads: number): Promise<Classifier> {
    const meta = classifierSchema.parse(JSON.parse(await readFile(path.join(dir, 'classifier.json'), 'utf8')));
    const session = await ort.InferenceSession.create(path.join(dir, meta.onnx), { executionProviders: ['cpu'], intraOpNumThreads: threads });
    return new Classifier(session, meta.classes);
  }

  /** Features and softmax probabilities for images in [-1, 1], in chunks of 250 to bound memory. */
  async run(images: Tensor): Promise<ClassifierRun> {
    const n = images.shape[0]!;
    const k = this.classes.length;
    const featureParts: Float64Array[] = [];
    const probParts: Float64Array[] = [];
    let dim = 0;
    const per = images.data.length / n;
    for (let start = 0; start < n; start += 250) {
      const end = Math.min(n, start + 250);
      const input = new ort.Tensor('float32', images.data.slice(start * per, end * per), [end - start, ...images.shape.slice(1)]);
      const out = await this.session.run({ image: input });
      const features = out['features']!.data as Float32Array;
      const logits = out['logits']!.data as Float32Array;
      dim = features.length / (end - start);
      featureParts.push(Float64Array.from(features));
      const probs = new Float64Array(logits.length);
      for (let i = 0; i < end - start; i++) {
        const row = logits.subarray(i * k, (i + 1) * k);
        const max = Math.max(...row);
        let sum = 0;
        for (let j = 0; j < k; j++) sum += (probs[i * k + j] = Math.exp(row[j]! - max));
        for (let j = 0; j < k; j++) probs[i * k + j]! /= sum;
      }
      probParts.push(probs);
    }
    return { features: join(featureParts), dim, probs: join(probParts) };
  }
}

function join(parts: Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
}

async function loadSheet(dir: string, sets: Sets, which: 'heldout' | 'reference'): Promise<Tensor> {
  const { channels, height, width } = sets.tile;
  const sheet = sets[which];
  let image = sharp(path.join(dir, sheet.file));
  image = channels === 1 ? image.toColourspace('b-w') : image.removeAlpha().toColourspace('srgb');
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  const tiles: Tensor[] = [];
  for (let i = 0; i < sheet.count; i++) {
    const x0 = (i % sets.columns) * width;
    const y0 = Math.floor(i / sets.columns) * height;
    const px = new Uint8Array(width * height * channels);
    for (let y = 0; y < height; y++) {
      px.set(data.subarray(((y0 + y) * info.width + x0) * channels, ((y0 + y) * info.width + x0 + width) * channels), y * width * channels);
    }
    tiles.push(fromPixels({ data: px, width, height, channels }));
  }
  return concatBatch(tiles);
}

export interface EvalData {
  /** models/<name>/eval */
  dir: string;
  classifier: Classifier;
  /** Held-out real images (never trained on), in [-1, 1]. */
  heldout: Tensor;
  heldoutFit: Fit;
  /** Share of held-out images the classifier assigns some class with p >= 0.9. */
  heldoutConfident: number;
  /** The classifier's accuracy on the held-out images' true labels, overall and per classifier class. */
  heldoutAccuracy: number;
  heldoutClassAccuracy: number[];
  /** Feature dimension. */
  dim: number;
  referenceRun: ClassifierRun;
}

export async function loadEvalData(dir: string, threads: number): Promise<EvalData> {
  const sets = setsSchema.parse(JSON.parse(await readFile(path.join(dir, 'sets.json'), 'utf8')));
  const classifier = await Classifier.open(dir, threads);
  const heldout = await loadSheet(dir, sets, 'heldout');
  const heldoutRun = await classifier.run(heldout);
  const referenceRun = await classifier.run(await loadSheet(dir, sets, 'reference'));
  const k = classifier.classes.length;
  const labels = sets.heldout.labels.slice(0, sets.heldout.count);
  const { accuracy, correct } = labelAccuracy(heldoutRun.probs, k, labels);
  const n = classifier.classes.map((_, c) => labels.filter((l) => l === c).length);
  const hits = classifier.classes.map((_, c) => labels.filter((l, i) => l === c && correct[i]).length);
  return {
    dir,
    classifier,
    heldout,
    heldoutFit: gaussianFit(heldoutRun.features, heldout.shape[0]!, heldoutRun.dim),
    heldoutConfident: confidentShare(heldoutRun.probs, k),
    heldoutAccuracy: accuracy,
    heldoutClassAccuracy: hits.map((h, c) => h / n[c]!),
    dim: heldoutRun.dim,
    referenceRun,
  };
}

/**
 * The Frechet distance between real reference images and the held-out set: the floor a perfect model
 * would reach. The distance is biased upwards at small sample sizes, so the floor uses as many
 * reference images as there are generated samples (all of them when there are fewer).
 */
export function frechetFloor(data: EvalData, samples: number): { floor: number; floorCount: number } {
  const d = data.dim;
  const floorCount = Math.min(samples, data.referenceRun.features.length / d);
  const fit = gaussianFit(data.referenceRun.features.subarray(0, floorCount * d), floorCount, d);
  return { floor: frechetDistance(fit, data.heldoutFit, d), floorCount };
}
