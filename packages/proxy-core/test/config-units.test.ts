/**
 * Sizes and durations in the config carry their unit. `storage.maxSize: 1000` (meant as GiB)
 * was a budget of 1000 bytes, and `storage.maxSize: 0` a budget of nothing: either emptied the
 * cache at the first eviction, and `regcache-admin stats` showed `NaN%` of budget. A bare
 * number is refused for every size and duration (its unit would be a guess), but 0, which is
 * the same in every unit; and the store budget must be more than 0 in any unit.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/index.js';
import { parseIssues } from './config-helpers.js';

const upstream = (extra: Record<string, unknown>) => ({ upstreams: [{ name: 'docker.io', url: 'http://127.0.0.1:5000', ...extra }] });

describe('sizes and durations need their unit', () => {
  it.each<[string, unknown]>([
    ['storage.maxSize', { storage: { maxSize: 1000 } }],
    ['storage.maxSize', { storage: { maxSize: '1000' } }],
    ['fill.detachedMaxSize', { fill: { detachedMaxSize: 4096 } }],
    ['log.maxBuffer', { log: { maxBuffer: '1048576' } }],
  ])('refuses a bare number for %s', (key, input) => {
    expect(parseIssues(input)).toEqual([expect.stringMatching(new RegExp(`^${key.replace('.', '\\.')}: give a unit \\(e\\.g\\. 10GiB, 512MiB\\): is \\d+ bytes, MiB or GiB\\?`))]);
  });

  it.each<[string, unknown]>([
    ['upstreams.0.tagTtl', upstream({ tagTtl: 300 })],
    ['upstreams.0.notFoundTtl', upstream({ notFoundTtl: '60' })],
    ['upstreams.0.timeouts.connect', upstream({ timeouts: { connect: 10 } })],
    ['fill.idleTimeout', { fill: { idleTimeout: 60000 } }],
    ['limits.shutdownTimeout', { limits: { shutdownTimeout: '30' } }],
  ])('refuses a bare number for %s', (key, input) => {
    expect(parseIssues(input)).toEqual([expect.stringMatching(new RegExp(`^${key.replaceAll('.', '\\.')}: give a unit \\(e\\.g\\. 30s, 5m, 1h\\): is \\d+ seconds or milliseconds\\?`))]);
  });

  it('refuses a store budget of 0 in any unit, naming storage.maxSize', () => {
    for (const maxSize of [0, '0', '0B', '0GiB']) {
      expect(parseIssues({ storage: { maxSize } })).toEqual([
        'storage.maxSize: must be more than 0: a budget of 0 would evict everything cached (leave maxSize out for no budget)',
      ]);
    }
  });

  it('takes sizes and durations with units, and a bare 0 where 0 means something', () => {
    const config = parseConfig({
      ...upstream({ tagTtl: '90s', notFoundTtl: 0 }),
      storage: { maxSize: '10GiB' },
      fill: { detachedMaxSize: 0, idleTimeout: '1500ms' },
      log: { maxBuffer: '64KiB' },
      limits: { shutdownTimeout: '0' },
    });
    expect(config.storage.maxSize).toBe(10 * 1024 ** 3);
    expect(config.fill.detachedMaxSize).toBe(0);
    expect(config.fill.idleTimeout).toBe(1500);
    expect(config.upstreams[0]?.tagTtl).toBe(90_000);
    expect(config.upstreams[0]?.notFoundTtl).toBe(0);
    expect(config.limits.shutdownTimeout).toBe(0);
    expect(config.log.maxBuffer).toBe(64 * 1024);
  });
});
