/**
 * Mirrors of an upstream (`upstreams[].mirrors`): registries holding copies of its content —
 * mirror.gcr.io for Docker Hub, a registry nearer than the upstream — asked first, in order,
 * for what is named by digest: a blob, a manifest by digest. Whatever a mirror sends is
 * verified against that digest, as the upstream's bytes are, so a mirror needs no trust
 * beyond availability. Tags are resolved at the upstream itself, never at a mirror (a mirror
 * may be behind, and a tag is the one thing a digest cannot check); on Docker Hub that is a
 * HEAD, which does not count against the pull limit, so a pull the mirror can serve costs none.
 * Only an upstream that cannot answer at all sends a tag to a mirror (manifest-fetch.ts), and
 * that answer goes out stale.
 *
 *   fromSources(upstream, digest, attempt):
 *     each mirror not cooling down and not known bad for the digest → attempt(its client)
 *       ok                          → that answer
 *       4xx (it does not have it)   → the next source
 *       unreachable, 5xx, 429       → cooling down for MIRROR_COOLDOWN_MS, the next source
 *       content that did not verify → bad for this digest, the next source
 *     then the upstream's own client, whose errors are the request's errors
 *
 * A fill only learns that a blob did not verify at its end: `distrust` marks the mirror then,
 * so the next fill of that digest goes elsewhere.
 */
import type { Digest } from '@regcache/registry-protocol';
import type { MirrorConfig, UpstreamConfig } from '../config.js';
import { UpstreamContentError, UpstreamRateLimitedError, UpstreamRefusedError, UpstreamUnavailableError } from '../errors.js';
import type { UpstreamClient } from './client.js';

/** How long a mirror that could not be reached is left out. */
export const MIRROR_COOLDOWN_MS = 30_000;
/** Digests remembered per mirror as not verifying (oldest forgotten first). */
const MAX_BAD = 1024;

export type MirrorResult = 'ok' | 'missing' | 'unavailable' | 'mismatch';

export interface Mirror {
  /** The mirror's host, as it appears in logs and metrics. */
  readonly name: string;
  /** What its client was built from (mirrorClientConfig): its URL, credentials, CA and proxy. */
  readonly config: UpstreamConfig;
  readonly client: UpstreamClient;
  /** Not asked before this time (ms since the epoch). */
  downUntil: number;
  readonly bad: Set<string>;
  /** Observes each attempt's outcome (metrics). */
  readonly record: (result: MirrorResult) => void;
}

export interface MirrorSources {
  readonly client: UpstreamClient;
  readonly mirrors: readonly Mirror[];
}

/** The upstream config a mirror's client is built from: the mirror's URL, credentials, CA and proxy; the upstream's timeouts. */
export function mirrorClientConfig(upstream: UpstreamConfig, mirror: MirrorConfig): UpstreamConfig {
  const { username, password, token, ca, proxy } = mirror;
  return { ...upstream, name: new URL(mirror.url).host, url: mirror.url, username, password, token, ca, proxy, hosts: [], default: false, mirrors: [], repositories: undefined };
}

export function createMirror(config: UpstreamConfig, client: UpstreamClient, record: (result: MirrorResult) => void = () => undefined): Mirror {
  return { name: config.name, config, client, downUntil: 0, bad: new Set(), record };
}

/** A mirror sent bytes for `digest` that did not match it: not asked for that digest again. */
export function distrust(mirror: Mirror, digest: Digest): void {
  mirror.record('mismatch');
  mirror.bad.add(digest);
  if (mirror.bad.size > MAX_BAD) mirror.bad.delete(mirror.bad.values().next().value ?? digest);
}

function classify(error: unknown): MirrorResult | undefined {
  if (error instanceof UpstreamRefusedError) return 'missing';
  if (error instanceof UpstreamUnavailableError || error instanceof UpstreamRateLimitedError) return 'unavailable';
  if (error instanceof UpstreamContentError) return 'mismatch';
  return undefined;
}

/** `attempt` at each usable mirror, then at the upstream (see above). */
export async function fromSources<T>(sources: MirrorSources, digest: Digest, attempt: (client: UpstreamClient, mirror: Mirror | undefined) => Promise<T>): Promise<T> {
  for (const mirror of sources.mirrors) {
    if (mirror.downUntil > Date.now() || mirror.bad.has(digest)) continue;
    try {
      const answer = await attempt(mirror.client, mirror);
      mirror.record('ok');
      return answer;
    } catch (error) {
      const result = classify(error);
      // Anything else (the request was aborted, the store failed) is not the mirror's doing.
      if (result === undefined) throw error;
      if (result === 'unavailable') mirror.downUntil = Date.now() + MIRROR_COOLDOWN_MS;
      if (result === 'mismatch') distrust(mirror, digest);
      else mirror.record(result);
    }
  }
  return attempt(sources.client, undefined);
}
