/**
 * GET and HEAD of `/v2/<name>/manifests/<reference>`.
 *
 * The upstream is always asked with every manifest type (EVERY_MANIFEST_TYPE), whatever the
 * client takes: so a tag's record is what the tag names — never the one manifest a registry
 * picks out of an index for a client that cannot take indexes (distribution and Docker Hub
 * answer a Docker manifest list with its linux/amd64 manifest then), which every other client
 * would then be given in place of the index. Such a client gets the upstream's pick, passed
 * through (`pickUpstream`); the Accept is otherwise checked here, against the record.
 *
 * By digest: immutable, served from the store forever once the repository is linked.
 * By tag: fresh for the upstream's `tagTtl`; after that a HEAD revalidates it (a HEAD does
 * not count against Docker Hub's pull limit) and only a changed digest costs a GET. When the
 * upstream is down, slow or rate-limiting, the cached manifest is served as it is, marked
 * `x-regcache-stale: true` (stale-if-error). A 404 from a reachable upstream means the tag
 * is gone, and it is forgotten. Concurrent revalidations of one tag share one HEAD.
 */
import {
  manifestAcceptEntries,
  parseAccept,
  parseDigest,
  upstreamManifestAccept,
  type AcceptEntry,
  type Digest,
  type Reference,
  type Tag,
} from '@regcache/registry-protocol';
import { BlobNotFoundError, DigestMismatchError, type TagRecord } from '@regcache/blob-store';
import type { CacheParts, CacheResult, RequestState } from './context.js';
import { unlessDiskError, UpstreamRefusedError } from './errors.js';
import { boundedWhileSuspect, markStale, servesStale } from './freshness.js';
import { answerNotModified, contentLength, headerValue } from './headers.js';
import { tagKey, type HotAnswer } from './hot-responses.js';
import { dropDamaged, isFsError, storedUnreadable } from './damaged.js';
import { ensureLinked } from './links.js';
import { EVERY_MANIFEST_TYPE, headDigest, type FetchedManifest } from './manifest-fetch.js';
import { IDENTITY_ENCODING } from './manifest-body.js';
import { servesToAccept } from './manifest-kind.js';

/**
 * The client's Accept entries for a manifest; a single header (the usual case) through the
 * instance's memo. One that names no manifest type counts as none (manifestAcceptEntries).
 */
function acceptOf(parts: CacheParts, header: string | string[] | undefined): readonly AcceptEntry[] {
  return manifestAcceptEntries(typeof header === 'string' ? parts.parseAccept(header) : parseAccept(header));
}

export async function handleManifest(parts: CacheParts, rs: RequestState, reference: Reference): Promise<void> {
  const accept = acceptOf(parts, rs.req.headers.accept);
  if (reference.kind === 'digest') return byDigest(parts, rs, reference.digest);
  return byTag(parts, rs, reference.tag, accept);
}

async function byDigest(parts: CacheParts, rs: RequestState, digest: Digest): Promise<void> {
  const meta = await parts.store.stat(digest);
  if (meta) {
    await ensureLinked(parts, rs, digest, 'manifests');
    if (await serveStored(parts, rs, digest, meta.mediaType ?? '', { result: 'hit', replay: FOREVER })) return;
  }
  // By digest there is nothing to pick: the content, whatever the Accept (as when it is stored).
  if (rs.head) return headUpstream(rs, { kind: 'digest', digest }, []);
  const fetched = await parts.manifests.fetch(rs.upstream, rs.repo, { kind: 'digest', digest }, EVERY_MANIFEST_TYPE);
  parts.stats.add('misses', rs.upstream.config.name);
  // Replayed only once stored: a manifest the disk refused is fetched again (and stored) next time.
  return send(parts, rs, fetched.digest, fetched.mediaType, fetched.bytes, 'miss', fetched.stored ? FOREVER : undefined);
}

async function byTag(parts: CacheParts, rs: RequestState, tag: Tag, accept: readonly AcceptEntry[]): Promise<void> {
  const name = rs.upstream.config.name;
  const cached = await parts.store.getTag(name, rs.repo, tag);
  const fresh = cached !== undefined && Date.now() - cached.fetchedAt < rs.upstream.config.tagTtl;
  // What the tag names, this client cannot take: the upstream picks for it (resolved afresh first once past the TTL).
  if (cached !== undefined && !servesToAccept(accept, cached.mediaType)) return fresh ? pickUpstream(parts, rs, tag, accept) : fetchTag(parts, rs, tag, accept);
  const usable = cached !== undefined && (await parts.store.stat(cached.digest)) !== undefined;
  if (usable && fresh) {
    if (await serveStored(parts, rs, cached.digest, cached.mediaType, { result: 'hit', replay: tagAnswer(rs, tag, cached.fetchedAt) })) return;
    return fetchTag(parts, rs, tag, accept);
  }
  if (usable) return revalidate(parts, rs, tag, cached, accept);
  // A HEAD by tag for an unknown tag is fetched and stored like a GET: containerd resolves
  // every pull with that HEAD and then GETs by digest, so passing it through would leave the
  // tag uncached and unservable offline — and the GET by digest it replaces would cost the
  // same single counted pull upstream.
  return fetchTag(parts, rs, tag, accept);
}

async function fetchTag(parts: CacheParts, rs: RequestState, tag: Tag, accept: readonly AcceptEntry[], was?: TagRecord): Promise<void> {
  const fetched = await parts.manifests.fetch(rs.upstream, rs.repo, { kind: 'tag', tag }, EVERY_MANIFEST_TYPE).catch(async (error: unknown) => {
    // The tag moved upstream, and the new manifest could not be had: what it named before is served stale.
    if (was !== undefined && servesStale(error) && (await serveStored(parts, rs, was.digest, was.mediaType, { result: 'stale', cause: error }))) return undefined;
    throw error;
  });
  if (fetched === undefined) return;
  // A use of the manifest, stored now or long ago (a new tag for a cached image): gc's least recently used goes by it.
  parts.store.touch(fetched.digest);
  const acceptable = servesToAccept(accept, fetched.mediaType);
  if (acceptable) parts.stats.add('misses', rs.upstream.config.name);
  if (fetched.resolvedAtMirror === true) return sendMirrorTag(parts, rs, tag, fetched, acceptable ? undefined : accept);
  const record: TagRecord = { digest: fetched.digest, mediaType: fetched.mediaType, size: fetched.bytes.length, fetchedAt: Date.now() };
  const tagStored = await writeTag(parts, rs, tag, record);
  if (!acceptable) return pickUpstream(parts, rs, tag, accept);
  const replay = fetched.stored && tagStored ? tagAnswer(rs, tag, record.fetchedAt) : undefined;
  return send(parts, rs, fetched.digest, fetched.mediaType, fetched.bytes, 'miss', replay);
}

/**
 * A tag the upstream could not resolve, resolved at a mirror (manifest-fetch.ts): answered as
 * stale, and recorded as already past its TTL, so that the next request revalidates it at the
 * upstream — and while the upstream stays down, serves it stale from the cache.
 */
async function sendMirrorTag(parts: CacheParts, rs: RequestState, tag: Tag, fetched: FetchedManifest, unacceptable: readonly AcceptEntry[] | undefined): Promise<void> {
  const fetchedAt = Math.max(0, Date.now() - rs.upstream.config.tagTtl - 1);
  await writeTag(parts, rs, tag, { digest: fetched.digest, mediaType: fetched.mediaType, size: fetched.bytes.length, fetchedAt });
  // A client that cannot take what the tag names needs the upstream's pick (which then fails, as the upstream is not answering).
  if (unacceptable !== undefined) return pickUpstream(parts, rs, tag, unacceptable);
  markStale(parts, rs);
  return send(parts, rs, fetched.digest, fetched.mediaType, fetched.bytes, 'stale', undefined);
}

/**
 * Writes a tag record; false when the disk refused it. The write's own forget (the hot table
 * drops the tag's answers) does not count against this request's answer being kept — any
 * other forget since the request began does.
 */
async function writeTag(parts: CacheParts, rs: RequestState, tag: Tag, record: TagRecord): Promise<boolean> {
  const before = parts.hot.epoch();
  const written = await parts.store.putTag(rs.upstream.config.name, rs.repo, tag, record).then(
    () => true,
    (error: unknown) => {
      unlessDiskError(error);
      return false;
    },
  );
  const after = parts.hot.epoch();
  const onlyOwnWrite = after.removals === rs.hotEpoch.removals && rs.hotEpoch.tagWrites === before.tagWrites && after.tagWrites === before.tagWrites + 1;
  if (onlyOwnWrite) rs.hotEpoch = after;
  return written;
}

/** The tag's TTL has passed: HEAD it upstream; serve stale if the upstream cannot answer. */
async function revalidate(parts: CacheParts, rs: RequestState, tag: Tag, cached: TagRecord, accept: readonly AcceptEntry[]): Promise<void> {
  const name = rs.upstream.config.name;
  let current: Digest | undefined;
  try {
    // The record's fetchedAt is in the key: requests that read the same stale record share one
    // HEAD, but a record expired since (regcache-admin expire) never reuses an earlier answer.
    const key = `${name}\u0000${rs.repo}\u0000${tag}\u0000${cached.fetchedAt}`;
    const head = parts.freshness.revalidate(key, rs.upstream.config.tagTtl, () => headDigest(rs.upstream.client, rs.repo, { kind: 'tag', tag }, EVERY_MANIFEST_TYPE));
    current = await boundedWhileSuspect(head, rs.upstream.client);
  } catch (error) {
    // A stored copy damaged outside regcache cannot stand in: the upstream's error is the answer
    // (and counted as such by the handler, not as a stale answer too).
    if (servesStale(error) && (await serveStored(parts, rs, cached.digest, cached.mediaType, { result: 'stale', cause: error }))) return;
    // A reachable upstream that no longer has the tag: forget it rather than serve it forever.
    if (error instanceof UpstreamRefusedError && error.status === 404) await parts.store.deleteTag(name, rs.repo, tag);
    throw error;
  }
  if (current === cached.digest) {
    const fetchedAt = Date.now();
    const refreshed = await writeTag(parts, rs, tag, { ...cached, fetchedAt });
    if (await serveStored(parts, rs, cached.digest, cached.mediaType, { result: 'hit', replay: refreshed ? tagAnswer(rs, tag, fetchedAt) : undefined })) return;
    return fetchTag(parts, rs, tag, accept);
  }
  // The tag moved; a client that shared this revalidation may already have stored the new manifest.
  const stored = current === undefined ? undefined : await parts.store.getTag(name, rs.repo, tag);
  if (stored !== undefined && stored.digest === current && servesToAccept(accept, stored.mediaType)) {
    if (await serveStored(parts, rs, stored.digest, stored.mediaType, { result: 'hit', replay: tagAnswer(rs, tag, stored.fetchedAt) })) return;
  }
  return fetchTag(parts, rs, tag, accept, cached);
}

/**
 * A tag that names what this client cannot take (an index, to a client that takes no lists):
 * the upstream picks for it, asked with the client's own Accept, as a registry picks for such a
 * client. Passed through — stored by digest, but never recorded as the tag nor replayed.
 */
async function pickUpstream(parts: CacheParts, rs: RequestState, tag: Tag, accept: readonly AcceptEntry[]): Promise<void> {
  if (rs.head) return headUpstream(rs, { kind: 'tag', tag }, accept);
  const fetched = await parts.manifests.fetch(rs.upstream, rs.repo, { kind: 'tag', tag }, upstreamManifestAccept(accept));
  parts.stats.add('misses', rs.upstream.config.name);
  return send(parts, rs, fetched.digest, fetched.mediaType, fetched.bytes, 'miss', undefined);
}

async function headUpstream(rs: RequestState, reference: Reference, accept: readonly AcceptEntry[]): Promise<void> {
  const ref = reference.kind === 'tag' ? reference.tag : reference.digest;
  const res = await rs.upstream.client.requestOk({
    method: 'HEAD',
    repo: rs.repo,
    path: `/v2/${rs.repo}/manifests/${ref}`,
    headers: { accept: upstreamManifestAccept(accept), ...IDENTITY_ENCODING },
  });
  await res.body.dump();
  const digest = parseDigest(headerValue(res.headers['docker-content-digest'])?.trim() ?? '');
  rs.cache = 'pass';
  if (digest.ok && answerNotModified(rs.req, rs.res, digest.value, 'manifest', rs.cache)) return;
  rs.res.statusCode = 200;
  if (digest.ok) rs.res.setHeader('docker-content-digest', digest.value);
  const type = headerValue(res.headers['content-type']);
  if (type !== undefined) rs.res.setHeader('content-type', type);
  const length = contentLength(res.headers['content-length']);
  if (length !== undefined) rs.res.setHeader('content-length', length);
  rs.res.end();
}

/** How a stored manifest goes out: a hit (kept for replay, or not), or stale because of `cause`, the upstream's failure. */
type ServedAs = { result: 'hit'; replay: Replay | undefined } | { result: 'stale'; cause: unknown };

/**
 * Sends a stored manifest; false, with nothing written, when its file was deleted or changed
 * outside regcache: it is dropped (the caller fetches it again, or answers with the upstream's
 * error) — or, when the disk cannot read it, left in place and fetched as a miss.
 */
async function serveStored(parts: CacheParts, rs: RequestState, digest: Digest, mediaType: string, as: ServedAs): Promise<boolean> {
  let bytes: Buffer;
  try {
    bytes = await parts.store.readBytes(digest);
  } catch (error) {
    if (!(error instanceof BlobNotFoundError || error instanceof DigestMismatchError)) {
      // A file the disk cannot read (an errno, not a store or index error): fetched as a miss.
      if (isFsError(error)) return storedUnreadable(parts, digest, 'manifest', error);
      throw error;
    }
    await dropDamaged(parts, digest, 'manifest', error.message);
    return false;
  }
  parts.store.touch(digest);
  if (as.result === 'hit') parts.stats.add('hits', rs.upstream.config.name);
  else markStale(parts, rs, as.cause);
  send(parts, rs, digest, mediaType, bytes, as.result, as.result === 'hit' ? as.replay : undefined);
  return true;
}

/** How long an answer may be replayed from the hot table, and the tag it answers for. */
interface Replay {
  expiresAt: number;
  tag?: string;
}

const FOREVER: Replay = { expiresAt: Number.POSITIVE_INFINITY };

function tagAnswer(rs: RequestState, tag: Tag, fetchedAt: number): Replay {
  return { expiresAt: fetchedAt + rs.upstream.config.tagTtl, tag: tagKey(rs.upstream.config.name, rs.repo, tag) };
}

/** Sends the manifest; a fresh answer (`replay`; never a stale one) is kept to be replayed as a hit. */
function send(parts: CacheParts, rs: RequestState, digest: Digest, mediaType: string, bytes: Buffer, result: CacheResult, replay: Replay | undefined): void {
  rs.cache = result;
  // Kept whatever this request gets (a 304 too): the table never answers one with If-None-Match.
  if (replay !== undefined) {
    const upstream = rs.upstream.config.name;
    const head = parts.manifestHead(digest, mediaType, bytes.length, 'hit');
    const answer: HotAnswer = { head, body: bytes, digest, upstream, repo: rs.repo, tag: replay.tag, expiresAt: replay.expiresAt, counts: parts.stats.cell(upstream, rs.repo) };
    parts.hot.remember(rs.req, answer, rs.hotEpoch);
  }
  if (answerNotModified(rs.req, rs.res, digest, 'manifest', result)) return;
  rs.res.writeHead(200, parts.manifestHead(digest, mediaType, bytes.length, result));
  if (rs.head) return void rs.res.end();
  rs.bytes = bytes.length;
  parts.stats.add(result === 'miss' ? 'bytesFromUpstream' : 'bytesFromCache', rs.upstream.config.name, bytes.length);
  rs.res.end(bytes);
}
