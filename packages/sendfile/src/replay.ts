/**
 * A front's replay loop off the JavaScript thread (src/replay.c): the addon reads the
 * connections it is given on a thread of its own and answers every request head it has been
 * taught — the same bytes, while the answer's generation and expiry hold — with the answer's
 * prepared bytes, its Date header set to the current second. The first head it does not know
 * goes back to JavaScript (`onMiss`) with the connection's descriptor and every byte read from
 * that head on; JavaScript reads it with its own rules and either teaches the loop and gives
 * the connection back, or serves it itself.
 *
 * What the loop counts per answer id (hits, body bytes, and a record per request when asked
 * to) is collected with `take`, with the ids it no longer holds.
 */
import { loadNative, type NativeLoop, type NativeReplay } from './native.js';

export interface ReplayLoopOptions {
  /** A counter in shared memory: an answer is replayed only while it reads the generation it was taught with. */
  readonly generation: Int32Array;
  /** Connection counts per thread (shared): the loop's cell goes down by one for each connection it closes. */
  readonly loads: Int32Array;
  readonly index: number;
  /** A connection that sends no whole head for this long after it was given is closed. */
  readonly headersTimeout: number;
  /** A connection quiet for this long after an answer is closed. */
  readonly keepAliveTimeout: number;
  /** Keep a record (answer id, duration) per request, for the request log. */
  readonly recording: boolean;
  /**
   * A connection the loop let go of, on the JavaScript thread: its descriptor is the callee's
   * from here, `unread` starts with the head the loop could not answer. `learned` is what the
   * connection was adopted with. Must not throw.
   */
  onMiss(fd: number, unread: Buffer, learned: number): void;
}

/** What a head is answered with. */
export interface ReplayLesson {
  /** The request head's exact bytes, up to and with its empty line (≤ 4100 bytes). */
  readonly head: Buffer;
  /** The whole answer (≤ 1 MiB); a `Date:` header in it is rewritten every second. */
  readonly response: Buffer;
  readonly id: number;
  /** Body bytes counted per replay (0 for a HEAD). */
  readonly bodyBytes: number;
  /** End the connection after answering. */
  readonly close: boolean;
  readonly generation: number;
  /** Date.now() from which it is not replayed (Infinity: never). */
  readonly expiresAt: number;
}

export interface ReplayTaken {
  /** Per answer id replayed since the last take: id, hits, body bytes, … */
  readonly counts: Float64Array;
  /** Ids the loop no longer holds (after their last counts above). */
  readonly retired: Int32Array;
  /** Per request when recording: id, duration in ms, … */
  readonly records: Float64Array;
}

export interface ReplayLoop {
  /** Serves connection `fd` from now (its descriptor is the loop's), `unread` first. False once stopped (the fd is still the caller's). */
  adopt(fd: number, unread: Buffer | undefined, learned: number): boolean;
  /** Teaches one head; false if it cannot be kept (too long, too large, stopped). */
  learn(lesson: ReplayLesson): boolean;
  take(): ReplayTaken | undefined;
  /** Closes every connection it holds and ends its thread; waits for it (≤ 100 ms). `take` still returns its last counts after. */
  stop(): void;
}

export type StartReplayLoop = (options: ReplayLoopOptions) => ReplayLoop;

const DATE = Buffer.from('\r\nDate: ', 'latin1');
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/** Where the Date value starts in an answer's head, or -1. */
function dateAt(response: Buffer): number {
  const headEnd = response.indexOf(HEAD_END);
  const at = response.indexOf(DATE);
  return at < 0 || (headEnd >= 0 && at > headEnd) ? -1 : at + DATE.length;
}

/** The C side's expiry: 0 is never (Infinity); anything else at least 1 ms after the epoch. */
const expiry = (expiresAt: number): number => (expiresAt === Number.POSITIVE_INFINITY ? 0 : Math.max(1, Math.ceil(expiresAt)));

function wrap(native: NativeReplay, loop: NativeLoop): ReplayLoop {
  return {
    adopt: (fd, unread, learned) => native.replayAdopt(loop, fd, unread, learned),
    learn: (l) => native.replayLearn(loop, l.head, l.response, dateAt(l.response), l.id, l.bodyBytes, l.close, l.generation, expiry(l.expiresAt)),
    take() {
      const taken = native.replayTake(loop);
      return taken === undefined ? undefined : { counts: taken[0], retired: taken[1], records: taken[2] };
    },
    stop: () => native.replayStop(loop),
  };
}

/** The replay loop's starter, or undefined where the addon is not built or not supported. */
export function loadReplay(): StartReplayLoop | undefined {
  const native = loadNative()?.replay;
  if (native === undefined) return undefined;
  return (o) => {
    const onMiss = (fd: number, unread: Buffer, learned: number): void => {
      try {
        o.onMiss(fd, unread, learned);
      } catch (error) {
        // The descriptor's owner is unknown here (the callee may have passed it on): report, do not close.
        process.emitWarning(error instanceof Error ? error : String(error), 'ReplayMissWarning');
      }
    };
    return wrap(native, native.replayStart(o.generation, o.loads, o.index, o.headersTimeout, o.keepAliveTimeout, o.recording, onMiss));
  };
}
