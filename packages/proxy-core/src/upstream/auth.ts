/**
 * Upstream authentication state for one upstream: what scheme it challenged with, and the
 * Bearer tokens it issued, cached per scope until shortly before they expire.
 *
 * Flow (Docker's token-auth spec): a request without credentials gets 401 with
 * `WWW-Authenticate: Bearer realm=…,service=…,scope=…`; regcache asks the realm for a token
 * for that scope (with Basic credentials when configured, anonymously otherwise) and
 * retries. Once the challenge is known, later requests fetch the token first and skip the
 * 401 round trip. Concurrent requests for one scope share one token fetch.
 *
 * A realm that cannot be reached (or answers 5xx) fails the request, and the challenge is
 * forgotten: the next request goes to the upstream without a token and learns its challenge
 * afresh — the realm may have moved, or the upstream stopped asking for tokens — instead of
 * asking the dead realm first for every request until a restart. A realm that answers 200 with
 * no token in it is failing the same way. Its 429 is a rate limit like the registry's: no
 * token is asked for before its Retry-After, and the challenge is kept.
 *
 * Configured credentials the upstream refuses — the realm answering 401/403 to them, or a 401
 * to a request that carried them itself (Basic, or a static token) — are the cache's fault, not
 * the client's: `UpstreamUnavailableError` with reason `credentials` (so what is cached is served
 * meanwhile). The refusal is remembered for `REFUSED_MS`: requests in that time fail at once
 * instead of sending the same wrong password again (registries lock accounts over that).
 */
import { request, type Dispatcher } from 'undici';
import { parseWwwAuthenticate, type Challenge } from '@regcache/registry-protocol';
import type { Secret } from '../secret.js';
import { UpstreamRateLimitedError, UpstreamRefusedError, UpstreamUnavailableError } from '../errors.js';
import { readBodyCapped, retryAfterMs } from './responses.js';
import { jsonObject } from '../json-object.js';

export interface UpstreamCredentials {
  username?: string;
  password?: Secret;
  token?: Secret;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Tokens are dropped this long before their stated expiry, so a request never carries a dying one. */
const EXPIRY_MARGIN_MS = 10_000;
const DEFAULT_TOKEN_TTL_S = 60;
/** How long refused credentials are not sent again. */
const REFUSED_MS = 30_000;
/** A token answer is a few KiB; one larger than this is not one. */
const MAX_TOKEN_BODY = 256 * 1024;

export interface UpstreamAuth {
  /** The Authorization header to send for a scope, fetching a token if the scheme is known to be Bearer. */
  authorization(scope: string | undefined, signal?: AbortSignal): Promise<string | undefined>;
  /** Learn from a 401's challenge; true when a retry with new credentials is worth making. */
  challenged(headerValue: string | string[] | undefined, scope: string | undefined): boolean;
  /** Forget a token the upstream rejected. */
  invalidate(scope: string | undefined): void;
  /**
   * For a 401 that stands after the challenge was answered: the credentials-refused error when
   * the request carried regcache's own credentials and the challenge does not say they merely
   * lack this scope; undefined when the 401 is about the repository.
   */
  refusedOwn(headerValue: string | string[] | undefined): UpstreamUnavailableError | undefined;
}

export function createUpstreamAuth(opts: {
  upstream: string;
  credentials: UpstreamCredentials;
  dispatcher: Dispatcher;
  timeoutMs: number;
}): UpstreamAuth {
  const { credentials } = opts;
  const tokens = new Map<string, CachedToken>();
  const inflight = new Map<string, Promise<CachedToken>>();
  let challenge: Challenge | undefined;
  let refused: { error: UpstreamUnavailableError; until: number } | undefined;
  /** After the token server's 429: no token is asked for before this time (ms since the epoch). */
  let limitedUntil = 0;

  const refuse = (status: number): UpstreamUnavailableError => {
    const error = new UpstreamUnavailableError(opts.upstream, 'credentials', status);
    refused = { error, until: Date.now() + REFUSED_MS };
    return error;
  };
  const stillRefused = (): void => {
    if (refused !== undefined && refused.until > Date.now()) throw refused.error;
  };

  const basicHeader = (): string | undefined => {
    if (credentials.username === undefined) return undefined;
    const pair = `${credentials.username}:${credentials.password?.reveal() ?? ''}`;
    return `Basic ${Buffer.from(pair).toString('base64')}`;
  };

  async function bearerFor(scope: string | undefined, signal?: AbortSignal): Promise<string> {
    const key = scope ?? '';
    const cached = tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return cached.token;
    if (limitedUntil > Date.now()) throw new UpstreamRateLimitedError(opts.upstream, limitedUntil - Date.now(), true);
    let pending = inflight.get(key);
    if (!pending) {
      const asked = challenge;
      pending = fetchToken(scope, signal)
        .catch((error: unknown) => {
          if (error instanceof UpstreamUnavailableError && error.reason !== 'credentials' && challenge === asked) challenge = undefined;
          throw error;
        })
        .finally(() => inflight.delete(key));
      inflight.set(key, pending);
    }
    const fresh = await pending;
    tokens.set(key, fresh);
    return fresh.token;
  }

  async function fetchToken(scope: string | undefined, signal?: AbortSignal): Promise<CachedToken> {
    if (challenge?.scheme !== 'bearer') throw new Error('no bearer challenge');
    const url = new URL(challenge.realm);
    if (challenge.service !== undefined) url.searchParams.set('service', challenge.service);
    if (scope !== undefined) url.searchParams.set('scope', scope);
    const headers: Record<string, string> = { accept: 'application/json' };
    const basic = basicHeader();
    if (basic !== undefined) headers.authorization = basic;
    const started = Date.now();
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, { dispatcher: opts.dispatcher, headers, signal, headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs });
    } catch (cause) {
      throw new UpstreamUnavailableError(opts.upstream, 'unreachable', undefined, { cause });
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw tokenRefusal(res.statusCode, res.headers['retry-after'], basic !== undefined);
    }
    const body = parseTokenBody(await readBodyCapped(res.body, MAX_TOKEN_BODY, opts.upstream));
    if (body === undefined) throw new UpstreamUnavailableError(opts.upstream, 'token');
    return { token: body.token, expiresAt: started + body.ttlSeconds * 1000 - EXPIRY_MARGIN_MS };
  }

  /**
   * What a token server's non-200 means. Only 401/403 judge the credentials; a 429 is its rate
   * limit (Docker Hub's auth server has one) — the request waits, what is cached is served, and
   * no token is asked for until its Retry-After; anything else is the token server failing.
   */
  function tokenRefusal(status: number, retryAfter: string | string[] | undefined, withCredentials: boolean): Error {
    if (status === 429) {
      limitedUntil = Date.now() + retryAfterMs(retryAfter);
      return new UpstreamRateLimitedError(opts.upstream, limitedUntil - Date.now());
    }
    if (status !== 401 && status !== 403) return new UpstreamUnavailableError(opts.upstream, 'status', status);
    if (withCredentials) return refuse(status);
    return new UpstreamRefusedError(opts.upstream, status, 'UNAUTHORIZED', 'the upstream token server refused the credentials');
  }

  return {
    async authorization(scope, signal) {
      if (credentials.token !== undefined || credentials.username !== undefined) stillRefused();
      if (credentials.token !== undefined) return `Bearer ${credentials.token.reveal()}`;
      if (challenge?.scheme === 'bearer') return `Bearer ${await bearerFor(scope, signal)}`;
      if (challenge?.scheme === 'basic') return basicHeader();
      return undefined;
    },
    challenged(headerValue, scope) {
      const parsed = parseWwwAuthenticate(headerValue);
      const bearer = parsed.find((c) => c.scheme === 'bearer');
      const next = bearer ?? parsed.find((c) => c.scheme === 'basic');
      if (next === undefined || credentials.token !== undefined) return false;
      const learned = challenge === undefined || challenge.scheme !== next.scheme;
      challenge = next;
      if (next.scheme === 'basic') return learned && credentials.username !== undefined;
      tokens.delete(scope ?? '');
      return true;
    },
    invalidate(scope) {
      tokens.delete(scope ?? '');
    },
    refusedOwn(headerValue) {
      const ownSent = credentials.token !== undefined || (challenge?.scheme === 'basic' && credentials.username !== undefined);
      const scopeOnly = parseWwwAuthenticate(headerValue).some((c) => c.params.error === 'insufficient_scope');
      return ownSent && !scopeOnly ? refuse(401) : undefined;
    },
  };
}

/** A token server's 200 body: its token (`token`, or OAuth2's `access_token`) and lifetime, or undefined when it has none. */
function parseTokenBody(bytes: Buffer | undefined): { token: string; ttlSeconds: number } | undefined {
  const body = bytes === undefined ? undefined : jsonObject(bytes);
  if (body === undefined) return undefined;
  const token = typeof body.token === 'string' ? body.token : typeof body.access_token === 'string' ? body.access_token : undefined;
  if (token === undefined || token === '') return undefined;
  const ttlSeconds = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_TTL_S;
  return { token, ttlSeconds };
}
