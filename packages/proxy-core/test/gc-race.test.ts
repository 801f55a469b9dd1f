/**
 * gc's second look (gc.ts, removePlan): a layer that was free when gc chose its image but is in
 * use when its turn to go comes (a pull started meanwhile) stays, and so does the manifest
 * naming it — the image stays nameable, counted as in use, for a later run to finish. On a real
 * blob store; "in use at removal" is a fill of that layer that starts after the plan.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createBlobStore, type BlobStore } from '@regcache/blob-store';
import type { Digest } from '@regcache/registry-protocol';
import { tempDir } from '@regcache/testkit';
import { guardStore } from '../src/guarded-store.js';
import { runGc } from '../src/gc.js';

const opened: BlobStore[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

const digestOf = (bytes: Buffer): Digest => `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;

describe('gc: a blob found in use at removal', () => {
  it('keeps that layer and its manifest, removes the rest of the plan, and counts it in use', async () => {
    const inner = await createBlobStore({ root: await tempDir('gc-race') });
    opened.push(inner);
    const store = guardStore(inner, { commitPinMs: 0, lookPinMs: 0 });
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const [layer, other] = [randomBytes(32 * 1024), randomBytes(16 * 1024)];
    const descriptor = (bytes: Buffer, mediaType: string) => ({ mediaType, digest: digestOf(bytes), size: bytes.length });
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: descriptor(config, 'application/vnd.oci.image.config.v1+json'),
        layers: [descriptor(layer, 'application/vnd.oci.image.layer.v1.tar')],
      }),
    );
    for (const [bytes, mediaType] of [[config, 'application/vnd.oci.image.config.v1+json'], [layer, 'application/octet-stream'], [other, 'application/octet-stream'], [manifest, 'application/vnd.oci.image.manifest.v1+json']] as const) {
      await store.putBytes(digestOf(bytes), bytes, { mediaType });
      await store.link('docker.io', 'race/app', digestOf(bytes));
    }
    // The plan sees nothing in flight; from the first removal on, a fill of the layer runs.
    let planned = false;
    const inFlight = (): Digest[] => {
      const now = planned ? [digestOf(layer)] : [];
      planned = true;
      return now;
    };
    const result = await runGc({ store, inFlight }, { maxSize: 0 });
    const stored = async (bytes: Buffer): Promise<boolean> => (await store.stat(digestOf(bytes))) !== undefined;
    expect(await stored(layer)).toBe(true);
    expect(await stored(manifest)).toBe(true);
    expect(await stored(other)).toBe(false);
    expect(result.removed.map((r) => r.digest)).not.toContain(digestOf(manifest));
    expect(result.removed.map((r) => r.digest)).toContain(digestOf(other));
    expect(result.skippedInUse).toBe(2);
  });
});
