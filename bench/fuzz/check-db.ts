/**
 * What the database holds after abuse: every request row re-validated by the engine (so nothing
 * malformed was stored), and no schema object beyond the migrations' (whatever options users send).
 */
import type pg from 'pg';
import { countSchemaObjects, unmigratedObjects } from '../../src/db/schema-objects.ts';
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
  input_image: Buffer | null;
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
    'SELECT id, kind, status, model, sampler, steps, seed, count, options, label, guidance, noise_demo, input_image FROM requests',
  );
  const invalid: string[] = [];
  for (const r of rows) {
    const reason = await invalidReason(r, engine);
    if (reason) invalid.push(`${r.id} (${r.kind}, ${r.status}): ${reason}`);
  }
  return { requests: rows.length, invalid, orphans: await unmigratedObjects(db) };
}
