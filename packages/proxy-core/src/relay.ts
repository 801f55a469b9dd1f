/**
 * A blob the store cannot even begin to keep — its temp file cannot be created: the filesystem
 * was remounted read-only under the server (ext4's `errors=remount-ro`), it is out of inodes,
 * tmp/ is not writable — goes straight from the upstream to the one client that asked, hashed
 * on the way, and nothing is stored. A cache whose disk has failed still answers like a proxy.
 *
 * The same promise as a fill's (fill/follow.ts): nothing wrong is ever served
 * complete-looking. The last chunk is held back until the size and the digest check out; when
 * they do not, the response is cut short of its Content-Length.
 *
 * Not coalesced: each client that asks while the disk refuses gets its own upstream fetch (a
 * fill in pass-through, fill/passthrough.ts, needs its clients at its start). A Range is
 * answered with the whole blob (a server may ignore Range): the digest needs every byte.
 */
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { digestAlgorithm, type Digest } from '@regcache/registry-protocol';
import { DigestMismatchError, SizeMismatchError } from '@regcache/blob-store';
import type { CacheParts, RequestState } from './context.js';
import { answerNotModified, setBlobHeaders } from './headers.js';
import type { FillSource } from './fill/types.js';

/** Passes bytes on one chunk late; on a mismatch the held chunk never goes out. */
function verifyHoldingLast(digest: Digest, size: number | undefined, counted: (bytes: number) => void): Transform {
  const hash = createHash(digestAlgorithm(digest));
  let held: Buffer | undefined;
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      total += chunk.length;
      const previous = held;
      held = chunk;
      if (previous !== undefined) counted(previous.length);
      callback(null, previous);
    },
    flush(callback) {
      if (size !== undefined && total !== size) return callback(new SizeMismatchError(size, total));
      if (`${digestAlgorithm(digest)}:${hash.digest('hex')}` !== digest) return callback(new DigestMismatchError(digest, 'the bytes relayed'));
      if (held !== undefined) counted(held.length);
      callback(null, held);
    },
  });
}

/**
 * Answers `rs` from `open` (the upstream's body of the blob), storing nothing; `cause` is the
 * store's refusal, logged and counted as a disk error.
 */
export async function relayBlob(parts: CacheParts, rs: RequestState, digest: Digest, open: (signal: AbortSignal) => Promise<FillSource>, cause: unknown): Promise<void> {
  parts.stats.add('diskErrors', undefined);
  parts.logger.error({ digest, err: String(cause) }, 'disk write failed: relaying the blob to its client without storing it');
  // The relay is the client's own: a client that leaves stops it, before or after the answer.
  const controller = new AbortController();
  const gone = (): void => controller.abort(new Error('client gone'));
  rs.res.once('close', gone);
  try {
    // A client gone before the upstream answered stopped its own relay: nothing to answer, no error.
    const source = await open(controller.signal).catch((error: unknown) => {
      if (controller.signal.aborted) return undefined;
      throw error;
    });
    if (source === undefined) return;
    rs.cache = 'miss';
    parts.stats.add('misses', rs.upstream.config.name);
    if (answerNotModified(rs.req, rs.res, digest, 'blob', rs.cache)) return await source.body.dump();
    setBlobHeaders(rs.res, digest, source.mediaType, source.size);
    rs.res.setHeader('x-regcache-cache', rs.cache);
    const verify = verifyHoldingLast(digest, source.size, (bytes) => {
      rs.bytes += bytes;
    });
    await pipeline(source.body, verify, rs.res, { signal: controller.signal }).catch((error: unknown) => {
      rs.res.destroy();
      if (!(error instanceof DigestMismatchError || error instanceof SizeMismatchError)) return;
      // distrust counts it: the sender's content error (blobs.ts, mismatched).
      source.distrust?.();
      parts.logger.warn({ digest, err: String(error) }, 'relay failed');
    });
    parts.stats.add('bytesFromUpstream', rs.upstream.config.name, rs.bytes);
  } finally {
    rs.res.off('close', gone);
  }
}
