/**
 * Hot manifest answers, kept whole: the head and body a manifest request got, keyed by what
 * decided that answer (request target, Accept, and Host when Host routing is configured), so
 * the next identical request is answered synchronously — no parse, no route, no store read,
 * no await. Kubelets and CI runners resolve the same few tags and digests all day; this is
 * what they hit.
 *
 * Only ever filled by the normal path, after it served a fresh answer (a hit or a miss it just
 * stored; never a stale one), and only ever an exact replay of it:
 *   - by digest: valid while the blob is stored — dropped when the store removes it (gc,
 *     eviction) *before* the removal starts;
 *   - by tag: valid until the tag's TTL runs out (then the normal path revalidates), and
 *     dropped whenever that tag is written or deleted (a move seen through another Accept).
 * Bounded (entries and body bytes; large bodies are not kept): when full it starts over. Per
 * instance.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Digest } from '@regcache/registry-protocol';
import type { ResponseHead } from './headers.js';

export interface HotAnswer {
  readonly head: ResponseHead;
  readonly body: Buffer;
  readonly digest: Digest;
  readonly upstream: string;
  readonly repo: string;
  /** `${upstream}\0${repo}\0${tag}` for an answer by tag. */
  readonly tag: string | undefined;
  /** Date.now() after which the answer may no longer be replayed. */
  readonly expiresAt: number;
}

export interface HotResponses {
  /** Answers `req` from the table and returns the answer; undefined (nothing written) when it has none fresh. */
  serve(req: IncomingMessage, res: ServerResponse): HotAnswer | undefined;
  remember(req: IncomingMessage, answer: HotAnswer): void;
  forgetDigest(digest: Digest): void;
  forgetTag(upstream: string, repo: string, tag: string): void;
}

export const tagKey = (upstream: string, repo: string, tag: string): string => `${upstream}\u0000${repo}\u0000${tag}`;

const MAX_KEY_LENGTH = 2048;

/** Bodies above this are not kept (an index of many platforms is tens of KiB; the cap is 4 MiB). */
const MAX_BODY_BYTES = 512 * 1024;

export function createHotResponses(opts: { byHost: boolean; maxEntries?: number; maxBytes?: number }): HotResponses {
  const maxEntries = opts.maxEntries ?? 4096;
  const maxBytes = opts.maxBytes ?? 32 * 1024 * 1024;
  let answers = new Map<string, HotAnswer>();
  /** Body bytes held (an answer replaced under the same key is counted twice until the next start-over). */
  let bytes = 0;
  const keyOf = (req: IncomingMessage): string => {
    const accept = req.headers.accept ?? '';
    const target = `${req.url ?? ''}\n${accept}`;
    return opts.byHost ? `${target}\n${(req.headers.host ?? '').toLowerCase()}` : target;
  };
  const dropWhere = (match: (answer: HotAnswer) => boolean): void => {
    for (const [key, answer] of answers) if (match(answer)) answers.delete(key);
  };
  return {
    serve(req, res) {
      const method = req.method;
      if (method !== 'GET' && method !== 'HEAD') return undefined;
      const key = keyOf(req);
      const answer = answers.get(key);
      if (answer === undefined) return undefined;
      if (answer.expiresAt <= Date.now()) {
        answers.delete(key);
        return undefined;
      }
      res.writeHead(200, answer.head);
      if (method === 'HEAD') res.end();
      else res.end(answer.body);
      return answer;
    },
    remember(req, answer) {
      const key = keyOf(req);
      if (key.length > MAX_KEY_LENGTH || answer.body.length > MAX_BODY_BYTES || answer.expiresAt <= Date.now()) return;
      if (answers.size >= maxEntries || bytes + answer.body.length > maxBytes) {
        answers = new Map();
        bytes = 0;
      }
      answers.set(key, answer);
      bytes += answer.body.length;
    },
    forgetDigest: (digest) => dropWhere((a) => a.digest === digest),
    forgetTag: (upstream, repo, tag) => {
      const key = tagKey(upstream, repo, tag);
      dropWhere((a) => a.tag === key);
    },
  };
}
