/**
 * Who the token server thinks is asking, and what it grants: credentials from Basic auth or
 * an OAuth2 form, scopes `type:name:actions` (names may contain ':' — a host:port), and the
 * access list that goes into the JWT.
 */
export interface TokenAccess {
  type: string;
  name: string;
  actions: string[];
}

export type Caller = { kind: 'anonymous' } | { kind: 'user'; username: string } | { kind: 'rejected' };

export interface GrantPolicy {
  users?: Record<string, string>;
  anonymousPull: boolean;
}

/** Parses one scope string (`repository:foo/bar:pull,push`); undefined when malformed. */
export function parseScope(scope: string): TokenAccess | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last <= first) return undefined;
  const actions = scope.slice(last + 1).split(',').filter((a) => a !== '');
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions };
}

/** All scopes of a request: repeated `scope` params, each possibly space-separated. */
export function scopesOf(values: string[]): string[] {
  return values.flatMap((value) => value.split(' ')).filter((s) => s !== '');
}

/** Classifies the caller from optional credentials. */
export function identify(policy: GrantPolicy, creds: { username: string; password: string } | undefined): Caller {
  if (policy.users === undefined) return creds ? { kind: 'user', username: creds.username } : { kind: 'anonymous' };
  if (creds === undefined) return { kind: 'anonymous' };
  return policy.users[creds.username] === creds.password ? { kind: 'user', username: creds.username } : { kind: 'rejected' };
}

/** True when the caller may get a token at all. */
export function mayGetToken(policy: GrantPolicy, caller: Caller): boolean {
  if (caller.kind === 'rejected') return false;
  if (caller.kind === 'user') return true;
  return policy.users === undefined || policy.anonymousPull;
}

/** The access list to sign: users (or anyone when no users are configured) get what they asked; anonymous gets pull only. */
export function grant(policy: GrantPolicy, caller: Caller, scopes: string[]): TokenAccess[] {
  const full = caller.kind === 'user' || policy.users === undefined;
  const granted: TokenAccess[] = [];
  for (const scope of scopes) {
    const access = parseScope(scope);
    if (access === undefined) continue;
    const actions = full ? access.actions : access.type === 'repository' ? access.actions.filter((a) => a === 'pull') : [];
    granted.push({ ...access, actions });
  }
  return granted;
}

/** Username and password from an `Authorization: Basic …` header. */
export function basicCredentials(header: string | undefined): { username: string; password: string } | undefined {
  if (header === undefined || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
