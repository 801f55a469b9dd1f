/**
 * Opening the LevelDB index, and rebuilding it when it is damaged.
 *
 * A damaged index (a crash of the disk rather than of the process, a restore that missed a
 * file, a CURRENT naming a MANIFEST that is gone) need not stop a cache: only metadata lives
 * there, and every blob file names its digest. So instead of refusing to start:
 *   1. LevelDB's own repair (RepairDB) is run: it rebuilds the MANIFEST from the table and log
 *      files it finds, so most entries — tags, links, access times — usually survive;
 *   2. when the index still does not open, it is moved aside (`index.damaged-<time>`, kept
 *      for a post-mortem, never deleted by regcache) and a new one is created.
 * Either way start-up recovery then re-indexes blob files that have no entry (re-hashed) and
 * drops entries whose file is gone; what is lost (tags) comes back from the upstream as clients
 * ask. Each step is logged at warn. A lock held by another process is never "damage".
 */
import { rename } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import { StoreAccessError, StoreLockedError } from './errors.js';
import type { IndexDb } from './index-db.js';
import type { StoreLogger } from './types.js';

/** What LevelDB says of an index whose files are damaged or missing (not of one it may not read or write). */
const DAMAGED = /corruption|no such file or directory/i;

const repairDb = (path: string): Promise<void> => ClassicLevel.repair(path);

/** Opens (creating if needed) the index at `path`, repairing or replacing a damaged one (`repair`: for tests). */
export async function openIndexDb(path: string, logger: StoreLogger, repair = repairDb): Promise<IndexDb> {
  const first = await tryOpen(path);
  if (first.db !== undefined) return first.db;
  logger.warn({ index: path, error: first.detail }, 'blob-store: the index is damaged; repairing it (LevelDB RepairDB)');
  const repairFailure = await repair(path).then(
    () => undefined,
    (error: unknown) => messageOf(error),
  );
  const repaired = await tryOpen(path);
  if (repaired.db !== undefined) {
    logger.warn({ index: path }, 'blob-store: the index was repaired; blob files without an entry are re-indexed now');
    return repaired.db;
  }
  const aside = `${path}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  await rename(path, aside).catch((error: unknown) => {
    throw new StoreAccessError(path, `the LevelDB index is damaged (${first.detail}) and cannot be moved aside: ${messageOf(error)}`, { cause: error });
  });
  const fresh = await tryOpen(path);
  if (fresh.db === undefined) throw new StoreAccessError(path, `cannot create a new LevelDB index: ${fresh.detail}`);
  logger.warn({ index: path, movedTo: aside, repairError: repairFailure ?? repaired.detail }, 'blob-store: the index could not be repaired; it was moved aside and a new one created: blob files are re-indexed now, tags come back from the upstream');
  return fresh.db;
}

/** The open index; or, for damage, why not. A lock or an access problem is thrown as it is. */
async function tryOpen(path: string): Promise<{ db: IndexDb; detail?: undefined } | { db?: undefined; detail: string }> {
  const db = new ClassicLevel<string, string>(path, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  try {
    await db.open();
    return { db };
  } catch (error) {
    if (isLocked(error)) throw new StoreLockedError(path, { cause: error });
    const detail = error instanceof Error && error.cause instanceof Error ? error.cause.message : messageOf(error);
    if (!DAMAGED.test(detail)) throw new StoreAccessError(path, `cannot open the LevelDB index: ${detail}`, { cause: error });
    return { detail };
  }
}

function isLocked(error: unknown): boolean {
  for (let e: unknown = error; typeof e === 'object' && e !== null; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === 'LEVEL_LOCKED') return true;
  }
  return false;
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
