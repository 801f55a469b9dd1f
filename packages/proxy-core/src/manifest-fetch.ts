/**
 * Fetching a manifest from an upstream (or, by digest, from a mirror of it): one fetch per
 * (upstream, repository, reference) at a time however many clients ask — and none while a 404
 * for it is remembered (not-found.ts) — the body read with a size cap, its digest computed and
 * checked (against the reference when pulled by digest, against the upstream's
 * Docker-Content-Digest otherwise), its JSON validated, then stored and the repository linked
 * to it and to everything it references. When the disk cannot take it (full, read-only,
 * failing) the verified manifest is still answered — like a blob passed through — and the
 * failure reported once; nothing half-written is kept (the store's writer guarantees that).
 * The body is decoded first if the upstream compressed it anyway (manifest-body.ts); a manifest
 * of a type regcache cannot read is kept and served as it came, with nothing linked or
 * prefetched for it (manifest-kind.ts).
 */
import { createHash } from 'node:crypto';
import {
  CURRENT_MANIFEST_MEDIA_TYPES,
  digestAlgorithm,
  makeDigest,
  parseDigest,
  referenceString,
  type Descriptor,
  type Digest,
  type DigestAlgorithm,
  type Reference,
  type RepositoryName,
} from '@regcache/registry-protocol';
import type { BlobStore } from '@regcache/blob-store';
import type { Upstream } from './context.js';
import { isDiskError, UpstreamContentError } from './errors.js';
import { servesStale } from './freshness.js';
import { headerValue } from './headers.js';
import type { UpstreamClient } from './upstream/client.js';
import { IDENTITY_ENCODING, readManifestBody } from './manifest-body.js';
import { manifestKind, type ManifestKind } from './manifest-kind.js';
import { createNotFoundMemo } from './not-found.js';
import { fromSources } from './upstream/mirrors.js';

export { MAX_MANIFEST_BYTES } from './manifest-body.js';

/** The Accept that asks for every current manifest type: what a tag names, and the only one whose 404 is remembered. */
export const EVERY_MANIFEST_TYPE = CURRENT_MANIFEST_MEDIA_TYPES.join(', ');

export interface FetchedManifest {
  digest: Digest;
  mediaType: string;
  bytes: Buffer;
  /** The digests the manifest references (config, layers, child manifests). */
  references: Digest[];
  /** An image manifest's config and layers, in order (none for an index). */
  blobs: Descriptor[];
  /** Stored and linked (false when the disk refused: served, but not kept). */
  stored: boolean;
  /**
   * A tag resolved at a mirror because the upstream could not answer (upstream/mirrors.ts):
   * served as stale, and its record revalidated at the upstream on the next request.
   */
  resolvedAtMirror?: boolean;
}

export interface ManifestFetcher {
  fetch(upstream: Upstream, repo: RepositoryName, reference: Reference, accept: string): Promise<FetchedManifest>;
  /** Forgets the 404s remembered (not-found.ts) for every reference of a repository; true when there was one. */
  forgetNotFound(upstream: string, repo: string): boolean;
}

export interface ManifestFetcherEvents {
  /** The store could not take a verified manifest (or its links): it was answered without being kept. */
  onDiskError?(digest: Digest, error: unknown): void;
  /** A manifest came from the upstream and was stored (once per fetch, however many clients asked). */
  onStored?(upstream: Upstream, repo: RepositoryName, manifest: FetchedManifest): void;
  /** The upstream (or a mirror: `error.upstream`) sent a manifest that failed verification (once per fetch). */
  onContentError?(error: UpstreamContentError): void;
}

export function createManifestFetcher(store: BlobStore, events: ManifestFetcherEvents = {}): ManifestFetcher {
  const inflight = new Map<string, Promise<FetchedManifest>>();
  const notFound = createNotFoundMemo();
  return {
    fetch(upstream, repo, reference, accept) {
      // A 404 is about the reference, whatever the Accept; a fetch is shared per Accept.
      const missing = `${upstream.config.name}\u0000${repo}\u0000${referenceString(reference)}\u0000`;
      const remembered = notFound.get(missing);
      if (remembered !== undefined) return Promise.reject(remembered);
      const key = `${missing}${accept}`;
      let pending = inflight.get(key);
      if (!pending) {
        pending = fetchAndStore(store, events, upstream, repo, reference, accept)
          .catch((error: unknown) => {
            // Only a 404 to every type is about the reference: to a narrower Accept it may be
            // about the Accept (distribution: "OCI manifest found, but accept header does not support OCI manifests").
            if (accept === EVERY_MANIFEST_TYPE) notFound.remember(missing, error, upstream.config.notFoundTtl);
            throw error;
          })
          .finally(() => inflight.delete(key));
        inflight.set(key, pending);
      }
      return pending;
    },
    forgetNotFound(upstream, repo) {
      return notFound.forget(`${upstream}\u0000${repo}\u0000`);
    },
  };
}

async function fetchAndStore(store: BlobStore, events: ManifestFetcherEvents, upstream: Upstream, repo: RepositoryName, reference: Reference, accept: string): Promise<FetchedManifest> {
  const name = upstream.config.name;
  const { digest, bytes, kind, resolvedAtMirror } = await fetchVerified(upstream, repo, reference, accept).catch((error: unknown) => {
    if (error instanceof UpstreamContentError) events.onContentError?.(error);
    throw error;
  });
  const { mediaType, parsed } = kind;
  const blobs = parsed === undefined ? [] : [parsed.config, ...parsed.layers].flatMap((d) => (d ? [d] : []));
  const references = [...blobs, ...(parsed?.manifests ?? [])].map((d) => d.digest);
  try {
    await store.putBytes(digest, bytes, { mediaType });
    await Promise.all([digest, ...references].map((d) => store.link(name, repo, d)));
  } catch (error) {
    if (!isDiskError(error)) throw error;
    events.onDiskError?.(digest, error);
    return { digest, mediaType, bytes, references, blobs, stored: false, resolvedAtMirror };
  }
  const fetched = { digest, mediaType, bytes, references, blobs, stored: true, resolvedAtMirror };
  events.onStored?.(upstream, repo, fetched);
  return fetched;
}

interface VerifiedManifest {
  digest: Digest;
  bytes: Buffer;
  kind: ManifestKind;
  resolvedAtMirror?: boolean;
}

/**
 * The manifest, verified. With mirrors (upstream/mirrors.ts) a tag is first resolved at the
 * upstream by HEAD — free under Docker Hub's pull limit — and the manifest then fetched by
 * digest from the first source that has it; an upstream that names no digest is asked by tag.
 * Only when the upstream cannot answer the HEAD at all is the tag resolved at a mirror.
 */
async function fetchVerified(upstream: Upstream, repo: RepositoryName, reference: Reference, accept: string): Promise<VerifiedManifest> {
  if (upstream.mirrors.length === 0) return getManifest(upstream.client, repo, reference, accept);
  const resolved = reference.kind === 'digest' ? reference.digest : await headDigest(upstream.client, repo, reference, accept).catch((error: unknown) => tagAtMirror(upstream, repo, reference, accept, error));
  if (resolved === undefined) return getManifest(upstream.client, repo, reference, accept);
  if (typeof resolved !== 'string') return resolved;
  const byDigest: Reference = { kind: 'digest', digest: resolved };
  return fromSources(upstream, resolved, (client) => getManifest(client, repo, byDigest, accept));
}

/**
 * The upstream could not be asked (down, timing out, rate-limiting): the tag from the first
 * mirror that has it, marked as resolved there — or, if none has, the upstream's own error.
 */
async function tagAtMirror(upstream: Upstream, repo: RepositoryName, reference: Reference, accept: string, error: unknown): Promise<VerifiedManifest> {
  if (!servesStale(error)) throw error;
  for (const mirror of upstream.mirrors) {
    if (mirror.downUntil > Date.now()) continue;
    const found = await getManifest(mirror.client, repo, reference, accept).catch(() => undefined);
    mirror.record(found === undefined ? 'missing' : 'ok');
    if (found !== undefined) return { ...found, resolvedAtMirror: true };
  }
  throw error;
}

/** The manifest's digest upstream by HEAD (free under Docker Hub's pull limit); undefined if not said. */
export async function headDigest(client: UpstreamClient, repo: RepositoryName, reference: Reference, accept: string): Promise<Digest | undefined> {
  const res = await client.requestOk({ method: 'HEAD', repo, path: `/v2/${repo}/manifests/${referenceString(reference)}`, headers: { accept, ...IDENTITY_ENCODING } });
  await res.body.dump();
  const header = parseDigest(headerValue(res.headers['docker-content-digest'])?.trim() ?? '');
  return header.ok ? header.value : undefined;
}

/**
 * One GET from one source: the body read with a cap (and decoded), its kind told — schema 1
 * refused before its digest is checked, as a signed one never matches — then its digest checked.
 */
async function getManifest(client: UpstreamClient, repo: RepositoryName, reference: Reference, accept: string): Promise<VerifiedManifest> {
  const res = await client.requestOk({ method: 'GET', repo, path: `/v2/${repo}/manifests/${referenceString(reference)}`, headers: { accept, ...IDENTITY_ENCODING } });
  const bytes = await readManifestBody(res, client.name);
  const kind = manifestKind(client.name, bytes, headerValue(res.headers['content-type']));
  const digest = verifyDigest(client.name, bytes, reference, headerValue(res.headers['docker-content-digest']));
  return { digest, bytes, kind };
}

function hashOf(algorithm: DigestAlgorithm, bytes: Buffer): Digest | undefined {
  const result = makeDigest(algorithm, createHash(algorithm).update(bytes).digest('hex'));
  return result.ok ? result.value : undefined;
}

/** The manifest's digest, computed from its bytes and checked against what was asked for and claimed. */
function verifyDigest(upstream: string, bytes: Buffer, reference: Reference, claimedHeader: string | undefined): Digest {
  const claimed = claimedHeader === undefined ? undefined : parseDigest(claimedHeader.trim());
  const expected = reference.kind === 'digest' ? reference.digest : claimed?.ok ? claimed.value : undefined;
  const algorithm = expected ? digestAlgorithm(expected) : 'sha256';
  const actual = hashOf(algorithm, bytes);
  if (actual === undefined) throw new UpstreamContentError(upstream, 'could not hash the manifest');
  if (expected !== undefined && actual !== expected) {
    throw new UpstreamContentError(upstream, `upstream manifest digest ${actual} does not match ${expected}`);
  }
  if (claimed?.ok && claimed.value !== actual && digestAlgorithm(claimed.value) === algorithm) {
    throw new UpstreamContentError(upstream, `upstream Docker-Content-Digest ${claimed.value} does not match the body (${actual})`);
  }
  return actual;
}
