/**
 * `/v2/<name>/tags/list`, passed through to the upstream with `n`/`last`. Each page is
 * validated as a tag list, put in lexical order and cut to `n` after `last` when the
 * upstream ignored them (distribution 2.8 does), and cached (in memory) for the upstream's
 * `tagTtl`, like a tag;
 * when the upstream cannot answer, the cached page is served stale (`x-regcache-stale`).
 * The `Link` to the next page names the repository the way the client did (with its
 * upstream prefix, or its `ns=`), so following it comes back through the same route.
 */
import { parseLinkNext, parseTagsList, type RepositoryName } from '@regcache/registry-protocol';
import type { CacheParts, CacheResult, RequestState } from './context.js';
import { UpstreamContentError, UpstreamRefusedError } from './errors.js';
import { boundedWhileSuspect, markStale, servesStale, type TagListPage } from './freshness.js';
import { headerValue } from './headers.js';
import { API_VERSION, API_VERSION_HEADER } from './respond.js';
import { readBodyCapped } from './upstream/responses.js';
import { IDENTITY_ENCODING } from './manifest-body.js';

const MAX_TAGS_BYTES = 8 * 1024 * 1024;
/** distribution's page size when a Link names none. */
const DEFAULT_PAGE = 100;

export async function handleTags(parts: CacheParts, rs: RequestState, clientName: RepositoryName): Promise<void> {
  const name = rs.upstream.config.name;
  const key = [name, rs.repo, rs.query.n ?? '', rs.query.last ?? ''].join('\u0000');
  const cached = parts.freshness.tagLists.get(key);
  if (cached !== undefined && Date.now() - cached.fetchedAt < rs.upstream.config.tagTtl) {
    return sendPage(parts, rs, clientName, cached, 'hit');
  }
  let page: TagListPage;
  try {
    page = await (cached === undefined ? fetchPage(rs) : boundedWhileSuspect(fetchPage(rs), rs.upstream.client));
  } catch (error) {
    if (cached !== undefined && servesStale(error)) {
      markStale(parts, rs, error);
      return sendPage(parts, rs, clientName, cached, 'stale');
    }
    if (error instanceof UpstreamRefusedError && error.status === 404) parts.freshness.tagLists.delete(key);
    throw error;
  }
  parts.freshness.tagLists.put(key, page);
  return sendPage(parts, rs, clientName, page, 'miss');
}

async function fetchPage(rs: RequestState): Promise<TagListPage> {
  const params = new URLSearchParams();
  if (rs.query.n !== undefined) params.set('n', String(rs.query.n));
  if (rs.query.last !== undefined) params.set('last', rs.query.last);
  const search = params.size > 0 ? `?${params.toString()}` : '';
  const res = await rs.upstream.client.requestOk({ method: 'GET', repo: rs.repo, path: `/v2/${rs.repo}/tags/list${search}`, headers: IDENTITY_ENCODING });
  const body = await readAll(res.body, rs.upstream.config.name);
  const parsed = parseTagsList(body.toString('utf8'));
  if (!parsed.ok) throw new UpstreamContentError(rs.upstream.config.name, 'upstream sent an invalid tags list');
  const window = applyPage(parsed.value.tags, rs.query.n, rs.query.last);
  return { tags: window.tags, next: nextPage(headerValue(res.headers.link), rs.query.n) ?? window.next, fetchedAt: Date.now() };
}

/** The distribution spec's page: lexical order, tags after `last`, at most `n` (a no-op on an upstream that paginated). */
function applyPage(all: readonly string[], n: number | undefined, last: string | undefined): Pick<TagListPage, 'tags' | 'next'> {
  const after = [...all].sort().filter((t) => last === undefined || t > last);
  if (n === undefined || after.length <= n) return { tags: after, next: undefined };
  const tags = after.slice(0, n);
  const lastTag = tags[tags.length - 1];
  return { tags, next: lastTag === undefined ? undefined : { n, last: lastTag } };
}

/** The upstream's next-page link reduced to its `n` and `last`: its path is the upstream's name, not the client's. */
function nextPage(link: string | undefined, n: number | undefined): TagListPage['next'] {
  const next = parseLinkNext(link);
  if (next === undefined) return undefined;
  const url = new URL(next, 'http://upstream.invalid');
  const size = Number(url.searchParams.get('n') ?? n ?? DEFAULT_PAGE);
  return { n: Number.isSafeInteger(size) && size >= 0 ? size : DEFAULT_PAGE, last: url.searchParams.get('last') ?? '' };
}

function sendPage(parts: CacheParts, rs: RequestState, clientName: RepositoryName, page: TagListPage, result: CacheResult): void {
  rs.res.statusCode = 200;
  rs.res.setHeader(API_VERSION_HEADER, API_VERSION);
  rs.res.setHeader('content-type', 'application/json');
  rs.res.setHeader('x-regcache-cache', result);
  if (page.next !== undefined) rs.res.setHeader('link', clientLink(clientName, page.next, rs.query.ns));
  const out = Buffer.from(JSON.stringify({ name: clientName, tags: page.tags }));
  rs.res.setHeader('content-length', out.length);
  rs.cache = result;
  rs.bytes = out.length;
  parts.stats.add(result === 'miss' ? 'bytesFromUpstream' : 'bytesFromCache', rs.upstream.config.name, out.length);
  rs.res.end(rs.head ? undefined : out);
}

function clientLink(clientName: RepositoryName, next: { n: number; last: string }, ns: string | undefined): string {
  const params = new URLSearchParams({ n: String(next.n), last: next.last });
  if (ns !== undefined) params.set('ns', ns);
  return `</v2/${clientName}/tags/list?${params.toString()}>; rel="next"`;
}

async function readAll(body: AsyncIterable<unknown> & { dump(): Promise<void> }, upstream: string): Promise<Buffer> {
  const bytes = await readBodyCapped(body, MAX_TAGS_BYTES, upstream);
  if (bytes === undefined) throw new UpstreamContentError(upstream, 'upstream tags list is too large');
  return bytes;
}
