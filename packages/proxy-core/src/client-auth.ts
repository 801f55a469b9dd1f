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
 * Tokens are compared in constant time (`timingSafeEqual` over SHA-256 digests, so lengths
 * never differ). Passwords go through `password-checks.ts`: bcrypt in slices, one check at a
 * time, answers remembered — so a wrong password never stalls the server. Failures are logged
 * with the reason and user name, never the secret.
 *
 * A connection remembers the one Authorization header that passed on it, so the next request
 * on it sending the same header costs a string comparison instead of parsing and hashing (a
 * replayed manifest costs well under that otherwise). The header is held only as long as the
 * connection, and compared only with what that connection itself sends: its timing tells a
 * client nothing but whether it sent the same header as before.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ClientAuthConfig } from './config.js';
import { ClientAuthError } from './errors.js';
import { headerValue, rawHeader, REPEATED_HEADER } from './headers.js';
import { loadHtpasswd, type HtpasswdUsers } from './htpasswd.js';
import type { Logger } from './logger.js';
import { createPasswordChecks } from './password-checks.js';

export interface ClientAuth {
  readonly enabled: boolean;
  /** Resolves when the request may proceed; rejects with `ClientAuthError` (or `CredentialChecksBusyError`) otherwise. */
  check(req: IncomingMessage): Promise<void>;
  /**
   * The same decision when it needs no password check, quietly: no log line, no throw. False
   * also when a check would have to run: the hot path then falls back to `check`.
   */
  allows(req: IncomingMessage): boolean;
}

/** What an unknown user name must look like to be logged. */
const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

type Refusal = { reason: ClientAuthError['reason']; user?: string } | undefined;

type Credentials = { kind: 'basic'; user: string; password: string } | { kind: 'bearer'; token: string };

export async function createClientAuth(config: ClientAuthConfig, logger: Logger): Promise<ClientAuth> {
  const users: HtpasswdUsers = config.htpasswd === undefined ? new Map() : await loadHtpasswd(config.htpasswd);
  const enabled = config.htpasswd !== undefined || config.tokens.length > 0;
  const tokenMatches = createTokenMatcher(config.tokens.map((t) => t.reveal()));
  const passwords = createPasswordChecks(users);

  /**
   * The user name as logged: an htpasswd user's name; any other only when it looks like a user
   * name and is not a token (a secret typed into the wrong field must not reach the log).
   */
  const shownUser = (user: string | undefined): string | undefined => {
    if (user === undefined || users.has(user)) return user;
    return USER_NAME.test(user) && !tokenMatches(user) ? user : '(not shown: not a user name)';
  };

  const fail = (req: IncomingMessage, reason: ClientAuthError['reason'], user?: string): never => {
    logger.warn({ reason, user: shownUser(user), remote: req.socket.remoteAddress }, 'client authentication failed');
    throw new ClientAuthError(reason, config.realm);
  };

  /**
   * Why the request may not proceed (undefined when it may), decided at once when it can be;
   * otherwise `{ user, password }` to check with bcrypt.
   */
  const decide = (req: IncomingMessage): Refusal | { check: { user: string; password: string } } => {
    const credentials = parseAuthorization(headerValue(req.headers.authorization));
    if (credentials === 'missing' || credentials === 'malformed') return { reason: credentials };
    if (credentials.kind === 'bearer') return tokenMatches(credentials.token) ? undefined : { reason: 'bad-token' };
    if (tokenMatches(credentials.password)) return undefined;
    const { user, password } = credentials;
    const known = passwords.known(user, password);
    if (known === undefined) return { check: { user, password } };
    return known ? undefined : passwordRefusal(users, user);
  };

  const passed = createConnectionMemo();
  return {
    enabled,
    async check(req) {
      if (!enabled || passed.has(req)) return;
      let refused = decide(req);
      if (refused !== undefined && 'check' in refused) {
        const { user, password } = refused.check;
        refused = (await passwords.verify(user, password)) ? undefined : passwordRefusal(users, user);
      }
      if (refused !== undefined) fail(req, refused.reason, refused.user);
      passed.add(req);
    },
    allows(req) {
      if (!enabled || passed.has(req)) return true;
      if (decide(req) !== undefined) return false;
      passed.add(req);
      return true;
    },
  };
}

function passwordRefusal(users: HtpasswdUsers, user: string): Refusal {
  return { reason: users.has(user) ? 'bad-password' : 'unknown-user', user };
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

function parseAuthorization(header: string | undefined): Credentials | 'missing' | 'malformed' {
  if (header === undefined || header.trim() === '') return 'missing';
  const m = /^\s*(\S+)\s+(\S+)\s*$/.exec(header);
  const scheme = m?.[1]?.toLowerCase();
  const value = m?.[2];
  if (value === undefined) return 'malformed';
  // node:http hands header bytes over as latin1; a token is UTF-8 (as Basic's decoded pair is).
  if (scheme === 'bearer') return { kind: 'bearer', token: Buffer.from(value, 'latin1').toString('utf8') };
  if (scheme !== 'basic' || !/^[A-Za-z0-9+/]+=*$/.test(value)) return 'malformed';
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'malformed';
  return { kind: 'basic', user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
