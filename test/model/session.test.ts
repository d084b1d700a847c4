import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readManifest } from '../../src/model/manifest.ts';
import { planProviders } from '../../src/model/providers.ts';
import { NoiseModel } from '../../src/model/session.ts';

const fixtures = path.resolve(import.meta.dirname, '../fixtures');

async function variant(edit: (manifest: Record<string, unknown>) => void): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ddpm-model-'));
  await cp(path.join(fixtures, 'tiny'), dir, { recursive: true });
  const manifest = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as Record<string, unknown>;
  edit(manifest);
  await writeFile(path.join(dir, 'model.json'), JSON.stringify(manifest));
  return dir;
}

describe('model manifest and ONNX session', () => {
  it('loads the fixture on the CPU provider and predicts a batch of the sample shape', async () => {
    const dir = path.join(fixtures, 'tiny');
    const model = await NoiseModel.load(dir, await readManifest(dir), { executionProvider: 'cpu' });
    expect(model.provider).toBe('cpu');
    const sample = { data: Float32Array.from({ length: 3 * 64 }, (_, i) => Math.cos(i)), shape: [3, 1, 8, 8] };
    const out = await model.predict(sample, 500);
    expect(out.shape).toEqual([3, 1, 8, 8]);
    // The timestep is an input of the network: another t gives another prediction.
    const other = await model.predict(sample, 10);
    expect(Array.from(other.data)).not.toEqual(Array.from(out.data));
    await model.close();
  });

  it('feeds an int64 timestep input the nearest integer of a fractional timestep (ties to even)', async () => {
    const dir = path.join(fixtures, 'tiny');
    const model = await NoiseModel.load(dir, await readManifest(dir), { executionProvider: 'cpu' });
    const sample = { data: Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)), shape: [1, 1, 8, 8] };
    const at = async (t: number) => Array.from((await model.predict(sample, t)).data);
    expect(await at(946.42)).toEqual(await at(946));
    expect(await at(946.5)).toEqual(await at(946));
    expect(await at(947.5)).toEqual(await at(948));
    expect(await at(946.6)).not.toEqual(await at(946));
    await model.close();
  });

  it('falls back explicitly from cuda to cpu when the CUDA provider is not installed, and says why', async () => {
    const dir = path.join(fixtures, 'tiny');
    const file = path.join(dir, 'model.onnx');
    expect((await planProviders('cpu', file)).candidates).toEqual(['cpu']);
    // This host has no CUDA library (ONNXRUNTIME_NODE_INSTALL=cuda12 was not used): CUDA is not even tried.
    const plan = await planProviders('cuda', file);
    expect(plan.candidates.at(-1)).toBe('cpu');
    expect(plan.skipped[0]).toMatch(/^cuda: not installed \(ONNXRUNTIME_NODE_INSTALL=cuda12/);
    const model = await NoiseModel.load(dir, await readManifest(dir), { executionProvider: 'cuda' });
    expect(model.provider).toBe('cpu');
    expect(model.passedOver[0]).toMatch(/^cuda: not installed/);
    await model.close();
  });

  it('rejects a manifest that does not match the graph, naming the file and the mismatch', async () => {
    const dir = await variant((m) => {
      m['image'] = { channels: 3, height: 8, width: 8 };
    });
    await expect(NoiseModel.load(dir, await readManifest(dir))).rejects.toThrow(
      new RegExp(`${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/model.onnx: input "sample" is \\[N, 1, 8, 8\\] but model.json says \\[N, 3, 8, 8\\]`),
    );
  });

  it('rejects an invalid manifest with the field at fault', async () => {
    const dir = await variant((m) => {
      (m['scheduler'] as Record<string, unknown>)['beta_schedule'] = 'cubic';
    });
    await expect(readManifest(dir)).rejects.toThrow(/model.json: invalid manifest \(scheduler.beta_schedule: Invalid enum value/);
    await writeFile(path.join(dir, 'model.json'), '{ not json');
    await expect(readManifest(dir)).rejects.toThrow(/model.json: .*JSON/);
  });

  it('refuses a conditioning block whose groups do not name one group per class', async () => {
    const dir = await variant((m) => {
      m['conditioning'] = { type: 'class', classes: ['a', 'b', 'c'], null_class: 3, default_guidance_scale: 2, groups: ['A', 'B'] };
    });
    await expect(readManifest(dir)).rejects.toThrow(/conditioning.groups: groups must name one group per class/);
  });

  it('treats NaN or Inf output as an error, not an image', async () => {
    const dir = path.join(fixtures, 'broken', 'nan');
    const model = await NoiseModel.load(dir, await readManifest(dir));
    await expect(model.predict({ data: new Float32Array(64), shape: [1, 1, 8, 8] }, 3)).rejects.toThrow(/non-finite value at timestep 3/);
    await model.close();
  });
});
