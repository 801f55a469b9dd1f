/**
 * Durations that become timers are refused at start, naming their key, when a timer cannot
 * keep them: over 2^31 - 1 ms Node sets the timer to 1 ms (a shutdownTimeout of "100d" cut
 * every pull at once, a keepAliveTimeout of "9999d" every idle connection), and 0, which meant
 * "at once" to one code path and "never" to another — `limits.headersTimeout: 0` stopped the
 * server with the addon's "replayStart(): bad arguments". Durations that are only compared
 * with a clock (tagTtl, notFoundTtl) keep any length, and 0.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/index.js';

const upstream = (extra: Record<string, unknown>) => ({ upstreams: [{ name: 'docker.io', url: 'http://127.0.0.1:5000', ...extra }] });

function issuesOf(input: unknown): Array<{ path: string; message: string }> {
  try {
    parseConfig(input);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.issues];
    throw error;
  }
  return [];
}

describe('durations that become timers', () => {
  it.each<[string, unknown]>([
    ['limits.headersTimeout', { limits: { headersTimeout: 0 } }],
    ['limits.requestTimeout', { limits: { requestTimeout: '0s', headersTimeout: '0s' } }],
    ['limits.keepAliveTimeout', { limits: { keepAliveTimeout: 0 } }],
    ['fill.idleTimeout', { fill: { idleTimeout: '0ms' } }],
    ['upstreams.0.timeouts.connect', upstream({ timeouts: { connect: 0 } })],
    ['upstreams.0.timeouts.body', upstream({ timeouts: { body: '0s' } })],
  ])('refuses 0 for %s', (key, input) => {
    expect(issuesOf(input)).toContainEqual({ path: key, message: 'must be more than 0 (e.g. 30s)' });
  });

  it.each<[string, unknown]>([
    ['limits.shutdownTimeout', { limits: { shutdownTimeout: '100d' } }],
    ['limits.keepAliveTimeout', { limits: { keepAliveTimeout: '9999d' } }],
    ['fill.idleTimeout', { fill: { idleTimeout: '25d' } }],
    ['upstreams.0.timeouts.headers', upstream({ timeouts: { headers: '2147483648ms' } })],
  ])('refuses more than a timer keeps for %s', (key, input) => {
    const issues = issuesOf(input);
    expect(issues.map((i) => i.path)).toContain(key);
    expect(issues.find((i) => i.path === key)?.message).toMatch(/^too long: \d+ ms; at most 2147483647 ms/);
  });

  it('takes the longest a timer keeps, 0 for shutdownTimeout (cut at once), and any length or 0 for tagTtl and notFoundTtl', () => {
    const config = parseConfig({
      ...upstream({ tagTtl: '400d', notFoundTtl: 0, timeouts: { connect: '2147483647ms' } }),
      limits: { shutdownTimeout: 0, keepAliveTimeout: '24d' },
    });
    expect(config.limits.shutdownTimeout).toBe(0);
    expect(config.limits.keepAliveTimeout).toBe(24 * 86_400_000);
    expect(config.upstreams[0]?.timeouts.connect).toBe(2 ** 31 - 1);
    expect(config.upstreams[0]?.tagTtl).toBe(400 * 86_400_000);
    expect(issuesOf(upstream({ tagTtl: 0 }))).toEqual([]);
  });
});
