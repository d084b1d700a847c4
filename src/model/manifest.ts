/** The `model.json` manifest: validated on load so a broken model fails with a message, not a crash mid-request. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

const positiveInt = z.number().int().positive();

/**
 * A class-conditional network (classifier-free guidance, Ho & Salimans 2022): its ONNX graph takes
 * `class_labels` int64 [N]; label `null_class` (= the number of classes) asks for the unconditional
 * prediction.
 */
const conditioningSchema = z
  .object({
    type: z.literal('class'),
    classes: z
      .array(z.string().min(1).max(100))
      .min(2)
      .max(1000)
      .refine((c) => new Set(c.map((n) => n.toLowerCase())).size === c.length, 'class names must be unique (ignoring case)'),
    null_class: z.number().int().nonnegative(),
    default_guidance_scale: z.number().min(0).max(50),
    /** Fine labels (emoji subcategories): each class's group (its category), in class order. */
    groups: z.array(z.string().min(1).max(100)).optional(),
  })
  .passthrough()
  .refine((c) => c.null_class === c.classes.length, { message: 'null_class must equal the number of classes', path: ['null_class'] })
  .refine((c) => !c.groups || c.groups.length === c.classes.length, { message: 'groups must name one group per class', path: ['groups'] });

export type Conditioning = z.infer<typeof conditioningSchema>;

export const manifestSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, "-" or "_"'),
  description: z.string().optional(),
  license: z.string().optional(),
  attribution: z.string().optional(),
  image: z.object({ channels: z.union([z.literal(1), z.literal(3)]), height: positiveInt, width: positiveInt }),
  onnx: z.string().min(1),
  /** diffusers scheduler_config.json keys; each sampler reads the ones it knows. */
  scheduler: z
    .object({
      num_train_timesteps: positiveInt,
      beta_start: z.number().positive(),
      beta_end: z.number().positive(),
      beta_schedule: z.enum(['linear', 'scaled_linear', 'squaredcos_cap_v2']),
      prediction_type: z.enum(['epsilon', 'v_prediction', 'sample']),
    })
    .passthrough(),
  conditioning: conditioningSchema.optional(),
  /** The model front ends offer first (the best first impression); at most one installed model sets it. */
  default: z.boolean().optional(),
  metrics: z.record(z.unknown()).optional(),
  training: z.record(z.unknown()).optional(),
});

export type ModelManifest = z.infer<typeof manifestSchema>;

export class ManifestError extends Error {
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'ManifestError';
  }
}

export async function readManifest(modelDir: string): Promise<ModelManifest> {
  const file = path.join(modelDir, 'model.json');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new ManifestError(file, error instanceof Error ? error.message : String(error));
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ManifestError(file, `invalid manifest (${issues})`);
  }
  return parsed.data;
}
