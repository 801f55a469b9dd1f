/**
 * Hot manifest answers, kept whole: the head and body a manifest request got, keyed by what
 * decided that answer (request target, Accept, and Host when Host routing is configured), so
 * the next identical request is answered synchronously — no parse, no route, no store read,
 * no await, no closure. Kubelets and CI runners resolve the same few tags and digests all day;
 * this is what they hit.
 *
 * Only ever filled by the normal path, after it served a fresh answer (a hit or a miss it just
 * stored; never a stale one), and only ever an exact replay of it:
 *   - by digest: valid while the blob is stored — dropped when the store removes it (gc,
 *     eviction, repair) *before* the removal starts;
 *   - by tag: valid until the tag's TTL runs out (then the normal path revalidates), and
 *     dropped whenever that tag is written or deleted (a move seen through another Accept).
 * An answer whose request saw a removal (or, for an answer by tag, a tag write) happen while
 * it was being answered is not kept (`epoch`): it may already be out of date.
 *
 * The lookup reads the few headers it needs from `req.rawHeaders`: `req.headers` is built on
 * first use, a cost a replay does not need. A header sent twice never matches (the normal path
 * answers it), nor does a request with If-None-Match (the normal path may answer it 304). The
 * raw fronts' replicas and the native replay loop only replay what this lookup returned, so
 * the same holds for them. Bounded (entries and body bytes; large bodies are not kept): when full it starts
 * over. Per instance.
 *
 * Replicas (the server's raw fronts, apps/server/src/front/): every answer kept here is
 * offered to `onRemember` listeners with its key, and `generation` — a counter in shared
 * memory — goes up before any forget drops an answer (what is left is offered again then). A replica keeps the generation each
 * answer came with and replays it only while the counter still reads the same, so a removal
 * or tag write here is seen by every thread before the removal starts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Digest } from '@regcache/registry-protocol';
import { rawHeader, REPEATED_HEADER, type ResponseHead } from './headers.js';
import type { HitCell } from './stats.js';

export interface HotAnswer {
  readonly head: ResponseHead;
  readonly body: Buffer;
  readonly digest: Digest;
  readonly upstream: string;
  readonly repo: string;
  /** `${upstream}\0${repo}\0${tag}` for an answer by tag. */
  readonly tag: string | undefined;
  /** Date.now() after which the answer may no longer be replayed (Infinity: by digest). */
  readonly expiresAt: number;
  /** Where its replays are counted (stats.ts). */
  readonly counts: HitCell;
}

/** What decides a hot answer: the request's method, target and headers. */
export type HotRequest = Pick<IncomingMessage, 'method' | 'url' | 'rawHeaders'>;

/** Where an answer is kept: request target, Accept, and Host ('' unless Host routing is on). */
export interface HotKey {
  readonly target: string;
  readonly accept: string;
  readonly host: string;
}

export interface HotResponses {
  /** The answer `req` may be replayed from, or undefined. Writes nothing. */
  lookup(req: HotRequest): HotAnswer | undefined;
  /** Keeps `answer` for requests like `req`, unless what it depends on was forgotten since `epoch`. */
  remember(req: HotRequest, answer: HotAnswer, epoch: HotEpoch): void;
  /** Keeps `answer` under `key` as it is (a replica's copy of an answer remembered elsewhere). */
  keep(key: HotKey, answer: HotAnswer): void;
  /** Called at once with every answer held, then with every answer kept (by `remember` or `keep`). */
  onRemember(listener: (key: HotKey, answer: HotAnswer) => void): void;
  /** Counts forgets, in shared memory: bumped before any forget drops an answer. */
  readonly generation: Int32Array;
  /** Counts the forgets so far: a request notes it before reading what it will answer with. */
  epoch(): HotEpoch;
  forgetDigest(digest: Digest): void;
  forgetTag(upstream: string, repo: string, tag: string): void;
}

/** How many removals and tag writes the table has seen. */
export interface HotEpoch {
  readonly removals: number;
  readonly tagWrites: number;
}

interface Slot {
  readonly accept: string;
  readonly host: string;
  readonly answer: HotAnswer;
}

export const tagKey = (upstream: string, repo: string, tag: string): string => `${upstream}\u0000${repo}\u0000${tag}`;

/**
 * How long after a drop the answers left are offered to the replicas again. Each offer copies
 * every body to every front thread (≤ maxBytes each), so a burst of drops (gc removing many
 * manifests) is coalesced into at most one offer per this much.
 */
const REOFFER_MS = 250;
const MAX_TARGET_LENGTH = 1024;
const MAX_HEADER_LENGTH = 1024;
const MAX_VARIANTS = 8;
/** Bodies above this are not kept (an index of many platforms is tens of KiB; the cap is 4 MiB). */
const MAX_BODY_BYTES = 512 * 1024;

const bodyBytes = (slots: readonly Slot[]): number => slots.reduce((sum, slot) => sum + slot.answer.body.length, 0);

export function createHotResponses(opts: { byHost: boolean; maxEntries?: number; maxBytes?: number }): HotResponses {
  const maxEntries = opts.maxEntries ?? 4096;
  const maxBytes = opts.maxBytes ?? 32 * 1024 * 1024;
  let byTarget = new Map<string, Slot[]>();
  /** Answers and their body bytes held. */
  let size = 0;
  let bytes = 0;
  let epoch: HotEpoch = { removals: 0, tagWrites: 0 };
  /** Nothing `answer` depends on was forgotten since `since`. */
  const unchanged = (answer: HotAnswer, since: HotEpoch): boolean =>
    since.removals === epoch.removals && (answer.tag === undefined || since.tagWrites === epoch.tagWrites);
  const generation = new Int32Array(new SharedArrayBuffer(4));
  const listeners: Array<(key: HotKey, answer: HotAnswer) => void> = [];
  const hostOf = (req: HotRequest): string => (opts.byHost ? rawHeader(req.rawHeaders, 'host') : '');
  const put = (target: string, slots: Slot[]): void => {
    const previous = byTarget.get(target) ?? [];
    size += slots.length - previous.length;
    bytes += bodyBytes(slots) - bodyBytes(previous);
    if (slots.length === 0) byTarget.delete(target);
    else byTarget.set(target, slots);
  };
  /**
   * Whatever leaves this table, for any reason, leaves the replicas too: they hold no answer
   * this one lost. A replica can only empty itself whole, so what is left here is offered to
   * them again REOFFER_MS later (one offer for a burst of forgets, as gc makes): without it, one
   * moved tag would leave every replica empty of answers this table still replays.
   */
  let reoffer: ReturnType<typeof setTimeout> | undefined;
  const offerAll = (): void => {
    reoffer = undefined;
    for (const [target, slots] of byTarget) {
      for (const { accept, host, answer } of slots) for (const listener of listeners) listener({ target, accept, host }, answer);
    }
  };
  const dropped = (): void => {
    Atomics.add(generation, 0, 1);
    if (listeners.length === 0 || reoffer !== undefined) return;
    reoffer = setTimeout(offerAll, REOFFER_MS);
    reoffer.unref();
  };
  const dropWhere = (match: (answer: HotAnswer) => boolean): void => {
    for (const [target, slots] of byTarget) {
      const kept = slots.filter((slot) => !match(slot.answer));
      if (kept.length === slots.length) continue;
      dropped();
      put(target, kept);
    }
  };
  const keep = (key: HotKey, answer: HotAnswer): void => {
    const { target, accept, host } = key;
    if (answer.expiresAt <= Date.now() || answer.body.length > MAX_BODY_BYTES) return;
    if (target.length > MAX_TARGET_LENGTH || accept.length > MAX_HEADER_LENGTH || host.length > MAX_HEADER_LENGTH) return;
    if (accept === REPEATED_HEADER || host === REPEATED_HEADER) return;
    if (size >= maxEntries || bytes + answer.body.length > maxBytes) {
      dropped();
      byTarget = new Map();
      size = 0;
      bytes = 0;
    }
    const slots = (byTarget.get(target) ?? []).filter((slot) => slot.accept !== accept || slot.host !== host);
    if (slots.length >= MAX_VARIANTS) {
      dropped();
      slots.shift();
    }
    slots.push({ accept, host, answer });
    put(target, slots);
    for (const listener of listeners) listener(key, answer);
  };
  return {
    lookup(req) {
      const slots = byTarget.get(req.url ?? '');
      if (slots === undefined) return undefined;
      const method = req.method;
      if (method !== 'GET' && method !== 'HEAD') return undefined;
      // A conditional request may be answered 304, which a replay of the 200 would not be.
      if (rawHeader(req.rawHeaders, 'if-none-match') !== '') return undefined;
      const accept = rawHeader(req.rawHeaders, 'accept');
      const host = hostOf(req);
      for (const slot of slots) {
        if (slot.accept !== accept || slot.host !== host) continue;
        const answer = slot.answer;
        return answer.expiresAt === Number.POSITIVE_INFINITY || answer.expiresAt > Date.now() ? answer : undefined;
      }
      return undefined;
    },
    remember(req, answer, since) {
      if (!unchanged(answer, since)) return;
      keep({ target: req.url ?? '', accept: rawHeader(req.rawHeaders, 'accept'), host: hostOf(req) }, answer);
    },
    keep,
    onRemember(listener) {
      listeners.push(listener);
      for (const [target, slots] of byTarget) for (const { accept, host, answer } of slots) listener({ target, accept, host }, answer);
    },
    generation,
    epoch: () => epoch,
    forgetDigest(digest) {
      epoch = { removals: epoch.removals + 1, tagWrites: epoch.tagWrites };
      dropWhere((a) => a.digest === digest);
    },
    forgetTag(upstream, repo, tag) {
      epoch = { removals: epoch.removals, tagWrites: epoch.tagWrites + 1 };
      const key = tagKey(upstream, repo, tag);
      dropWhere((a) => a.tag === key);
    },
  };
}

/** Writes a replay of `answer`: its head, and its body unless the request is a HEAD. Returns the body bytes written. */
export function writeReplay(res: ServerResponse, answer: HotAnswer, method: string | undefined): number {
  res.writeHead(200, answer.head);
  if (method === 'HEAD') {
    res.end();
    return 0;
  }
  res.end(answer.body);
  return answer.body.length;
}
