/**
 * A manifest's body from the upstream, as the bytes its digest names. regcache asks with
 * `Accept-Encoding: identity`, yet an upstream — more often a CDN in front of it — may still
 * compress the answer: Go's HTTP client (skopeo, docker, containerd) undoes gzip without a
 * word, so such an upstream looks healthy to everyone but a client that hashes what arrived.
 * gzip, deflate and br are decoded here; any other coding is content regcache cannot read.
 * The 4 MiB cap holds for the decoded bytes as well as for those on the wire: a few KiB of
 * gzip can inflate to gigabytes, so decoding stops at the cap rather than after it.
 */
import { promisify } from 'node:util';
import { brotliDecompress, gunzip, inflate, inflateRaw } from 'node:zlib';
import { UnsupportedManifestError, UpstreamContentError } from './errors.js';
import type { UpstreamResponse } from './upstream/client.js';
import { readBodyCapped } from './upstream/responses.js';

/** distribution refuses manifests over 4 MiB; so does regcache. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** Sent with every manifest request: the stored bytes, whose digest is the manifest's, and nothing to undo. */
export const IDENTITY_ENCODING: Readonly<Record<string, string>> = Object.freeze({ 'accept-encoding': 'identity' });

/** More codings than this on one body is not a CDN being helpful. */
const MAX_CODINGS = 2;

type Decoder = (bytes: Buffer, options: { maxOutputLength: number }) => Promise<Buffer>;

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);
const inflateRawAsync = promisify(inflateRaw);

/** HTTP's "deflate" is zlib-wrapped (RFC 9110 §8.4.1.2), but some servers send raw deflate: both are read. */
const inflateEither: Decoder = (bytes, options) =>
  inflateAsync(bytes, options).catch((error: unknown) => {
    if ((error as { code?: string }).code !== 'Z_DATA_ERROR') throw error;
    return inflateRawAsync(bytes, options);
  });

const DECODERS: ReadonlyMap<string, Decoder> = new Map<string, Decoder>([
  ['gzip', gunzipAsync],
  ['x-gzip', gunzipAsync],
  ['deflate', inflateEither],
  ['br', promisify(brotliDecompress)],
]);

export function manifestTooLarge(upstream: string): UnsupportedManifestError {
  const limit = `${MAX_MANIFEST_BYTES / (1024 * 1024)} MiB`;
  return new UnsupportedManifestError(upstream, 'too-large', `upstream ${upstream} sent a manifest larger than ${limit}, the most regcache (like distribution) accepts`);
}

/** The body read with the cap, then decoded coding by coding, last applied first (RFC 9110 §8.4). */
export async function readManifestBody(res: Pick<UpstreamResponse, 'headers' | 'body'>, upstream: string): Promise<Buffer> {
  const codings = contentCodings(res.headers['content-encoding']);
  const unknown = codings.find((coding) => !DECODERS.has(coding));
  if (unknown !== undefined || codings.length > MAX_CODINGS) {
    await res.body.dump();
    const named = (unknown ?? codings.join(', ')).slice(0, 64);
    throw new UpstreamContentError(upstream, `upstream ${upstream} sent the manifest with Content-Encoding "${named}", which regcache cannot decode`);
  }
  let bytes = await readBodyCapped(res.body, MAX_MANIFEST_BYTES, upstream);
  if (bytes === undefined) throw manifestTooLarge(upstream);
  for (const coding of codings.reverse()) bytes = await decode(coding, bytes, upstream);
  return bytes;
}

/** The codings named, in the order applied, `identity` left out (it changes nothing). */
function contentCodings(header: string | string[] | undefined): string[] {
  const joined = Array.isArray(header) ? header.join(',') : (header ?? '');
  return joined
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
}

async function decode(coding: string, bytes: Buffer, upstream: string): Promise<Buffer> {
  const decoder = DECODERS.get(coding);
  if (decoder === undefined) throw new UpstreamContentError(upstream, `upstream ${upstream} sent a manifest in an unknown coding`);
  try {
    return await decoder(bytes, { maxOutputLength: MAX_MANIFEST_BYTES });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw manifestTooLarge(upstream);
    throw new UpstreamContentError(upstream, `upstream ${upstream} sent a manifest marked ${coding} that does not decode as ${coding}`);
  }
}
