/**
 * `/v2/<name>/referrers/<digest>` (OCI 1.1, distribution-spec §Listing Referrers): the image
 * index of the manifests whose `subject` is <digest> — signatures, SBOMs, attestations.
 *
 * Asked of the upstream with its `artifactType` filter and answered as the upstream answered,
 * kept in memory for the upstream's `tagTtl` like a tag list (the list grows whenever someone
 * signs the image), and served stale (`x-regcache-stale`) when the upstream cannot answer — a
 * signature check still passes while the upstream is down. When the upstream has no such API
 * (distribution 2.x answers 404), or answers something that is not an OCI index, or cannot be
 * reached with nothing kept, the answer is 404 MANIFEST_UNKNOWN. That is the spec's signal ("Unavailable
 * Referrers API") for a client to read the referrers tag schema instead — the tag
 * `sha256-<hex>`, an ordinary tag that regcache serves, from its cache when the upstream is down.
 * (Answering 405 or 503 here would not do: crane falls back only on 404/400/406, oras only on a
 * 404 whose code is not NAME_UNKNOWN.) An upstream's 401, 403, 429 and NAME_UNKNOWN are answered
 * as for manifests.
 */
import { MEDIA_TYPES, parseManifest, type Digest } from '@regcache/registry-protocol';
import type { CacheParts, CacheResult, RequestState } from './context.js';
import { describeError, ReferrersUnavailableError, UpstreamContentError, UpstreamRefusedError, UpstreamUnavailableError } from './errors.js';
import { markStale, servesStale, type ReferrersPage } from './freshness.js';
import { headerValue } from './headers.js';
import { API_VERSION, API_VERSION_HEADER } from './respond.js';
import { readBodyCapped } from './upstream/responses.js';
import { IDENTITY_ENCODING } from './manifest-body.js';

/** As for manifests: an index is a manifest, and distribution refuses those over 4 MiB. */
const MAX_REFERRERS_BYTES = 4 * 1024 * 1024;
const FILTERS_APPLIED = 'oci-filters-applied';

export async function handleReferrers(parts: CacheParts, rs: RequestState, digest: Digest): Promise<void> {
  const name = rs.upstream.config.name;
  const key = [name, rs.repo, digest, rs.query.artifactType ?? ''].join('\u0000');
  const cached = parts.freshness.referrers.get(key);
  if (cached !== undefined && Date.now() - cached.fetchedAt < rs.upstream.config.tagTtl) return sendList(parts, rs, cached, 'hit');
  let page: ReferrersPage;
  try {
    page = await fetchReferrers(rs, digest);
  } catch (error) {
    if (cached !== undefined && servesStale(error)) {
      markStale(parts, rs, error);
      return sendList(parts, rs, cached, 'stale');
    }
    if (!apiUnavailable(error)) throw error;
    if (error instanceof UpstreamUnavailableError || error instanceof UpstreamContentError) {
      // Answered 404, but counted and logged as the UNAVAILABLE answer it stands for.
      parts.stats.add('upstreamErrors', name);
      rs.error = describeError(error);
    }
    // The upstream answered without a list (no API, or not an index): what was kept is gone.
    if (!(error instanceof UpstreamUnavailableError)) parts.freshness.referrers.delete(key);
    throw new ReferrersUnavailableError(name, digest);
  }
  parts.freshness.referrers.put(key, page);
  return sendList(parts, rs, page, 'miss');
}

function sendList(parts: CacheParts, rs: RequestState, page: ReferrersPage, result: CacheResult): void {
  rs.res.statusCode = 200;
  rs.res.setHeader(API_VERSION_HEADER, API_VERSION);
  rs.res.setHeader('content-type', MEDIA_TYPES.ociIndex);
  rs.res.setHeader('content-length', page.bytes.length);
  rs.res.setHeader('x-regcache-cache', result);
  if (page.filtersApplied !== undefined) rs.res.setHeader(FILTERS_APPLIED, page.filtersApplied);
  rs.cache = result;
  rs.bytes = rs.head ? 0 : page.bytes.length;
  parts.stats.add(result === 'miss' ? 'bytesFromUpstream' : 'bytesFromCache', rs.upstream.config.name, rs.bytes);
  rs.res.end(rs.head ? undefined : page.bytes);
}

async function fetchReferrers(rs: RequestState, digest: Digest): Promise<ReferrersPage> {
  const name = rs.upstream.config.name;
  const filter = rs.query.artifactType;
  const search = filter === undefined ? '' : `?${new URLSearchParams({ artifactType: filter }).toString()}`;
  const res = await rs.upstream.client.requestOk({
    method: 'GET',
    repo: rs.repo,
    path: `/v2/${rs.repo}/referrers/${digest}${search}`,
    headers: { accept: MEDIA_TYPES.ociIndex, ...IDENTITY_ENCODING },
    // An upstream without the API may say so with a 501: apiUnavailable() below, not an outage.
    optionalApi: true,
  });
  const bytes = await readBodyCapped(res.body, MAX_REFERRERS_BYTES, name);
  if (bytes === undefined) throw new UpstreamContentError(name, 'upstream referrers list is too large');
  const parsed = parseManifest(bytes.toString('utf8'), headerValue(res.headers['content-type']));
  if (!parsed.ok || parsed.value.kind !== 'index' || parsed.value.mediaType !== MEDIA_TYPES.ociIndex) {
    throw new UpstreamContentError(name, 'upstream answered the referrers API with something other than an OCI image index');
  }
  // The filter header only when a filter was asked for: otherwise it would claim one the client did not set.
  const filtersApplied = filter === undefined ? undefined : headerValue(res.headers[FILTERS_APPLIED]);
  return { bytes, filtersApplied, fetchedAt: Date.now() };
}

/** What means "read the tag schema instead"; credentials, rate limits and an unknown repository do not. */
function apiUnavailable(error: unknown): boolean {
  if (error instanceof UpstreamRefusedError) return [400, 404, 405, 406, 501].includes(error.status) && error.ociCode !== 'NAME_UNKNOWN';
  return error instanceof UpstreamUnavailableError || error instanceof UpstreamContentError;
}
