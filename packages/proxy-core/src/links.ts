/**
 * Per-repository links: content is shared by digest, access is not. Before cached content
 * is served to a repository that has never been linked to it, the upstream is asked with a
 * HEAD for that repository; only a 2xx links it. A refusal (401/403/404) reaches the client
 * as the matching OCI error, and an unreachable upstream refuses too (it cannot confirm).
 * A link the disk will not take is not kept: the next request asks the upstream again.
 */
import type { Digest } from '@regcache/registry-protocol';
import type { CacheParts, RequestState } from './context.js';
import { unlessDiskError } from './errors.js';

export async function ensureLinked(parts: CacheParts, rs: RequestState, digest: Digest, kind: 'blobs' | 'manifests'): Promise<void> {
  const upstream = rs.upstream.config.name;
  if (await parts.store.isLinked(upstream, rs.repo, digest)) return;
  const res = await rs.upstream.client.requestOk({ method: 'HEAD', repo: rs.repo, path: `/v2/${rs.repo}/${kind}/${digest}` });
  await res.body.dump();
  await parts.store.link(upstream, rs.repo, digest).catch(unlessDiskError);
}

/** Link a repository to a manifest and to everything the manifest references. */
export async function linkAll(parts: CacheParts, upstream: string, repo: string, digests: readonly Digest[]): Promise<void> {
  await Promise.all(digests.map((digest) => parts.store.link(upstream, repo, digest)));
}
