/**
 * `regcache-admin ls REPOSITORY`'s "tag checked" column: when the upstream last confirmed a tag,
 * or "due" once the tag is past its TTL or expired — the next pull asks the upstream. (After
 * `expire` the stored time is moved back by the TTL: shown, it was a time nothing happened at.)
 */
import { describe, expect, it } from 'vitest';
import type { Inventory, TagInfo } from '@regcache/proxy-core';
import { parseDigest } from '@regcache/registry-protocol';
import { formatInventory } from '../src/verbs/ls.js';

const parsed = parseDigest(`sha256:${'b'.repeat(64)}`);
if (!parsed.ok) throw new Error('a valid digest did not parse');
const checkedAt = Date.UTC(2026, 10, 26, 18, 14, 43);
const tag = (name: string, checkDue: boolean): TagInfo => ({ tag: name, digest: parsed.value, mediaType: 'application/vnd.oci.image.manifest.v1+json', sizeBytes: 1024, lastUsed: checkedAt, fetchedAt: checkedAt, checkDue });
const inventory = (tags: TagInfo[]): Inventory => ({
  filter: 'docker.io/team/api',
  repositories: [{ name: 'docker.io/team/api', upstream: 'docker.io', repository: 'team/api', tags, blobs: 3, sizeBytes: 1024, lastUsed: checkedAt }],
});

describe('ls: tag checked', () => {
  it('shows when the tag was confirmed while it is fresh, and "due" once a pull will ask the upstream', () => {
    const lines = formatInventory(inventory([tag('fresh', false), tag('expired', true)])).split('\n');
    expect(lines.find((l) => l.includes(' fresh '))).toMatch(/2026-11-26 18:14:43Z\s*$/);
    expect(lines.find((l) => l.includes(' expired '))).toMatch(/\sdue\s*$/);
  });
});
