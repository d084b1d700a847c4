/**
 * What the database holds after abuse: every request row re-validated by the engine as its kind is (so
 * nothing malformed was stored), and no schema object beyond the migrations' (whatever options users send).
 */
import type pg from 'pg';
import type { Request as RequestRow } from '../../src/db/generated/client.ts';
import { countSchemaObjects, unmigratedObjects } from '../../src/db/schema-objects.ts';
import { editInput, interpolationInfo } from '../../src/jobs/edits.ts';
import { loadImageForModel } from '../../src/render/input.ts';

type Queryable = Pick<pg.Pool, 'query'>;

/** Objects a submission may write; a refused one must leave every count unchanged. */
export interface Footprint {
  readonly requests: number;
  readonly schemaObjects: number;
}

export async function footprint(db: Queryable): Promise<Footprint> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM requests');
  return { requests: rows[0]!.n, schemaObjects: await countSchemaObjects(db) };
}

export interface EngineLike {
  validate(raw: unknown): unknown;
  validateVariation(raw: unknown): unknown;
  validateInterpolation(raw: unknown): unknown;
  validateLabelInterpolation(raw: unknown): unknown;
  validateImageInterpolation(raw: unknown): unknown;
  validateInversion(raw: unknown): unknown;
  model(name: string): { readonly manifest: { readonly image: { channels: 1 | 3; width: number; height: number }; readonly scheduler: { readonly num_train_timesteps: number } } };
}

export interface DatabaseReport {
  readonly requests: number;
  /** One line per request row that is not a valid request. */
  readonly invalid: readonly string[];
  /** Schemas and tables no migration made. */
  readonly orphans: readonly string[];
}

interface Row {
  id: string;
  kind: string;
  status: string;
  model: string;
  sampler: string | null;
  steps: number | null;
  seed: string;
  count: number;
  options: Record<string, unknown>;
  label: string | null;
  guidance: number | null;
  noise_demo: { timesteps?: number[]; denoiseFrom?: number } | null;
  edit: unknown;
  input_image: Buffer | null;
}

/**
 * A variation, interpolation or inversion row as the raw input it stands for, validated as a submission is
 * (src/jobs/edits.ts rebuilds it, as for a replay); those that start from an image must have stored one.
 */
function validateEdit(r: Row, engine: EngineLike): string | null {
  const row = { kind: r.kind, model: r.model, label: r.label, guidance: r.guidance, count: r.count, edit: r.edit } as RequestRow;
  const between = interpolationInfo(r.kind, r.edit);
  const seeds: [number, number] = [Number(r.seed), between && 'seed' in between.to ? between.to.seed : 0];
  const raw = editInput(row, seeds, { sampler: r.sampler, steps: r.steps, options: r.options });
  if (r.kind === 'vary') engine.validateVariation(raw);
  else if (r.kind === 'invert') engine.validateInversion(raw);
  else if (between?.from) engine.validateImageInterpolation(raw);
  else if ('seed_a' in raw) engine.validateInterpolation(raw);
  else engine.validateLabelInterpolation(raw);
  const needsImage = r.kind !== 'interpolate' || between?.from !== undefined;
  return needsImage && !r.input_image ? 'no stored source image' : null;
}

async function invalidReason(r: Row, engine: EngineLike): Promise<string | null> {
  try {
    if (r.kind === 'generate') {
      engine.validate({
        model: r.model,
        sampler: r.sampler,
        steps: r.steps,
        seed: Number(r.seed),
        count: r.count,
        options: r.options,
        ...(r.label === null ? {} : { label: r.label, guidance: r.guidance ?? undefined }),
      });
      return null;
    }
    const manifest = engine.model(r.model).manifest;
    if (r.kind !== 'noise_demo') {
      const reason = validateEdit(r, engine);
      if (reason) return reason;
      if (r.input_image) await loadImageForModel(r.input_image, manifest.image);
      return null;
    }
    const T = manifest.scheduler.num_train_timesteps;
    const steps = [...(r.noise_demo?.timesteps ?? []), ...(r.noise_demo?.denoiseFrom === undefined ? [] : [r.noise_demo.denoiseFrom])];
    if (steps.some((t) => !Number.isInteger(t) || t < 0 || t >= T)) return `timesteps out of range: ${steps.join(',')}`;
    if (r.input_image) await loadImageForModel(r.input_image, manifest.image);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export async function checkDatabase(db: Queryable, engine: EngineLike): Promise<DatabaseReport> {
  const { rows } = await db.query<Row>(
    'SELECT id, kind, status, model, sampler, steps, seed, count, options, label, guidance, noise_demo, edit, input_image FROM requests',
  );
  const invalid: string[] = [];
  for (const r of rows) {
    const reason = await invalidReason(r, engine);
    if (reason) invalid.push(`${r.id} (${r.kind}, ${r.status}): ${reason}`);
  }
  return { requests: rows.length, invalid, orphans: await unmigratedObjects(db) };
}
