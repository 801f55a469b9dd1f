/**
 * A thread's raw front with its replay loop in C (@regcache/sendfile's loadReplay,
 * src/replay.c): the connections this thread serves are read by the loop's own thread, which
 * answers every request head it has been taught. The first head it does not know comes back
 * here with the connection (`onMiss`) and is read with raw-head.ts's rules, exactly as
 * raw-front.ts reads it:
 *   - a hot answer: the loop is taught these head bytes → the answer's bytes (Date rewritten
 *     every second, valid while the hot table's generation reads what it read before the
 *     lookup, and until the answer's expiry), and gets the connection back;
 *   - anything else: the connection goes where raw-front.ts would send it (`toHttp`).
 * A connection taught MAX_LESSONS times (its client sends a new head every time: a trace id
 * per request, say) is served by raw-front.ts in JavaScript from then on, where an unseen head
 * costs a parse rather than a trip between threads.
 *
 * Why: a front thread in JavaScript spent ≈ 21 µs of CPU per replayed request, about what
 * nginx spends; under a polling load (the bench's HEAD row, kubelets) that CPU is what the
 * load generator and the clients do not get (bench/NOTES.md).
 *
 * What the loop replayed is collected every CREDIT_MS (`take`) as credits and request records,
 * in the shape the front threads already send (hot-feed.ts).
 */
import { closeSync } from 'node:fs';
import { loggedPath, type HotAnswer, type ReplayCredit, type ReplayRecord } from '@regcache/proxy-core/front';
import { loadReplay, type ReplayLoop, type ReplayLoopOptions, type StartReplayLoop } from '@regcache/sendfile';
import { createBalance } from './balance.js';
import type { RawFrontDeps } from './raw-front.js';
import type { RawRequest } from './raw-head.js';

/** Lessons per connection before it is served in JavaScript instead. */
export const MAX_LESSONS = 64;

/** How often a thread credits the loop's replays to the cache (its counters and metrics lag by this much). */
export const CREDIT_MS = 100;

/**
 * The loop's options (its misses are this module's), how this thread reads and looks up (as
 * raw-front.ts does: the same reader, table and bytes), and where a connection goes when the
 * loop gives it back.
 */
export interface NativeFrontDeps extends Omit<ReplayLoopOptions, 'onMiss'>, Pick<RawFrontDeps, 'readHead' | 'lookup' | 'bytesOf'> {
  /** A connection whose head at the start of `unread` is not hot (or not plain): node:http's, as raw-front.ts hands it over. */
  toHttp(fd: number, unread: Buffer): void;
  /** A connection to serve in JavaScript (raw-front.ts), `unread` first. */
  serveInJs(fd: number, unread: Buffer): void;
}

export interface NativeFront {
  /** Serves connection `fd` (this thread's from now; counted to it already). */
  serve(fd: number): void;
  /** What the loop replayed since the last call, or undefined. */
  take(): { credits: ReplayCredit[]; records: ReplayRecord[] } | undefined;
  /** Closes every connection the loop holds (between requests all are idle) and ends it. */
  stop(): void;
}

interface Taught {
  readonly answer: HotAnswer;
  readonly method: string;
  readonly path: string;
  readonly bodyBytes: number;
}

/**
 * A native front where the addon has the replay loop, else undefined (the caller serves in
 * JavaScript, as before). `REGCACHE_NATIVE_REPLAY=0` turns it off.
 */
export function startNativeFront(deps: NativeFrontDeps): NativeFront | undefined {
  const start = process.env.REGCACHE_NATIVE_REPLAY === '0' ? undefined : loadReplay();
  return start === undefined ? undefined : createNativeFront(start, deps);
}

export function createNativeFront(start: StartReplayLoop, deps: NativeFrontDeps): NativeFront {
  /** What each lesson taught, by id, until the loop retires it. */
  const taught = new Map<number, Taught>();
  let nextId = 1;
  let stopped = false;
  const balance = createBalance(deps.loads, deps.index);
  /** A connection the loop could not take (it stopped) is closed here and counted out of this thread. */
  const refuse = (fd: number): void => {
    closeSync(fd);
    balance.closed();
  };
  const teach = (req: RawRequest, unread: Buffer, answer: HotAnswer, generation: number): boolean => {
    const id = nextId;
    nextId = nextId >= 0x7fffffff ? 1 : nextId + 1;
    const bodyBytes = req.method === 'HEAD' ? 0 : answer.body.length;
    const lesson = { head: unread.subarray(0, req.end), response: deps.bytesOf(answer, req, Date.now()), id, bodyBytes, close: req.close, generation, expiresAt: answer.expiresAt };
    if (!loop.learn(lesson)) return false;
    taught.set(id, { answer, method: req.method, path: loggedPath(req.url), bodyBytes });
    return true;
  };
  const onMiss = (fd: number, unread: Buffer, learned: number): void => {
    if (stopped) return refuse(fd);
    const req = deps.readHead(unread, 0);
    // Read before the lookup: an answer the lookup returns is valid for at least this generation.
    const generation = Atomics.load(deps.generation, 0);
    const answer = typeof req === 'string' ? undefined : deps.lookup(req);
    if (typeof req === 'string' || answer === undefined) return deps.toHttp(fd, unread);
    if (learned < MAX_LESSONS && teach(req, unread, answer, generation) && loop.adopt(fd, unread, learned + 1)) return;
    deps.serveInJs(fd, unread);
  };
  const loop: ReplayLoop = start({ ...deps, onMiss });
  return {
    serve(fd) {
      if (!loop.adopt(fd, undefined, 0)) refuse(fd);
    },
    take() {
      const taken = loop.take();
      return taken === undefined ? undefined : credited(taken.counts, taken.records, taken.retired, taught);
    },
    stop() {
      stopped = true;
      loop.stop();
    },
  };
}

/** The loop's counts as credits per answer, its records as request records; retired ids forgotten after. */
function credited(counts: Float64Array, records: Float64Array, retired: Int32Array, taught: Map<number, Taught>): { credits: ReplayCredit[]; records: ReplayRecord[] } {
  const credits: ReplayCredit[] = [];
  for (let i = 0; i + 2 < counts.length; i += 3) {
    const t = taught.get(counts[i] ?? 0);
    if (t === undefined) continue;
    credits.push({ digest: t.answer.digest, upstream: t.answer.upstream, repo: t.answer.repo, hits: counts[i + 1] ?? 0, bytes: counts[i + 2] ?? 0 });
  }
  const logged: ReplayRecord[] = [];
  for (let i = 0; i + 1 < records.length; i += 2) {
    const t = taught.get(records[i] ?? 0);
    if (t === undefined) continue;
    const durationMs = Math.round((records[i + 1] ?? 0) * 10) / 10;
    logged.push({ method: t.method, path: t.path, bytes: t.bodyBytes, durationMs, upstream: t.answer.upstream, repo: t.answer.repo });
  }
  for (const id of retired) taught.delete(id);
  return { credits, records: logged };
}
