/**
 * Start-up checks of the store's directories, so a misconfigured root fails at start with
 * an error naming the path — not with ENOENT/EACCES on the first pull. (Synchronous-free,
 * like everything here; it runs once.)
 */
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { errnoOf, StoreAccessError } from './errors.js';
import { blobsDir, indexDir, tempDir } from './layout.js';

/**
 * mkdir -p, one level at a time: each missing directory from the first one down gets one plain
 * mkdir, whose errno is the real reason when it fails (EROFS, EACCES, ENOTDIR, …). Not Node's
 * recursive mkdir: where a parent exists but cannot hold children (a path under /proc: mkdir
 * says ENOENT, the parent EEXIST, and again) its asynchronous form loops forever — the server
 * hung at start, silent, its pool threads spinning — and elsewhere it says ENOENT for any missing
 * parent it could not make.
 */
async function makeDir(path: string): Promise<void> {
  const missing: string[] = [];
  for (let dir = path; !(await exists(dir)); dir = dirname(dir)) {
    missing.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  for (const dir of missing) {
    try {
      await mkdir(dir);
    } catch (error) {
      // EEXIST: made meanwhile, or a dangling symlink (the next level then fails with ENOENT).
      if (errnoOf(error) === 'EEXIST') continue;
      const where = dir === path ? '' : ` ${dir}`;
      throw new StoreAccessError(path, `cannot create directory${where} (${errnoOf(error) ?? String(error)})`, { cause: error });
    }
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Writes and removes a probe file: mkdir succeeds on an existing read-only directory. */
async function probeWritable(dir: string): Promise<void> {
  const probe = join(dir, `.probe-${randomBytes(6).toString('hex')}`);
  try {
    await writeFile(probe, '');
    await rm(probe, { force: true });
  } catch (error) {
    throw new StoreAccessError(dir, `not writable (${errnoOf(error) ?? String(error)})`, { cause: error });
  }
}

/**
 * Commit is rename(tmp/x.part → blobs/…), atomic only within one filesystem. If someone
 * mounted or symlinked tmp/ elsewhere, rename would fail with EXDEV on every commit; refuse
 * to start instead.
 */
async function assertSameFilesystem(a: string, b: string): Promise<void> {
  const [sa, sb] = await Promise.all([stat(a), stat(b)]);
  if (sa.dev !== sb.dev) throw new StoreAccessError(b, `must be on the same filesystem as ${a} (commit is a rename)`);
}

/** mkdir -p root, blobs/, tmp/ and index/; checks they are writable and on one filesystem. */
export async function prepareRoot(root: string): Promise<void> {
  await makeDir(root);
  for (const dir of [blobsDir(root), tempDir(root), indexDir(root)]) await makeDir(dir);
  await probeWritable(tempDir(root));
  await probeWritable(blobsDir(root));
  await assertSameFilesystem(blobsDir(root), tempDir(root));
}
