/**
 * `regcache-admin rm`'s human output says what happened to the named repositories' links
 * (proxy-core's `linksDropped`, counted in test/remove-shared.test.ts): a purge that kept the
 * content for another image still stops these repositories serving it.
 */
import { describe, expect, it } from 'vitest';
import type { RemoveResult } from '@regcache/proxy-core';
import { parseDigest, type Digest } from '@regcache/registry-protocol';
import { formatRm } from '../src/verbs/rm.js';

const image = 'docker.io/team/api:1';
const parsed = parseDigest(`sha256:${'a'.repeat(64)}`);
if (!parsed.ok) throw new Error('a valid digest did not parse');
const digest: Digest = parsed.value;
const base: RemoveResult = {
  dryRun: false,
  purge: true,
  images: [{ image, repository: 'docker.io/team/api', digest, tags: [image] }],
  notFound: [],
  tagsForgotten: [image],
  removed: [],
  freedBytes: 0,
  keptShared: 3,
  skippedInUse: 0,
  retry: [],
  linksDropped: 3,
};

describe('rm output', () => {
  it('counts the links dropped, as done or as a dry run would', () => {
    expect(formatRm(base)).toContain('  dropped 3 links of these repositories to blobs kept for other images or not stored\n');
    expect(formatRm({ ...base, dryRun: true })).toContain('  would drop 3 links of these repositories');
  });

  it('says nothing of links when none went', () => {
    expect(formatRm({ ...base, linksDropped: 0 })).not.toContain('link');
  });
});
