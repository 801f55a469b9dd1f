/**
 * The environment and the command-line flags laid over the config file (flags over environment
 * over file), each value set recorded with where it came from: an error about it then names the
 * env var or flag as well as the key (`listen (from --listen): must be HOST:PORT`), and
 * regcache-admin can tell when the environment overrode the file's store.
 */
import { ConfigError, type ConfigIssue } from './config-error.js';
import { credentialHolders, section, upstreamEntries, type Raw } from './config-raw.js';
import { proxyFromEnv } from './proxy-env.js';

export interface ConfigFlags {
  config?: string;
  listen?: string;
  data?: string;
  upstream?: string;
  adminListen?: string;
  logLevel?: string;
}

/** A key the config file set that the environment or a flag replaced. */
export interface ConfigOverride {
  /** The key path, e.g. `storage.path`. */
  key: string;
  /** The env var or flag that replaced it, e.g. `REGCACHE_DATA`. */
  source: string;
  fileValue: unknown;
}

/** Where the values not from the file came from: key path → env var or flag. */
export interface Origins {
  readonly sources: Map<string, string>;
  readonly overrides: ConfigOverride[];
}

export const newOrigins = (): Origins => ({ sources: new Map(), overrides: [] });

function assign(origins: Origins, holder: Raw, key: string, path: string, value: unknown, source: string): void {
  if (holder[key] !== undefined && !origins.sources.has(path)) origins.overrides.push({ key: path, source, fileValue: holder[key] });
  holder[key] = value;
  origins.sources.set(path, source);
}

export function applyEnv(raw: Raw, env: NodeJS.ProcessEnv, origins: Origins): void {
  const set = (name: string, sectionKey: string | undefined, key: string): void => {
    const value = env[name];
    if (!value) return;
    const holder = sectionKey === undefined ? raw : section(raw, sectionKey);
    assign(origins, holder, key, sectionKey === undefined ? key : `${sectionKey}.${key}`, value, name);
  };
  set('REGCACHE_LISTEN', undefined, 'listen');
  set('REGCACHE_DATA', 'storage', 'path');
  set('REGCACHE_LOG_LEVEL', 'log', 'level');
  set('REGCACHE_AUTH_HTPASSWD', 'auth', 'htpasswd');
  if (env.REGCACHE_AUTH_TOKENS) addTokens(section(raw, 'auth'), splitTokens(env.REGCACHE_AUTH_TOKENS, ','));
  applyUpstreamEnv(raw, env, origins);
}

/** `REGCACHE_UPSTREAM_DOCKER_IO_PASSWORD` and the like for `docker.io`: upper-cased, non-alphanumerics as `_`. */
export const envPrefix = (upstream: string): string => `REGCACHE_UPSTREAM_${upstream.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_`;

/** A credential from the environment replaces the file's of its kind (password: password and passwordFile). */
const CREDENTIAL_ENV = [
  ['username', undefined],
  ['password', 'passwordFile'],
  ['token', 'tokenFile'],
] as const;

/** Also for the default upstream (Docker Hub) when the file lists none. */
function applyUpstreamEnv(raw: Raw, env: NodeJS.ProcessEnv, origins: Origins): void {
  const upstreams = upstreamEntries(raw).filter((entry): entry is [number, Raw & { name: string }] => typeof entry[1].name === 'string');
  refuseSharedPrefixes(upstreams, env);
  for (const [i, upstream] of upstreams) {
    for (const [key, fileKey] of CREDENTIAL_ENV) {
      const name = `${envPrefix(upstream.name)}${key.toUpperCase()}`;
      const value = env[name];
      if (!value) continue;
      assign(origins, upstream, key, `upstreams.${i}.${key}`, value, name);
      if (fileKey !== undefined && upstream[fileKey] !== undefined) {
        origins.overrides.push({ key: `upstreams.${i}.${fileKey}`, source: name, fileValue: upstream[fileKey] });
        delete upstream[fileKey];
      }
    }
  }
}

/**
 * Two upstreams whose names make one prefix (`registry.corp.io` and `registry-corp.io`) would
 * both take the credentials set under it — one registry's password sent to the other. Refused
 * when such a variable is set; without one there is nothing to mix up.
 */
function refuseSharedPrefixes(upstreams: Array<[number, Raw & { name: string }]>, env: NodeJS.ProcessEnv): void {
  const issues: ConfigIssue[] = [];
  const first = new Map<string, [number, string]>();
  for (const [i, { name }] of upstreams) {
    const prefix = envPrefix(name);
    const earlier = first.get(prefix);
    if (earlier === undefined) {
      first.set(prefix, [i, name]);
      continue;
    }
    const set = CREDENTIAL_ENV.map(([key]) => `${prefix}${key.toUpperCase()}`).filter((variable) => env[variable]);
    if (set.length === 0) continue;
    const message = `"${name}" and "${earlier[1]}" (upstreams.${earlier[0]}) share the environment prefix ${prefix}, and ${set.join(', ')} would go to both: give these upstreams' credentials in the config file (username, passwordFile, tokenFile) instead`;
    issues.push({ path: `upstreams.${i}.name`, message, source: set.join(', ') });
  }
  if (issues.length > 0) throw new ConfigError(issues);
}

export function applyFlags(raw: Raw, flags: ConfigFlags, origins: Origins): void {
  if (flags.listen !== undefined) assign(origins, raw, 'listen', 'listen', flags.listen, '--listen');
  if (flags.data !== undefined) assign(origins, section(raw, 'storage'), 'path', 'storage.path', flags.data, '--data');
  if (flags.adminListen !== undefined) assign(origins, section(raw, 'admin'), 'listen', 'admin.listen', flags.adminListen, '--admin-listen');
  if (flags.logLevel !== undefined) assign(origins, section(raw, 'log'), 'level', 'log.level', flags.logLevel, '--log-level');
  if (flags.upstream !== undefined) {
    const list = upstreamEntries(raw);
    const target = list.find(([, u]) => u.default === true) ?? list[0];
    if (target) assign(origins, target[1], 'url', `upstreams.${target[0]}.url`, flags.upstream, '--upstream');
  }
}

/** An upstream or mirror without its own `proxy` gets the one HTTPS_PROXY / HTTP_PROXY / NO_PROXY name for its URL. */
export function applyProxyEnv(raw: Raw, env: NodeJS.ProcessEnv, origins: Origins): void {
  for (const [path, holder] of credentialHolders(raw)) {
    if (holder.proxy !== undefined || typeof holder.url !== 'string') continue;
    const proxy = proxyFromEnv(holder.url, env);
    if (proxy === undefined) continue;
    const name = holder.url.startsWith('https:') ? 'HTTPS_PROXY' : 'HTTP_PROXY';
    assign(origins, holder, 'proxy', `${path}.proxy`, proxy, env[name]?.trim() ? name : name.toLowerCase());
  }
}

/** The error with each issue's env var or flag named, when its key (or a key above it) came from one. */
export function attributed(error: ConfigError, sources: ReadonlyMap<string, string>): ConfigError {
  const sourceOf = (path: string): string | undefined => {
    for (let key = path; key !== ''; key = key.includes('.') ? key.slice(0, key.lastIndexOf('.')) : '') {
      const source = sources.get(key);
      if (source !== undefined) return source;
    }
    return undefined;
  };
  if (error.issues.every((issue) => issue.source !== undefined || sourceOf(issue.path) === undefined)) return error;
  return new ConfigError(error.issues.map((issue) => ({ ...issue, source: issue.source ?? sourceOf(issue.path) })));
}

/** Every source of tokens adds to the accepted set: a rotation can run old and new side by side. */
export function addTokens(auth: Raw, tokens: string[]): void {
  const current = Array.isArray(auth.tokens) ? (auth.tokens as unknown[]) : [];
  auth.tokens = [...current, ...tokens];
}

export function splitTokens(text: string, separator: string): string[] {
  return text
    .split(separator)
    .map((t) => t.trim())
    .filter((t) => t !== '');
}
