import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BlobStoreError, StoreAccessError, StoreLockedError, createBlobStore, indexDir, type StoreLogger } from '../src/index.js';
import { openIndexDb } from '../src/open-index.js';
import { blob, useFixtures } from './helpers.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** A separate node process holding the LevelDB lock of `dir` until its stdin closes. */
async function holdLockInChild(dir: string): Promise<{ release(): Promise<void> }> {
  const script = `
    import { ClassicLevel } from 'classic-level';
    const db = new ClassicLevel(process.argv[1]);
    await db.open();
    process.stdout.write('locked\\n');
    process.stdin.resume();
    process.stdin.on('end', async () => { await db.close(); process.exit(0); });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, dir], { cwd: packageDir, stdio: ['pipe', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  expect(line.toString()).toContain('locked');
  return {
    async release() {
      const exited = once(child, 'exit');
      child.stdin.end();
      await exited;
    },
  };
}

describe('opening a store', () => {
  const fx = useFixtures();

  it('refuses a second instance on the same root with StoreLockedError', async () => {
    const root = await fx.root();
    await fx.open({ root });
    const error = await createBlobStore({ root }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreLockedError);
    expect(error).toMatchObject({ code: 'STORE_LOCKED', path: indexDir(root) });
    // Either may hold it: a server, or regcache-admin working offline.
    expect((error as Error).message).toMatch(/regcache server .*regcache-admin command/);
  });

  /** A store with one blob and one tag, closed, its index then damaged by `damage`. */
  async function damagedStore(damage: (index: string, files: string[]) => Promise<void>): Promise<{ root: string; kept: ReturnType<typeof blob> }> {
    const root = await fx.root();
    const store = await fx.open({ root });
    const kept = blob(3000);
    await store.putBytes(kept.digest, kept.bytes);
    await store.putTag('docker.io', 'team/app', 'v1', { digest: kept.digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 3000, fetchedAt: 1 });
    await store.close();
    await damage(indexDir(root), await readdir(indexDir(root)));
    return { root, kept };
  }

  const captured = (): { logger: StoreLogger; lines: string[] } => {
    const lines: string[] = [];
    const ignore = (): void => undefined;
    return { lines, logger: { info: ignore, debug: ignore, error: ignore, warn: (_o, msg) => void lines.push(msg ?? '') } };
  };

  it.each([
    ['CURRENT names a MANIFEST that is gone', (index: string) => writeFile(join(index, 'CURRENT'), 'MANIFEST-999999\n')],
    ['the MANIFEST is gone', (index: string, files: string[]) => Promise.all(files.filter((f) => f.startsWith('MANIFEST')).map((f) => rm(join(index, f)))).then(() => undefined)],
  ])('repairs a damaged index by itself (%s): blob and tag kept, logged', async (_label, damage) => {
    const { root, kept } = await damagedStore(damage);
    const { logger, lines } = captured();
    const store = await fx.open({ root, logger });
    expect(await store.stat(kept.digest)).toMatchObject({ size: 3000 });
    expect(await store.getTag('docker.io', 'team/app', 'v1')).toMatchObject({ digest: kept.digest });
    expect(lines).toEqual(['blob-store: the index is damaged; repairing it (LevelDB RepairDB)', 'blob-store: the index was repaired; blob files without an entry are re-indexed now']);
  });

  it('repairs an index whose every file is garbage: the blob file is indexed again (the tag is lost)', async () => {
    const { root, kept } = await damagedStore((index, files) => Promise.all(files.filter((f) => f !== 'LOCK').map((f) => writeFile(join(index, f), 'garbage'.repeat(100)))).then(() => undefined));
    const store = await fx.open({ root });
    expect(await store.stat(kept.digest)).toMatchObject({ size: 3000 });
    expect(await store.getTag('docker.io', 'team/app', 'v1')).toBeUndefined();
  });

  it('moves aside an index that repair cannot fix, creates a new one, and indexes the blob files again', async () => {
    const { root, kept } = await damagedStore((index) => writeFile(join(index, 'CURRENT'), 'MANIFEST-999999\n'));
    const { logger, lines } = captured();
    const db = await openIndexDb(indexDir(root), logger, async () => undefined);
    await db.close();
    expect(lines.at(-1)).toMatch(/could not be repaired; it was moved aside and a new one created/);
    const aside = (await readdir(dirname(indexDir(root)))).filter((name) => name.startsWith('index.damaged-'));
    expect(aside).toHaveLength(1);
    const store = await fx.open({ root });
    expect(await store.stat(kept.digest)).toMatchObject({ size: 3000 });
  });

  it('refuses a root whose index another process holds', async () => {
    const root = await fx.root();
    await (await fx.open({ root })).close();
    const holder = await holdLockInChild(indexDir(root));
    try {
      await expect(createBlobStore({ root })).rejects.toBeInstanceOf(StoreLockedError);
    } finally {
      await holder.release();
    }
    await (await fx.open({ root })).close();
  });

  it('names the path when the root cannot be created (a file where a directory should be)', async () => {
    const parent = await fx.root();
    await mkdir(parent, { recursive: true });
    const file = join(parent, 'not-a-dir');
    await writeFile(file, 'x');
    const root = join(file, 'store');
    const error = await createBlobStore({ root }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreAccessError);
    expect(error).toBeInstanceOf(BlobStoreError);
    expect((error as Error).message).toContain(root);
  });

  it('fails at once, naming the reason, where a parent exists but cannot hold a directory (/proc, a dangling symlink)', async () => {
    // Node's recursive mkdir never settles on the /proc path: the store did not start, and said nothing.
    const proc = join('/proc', String(process.pid), 'regcache-store');
    await expect(createBlobStore({ root: proc })).rejects.toThrow(`blob store directory ${proc} is not usable: cannot create directory (ENOENT)`);
    const parent = await fx.root();
    await mkdir(parent, { recursive: true });
    await symlink(join(parent, 'unmounted'), join(parent, 'link'));
    const root = join(parent, 'link', 'cache', 'store');
    await expect(createBlobStore({ root })).rejects.toThrow(`cannot create directory ${join(parent, 'link', 'cache')} (ENOENT)`);
  });

  it('closes idempotently and refuses writes after close', async () => {
    const store = await fx.open({ root: await fx.root() });
    await Promise.all([store.close(), store.close()]);
    await store.close();
    await expect(store.beginWrite(blob(1).digest)).rejects.toMatchObject({ code: 'STORE_CLOSED' });
  });
});
