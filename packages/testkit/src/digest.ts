import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';

/** 'sha256:<hex>' of the bytes. */
export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** 'sha256:<hex>' of a file's content, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return `sha256:${hash.digest('hex')}`;
}

/** The hex part of 'sha256:<hex>'. */
export function digestHex(digest: string): string {
  const colon = digest.indexOf(':');
  return colon < 0 ? digest : digest.slice(colon + 1);
}
