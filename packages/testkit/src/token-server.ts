/**
 * A Docker-style token server (the flow Docker Hub uses) on node:http, for registries started
 * with `auth: 'token'`. GET /token?service=&scope= with optional Basic credentials, or POST an
 * OAuth2 form (grant_type=password / refresh_token); answers a signed JWT.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { httpListener } from './http-listener.js';
import { signingKey, signJwt, type JwtAlgorithm, type SigningKey } from './signing-key.js';
import { basicCredentials, grant, identify, mayGetToken, scopesOf, type Caller, type GrantPolicy, type TokenAccess } from './token-grants.js';

export type { TokenAccess } from './token-grants.js';

export interface TokenServer {
  readonly url: string;
  /** Tokens handed out over HTTP so far (mint() does not count). */
  readonly issued: number;
  stop(): Promise<void>;
}

export interface TokenRequestLog {
  method: string;
  user?: string;
  scopes: string[];
  status: number;
  granted: TokenAccess[];
}

export interface RunningTokenServer extends TokenServer {
  readonly certPem: string;
  readonly port: number;
  readonly service: string;
  readonly issuer: string;
  /** Every token request so far, in order (refused ones too). */
  requests(): TokenRequestLog[];
  /** Signs a token directly (no HTTP, not counted in `issued`); the kit's own requests use this. */
  mint(subject: string, access: TokenAccess[]): string;
  /** Listens again on the same port after stop(). */
  start(): Promise<void>;
}

export interface TokenServerOptions {
  service: string;
  issuer: string;
  /** Accepted username → password. Without it every caller gets what it asks for. */
  users?: Record<string, string>;
  /** Callers without credentials get `pull` (only) on any repository. */
  anonymousPull?: boolean;
  /** `expires_in` and the JWT's exp (default 300). distribution 2.8 allows 60 s leeway past exp. */
  tokenTtlSeconds?: number;
  alg?: JwtAlgorithm;
  /** How the JWT header names its key: the certificate (`x5c`, default) or the libtrust `kid`. */
  keyHint?: 'x5c' | 'kid';
  port?: number;
}

interface TokenRequest {
  method: string;
  service?: string;
  scopes: string[];
  creds?: { username: string; password: string };
  offline: boolean;
  refreshToken?: string;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

async function parseRequest(req: IncomingMessage, url: URL): Promise<TokenRequest | string> {
  if (req.method === 'GET') {
    const service = url.searchParams.get('service') ?? undefined;
    return { method: 'GET', service, scopes: scopesOf(url.searchParams.getAll('scope')), creds: basicCredentials(req.headers.authorization), offline: false };
  }
  if (req.method !== 'POST') return 'unsupported method';
  const form = new URLSearchParams(await readBody(req));
  const base = { method: 'POST', service: form.get('service') ?? undefined, scopes: scopesOf(form.getAll('scope')), offline: form.get('access_type') === 'offline' };
  const grantType = form.get('grant_type');
  if (grantType === 'password') return { ...base, creds: { username: form.get('username') ?? '', password: form.get('password') ?? '' } };
  if (grantType === 'refresh_token') return { ...base, refreshToken: form.get('refresh_token') ?? '' };
  return `unsupported grant_type ${grantType ?? ''}`;
}

function sendJson(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function minter(key: SigningKey, opts: TokenServerOptions): (subject: string, access: TokenAccess[]) => string {
  return (subject, access) => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: opts.issuer, sub: subject, aud: opts.service, exp: now + (opts.tokenTtlSeconds ?? 300), nbf: now - 10, iat: now, jti: randomUUID(), access };
    return signJwt(key, claims, opts.keyHint ?? 'x5c');
  };
}

interface TokenState {
  opts: TokenServerOptions;
  policy: GrantPolicy;
  mint: (subject: string, access: TokenAccess[]) => string;
  log: TokenRequestLog[];
  refreshTokens: Map<string, string>;
  issued: number;
}

function callerOf(state: TokenState, request: TokenRequest): Caller {
  if (request.refreshToken === undefined) return identify(state.policy, request.creds);
  const username = state.refreshTokens.get(request.refreshToken);
  return username === undefined ? { kind: 'rejected' } : { kind: 'user', username };
}

/** Signs and sends the token; returns what it granted. */
function issue(state: TokenState, res: ServerResponse, request: TokenRequest, caller: Caller): TokenAccess[] {
  const ttl = state.opts.tokenTtlSeconds ?? 300;
  const granted = grant(state.policy, caller, request.scopes);
  const token = state.mint(caller.kind === 'user' ? caller.username : '', granted);
  const body: Record<string, string | number> = { token, access_token: token, expires_in: ttl, issued_at: new Date().toISOString() };
  if (request.offline && caller.kind === 'user') {
    const refresh = randomUUID();
    state.refreshTokens.set(refresh, caller.username);
    body['refresh_token'] = refresh;
  }
  state.issued += 1;
  sendJson(res, 200, body);
  return granted;
}

async function handleTokenRequest(state: TokenState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  if (url.pathname !== '/token') return sendJson(res, 404, { details: 'not found' });
  const request = await parseRequest(req, url);
  if (typeof request === 'string') return sendJson(res, 400, { error: 'invalid_request', details: request });
  const caller = callerOf(state, request);
  const user = caller.kind === 'user' ? caller.username : request.creds?.username;
  const entry: TokenRequestLog = { method: request.method, user, scopes: request.scopes, status: 200, granted: [] };
  state.log.push(entry);
  if (request.service !== undefined && request.service !== state.opts.service) {
    entry.status = 400;
    return sendJson(res, 400, { error: 'invalid_request', details: `unknown service ${request.service}` });
  }
  if (!mayGetToken(state.policy, caller)) {
    entry.status = 401;
    return sendJson(res, 401, { details: 'incorrect username or password' }, { 'www-authenticate': 'Basic realm="regcache-testkit-token"' });
  }
  entry.granted = issue(state, res, request, caller);
}

/** Starts the token server on 127.0.0.1 (an ephemeral port unless opts.port). */
export async function startTokenServer(opts: TokenServerOptions): Promise<RunningTokenServer> {
  const key = await signingKey(opts.alg ?? 'RS256');
  const mint = minter(key, opts);
  const policy: GrantPolicy = { users: opts.users, anonymousPull: opts.anonymousPull ?? false };
  const state: TokenState = { opts, policy, mint, log: [], refreshTokens: new Map(), issued: 0 };
  const listener = httpListener((req, res) => handleTokenRequest(state, req, res), opts.port ?? 0);
  await listener.start();
  return {
    get url() {
      return `http://127.0.0.1:${listener.port}/token`;
    },
    get port() {
      return listener.port;
    },
    get issued() {
      return state.issued;
    },
    certPem: key.certPem,
    service: opts.service,
    issuer: opts.issuer,
    requests: () => state.log.map((entry) => ({ ...entry })),
    mint,
    start: listener.start,
    stop: listener.stop,
  };
}
