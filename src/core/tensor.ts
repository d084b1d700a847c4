/** A dense float32 tensor in NCHW order: the one shape of data that flows between core, engine and model. */
export interface Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function tensor(data: Float32Array, shape: readonly number[]): Tensor {
  if (data.length !== numel(shape)) {
    throw new Error(`tensor data has ${data.length} values but shape [${shape.join(', ')}] needs ${numel(shape)}`);
  }
  return { data, shape: [...shape] };
}

/** Images [start, end) of a batch along the first axis (a view, no copy). */
export function sliceBatch(t: Tensor, start: number, end: number): Tensor {
  const per = numel(t.shape.slice(1));
  return { data: t.data.subarray(start * per, end * per), shape: [end - start, ...t.shape.slice(1)] };
}

export function concatBatch(parts: readonly Tensor[]): Tensor {
  if (parts.length === 0) throw new Error('concatBatch needs at least one tensor');
  const rest = parts[0]!.shape.slice(1);
  const total = parts.reduce((n, p) => n + p.shape[0]!, 0);
  const data = new Float32Array(total * numel(rest));
  let offset = 0;
  for (const p of parts) {
    data.set(p.data, offset);
    offset += p.data.length;
  }
  return { data, shape: [total, ...rest] };
}
