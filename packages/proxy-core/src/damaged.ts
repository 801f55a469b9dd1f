/**
 * A stored blob or manifest found damaged outside regcache (its file deleted, cut, or changed)
 * when a request goes to serve it: logged, and dropped from the store so that this request and
 * the next fetch it again. A drop the disk refuses does not fail the request: the fetch still
 * runs (and passes through if the disk cannot take it either).
 */
import type { Digest } from '@regcache/registry-protocol';
import type { CacheParts } from './context.js';

export async function dropDamaged(parts: Pick<CacheParts, 'store' | 'logger'>, digest: Digest, kind: 'blob' | 'manifest', found: string): Promise<void> {
  parts.logger.warn({ digest, found }, `stored ${kind} damaged outside regcache: dropped, fetching it again`);
  await parts.store.usage.dropDamaged(digest).catch((error: unknown) => {
    parts.logger.error({ digest, err: String(error) }, `could not drop a damaged ${kind}: fetching it anyway`);
  });
}
