import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onProcessExit, removeQuietly } from './cleanup.js';

const created = new Set<string>();
let hookInstalled = false;

/** True when REGCACHE_KEEP_TMP=1: temp dirs are left behind for inspection. */
function keepTemp(): boolean {
  return process.env['REGCACHE_KEEP_TMP'] === '1';
}

function ensureExitHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  onProcessExit(() => {
    if (keepTemp()) return;
    for (const dir of created) removeQuietly(dir);
    created.clear();
  });
}

/**
 * Creates a fresh directory under os.tmpdir() (`regcache-<prefix>-XXXXXX`). Every directory
 * made here is removed when the process exits (unless REGCACHE_KEEP_TMP=1), or earlier by
 * removeTempDirs().
 */
export async function tempDir(prefix: string): Promise<string> {
  ensureExitHook();
  const safe = prefix.replace(/[^A-Za-z0-9_.-]/g, '-');
  const dir = await mkdtemp(join(tmpdir(), `regcache-${safe}-`));
  created.add(dir);
  return dir;
}

/** Removes every directory tempDir() created so far (e.g. in an afterAll). */
export async function removeTempDirs(): Promise<void> {
  const dirs = [...created];
  created.clear();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
}
