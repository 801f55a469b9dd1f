import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDigest, type Digest } from '@regcache/registry-protocol';
import { blobPath, indexDir, tempDir } from '../src/index.js';
import { digestOf, useFixtures } from './helpers.js';

function digest(s: string): Digest {
  const parsed = parseDigest(s);
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}

describe('layout', () => {
  const fx = useFixtures();
  const hex256 = `ab${'0'.repeat(62)}`;
  const hex512 = `9f${'1'.repeat(126)}`;

  it('puts a sha256 blob at blobs/sha256/<first two hex>/<hex>', () => {
    expect(blobPath('/srv/cache', digest(`sha256:${hex256}`))).toBe(`/srv/cache/blobs/sha256/ab/${hex256}`);
  });

  it('puts a sha512 blob under blobs/sha512', () => {
    expect(blobPath('/srv/cache', digest(`sha512:${hex512}`))).toBe(`/srv/cache/blobs/sha512/9f/${hex512}`);
  });

  it('names the temp and index directories', () => {
    expect(tempDir('/srv/cache')).toBe('/srv/cache/tmp');
    expect(indexDir('/srv/cache')).toBe('/srv/cache/index');
  });

  it('creates exactly that tree on disk', async () => {
    const root = await fx.root();
    const store = await fx.open({ root });
    const bytes = Buffer.from('layout');
    const d256 = digestOf(bytes);
    const d512 = digestOf(bytes, 'sha512');
    await store.putBytes(d256, bytes);
    await store.putBytes(d512, bytes);
    expect((await readdir(root)).sort()).toEqual(['blobs', 'index', 'tmp']);
    expect((await readdir(join(root, 'blobs'))).sort()).toEqual(['sha256', 'sha512']);
    const hex = d512.slice('sha512:'.length);
    expect(await readdir(join(root, 'blobs', 'sha512', hex.slice(0, 2)))).toEqual([hex]);
    expect(store.path(d256)).toBe(blobPath(root, d256));
    expect(await readdir(tempDir(root))).toEqual([]);
  });
});
