/**
 * `--image` for the CLI: the file's size is checked before a byte of it is read, so an empty file
 * gets a one-line answer and a huge one costs no memory (the engine re-checks the bytes it gets).
 */
import { readFile, stat } from 'node:fs/promises';
import { ImageInputError, MAX_INPUT_BYTES } from '../render/input.ts';

export async function readImageFile(file: string, flag = '--image'): Promise<Buffer> {
  const size = await stat(file).then(
    (s) => (s.isFile() ? s.size : null),
    () => null,
  );
  if (size === null) throw new ImageInputError(`${flag} ${file}: cannot read it (not an existing file)`);
  if (size === 0) throw new ImageInputError(`${flag} ${file}: the file is empty (0 bytes)`);
  if (size > MAX_INPUT_BYTES) throw new ImageInputError(`${flag} ${file}: the image is ${(size / 1048576).toFixed(1)} MB; the limit is 10 MB`);
  return readFile(file).catch(() => Promise.reject(new ImageInputError(`${flag} ${file}: cannot read it`)));
}
