/**
 * fill-stall.test.ts for the JavaScript plain-get path: an http:// upstream's blob body read by
 * plain-body.ts and the fill's stream path, as when the native receive loop is not built or is
 * turned off (REGCACHE_NATIVE_RECEIVE=0, set for this file before native-receive.ts loads). A
 * stall fails the fill within the smaller of `timeouts.body` (the socket's idle timeout) and
 * `fill.idleTimeout` (the fill's stall clock), as the upstream's timeout.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { nativeReceiveAvailable } from '../src/fill/native-receive.js';
import { useProxiedRegistry } from './helpers.js';
import { describeStallCases, type StallCase } from './stall-helpers.js';

// Before the imports above are evaluated (vi.hoisted runs first); undone after the file.
vi.hoisted(() => vi.stubEnv('REGCACHE_NATIVE_RECEIVE', '0'));

const CASES: StallCase[] = [
  { name: 'timeouts.body 1s under fill.idleTimeout 30s', body: '1s', idle: '30s', native: false },
  { name: 'fill.idleTimeout 1s under timeouts.body 30s', body: '30s', idle: '1s', native: false },
];

describe('a blob body stalled mid-fill, read by the JavaScript plain-get path', () => {
  const fx = useProxiedRegistry();
  afterAll(() => {
    vi.unstubAllEnvs();
  });

  it('runs with the native receive loop off', () => {
    expect(nativeReceiveAvailable()).toBe(false);
  });

  describeStallCases(CASES, () => ({ registry: fx().upstream, proxy: fx().proxy }), 'stall-js');
});
