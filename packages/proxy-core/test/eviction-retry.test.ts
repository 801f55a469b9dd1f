/**
 * Automatic eviction's schedule (eviction.ts), on its own with fake timers: a pass that ends still
 * over the high watermark — what is left is in use — tries again by itself, RETRY_MS later and
 * backing off to RETRY_MAX_MS, says so in a warning, and stops once a pass gets under.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAutoEviction, createSizeTracker, RETRY_MAX_MS, RETRY_MS } from '../src/eviction.js';
import { captureLogger } from './helpers.js';

const MiB = 1024 * 1024;

describe('automatic eviction that ends over the watermark', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  /** A store of `size` bytes whose eviction frees nothing until `freeable` says so. */
  function setUp(freeable: (pass: number) => boolean) {
    let size = 60 * MiB;
    const passes: number[] = [];
    const logs: Array<Record<string, unknown>> = [];
    const eviction = createAutoEviction({
      size: createSizeTracker(async () => size),
      maxSize: 40 * MiB,
      highWatermark: 0.9,
      lowWatermark: 0.8,
      debounceMs: 10,
      logger: captureLogger(logs),
      async evict(target) {
        passes.push(Date.now());
        const freed = freeable(passes.length) ? size - target : 0;
        size -= freed;
        return { sizeAfter: size, freedBytes: freed, removed: freed > 0 ? 1 : 0 };
      },
    });
    return { eviction, passes, logs };
  }

  it('tries again after RETRY_MS and stops once under', async () => {
    const { eviction, passes, logs } = setUp((pass) => pass >= 2);
    const start = Date.now();
    eviction.start();
    await vi.advanceTimersByTimeAsync(0);
    eviction.grew(1);
    await vi.advanceTimersByTimeAsync(10);
    expect(passes).toHaveLength(1);
    expect(logs.some((l) => l.level === 'warn' && String(l.msg).includes('still over'))).toBe(true);
    await vi.advanceTimersByTimeAsync(RETRY_MS);
    expect(passes).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(10 * RETRY_MAX_MS);
    expect(passes.map((t) => t - start)).toEqual([10, 10 + RETRY_MS]);
    await eviction.close();
  });

  it('backs off while everything left stays in use', async () => {
    const { eviction, passes } = setUp(() => false);
    const start = Date.now();
    eviction.start();
    await vi.advanceTimersByTimeAsync(0);
    eviction.grew(1);
    await vi.advanceTimersByTimeAsync(10 + 5 * RETRY_MAX_MS);
    const gaps = passes.slice(1).map((t, i) => t - (passes[i] as number));
    expect(passes[0]! - start).toBe(10);
    expect(gaps.slice(0, 5)).toEqual([RETRY_MS, 2 * RETRY_MS, 4 * RETRY_MS, 8 * RETRY_MS, RETRY_MAX_MS].map((ms) => Math.min(ms, RETRY_MAX_MS)));
    await eviction.close();
  });
});
