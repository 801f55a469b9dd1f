/**
 * A blob body that stalls mid-fill fails the fill within the smaller of the upstream's
 * `timeouts.body` and `fill.idleTimeout` (fill/stall.ts), on every body path: the native receive
 * loop (an http:// upstream, plain-get.ts handing its socket over) and undici (an https://
 * upstream, through testkit's TLS front). Each case makes one limit 1 s and the other 30 s, so
 * a path that kept only one of them waits past the test's bound. The JavaScript plain-get path
 * is fill-stall-js.test.ts (native receive off for its whole file).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTlsFront, type TlsFront } from '@regcache/testkit';
import { nativeReceiveAvailable } from '../src/fill/native-receive.js';
import { useProxiedRegistry } from './helpers.js';
import { describeStallCases, type StallCase } from './stall-helpers.js';

const CASES: StallCase[] = [
  { name: 'http:// (native receive loop), timeouts.body 1s under fill.idleTimeout 30s', body: '1s', idle: '30s', native: true },
  { name: 'http:// (native receive loop), fill.idleTimeout 1s under timeouts.body 30s', body: '30s', idle: '1s', native: true },
  { name: 'https:// (undici), timeouts.body 1s under fill.idleTimeout 30s', tls: true, body: '1s', idle: '30s', native: false },
  { name: 'https:// (undici), fill.idleTimeout 1s under timeouts.body 30s', tls: true, body: '30s', idle: '1s', native: false },
];

describe('a blob body stalled mid-fill', () => {
  const fx = useProxiedRegistry();
  let front: TlsFront;

  beforeAll(async () => {
    front = await startTlsFront(fx().proxy.url);
  }, 60_000);

  afterAll(async () => {
    await front?.stop();
  });

  it('has the native receive loop to test', () => {
    expect(nativeReceiveAvailable()).toBe(true);
  });

  describeStallCases(CASES, () => ({ registry: fx().upstream, proxy: fx().proxy, front }), 'stall');
});
