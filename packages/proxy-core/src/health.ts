/**
 * Readiness: the store's index answers, and its disk takes a write (a probe file in the data
 * directory, written, fsynced and removed). Liveness is only "the process answers".
 */
import { randomBytes } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '@regcache/registry-protocol';
import type { GuardedStore } from './guarded-store.js';

export interface Readiness {
  ready: boolean;
  checks: { store: 'ok' | 'failed'; disk: 'ok' | 'failed' };
  inFlightFills: number;
}

/** A digest no content has: its lookup always reaches the index (nothing caches a miss). */
const PROBE_DIGEST = `sha256:${'0'.repeat(64)}` as Digest;

async function storeAnswers(store: GuardedStore): Promise<boolean> {
  try {
    await store.peek(PROBE_DIGEST);
    return true;
  } catch {
    return false;
  }
}

async function diskWritable(root: string): Promise<boolean> {
  const path = join(root, `.readyz-${randomBytes(6).toString('hex')}`);
  try {
    const handle = await open(path, 'wx');
    try {
      await handle.writeFile('ok');
      await handle.sync();
    } finally {
      await handle.close();
    }
    return true;
  } catch {
    return false;
  } finally {
    await rm(path, { force: true }).catch(() => undefined);
  }
}

export async function checkReadiness(store: GuardedStore, inFlightFills: number): Promise<Readiness> {
  const [index, disk] = await Promise.all([storeAnswers(store), diskWritable(store.root)]);
  return { ready: index && disk, checks: { store: index ? 'ok' : 'failed', disk: disk ? 'ok' : 'failed' }, inFlightFills };
}
