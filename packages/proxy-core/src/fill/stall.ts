/**
 * When a fill's upstream has stalled, and what that failure is. Two limits apply to a blob's
 * body, and the smaller one wins: the upstream's `timeouts.body` (its own, per upstream, kept
 * by whichever reader has the socket: undici's bodyTimeout, plain-body.ts's socket timeout,
 * or the native receive loop, which gets it with the socket — HandedBody.idleMs) and
 * `fill.idleTimeout` (every fill's, kept here on the stream path and passed to the native loop).
 * Either way the fill fails as the upstream's timeout — UpstreamUnavailableError 'timeout',
 * counted and logged as one — never as an error of regcache's own.
 *
 * Only time spent waiting on the upstream counts: not a batch being written (a slow disk, or
 * pass-through waiting on its slowest client), as the readers' own clocks stop while the fill
 * holds them back (plain-body pauses its socket timeout; undici's does not fire while paused;
 * the native loop counts from its last read).
 */
import { UpstreamUnavailableError } from '../errors.js';
import { PlainGetTimeoutError } from '../upstream/plain-body.js';
import { PlainGetProtocolError } from '../upstream/plain-head.js';
import { NativeReceiveError } from './native-receive.js';

/** The fill's own limit (fill.idleTimeout) ran out: the cause of the upstream timeout it fails with. */
export class FillIdleError extends Error {
  override readonly name = 'FillIdleError';
}

/**
 * The stream path's clock for fill.idleTimeout: one timer that reads a timestamp when it fires,
 * not a timer re-armed per batch — a batch costs a clock read and two flag writes.
 */
export interface StallClock {
  /** The body is being read from now on (idempotent). */
  start(): void;
  /** A batch arrived and is being written: no stall while it is. */
  writing(): void;
  /** The batch is written: the fill waits on the upstream again, from now. */
  written(): void;
  stop(): void;
}

export function createStallClock(limitMs: number, stalled: (error: FillIdleError) => void): StallClock {
  let since = 0;
  let busy = false;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const arm = (ms: number): void => {
    timer = setTimeout(check, ms);
    timer.unref();
  };
  function check(): void {
    if (stopped) return;
    // While a batch is written the upstream is not the one waited on: look again a limit later
    // (by then `since` is that write's end, and the next look is at exactly the limit after it).
    const left = busy ? limitMs : since + limitMs - performance.now();
    if (left > 0) return arm(left);
    stopped = true;
    stalled(new FillIdleError(`no body bytes from the upstream for ${limitMs} ms (fill.idleTimeout)`));
  }
  return {
    start() {
      if (timer !== undefined || stopped) return;
      since = performance.now();
      arm(limitMs);
    },
    writing() {
      busy = true;
    },
    written() {
      busy = false;
      since = performance.now();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** A body that went quiet past a limit: the fill's own, the native loop's, plain-get's or undici's. */
export function isStall(error: unknown): boolean {
  if (error instanceof FillIdleError) return true;
  if (error instanceof PlainGetTimeoutError) return error.phase === 'body';
  if (error instanceof NativeReceiveError) return error.code === 'ETIMEDOUT';
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'UND_ERR_BODY_TIMEOUT';
}

/** Transport codes of a body the upstream's connection lost: reset, closed early, or cut against its Content-Length. */
const LOST_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH']);

/** A body the upstream's connection lost mid-blob, on any reader: the native loop's, plain-get's, or undici's. */
export function isLost(error: unknown): boolean {
  if (error instanceof NativeReceiveError || error instanceof PlainGetProtocolError) return true;
  return typeof error === 'object' && error !== null && LOST_CODES.has(String((error as { code?: unknown }).code));
}

/**
 * What a fill failed of: a stall (`error`, or the fill's stop `reason` — a stopped pipeline
 * rejects with an AbortError that only wraps it) is `upstream`'s timeout; a body its
 * connection lost is the upstream unreachable (as a small body lost is, upstream/responses.ts);
 * the rest — the store's errors, a digest mismatch — as it is.
 */
export function failureOf(error: unknown, reason: unknown, sender: string): unknown {
  const stall = reason instanceof FillIdleError ? reason : error;
  if (isStall(stall)) return new UpstreamUnavailableError(sender, 'timeout', undefined, { cause: stall });
  return isLost(error) ? new UpstreamUnavailableError(sender, 'unreachable', undefined, { cause: error }) : error;
}
