/**
 * Downloading a user's attachment safely: only from Discord's CDN (never a URL someone smuggled in),
 * no redirects, bounded in bytes and time, and checked before a single pixel is decoded.
 */
import type { Attachment } from 'discord.js';
import sharp from 'sharp';
import type { ModelManifest } from '../../model/manifest.ts';
import { ImageInputError, MAX_INPUT_BYTES, MAX_INPUT_SIDE, loadImageForModel } from '../../render/input.ts';
import { UserInputError } from './errors.ts';

export interface DownloadPolicy {
  /** Hostnames allowed over https (Discord's CDN). */
  readonly hosts: readonly string[];
  /** Whole origins allowed as they are (the test fake's http://127.0.0.1:port). */
  readonly origins: readonly string[];
  readonly timeoutMs: number;
  readonly maxBytes: number;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MB`;
}

/** What Discord tells us about the attachment, checked before downloading anything. */
export function checkAttachmentMetadata(attachment: Pick<Attachment, 'size' | 'contentType' | 'width' | 'height' | 'name'>, maxBytes = MAX_INPUT_BYTES): void {
  if (attachment.contentType && !attachment.contentType.startsWith('image/')) {
    throw new ImageInputError(`"${attachment.name}" is not an image (${attachment.contentType}); attach a PNG, JPEG, WebP or GIF`);
  }
  if (attachment.size > maxBytes) {
    throw new ImageInputError(`the image is ${megabytes(attachment.size)}; the limit is ${megabytes(maxBytes)}`);
  }
  if ((attachment.width ?? 0) > MAX_INPUT_SIDE || (attachment.height ?? 0) > MAX_INPUT_SIDE) {
    throw new ImageInputError(`the image is ${attachment.width}x${attachment.height}; the limit is ${MAX_INPUT_SIDE}x${MAX_INPUT_SIDE}`);
  }
}

export function isAllowedAttachmentUrl(url: string, policy: Pick<DownloadPolicy, 'hosts' | 'origins'>): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (policy.origins.includes(parsed.origin)) return true;
  return parsed.protocol === 'https:' && parsed.port === '' && policy.hosts.includes(parsed.hostname);
}

/** The attachment's bytes, or a UserInputError saying why they could not be fetched. */
export async function downloadAttachment(url: string, policy: DownloadPolicy): Promise<Buffer> {
  if (!isAllowedAttachmentUrl(url, policy)) {
    throw new UserInputError('the attachment could not be downloaded: it is not hosted on Discord');
  }
  const signal = AbortSignal.timeout(policy.timeoutMs);
  try {
    const response = await fetch(url, { redirect: 'error', signal });
    if (!response.ok || !response.body) throw new UserInputError(`the attachment could not be downloaded (HTTP ${response.status}); please upload it again`);
    const declared = Number(response.headers.get('content-length') ?? '0');
    if (declared > policy.maxBytes) throw new ImageInputError(`the image is ${megabytes(declared)}; the limit is ${megabytes(policy.maxBytes)}`);
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of response.body) {
      total += chunk.byteLength;
      // Content-Length can lie or be absent: count what actually arrives.
      if (total > policy.maxBytes) {
        await response.body.cancel().catch(() => undefined);
        throw new ImageInputError(`the image is over ${megabytes(policy.maxBytes)}; the limit is ${megabytes(policy.maxBytes)}`);
      }
      chunks.push(Buffer.from(chunk));
    }
    return Buffer.concat(chunks);
  } catch (error) {
    if (error instanceof UserInputError || error instanceof ImageInputError) throw error;
    if (signal.aborted) throw new UserInputError(`the attachment could not be downloaded within ${Math.round(policy.timeoutMs / 1000)} s; please try again`);
    throw new UserInputError('the attachment could not be downloaded; please upload it again');
  }
}

/**
 * Refuses a bad image now, privately, instead of failing the job later. The header is read first
 * without the pixel limit (reading a header decodes nothing) so that a decompression bomb is named
 * as too large (sharp's limit would only report "not an image"); then the image is decoded under
 * sharp's pixel limit as the worker will decode it.
 */
export async function checkImageBytes(bytes: Buffer, manifest: Pick<ModelManifest, 'image'>): Promise<void> {
  const header = await sharp(bytes, { limitInputPixels: false, pages: 1 })
    .metadata()
    .catch(() => null);
  const width = header?.width ?? 0;
  const height = header?.pageHeight ?? header?.height ?? 0;
  if (width > MAX_INPUT_SIDE || height > MAX_INPUT_SIDE) {
    const megapixels = Math.round((width * height) / 1e6);
    throw new ImageInputError(`the image is ${width}x${height} (${megapixels} megapixels); the limit is ${MAX_INPUT_SIDE}x${MAX_INPUT_SIDE}`);
  }
  await loadImageForModel(bytes, manifest.image);
}
