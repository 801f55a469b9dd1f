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

/** An error of a file system call (an errno and the call), not of the store's own logic or index. */
export function isFsError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && typeof (error as NodeJS.ErrnoException).syscall === 'string';
}

/**
 * A stored blob or manifest whose file is there but cannot be read (EIO from a failing disk, a
 * path that no longer resolves): a disk error, counted and logged, and the request goes to the
 * upstream as a miss. The entry stays — the disk may recover, and a fill that stores the blob
 * again replaces the file. Always false: the stored copy cannot answer.
 */
export function storedUnreadable(parts: Pick<CacheParts, 'stats' | 'logger'>, digest: Digest, kind: 'blob' | 'manifest', error: unknown): false {
  parts.stats.add('diskErrors', undefined);
  parts.logger.error({ digest, err: String(error) }, `stored ${kind} unreadable: fetching it from the upstream`);
  return false;
}
