/**
 * Client authentication, off by default. When an htpasswd file (bcrypt) or static tokens
 * are configured, every `/v2/` request must carry either
 *  - `Authorization: Basic` with a user and password from the htpasswd file, or with any user
 *    name and a static token as the password (what `docker login` / `--creds` can send), or
 *  - `Authorization: Bearer <static token>` (what a containerd `hosts.toml` header or a CI
 *    script can send).
 * Anything else is a `ClientAuthError`, answered 401 with `WWW-Authenticate: Basic realm=…`:
 * Basic, not Bearer, because a Bearer challenge sends docker and skopeo to a token server
 * that regcache does not run.
 *
 * Secrets are compared in constant time (`timingSafeEqual` over SHA-256 digests, so lengths
 * never differ); an unknown user costs the same bcrypt work as a known one. A successful
 * bcrypt check is remembered for a while, keyed by a digest of the credentials, because a pull
 * sends them with every layer and bcrypt is deliberately slow. Failures are logged with the
 * reason and user name, never the secret.
 *
 * A connection remembers the one Authorization header that passed on it, so the next request
 * on it sending the same header costs a string comparison instead of parsing and hashing (a
 * replayed manifest costs well under that otherwise). The header is held only as long as the
 * connection, and compared only with what that connection itself sends: its timing tells a
 * client nothing but whether it sent the same header as before.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { bcryptVerify, type BcryptHash } from './bcrypt.js';
import type { ClientAuthConfig } from './config.js';
import { ClientAuthError } from './errors.js';
import { headerValue, rawHeader, REPEATED_HEADER } from './headers.js';
import { loadHtpasswd, type HtpasswdUsers } from './htpasswd.js';
import type { Logger } from './logger.js';

export interface ClientAuth {
  readonly enabled: boolean;
  /** Returns when the request may proceed; throws `ClientAuthError` otherwise. */
  check(req: IncomingMessage): void;
  /** The same decision, quietly: no log line, no throw (the hot path falls back to `check`). */
  allows(req: IncomingMessage): boolean;
}

const VERIFIED_TTL_MS = 5 * 60_000;
const MAX_VERIFIED = 10_000;
const MAX_LOGGED_USER = 64;

type Credentials = { kind: 'basic'; user: string; password: string } | { kind: 'bearer'; token: string };

export async function createClientAuth(config: ClientAuthConfig, logger: Logger): Promise<ClientAuth> {
  const users: HtpasswdUsers = config.htpasswd === undefined ? new Map() : await loadHtpasswd(config.htpasswd);
  const enabled = config.htpasswd !== undefined || config.tokens.length > 0;
  const tokenMatches = createTokenMatcher(config.tokens.map((t) => t.reveal()));
  const passwordMatches = createPasswordChecker(users);

  const fail = (req: IncomingMessage, reason: ClientAuthError['reason'], user?: string): never => {
    logger.warn({ reason, user: user?.slice(0, MAX_LOGGED_USER), remote: req.socket.remoteAddress }, 'client authentication failed');
    throw new ClientAuthError(reason, config.realm);
  };

  /** Why the request may not proceed (and the user it named), or undefined when it may. */
  const refusal = (req: IncomingMessage): { reason: ClientAuthError['reason']; user?: string } | undefined => {
    const credentials = parseAuthorization(headerValue(req.headers.authorization));
    if (credentials === 'missing' || credentials === 'malformed') return { reason: credentials };
    if (credentials.kind === 'bearer') return tokenMatches(credentials.token) ? undefined : { reason: 'bad-token' };
    if (tokenMatches(credentials.password) || passwordMatches(credentials.user, credentials.password)) return undefined;
    return { reason: users.has(credentials.user) ? 'bad-password' : 'unknown-user', user: credentials.user };
  };

  const passed = createConnectionMemo();
  return {
    enabled,
    check(req) {
      if (!enabled || passed.has(req)) return;
      const refused = refusal(req);
      if (refused !== undefined) fail(req, refused.reason, refused.user);
      passed.add(req);
    },
    allows(req) {
      if (!enabled || passed.has(req)) return true;
      if (refusal(req) !== undefined) return false;
      passed.add(req);
      return true;
    },
  };
}

/** Per connection, the Authorization header that last passed on it (a header sent twice is never remembered). */
function createConnectionMemo(): { has(req: IncomingMessage): boolean; add(req: IncomingMessage): void } {
  const passed = new WeakMap<object, string>();
  const header = (req: IncomingMessage): string => rawHeader(req.rawHeaders, 'authorization');
  return {
    has(req) {
      const remembered = req.socket === null ? undefined : passed.get(req.socket);
      return remembered !== undefined && remembered === header(req);
    },
    add(req) {
      const value = header(req);
      if (req.socket !== null && value !== '' && value !== REPEATED_HEADER) passed.set(req.socket, value);
    },
  };
}

/** Compares against every token, without stopping at a match, over equal-length digests. */
function createTokenMatcher(tokens: readonly string[]): (candidate: string) => boolean {
  const known = tokens.map(sha256);
  return (candidate) => {
    const digest = sha256(candidate);
    let match = false;
    for (const token of known) match = timingSafeEqual(digest, token) || match;
    return match;
  };
}

function createPasswordChecker(users: HtpasswdUsers): (user: string, password: string) => boolean {
  // Costs the same as a real check when the user is unknown (no user enumeration by timing).
  const decoy = decoyHash(users);
  // Keyed with a per-instance secret so the map holds nothing an offline guesser could use.
  const verified = createVerifiedSet(randomBytes(32));
  return (user, password) => {
    if (verified.has(user, password)) return true;
    const hash = users.get(user);
    const ok = bcryptVerify(password, hash ?? decoy) && hash !== undefined;
    if (ok) verified.add(user, password);
    return ok;
  };
}

function parseAuthorization(header: string | undefined): Credentials | 'missing' | 'malformed' {
  if (header === undefined || header.trim() === '') return 'missing';
  const m = /^\s*(\S+)\s+(\S+)\s*$/.exec(header);
  const scheme = m?.[1]?.toLowerCase();
  const value = m?.[2];
  if (value === undefined) return 'malformed';
  if (scheme === 'bearer') return { kind: 'bearer', token: value };
  if (scheme !== 'basic' || !/^[A-Za-z0-9+/]+=*$/.test(value)) return 'malformed';
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'malformed';
  return { kind: 'basic', user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** A well-formed hash nothing matches, at the cost the real entries use. */
function decoyHash(users: HtpasswdUsers): BcryptHash {
  const cost = users.values().next().value?.cost ?? 5;
  const encoded = `$2y$${String(cost).padStart(2, '0')}$${'.'.repeat(53)}`;
  return { prefix: '2y', cost, salt: randomBytes(16), encoded };
}

/** Credentials that passed bcrypt recently, by HMAC; bounded, oldest dropped first. */
function createVerifiedSet(key: Buffer): { has(user: string, password: string): boolean; add(user: string, password: string): void } {
  const entries = new Map<string, number>();
  const id = (user: string, password: string): string => createHash('sha256').update(key).update(`${user}\u0000${password}`).digest('hex');
  return {
    has(user, password) {
      const expires = entries.get(id(user, password));
      return expires !== undefined && expires > Date.now();
    },
    add(user, password) {
      const k = id(user, password);
      entries.delete(k);
      entries.set(k, Date.now() + VERIFIED_TTL_MS);
      if (entries.size > MAX_VERIFIED) entries.delete(entries.keys().next().value ?? k);
    },
  };
}
