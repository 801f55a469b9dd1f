/**
 * GET and HEAD of `/v2/<name>/blobs/<digest>`.
 *
 * A blob is shared by digest across repositories and upstreams, but it is served to a
 * repository only when that repository is linked to it (its manifest referenced it, or the
 * upstream served it through that name); otherwise the upstream is asked first, with a
 * HEAD for that repository — so a private image's layers are never handed to a name the
 * upstream would refuse.
 */
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { contentRange, parseRange, rangeStillApplies, type Digest, type RepositoryName } from '@regcache/registry-protocol';
import { BlobNotFoundError, StoreWriteError, type BlobMeta, type OpenBlob } from '@regcache/blob-store';
import { SendfileError } from '@regcache/sendfile';
import type { CacheParts, RequestState, Upstream } from './context.js';
import { RangeNotSatisfiableError, unlessDiskError, UpstreamContentError } from './errors.js';
import { dropDamaged, isFsError, storedUnreadable } from './damaged.js';
import { ensureLinked } from './links.js';
import type { Fill, FillSource } from './fill/types.js';
import { followFill } from './fill/follow.js';
import { answerNotModified, contentLength, headerValue, setBlobHeaders } from './headers.js';
import { fileBodySender, type BodySender } from './send-file.js';
import { relayBlob } from './relay.js';
import { distrust, fromSources, type Mirror } from './upstream/mirrors.js';

const OCTET_STREAM = 'application/octet-stream';

export async function handleBlob(parts: CacheParts, rs: RequestState, digest: Digest): Promise<void> {
  const pending = parts.fills.get(digest);
  if (pending) {
    // Wait for the fill to be under way first: the repository that started it is linked by then.
    const fill = await pending.catch(() => undefined);
    if (fill && fill.status() !== 'failed') {
      await ensureLinked(parts, rs, digest, 'blobs');
      return serveFill(parts, rs, fill, 'coalesced');
    }
  }
  const meta = await parts.store.stat(digest);
  if (meta) {
    await ensureLinked(parts, rs, digest, 'blobs');
    // A file gone or cut outside regcache: its entry is dropped, and it is fetched like a miss.
    if (await serveStored(parts, rs, meta)) return;
  }
  if (rs.head) return headUpstream(rs, digest);
  const { fill, joined } = parts.fills.start(digest, (signal) => openUpstream(parts, rs.upstream, rs.repo, digest, signal));
  const started = await fill.catch((error: unknown) => {
    if (error instanceof StoreWriteError) return error;
    throw error;
  });
  // The store cannot open a temp file (read-only, out of inodes): the client gets the bytes all the same.
  if (started instanceof StoreWriteError) {
    return relayBlob(parts, rs, digest, (signal) => openUpstream(parts, rs.upstream, rs.repo, digest, signal, false), started);
  }
  if (joined) await ensureLinked(parts, rs, digest, 'blobs');
  return serveFill(parts, rs, started, joined ? 'coalesced' : 'miss');
}

/** What opening an upstream's blob needs: the store to link it, the counters for a body that does not verify. */
export type BlobSourceParts = Pick<CacheParts, 'store' | 'stats' | 'metrics'>;

/** The upstream's body of a blob, for a fill (a client's, or a prefetch) or a relay. */
export async function openUpstream(parts: BlobSourceParts, upstream: Upstream, repo: RepositoryName, digest: Digest, signal: AbortSignal, lend = true): Promise<FillSource> {
  // A mirror first, when the upstream has any (upstream/mirrors.ts); the fill verifies the bytes either way.
  const { res, mirror } = await fromSources(upstream, digest, async (client, from) => ({
    res: await client.requestOk({ method: 'GET', repo, path: `/v2/${repo}/blobs/${digest}`, signal, lend }),
    mirror: from,
  }));
  // Served through this name (by the upstream, or a mirror of it): the repository is linked to the blob.
  await parts.store.link(upstream.config.name, repo, digest).catch(unlessDiskError);
  return {
    body: res.body,
    release: res.release,
    handOff: res.handOff,
    size: contentLength(res.headers['content-length']),
    mediaType: headerValue(res.headers['content-type']) ?? OCTET_STREAM,
    upstream: upstream.config.name,
    sender: mirror?.name,
    distrust: () => mismatched(parts, upstream, mirror, digest),
  };
}

/**
 * The bytes of `digest` did not match it or their size — the fill (or the relay) says so once,
 * however many clients waited: the sender's content error, in `stats` for the upstream (mirrors
 * included) and in the metric under the host that sent them (`content`, as for a manifest); a
 * mirror is not asked for that digest again.
 */
function mismatched(parts: BlobSourceParts, upstream: Upstream, mirror: Mirror | undefined, digest: Digest): void {
  if (mirror !== undefined) distrust(mirror, digest);
  const from = mirror?.name ?? upstream.config.name;
  parts.stats.add('upstreamErrors', upstream.config.name);
  parts.metrics.upstreamError(from, new UpstreamContentError(from, `blob ${digest} did not match its digest or size`));
}

async function headUpstream(rs: RequestState, digest: Digest): Promise<void> {
  const res = await rs.upstream.client.requestOk({ method: 'HEAD', repo: rs.repo, path: `/v2/${rs.repo}/blobs/${digest}` });
  await res.body.dump();
  rs.cache = 'pass';
  if (answerNotModified(rs.req, rs.res, digest, 'blob', rs.cache)) return;
  // The head a GET would get: a Range is a 206 (or a 416) here too, as for a stored blob.
  const size = contentLength(res.headers['content-length']);
  startResponse(rs, digest, headerValue(res.headers['content-type']) ?? OCTET_STREAM, size, requestedRange(rs, digest, size));
  rs.res.end();
}

/**
 * The byte range to send, or a 416 (thrown as RANGE_INVALID with its Content-Range). None when
 * an If-Range names anything but this blob's strong ETag: the whole blob then (RFC 9110 §13.1.5).
 */
function requestedRange(rs: RequestState, digest: Digest, size: number | undefined): { start: number; end: number } | undefined {
  const header = headerValue(rs.req.headers.range);
  if (header === undefined || size === undefined) return undefined;
  if (!rangeStillApplies(headerValue(rs.req.headers['if-range']), digest)) return undefined;
  const range = parseRange(header, size);
  if (range.kind === 'full') return undefined;
  if (range.kind === 'unsatisfiable') {
    throw new RangeNotSatisfiableError(size);
  }
  return { start: range.start, end: range.end };
}

function startResponse(rs: RequestState, digest: Digest, mediaType: string, size: number | undefined, range: { start: number; end: number } | undefined): void {
  const length = range ? range.end - range.start + 1 : size;
  setBlobHeaders(rs.res, digest, mediaType, length);
  rs.res.setHeader('x-regcache-cache', rs.cache);
  if (range && size !== undefined) {
    rs.res.statusCode = 206;
    rs.res.setHeader('content-range', contentRange(range.start, range.end, size));
  }
}

/** Serves a stored blob; false, before anything is written, when its file turned out damaged. */
async function serveStored(parts: CacheParts, rs: RequestState, meta: BlobMeta): Promise<boolean> {
  // The client holds these bytes already: no file is opened, damaged or not.
  if (answerNotModified(rs.req, rs.res, meta.digest, 'blob', 'hit')) {
    countHit(parts, rs, meta.digest);
    return true;
  }
  const range = requestedRange(rs, meta.digest, meta.size);
  const sender = rs.head ? undefined : fileBodySender(rs.res);
  // Checked before the head is written, so a damaged file is a miss, not a cut 200: sendfile
  // opens it (a kept-open descriptor, sized when opened); the stream reads the path afresh, so
  // the path's own size is what counts there.
  const blob = sender === undefined ? undefined : await openStored(parts, meta);
  const intact = sender !== undefined ? blob !== undefined : rs.head || (await pathHolds(parts, meta));
  if (!intact) return false;
  countHit(parts, rs, meta.digest);
  startResponse(rs, meta.digest, meta.mediaType ?? OCTET_STREAM, meta.size, range);
  if (rs.head) {
    rs.res.end();
    return true;
  }
  const start = range?.start ?? 0;
  const length = range ? range.end - range.start + 1 : meta.size;
  // What a completed stream sent (streamStored counts a broken one; sendStored sets what it sent).
  rs.bytes = length;
  if (sender !== undefined && blob !== undefined) await sendStored(parts, rs, meta, sender, blob, { start, length });
  else await streamStored(parts, rs, meta, range);
  parts.stats.add('bytesFromCache', rs.upstream.config.name, rs.bytes);
  return true;
}

function countHit(parts: CacheParts, rs: RequestState, digest: Digest): void {
  rs.cache = 'hit';
  parts.store.touch(digest);
  parts.stats.add('hits', rs.upstream.config.name);
}

/** For the stream path: the file at the blob's path has the blob's size (else the blob is dropped). */
async function pathHolds(parts: CacheParts, meta: BlobMeta): Promise<boolean> {
  let size: number | undefined;
  try {
    size = (await stat(parts.store.path(meta.digest))).size;
  } catch (error) {
    if (!isFsError(error)) throw error;
    if (error.code !== 'ENOENT') return storedUnreadable(parts, meta.digest, 'blob', error);
  }
  if (size === meta.size) return true;
  await dropDamaged(parts, meta.digest, 'blob', size === undefined ? 'no file' : `${size} bytes`);
  return false;
}

/**
 * The blob's file, or undefined when it is gone or is not the blob's size — deleted or cut
 * outside regcache (a committed file is only ever replaced whole, by a verified one). Such a
 * blob is dropped, so this request and the next fetch it again instead of failing until a
 * restart's repair.
 */
async function openStored(parts: CacheParts, meta: BlobMeta): Promise<OpenBlob | undefined> {
  let found: string;
  try {
    const blob = await parts.store.openBlob(meta.digest);
    if (blob.size === meta.size) return blob;
    await blob.close();
    found = `${blob.size} bytes`;
  } catch (error) {
    if (!(error instanceof BlobNotFoundError)) {
      if (!isFsError(error)) throw error;
      storedUnreadable(parts, meta.digest, 'blob', error);
      return undefined;
    }
    found = 'no file';
  }
  await dropDamaged(parts, meta.digest, 'blob', found);
  return undefined;
}

/**
 * The body by sendfile; a short file or a client gone cuts the connection. A file that ends
 * early was cut outside regcache after it was opened (a kept-open descriptor outlives the
 * check in openStored): it is dropped, so the client's retry fetches it again.
 */
async function sendStored(parts: CacheParts, rs: RequestState, meta: BlobMeta, sender: BodySender, blob: OpenBlob, span: { start: number; length: number }): Promise<void> {
  try {
    const sent = span.length === 0 ? 0 : await sender.send(blob.fd, span.start, span.length);
    rs.bytes = sent;
    if (sent === span.length) return void rs.res.end();
    rs.res.destroy();
    await dropDamaged(parts, meta.digest, 'blob', `ended after ${span.start + sent} bytes`);
  } catch (error) {
    rs.bytes = error instanceof SendfileError ? error.sent : 0;
    rs.res.destroy();
  } finally {
    await blob.close();
  }
}

async function streamStored(parts: CacheParts, rs: RequestState, meta: BlobMeta, range: { start: number; end: number } | undefined): Promise<void> {
  // No 'data' listener to count bytes (it costs ~30% of throughput): a completed pipeline
  // sent exactly the Content-Length; a broken one is counted by what reached the socket.
  const socket = rs.res.socket;
  const before = socket?.bytesWritten ?? 0;
  // Always a range: without one the store's reader cannot size its reads to the blob, and each
  // read of a small blob would allocate (and pin, through the chunk it sends) a 2 MiB buffer.
  const bytes = range ?? (meta.size > 0 ? { start: 0, end: meta.size - 1 } : undefined);
  await pipeline(parts.store.createReadStream(meta.digest, bytes), rs.res).catch(() => {
    rs.bytes = Math.max(0, Math.min(rs.bytes, (socket?.bytesWritten ?? before) - before));
    rs.res.destroy();
  });
}

async function serveFill(parts: CacheParts, rs: RequestState, fill: Fill, result: 'miss' | 'coalesced'): Promise<void> {
  rs.cache = result;
  parts.stats.add(result === 'miss' ? 'misses' : 'coalesced', rs.upstream.config.name);
  // The fill goes on without this client (a fill's lifetime is its own), and stores the blob.
  if (answerNotModified(rs.req, rs.res, fill.digest, 'blob', result)) return;
  const range = requestedRange(rs, fill.digest, fill.size);
  startResponse(rs, fill.digest, fill.mediaType, fill.size, range);
  if (rs.head) return void rs.res.end();
  const start = range?.start ?? 0;
  const end = range ? range.end + 1 : fill.size;
  // In use until this client has it all: gc and purges leave the blob alone meanwhile.
  const release = parts.store.usage.hold(fill.digest);
  try {
    // sendfile only with a Content-Length: a chunked body needs framing it cannot add.
    const sender = fill.size === undefined ? undefined : fileBodySender(rs.res);
    rs.bytes = await followFill(fill, rs.res, start, end, sender, (sent) => {
      rs.bytes = sent;
    });
    rs.res.end();
  } catch {
    rs.res.destroy();
  } finally {
    release();
  }
  parts.stats.add(result === 'miss' ? 'bytesFromUpstream' : 'bytesFromCache', rs.upstream.config.name, rs.bytes);
}
