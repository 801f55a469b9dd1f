/**
 * The client for one upstream registry, on undici. It adds credentials (see auth.ts),
 * retries once after a 401 challenge, follows redirects itself — dropping Authorization
 * when a redirect leaves the upstream's origin (blob storage on S3/a CDN must never see the
 * registry's token) — honours Retry-After after a 429 by refusing to ask again until then,
 * and turns transport failures into `UpstreamUnavailableError`.
 */
import { Agent, request, type Dispatcher } from 'undici';
import type { Readable } from 'node:stream';
import { pullScope, type RepositoryName } from '@regcache/registry-protocol';
import type { UpstreamConfig } from '../config.js';
import { UpstreamRateLimitedError, UpstreamRefusedError, UpstreamUnavailableError } from '../errors.js';
import { createUpstreamAuth } from './auth.js';
import { retryAfterMs, upstreamErrorCode } from './responses.js';

export interface UpstreamRequest {
  method: 'GET' | 'HEAD';
  /** The repository the request is for: its pull scope is what a token is asked for. */
  repo?: RepositoryName;
  /** Path and query under the upstream's origin, e.g. `/v2/library/alpine/manifests/3`. */
  path: string;
  headers?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
}

export interface UpstreamResponse {
  status: number;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Readable & { dump(): Promise<void> };
}

/** What the client learned from the upstream's answers; read by stats. */
export interface UpstreamState {
  /** Docker Hub's `ratelimit-remaining` (`76;w=21600` → 76): pulls left in its window. */
  rateLimitRemaining?: number;
  /** Docker Hub's `ratelimit-limit`: pulls allowed per window. */
  rateLimitLimit?: number;
  /** After a 429: no request goes upstream before this time (ms since the epoch). */
  rateLimitedUntil: number;
}

export interface UpstreamClient {
  readonly name: string;
  readonly state: Readonly<UpstreamState>;
  /** Any status; the caller consumes or dumps the body. */
  request(req: UpstreamRequest): Promise<UpstreamResponse>;
  /** A 2xx response, or the matching typed error (body already dumped). */
  requestOk(req: UpstreamRequest): Promise<UpstreamResponse>;
  close(): Promise<void>;
}

const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

export function createUpstreamClient(config: UpstreamConfig): UpstreamClient {
  const dispatcher = new Agent({
    connect: { timeout: config.timeouts.connect },
    keepAliveTimeout: 30_000,
    connections: 64,
    headersTimeout: config.timeouts.headers,
    bodyTimeout: config.timeouts.body,
  });
  const auth = createUpstreamAuth({ upstream: config.name, credentials: config, dispatcher, timeoutMs: config.timeouts.headers });
  const origin = new URL(config.url).origin;
  const state: UpstreamState = { rateLimitedUntil: 0 };

  async function send(url: URL, req: UpstreamRequest, authorization: string | undefined): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = { 'user-agent': 'regcache', ...req.headers };
    if (authorization !== undefined) headers.authorization = authorization;
    try {
      return await request(url, { method: req.method, headers, signal: req.signal, dispatcher });
    } catch (cause) {
      if (req.signal?.aborted) throw cause;
      const code = (cause as { code?: string }).code ?? '';
      throw new UpstreamUnavailableError(config.name, TIMEOUT_CODES.has(code) ? 'timeout' : 'unreachable', undefined, { cause });
    }
  }

  /** One exchange with redirects followed; Authorization only goes to the upstream's own origin. */
  async function exchange(req: UpstreamRequest, authorization: string | undefined): Promise<Dispatcher.ResponseData> {
    let url = new URL(req.path, origin);
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const res = await send(url, req, url.origin === origin ? authorization : undefined);
      const location = res.headers.location;
      if (!REDIRECTS.has(res.statusCode) || typeof location !== 'string') return res;
      await res.body.dump();
      url = new URL(location, url);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') break;
    }
    throw new UpstreamUnavailableError(config.name, 'redirects');
  }

  async function doRequest(req: UpstreamRequest): Promise<UpstreamResponse> {
    if (state.rateLimitedUntil > Date.now()) throw new UpstreamRateLimitedError(config.name, state.rateLimitedUntil - Date.now());
    const scope = req.repo === undefined ? undefined : pullScope(req.repo);
    let res = await exchange(req, await auth.authorization(scope, req.signal));
    if (res.statusCode === 401 && auth.challenged(res.headers['www-authenticate'], scope)) {
      await res.body.dump();
      res = await exchange(req, await auth.authorization(scope, req.signal));
      if (res.statusCode === 401) auth.invalidate(scope);
    }
    record(res);
    return { status: res.statusCode, headers: res.headers, body: res.body };
  }

  function record(res: Dispatcher.ResponseData): void {
    state.rateLimitRemaining = leadingNumber(res.headers['ratelimit-remaining']) ?? state.rateLimitRemaining;
    state.rateLimitLimit = leadingNumber(res.headers['ratelimit-limit']) ?? state.rateLimitLimit;
    if (res.statusCode === 429) state.rateLimitedUntil = Date.now() + retryAfterMs(res.headers['retry-after']);
  }

  async function requestOk(req: UpstreamRequest): Promise<UpstreamResponse> {
    const res = await doRequest(req);
    if (res.status >= 200 && res.status < 300) return res;
    if (res.status === 429) {
      await res.body.dump();
      throw new UpstreamRateLimitedError(config.name, Math.max(0, state.rateLimitedUntil - Date.now()));
    }
    if (res.status >= 500 || res.status < 200 || (res.status >= 300 && res.status < 400)) {
      await res.body.dump();
      throw new UpstreamUnavailableError(config.name, 'status', res.status);
    }
    const { code, message } = await upstreamErrorCode(res.body, req.method);
    throw new UpstreamRefusedError(config.name, res.status, code, message);
  }

  return {
    name: config.name,
    state,
    request: doRequest,
    requestOk,
    close: () => dispatcher.close(),
  };
}

/** The count before any `;w=` window parameter of a `ratelimit-*` header. */
function leadingNumber(value: string | string[] | undefined): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || !/^\s*\d+/.test(raw)) return undefined;
  return Number.parseInt(raw.trim(), 10);
}
