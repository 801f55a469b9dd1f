/**
 * The client for one upstream registry, on undici — through the upstream's HTTP proxy when it
 * has one — (and, for blob bodies from an http:// upstream reached directly, plain-get.ts's
 * pooled reader). It adds credentials (see auth.ts),
 * retries once after a 401 challenge, follows redirects itself — dropping Authorization
 * when a redirect leaves the upstream's origin (blob storage on S3/a CDN must never see the
 * registry's token) — honours Retry-After after a 429 by refusing to ask again until then,
 * and turns transport failures into `UpstreamUnavailableError`.
 */
import { Agent, ProxyAgent, request, type Dispatcher } from 'undici';
import type { Readable } from 'node:stream';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { pullScope, type RepositoryName } from '@regcache/registry-protocol';
import type { UpstreamConfig } from '../config.js';
import { UpstreamRateLimitedError, UpstreamRefusedError, UpstreamUnavailableError } from '../errors.js';
import { createUpstreamAuth } from './auth.js';
import { PlainGetTimeoutError } from './plain-body.js';
import { createPlainConnections } from './plain-connections.js';
import { plainGet, type BodyHandOff } from './plain-get.js';
import { PlainGetUnsupportedError } from './plain-head.js';
import { createRateLimits } from './rate-limits.js';
import { retryAfterMs, upstreamErrorCode } from './responses.js';

export interface UpstreamRequest {
  method: 'GET' | 'HEAD';
  /** The repository the request is for: its pull scope is what a token is asked for. */
  repo?: RepositoryName;
  /** Path and query under the upstream's origin, e.g. `/v2/library/alpine/manifests/3`. */
  path: string;
  headers?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
  /**
   * The caller hands every body chunk back (`UpstreamResponse.release`) once done with it: from
   * an http:// upstream the body is then read into a small reused pool (plain-get.ts).
   */
  lend?: boolean;
  /**
   * An API the upstream may lack (the referrers API): its 501 Not Implemented says so, as a 404
   * would — an UpstreamRefusedError, not the upstream unavailable (not counted as its failure).
   */
  optionalApi?: boolean;
}

export interface UpstreamResponse {
  status: number;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Readable & { dump(): Promise<void> };
  /** Present when the body's chunks are lent (see `UpstreamRequest.lend`): each must come back here. */
  release?: (chunk: Buffer) => void;
  /** Present for a lent body framed by Content-Length: its socket, for the fill's native receive loop (plain-get.ts). */
  handOff?: BodyHandOff;
}

/** What the client learned from the upstream's answers; read by stats. */
export interface UpstreamState {
  /** Docker Hub's `ratelimit-remaining` (`76;w=21600` → 76): pulls left in its window. */
  rateLimitRemaining?: number;
  /** Docker Hub's `ratelimit-limit`: pulls allowed per window. */
  rateLimitLimit?: number;
  /** After a 429: no request goes upstream before this time (ms since the epoch). */
  rateLimitedUntil: number;
  /** When a request to the upstream last timed out with no answer (ms since the epoch); 0 once it answers again. */
  timedOutAt: number;
  /** Blob requests to an http:// upstream sent on a new connection, and on a kept-alive one (plain-connections.ts). */
  connections: { new: number; reused: number };
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

/** One response as send() returns it, from undici or from plain-get.ts. */
type Exchanged = Omit<UpstreamResponse, 'status'> & { statusCode: number };
/** The last response of an exchange, and whether it came from the upstream itself or from where it redirected (blob storage). */
type Answered = Exchanged & { foreign: boolean };

const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * An upstream's own CA is trusted beside the system's, not instead: its redirects may lead to
 * blob storage (S3, a CDN) with a public certificate. One context, built once: a `ca` option
 * would parse the ≈ 150 system roots again for every connection.
 */
function trustFor(config: UpstreamConfig): { secureContext?: SecureContext } {
  return config.ca === undefined ? {} : { secureContext: createSecureContext({ ca: [...rootCertificates, config.ca] }) };
}

/**
 * undici's pool for this upstream — through its HTTP proxy when it has one: a CONNECT tunnel
 * for https:// (TLS to the upstream inside it, with the upstream's trust), absolute-form
 * requests for http:// (what a proxy that only tunnels to 443 still forwards).
 */
function createDispatcher(config: UpstreamConfig): Dispatcher {
  const options = {
    keepAliveTimeout: 30_000,
    connections: 64,
    headersTimeout: config.timeouts.headers,
    bodyTimeout: config.timeouts.body,
  };
  if (config.proxy === undefined) return new Agent({ ...options, connect: { timeout: config.timeouts.connect, ...trustFor(config) } });
  return new ProxyAgent({ ...options, uri: config.proxy.reveal(), proxyTunnel: false, proxyTls: { timeout: config.timeouts.connect }, requestTls: { timeout: config.timeouts.connect, ...trustFor(config) } });
}

export function createUpstreamClient(config: UpstreamConfig): UpstreamClient {
  const dispatcher = createDispatcher(config);
  const state: UpstreamState = { rateLimitedUntil: 0, timedOutAt: 0, connections: { new: 0, reused: 0 } };
  const connections = createPlainConnections({ onAcquire: (reused) => void (reused ? state.connections.reused++ : state.connections.new++) });
  const auth = createUpstreamAuth({ upstream: config.name, credentials: config, dispatcher, timeoutMs: config.timeouts.headers });
  const origin = new URL(config.url).origin;
  const limits = createRateLimits();

  async function send(url: URL, req: UpstreamRequest, authorization: string | undefined): Promise<Exchanged> {
    const headers: Record<string, string> = { 'user-agent': 'regcache', ...req.headers };
    if (authorization !== undefined) headers.authorization = authorization;
    try {
      // The pooled reader connects directly: not for an upstream behind a proxy.
      if (req.lend === true && req.method === 'GET' && url.protocol === 'http:' && config.proxy === undefined) {
        const plain = await plainGet({ url, headers, signal: req.signal, timeouts: config.timeouts, connections }).catch((error: unknown) => {
          // A transfer coding the pooled reader does not read: the same request through undici.
          if (error instanceof PlainGetUnsupportedError) return undefined;
          throw error;
        });
        if (plain !== undefined) return answered(url, plain);
      }
      const res = await request(url, { method: req.method, headers, signal: req.signal, dispatcher });
      return answered(url, { statusCode: res.statusCode, headers: res.headers, body: res.body });
    } catch (cause) {
      if (req.signal?.aborted) throw cause;
      const code = (cause as { code?: string }).code ?? '';
      const timeout = TIMEOUT_CODES.has(code) || cause instanceof PlainGetTimeoutError;
      if (timeout && url.origin === origin) state.timedOutAt = Date.now();
      throw new UpstreamUnavailableError(config.name, timeout ? 'timeout' : 'unreachable', undefined, { cause });
    }
  }

  function answered(url: URL, res: Exchanged): Exchanged {
    if (url.origin === origin) state.timedOutAt = 0;
    return res;
  }

  /** One exchange with redirects followed; Authorization only goes to the upstream's own origin. */
  async function exchange(req: UpstreamRequest, authorization: string | undefined): Promise<Answered> {
    let url = new URL(req.path, origin);
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const foreign = url.origin !== origin;
      const res = await send(url, req, foreign ? undefined : authorization);
      const location = res.headers.location;
      if (!REDIRECTS.has(res.statusCode) || typeof location !== 'string') return foreignAnswer(res, foreign);
      await res.body.dump();
      url = new URL(location, url);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') break;
    }
    throw new UpstreamUnavailableError(config.name, 'redirects');
  }

  /**
   * Where the upstream redirected (blob storage: S3, a CDN), a refusal is not about the
   * repository — the upstream just said yes — but a signed URL expired or storage failing:
   * the upstream is unavailable for this blob. A 429 there limits this request, not the upstream.
   */
  async function foreignAnswer(res: Exchanged, foreign: boolean): Promise<Answered> {
    if (!foreign) return Object.assign(res, { foreign });
    if (res.statusCode === 429) {
      await res.body.dump();
      throw new UpstreamRateLimitedError(config.name, retryAfterMs(res.headers['retry-after']));
    }
    if (res.statusCode >= 400 && res.statusCode < 500 && res.statusCode !== 416) {
      await res.body.dump();
      throw new UpstreamUnavailableError(config.name, 'storage', res.statusCode);
    }
    return Object.assign(res, { foreign });
  }

  async function doRequest(req: UpstreamRequest): Promise<UpstreamResponse> {
    const waitMs = limits.waitMs(req);
    if (waitMs > 0) throw new UpstreamRateLimitedError(config.name, waitMs, true);
    const scope = req.repo === undefined ? undefined : pullScope(req.repo);
    let res = await exchange(req, await auth.authorization(scope, req.signal));
    if (res.statusCode === 401 && auth.challenged(res.headers['www-authenticate'], scope)) {
      await res.body.dump();
      res = await exchange(req, await auth.authorization(scope, req.signal));
      if (res.statusCode === 401) auth.invalidate(scope);
    }
    const refused = res.statusCode === 401 ? auth.refusedOwn(res.headers['www-authenticate']) : undefined;
    if (refused !== undefined) {
      await res.body.dump();
      throw refused;
    }
    record(req, res);
    return { status: res.statusCode, headers: res.headers, body: res.body, release: res.release, handOff: res.handOff };
  }

  function record(req: UpstreamRequest, res: Answered): void {
    state.rateLimitRemaining = leadingNumber(res.headers['ratelimit-remaining']) ?? state.rateLimitRemaining;
    state.rateLimitLimit = leadingNumber(res.headers['ratelimit-limit']) ?? state.rateLimitLimit;
    if (res.statusCode === 429) state.rateLimitedUntil = Math.max(state.rateLimitedUntil, limits.limited(req, res.headers['retry-after']));
  }

  async function requestOk(req: UpstreamRequest): Promise<UpstreamResponse> {
    const res = await doRequest(req);
    if (res.status >= 200 && res.status < 300) return res;
    if (res.status === 429) {
      await res.body.dump();
      throw new UpstreamRateLimitedError(config.name, limits.waitMs(req));
    }
    if (res.status === 501 && req.optionalApi === true) {
      await res.body.dump();
      throw new UpstreamRefusedError(config.name, 501, undefined, 'not implemented');
    }
    if (res.status >= 500 || res.status < 200 || (res.status >= 300 && res.status < 400)) {
      await res.body.dump();
      throw new UpstreamUnavailableError(config.name, 'status', res.status);
    }
    const { code, message } = await upstreamErrorCode(res.body, req.method, config.name);
    throw new UpstreamRefusedError(config.name, res.status, code, message);
  }

  return {
    name: config.name,
    state,
    request: doRequest,
    requestOk,
    close: () => {
      connections.close();
      return dispatcher.close();
    },
  };
}

/** The count before any `;w=` window parameter of a `ratelimit-*` header. */
function leadingNumber(value: string | string[] | undefined): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || !/^\s*\d+/.test(raw)) return undefined;
  return Number.parseInt(raw.trim(), 10);
}
