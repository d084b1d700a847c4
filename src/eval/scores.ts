/**
 * What the classifier's probabilities (n rows of k classes, row-major) say about a set of images:
 * how many it recognises, which classes they are, and whether they are the classes that were asked for.
 */

/** The share of images the classifier assigns some class with p >= 0.9 ("recognisable"). */
export function confidentShare(probs: Float64Array, k: number): number {
  const n = probs.length / k;
  let confident = 0;
  for (let i = 0; i < n; i++) if (Math.max(...probs.subarray(i * k, (i + 1) * k)) >= 0.9) confident++;
  return confident / n;
}

/** The classifier's class (argmax) of each image. */
export function predictedClasses(probs: Float64Array, k: number): number[] {
  return Array.from({ length: probs.length / k }, (_, i) => {
    const row = probs.subarray(i * k, (i + 1) * k);
    return row.indexOf(Math.max(...row));
  });
}

/** The share of images in each predicted class. */
export function histogram(probs: Float64Array, k: number): number[] {
  const predicted = predictedClasses(probs, k);
  const counts = new Array<number>(k).fill(0);
  for (const c of predicted) counts[c]!++;
  return counts.map((c) => c / predicted.length);
}

/** Whether the classifier reads image i as `wanted[i]` (a classifier class index), and the share that it does. */
export function labelAccuracy(probs: Float64Array, k: number, wanted: readonly number[]): { accuracy: number; correct: boolean[] } {
  const predicted = predictedClasses(probs, k);
  if (predicted.length !== wanted.length) throw new Error(`${wanted.length} labels for ${predicted.length} images`);
  const correct = predicted.map((c, i) => c === wanted[i]);
  return { accuracy: correct.filter(Boolean).length / correct.length, correct };
}

/** Samples and correct readings per class, for images whose requested class index is `classes[i]` (0..count-1). */
export function perClass(correct: readonly boolean[], classes: readonly number[], count: number): { samples: number[]; correct: number[] } {
  const samples = new Array<number>(count).fill(0);
  const hits = new Array<number>(count).fill(0);
  classes.forEach((c, i) => {
    samples[c]!++;
    if (correct[i]) hits[c]!++;
  });
  return { samples, correct: hits };
}

/** Binomial standard error of a share p measured on n samples: sqrt(p (1 - p) / n). */
export function binomialSe(p: number, n: number): number {
  return Math.sqrt((p * (1 - p)) / n);
}
