/** The pure parts of the admin operations: gc's choice, image references, platforms, request bodies. */
import { describe, expect, it } from 'vitest';
import type { Digest } from '@regcache/registry-protocol';
import type { BlobMeta } from '@regcache/blob-store';
import { gcRequest, verifyRequest, warmRequest } from '../src/admin-requests.js';
import { planGc } from '../src/gc-plan.js';
import { OperationInputError, parseImageRef, parsePlatform } from '../src/index.js';

const digest = (n: number): Digest => `sha256:${n.toString(16).padStart(64, '0')}` as Digest;
const meta = (n: number, size: number, lastAccess: number): BlobMeta => ({ digest: digest(n), size, createdAt: lastAccess, lastAccess, hits: 0 });
const linked = (...ns: number[]) => new Map(ns.map((n) => [digest(n), ['docker.io/x']] as const));

describe('planGc', () => {
  const now = 1_000_000;
  const base = { now, unlinkedGraceMs: 1000, busy: () => false };

  it('evicts least recently used first, only until the rest fits', () => {
    const metas = [meta(1, 100, now - 10), meta(2, 100, now - 30), meta(3, 100, now - 20)];
    const plan = planGc({ ...base, metas, links: linked(1, 2, 3), maxSize: 150 });
    expect(plan.victims.map((v) => v.digest)).toEqual([digest(2), digest(3)]);
    expect(plan.victims.every((v) => v.reason === 'size')).toBe(true);
    expect(plan.sizeBefore).toBe(300);
  });

  it('drops what is older than maxAge and what nothing links (after the grace period)', () => {
    const metas = [meta(1, 10, now - 5000), meta(2, 10, now - 10), meta(3, 10, now - 2000), meta(4, 10, now - 500)];
    const plan = planGc({ ...base, metas, links: linked(1, 2), maxAge: 3000 });
    expect(plan.victims.map((v) => [v.digest, v.reason])).toEqual([
      [digest(1), 'age'],
      [digest(3), 'unlinked'],
    ]);
  });

  it('never chooses a blob in use, and counts it', () => {
    const metas = [meta(1, 100, now - 30), meta(2, 100, now - 20)];
    const plan = planGc({ ...base, metas, links: linked(1, 2), maxSize: 0, busy: (d) => d === digest(1) });
    expect(plan.victims.map((v) => v.digest)).toEqual([digest(2)]);
    expect(plan.skippedInUse).toBe(1);
  });
});

describe('parseImageRef', () => {
  const upstreams = ['docker.io', 'ghcr.io', '127.0.0.1:5000'];

  it.each([
    ['alpine', 'docker.io', 'alpine', 'docker.io/library/alpine:latest'],
    ['alpine:3.20', 'docker.io', 'alpine', 'docker.io/library/alpine:3.20'],
    ['docker.io/library/alpine:3.20', 'docker.io', 'library/alpine', 'docker.io/library/alpine:3.20'],
    ['ghcr.io/owner/tool:v1', 'ghcr.io', 'owner/tool', 'ghcr.io/owner/tool:v1'],
    ['127.0.0.1:5000/team/app', '127.0.0.1:5000', 'team/app', '127.0.0.1:5000/team/app:latest'],
    [`ghcr.io/owner/tool:v1@sha256:${'a'.repeat(64)}`, 'ghcr.io', 'owner/tool', `ghcr.io/owner/tool@sha256:${'a'.repeat(64)}`],
  ])('%s', (input, upstream, name, display) => {
    expect(parseImageRef(input, upstreams, 'docker.io')).toMatchObject({ upstream, name, display });
  });

  it.each(['quay.io/x/y:1', 'Alpine', 'alpine:bad tag', 'alpine@sha256:zz', ''])('refuses %s', (input) => {
    expect(() => parseImageRef(input, upstreams, 'docker.io')).toThrow(OperationInputError);
  });
});

describe('parsePlatform', () => {
  it('reads os/arch and os/arch/variant, and refuses anything else', () => {
    expect(parsePlatform('linux/arm64')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('linux/arm/v7')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    for (const bad of ['linux', 'linux/', 'a/b/c/d', '/amd64']) expect(() => parsePlatform(bad)).toThrow(OperationInputError);
  });

  it('normalises as containerd does: aliases, case, and each architecture\'s default variant spelt one way', () => {
    expect(parsePlatform('linux/aarch64')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('linux/arm64/v8')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('Linux/X86_64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('linux/x86-64/v1')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('linux/arm')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(parsePlatform('linux/armhf')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(parsePlatform('linux/arm/6')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v6' });
    for (const bad of ['linux/ arm64', 'linux/arm64/', 'linux/arm 64', 'linux/*']) expect(() => parsePlatform(bad)).toThrow(OperationInputError);
  });
});

describe('admin request bodies', () => {
  it('take sizes and ages as numbers or with units', () => {
    expect(gcRequest({ maxSize: '1KiB', maxAge: '2d', dryRun: true })).toEqual({ maxSize: 1024, maxAge: 2 * 86_400_000, dryRun: true });
    expect(gcRequest({ maxSize: 5, maxAge: 10 })).toEqual({ maxSize: 5, maxAge: 10, dryRun: undefined });
    expect(verifyRequest({ sample: 3, repair: false })).toEqual({ sample: 3, repair: false });
    expect(warmRequest({ images: ['alpine'], platform: 'linux/amd64' })).toEqual({ images: ['alpine'], platform: 'linux/amd64' });
  });

  it.each([
    () => gcRequest({ maxSize: 'lots' }),
    () => gcRequest({ maxSize: -1 }),
    () => gcRequest({ maxAge: '0s' }),
    () => gcRequest({ dryRun: 'yes' }),
    () => verifyRequest({ sample: 0 }),
    () => warmRequest({ images: [] }),
    () => warmRequest({ images: ['a'], platform: 3 }),
  ])('refuses bad values (%#)', (parse) => {
    expect(parse).toThrow(OperationInputError);
  });

  it('refuses a size or an age written as a string without its unit (a JSON number is bytes or ms)', () => {
    // "30" was 30 seconds and 30 was 30 ms: a gc meant to keep 30 days of use would remove almost everything.
    expect(() => gcRequest({ maxAge: '30' })).toThrow('"maxAge": "30" has no unit: give one (30d, 12h), or a JSON number of milliseconds');
    expect(() => gcRequest({ maxSize: '50' })).toThrow('"maxSize": "50" has no unit: give one (50GiB, 512MB, 0B), or a JSON number of bytes');
    expect(gcRequest({ maxSize: '0B' })).toEqual({ maxSize: 0, maxAge: undefined, dryRun: undefined });
  });
});
