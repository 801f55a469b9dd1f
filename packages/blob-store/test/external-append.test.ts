/**
 * writer.external(): an appender outside JavaScript (the fill's native receive loop) writes the
 * temp file through the writer's descriptor and reports how far it got and the digest it
 * computed. The writer publishes `written` as reported, and verify/commit check the size and
 * that digest as they check their own: a right one commits and indexes the blob, a wrong or
 * missing one fails with nothing indexed and no temp file left. Hand-out is once, and only
 * before any write(); write() is refused after it.
 */
import { writeSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DigestMismatchError, SizeMismatchError, tempDir } from '../src/index.js';
import { blob, useFixtures } from './helpers.js';

const hex = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe('an external appender', () => {
  const fx = useFixtures();

  it('commits what it wrote under the digest it reported, and others see `written` grow as reported', async () => {
    const store = await fx.open({ root: await fx.root() });
    const { bytes, digest } = blob(300_000);
    const writer = await store.beginWrite(digest, { expectedSize: bytes.length });
    const external = writer.external();
    if (external === undefined) throw new Error('no hand-out');
    writeSync(external.fd, bytes, 0, 100_000, 0);
    external.advance(100_000);
    expect(writer.written).toBe(100_000);
    writeSync(external.fd, bytes, 100_000, 200_000, 100_000);
    external.advance(bytes.length);
    external.end(hex(bytes));
    const meta = await writer.commit();
    expect(meta).toMatchObject({ digest, size: bytes.length });
    expect((await readFile(store.path(digest))).equals(bytes)).toBe(true);
    expect(await store.stat(digest)).toMatchObject({ size: bytes.length });
  });

  it('fails on a digest it reports wrong, or none: nothing indexed, no temp file', async () => {
    const store = await fx.open({ root: await fx.root() });
    for (const report of [(b: Buffer) => hex(Buffer.concat([b, Buffer.from('x')])), () => undefined]) {
      const { bytes, digest } = blob(5000);
      const writer = await store.beginWrite(digest);
      const external = writer.external();
      if (external === undefined) throw new Error('no hand-out');
      writeSync(external.fd, bytes, 0, bytes.length, 0);
      external.advance(bytes.length);
      const reported = report(bytes);
      if (reported !== undefined) external.end(reported);
      await expect(writer.commit()).rejects.toBeInstanceOf(DigestMismatchError);
      expect(await store.stat(digest)).toBeUndefined();
      await expect(stat(writer.tempPath)).rejects.toMatchObject({ code: 'ENOENT' });
    }
    expect(await readdir(tempDir(store.root))).toEqual([]);
  });

  it('fails when it wrote fewer bytes than announced, even with the right digest of those', async () => {
    const store = await fx.open({ root: await fx.root() });
    const { bytes, digest } = blob(5000);
    const writer = await store.beginWrite(digest, { expectedSize: 5000 });
    const external = writer.external();
    if (external === undefined) throw new Error('no hand-out');
    writeSync(external.fd, bytes, 0, 4000, 0);
    external.advance(4000);
    external.end(hex(bytes.subarray(0, 4000)));
    await expect(writer.verify()).rejects.toBeInstanceOf(SizeMismatchError);
    expect(await store.stat(digest)).toBeUndefined();
  });

  it('is handed out once, only before any write(), and write() is refused after it', async () => {
    const store = await fx.open({ root: await fx.root() });
    const { bytes, digest } = blob(100);
    const written = await store.beginWrite(digest);
    await written.write(bytes.subarray(0, 10));
    expect(written.external()).toBeUndefined();
    await written.abort();

    const handed = await store.beginWrite(digest);
    expect(handed.external()).toBeDefined();
    expect(handed.external()).toBeUndefined();
    await expect(handed.write(bytes)).rejects.toMatchObject({ code: 'WRITER_CLOSED' });
    await handed.abort();
    expect(await readdir(tempDir(store.root))).toEqual([]);
  });
});
