/**
 * What an upstream's 429s hold back, and until when.
 *
 *   429 with Retry-After      → every request to the upstream waits until then: it said so.
 *   429 without (or unreadable) → only requests of the same kind (method and route: `GET
 *                                manifests`, `HEAD manifests`, `GET blobs`, …) wait, a minute.
 *
 * The second is Docker Hub's pull limit: it answers manifest GETs with 429 and no Retry-After
 * while it still serves HEADs and blobs, which the limit does not count — holding those back
 * too would fail pulls whose manifests regcache already holds. A kind that is limited as well
 * answers 429 itself and is then held back on its own. A 429 from blob storage an upstream
 * redirected to is that request's alone and never reaches here (client.ts).
 */
import { retryAfterGiven, retryAfterMs } from './responses.js';

export interface RateLimits {
  /** How long this request must wait before it may be sent (0: now). */
  waitMs(req: { method: string; path: string }): number;
  /** Records a 429 answered to `req`; returns until when its kind (or the upstream) is held back. */
  limited(req: { method: string; path: string }, retryAfter: string | string[] | undefined): number;
}

const ROUTE = /\/(manifests|blobs|tags|referrers)\/[^/]*$/;

function kindOf(req: { method: string; path: string }): string {
  const path = req.path.split('?', 1)[0] ?? '';
  return `${req.method} ${ROUTE.exec(path)?.[1] ?? 'other'}`;
}

export function createRateLimits(): RateLimits {
  let everything = 0;
  // At most two methods × five kinds: never grows beyond that.
  const byKind = new Map<string, number>();
  return {
    waitMs(req) {
      const until = Math.max(everything, byKind.get(kindOf(req)) ?? 0);
      return Math.max(0, until - Date.now());
    },
    limited(req, retryAfter) {
      const given = retryAfterGiven(retryAfter);
      const until = Date.now() + (given ?? retryAfterMs(undefined));
      if (given !== undefined) everything = Math.max(everything, until);
      else byKind.set(kindOf(req), Math.max(byKind.get(kindOf(req)) ?? 0, until));
      return until;
    },
  };
}
