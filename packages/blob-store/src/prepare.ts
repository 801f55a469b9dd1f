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

async function makeDir(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
  } catch (error) {
    throw new StoreAccessError(path, `cannot create directory (${await mkdirFailure(path, error)})`, { cause: error });
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Why `mkdir -p path` failed. Node's recursive mkdir says ENOENT whenever a missing parent
 * cannot be made — on a read-only mount too — so a plain mkdir of the first missing directory
 * is asked for the real reason (EROFS, EACCES, …).
 */
async function mkdirFailure(path: string, error: unknown): Promise<string> {
  const code = errnoOf(error) ?? String(error);
  if (code !== 'ENOENT') return code;
  let first = path;
  while (dirname(first) !== first && !(await exists(dirname(first)))) first = dirname(first);
  try {
    await mkdir(first);
    return code;
  } catch (plain) {
    return errnoOf(plain) ?? code;
  }
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
