/**
 * `/v2/<name>/tags/list`, passed through to the upstream with `n`/`last`. The body is
 * validated as a tags list and re-served; a `Link` to the next page is rewritten to the name
 * the client used (which may carry an upstream prefix).
 */
import { parseLinkNext, parseTagsList, tagsListLink, type RepositoryName } from '@regcache/registry-protocol';
import type { CacheParts, RequestState } from './context.js';
import { UpstreamContentError } from './errors.js';
import { headerValue } from './headers.js';
import { API_VERSION, API_VERSION_HEADER } from './respond.js';

const MAX_TAGS_BYTES = 8 * 1024 * 1024;

export async function handleTags(parts: CacheParts, rs: RequestState, clientName: RepositoryName): Promise<void> {
  const params = new URLSearchParams();
  if (rs.query.n !== undefined) params.set('n', String(rs.query.n));
  if (rs.query.last !== undefined) params.set('last', rs.query.last);
  const search = params.size > 0 ? `?${params.toString()}` : '';
  const res = await rs.upstream.client.requestOk({ method: 'GET', repo: rs.repo, path: `/v2/${rs.repo}/tags/list${search}` });
  const body = await readAll(res.body);
  const parsed = parseTagsList(body.toString('utf8'));
  if (!parsed.ok) throw new UpstreamContentError(rs.upstream.config.name, 'upstream sent an invalid tags list');
  const next = parseLinkNext(headerValue(res.headers.link));
  rs.res.statusCode = 200;
  rs.res.setHeader(API_VERSION_HEADER, API_VERSION);
  rs.res.setHeader('content-type', 'application/json');
  if (next !== undefined) rs.res.setHeader('link', rewriteLink(next, clientName, rs.query.n));
  const out = Buffer.from(JSON.stringify({ name: clientName, tags: parsed.value.tags }));
  rs.res.setHeader('content-length', out.length);
  rs.cache = 'pass';
  rs.bytes = out.length;
  parts.stats.add('bytesFromUpstream', rs.upstream.config.name, out.length);
  rs.res.end(rs.head ? undefined : out);
}

function rewriteLink(next: string, clientName: RepositoryName, n: number | undefined): string {
  const url = new URL(next, 'http://upstream.invalid');
  const last = url.searchParams.get('last') ?? '';
  const size = Number(url.searchParams.get('n') ?? n ?? 100);
  return tagsListLink(clientName, Number.isFinite(size) ? size : 100, last);
}

async function readAll(body: AsyncIterable<unknown> & { dump(): Promise<void> }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > MAX_TAGS_BYTES) {
      await body.dump();
      throw new UpstreamContentError('upstream', 'upstream tags list is too large');
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
