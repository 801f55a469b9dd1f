/**
 * The server's configuration, from (lowest to highest precedence) a YAML or JSON file, the
 * environment, and command-line flags — parsed once by proxy-core's zod schema into one
 * frozen, typed config. Secrets can come from the file, from env vars
 * (`REGCACHE_UPSTREAM_<NAME>_USERNAME|PASSWORD|TOKEN`, NAME upper-cased with non-alphanumerics
 * as `_`, e.g. DOCKER_IO) or from files (`passwordFile`, `tokenFile`); they are never logged.
 * An upstream's CA certificates likewise come inline (`ca`) or from a file (`caFile`); its
 * HTTP proxy from `proxy`, else from HTTPS_PROXY / HTTP_PROXY / NO_PROXY (proxy-env.ts).
 * Client auth the same way: `auth.htpasswd` (or `REGCACHE_AUTH_HTPASSWD`), and static tokens
 * from `auth.tokens`, `auth.tokensFile` (one per line) and `REGCACHE_AUTH_TOKENS` (comma-separated), all accepted.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { ConfigError, parseConfig, type RegcacheConfig } from './config.js';
import { proxyFromEnv } from './proxy-env.js';

export interface ConfigFlags {
  config?: string;
  listen?: string;
  data?: string;
  upstream?: string;
  adminListen?: string;
  logLevel?: string;
}

type Raw = Record<string, unknown>;

export async function loadConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv = process.env): Promise<RegcacheConfig> {
  const raw: Raw = flags.config === undefined ? {} : await readConfigFile(flags.config);
  applyEnv(raw, env);
  applyFlags(raw, flags);
  applyProxyEnv(raw, env);
  await resolveSecretFiles(raw);
  await resolveTokensFile(raw);
  return parseConfig(raw);
}

async function readConfigFile(path: string): Promise<Raw> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError([{ path: '--config', message: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` }]);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new ConfigError([{ path: '--config', message: `${path} is not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}` }]);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError([{ path: '--config', message: `${path} must hold a mapping of settings` }]);
  }
  return parsed as Raw;
}

function section(raw: Raw, key: string): Raw {
  const current = raw[key];
  if (typeof current === 'object' && current !== null && !Array.isArray(current)) return current as Raw;
  const fresh: Raw = {};
  raw[key] = fresh;
  return fresh;
}

function upstreamList(raw: Raw): Raw[] {
  if (!Array.isArray(raw.upstreams)) raw.upstreams = [{ name: 'docker.io', url: 'https://registry-1.docker.io' }];
  return (raw.upstreams as unknown[]).filter((u): u is Raw => typeof u === 'object' && u !== null);
}

function envName(upstream: string): string {
  return upstream.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

function applyEnv(raw: Raw, env: NodeJS.ProcessEnv): void {
  if (env.REGCACHE_LISTEN) raw.listen = env.REGCACHE_LISTEN;
  if (env.REGCACHE_DATA) section(raw, 'storage').path = env.REGCACHE_DATA;
  if (env.REGCACHE_LOG_LEVEL) section(raw, 'log').level = env.REGCACHE_LOG_LEVEL;
  if (env.REGCACHE_AUTH_HTPASSWD) section(raw, 'auth').htpasswd = env.REGCACHE_AUTH_HTPASSWD;
  if (env.REGCACHE_AUTH_TOKENS) addTokens(section(raw, 'auth'), splitTokens(env.REGCACHE_AUTH_TOKENS, ','));
  if (!Array.isArray(raw.upstreams)) return;
  for (const upstream of upstreamList(raw)) {
    if (typeof upstream.name !== 'string') continue;
    const prefix = `REGCACHE_UPSTREAM_${envName(upstream.name)}_`;
    for (const key of ['username', 'password', 'token'] as const) {
      const value = env[`${prefix}${key.toUpperCase()}`];
      if (value) upstream[key] = value;
    }
  }
}

function applyFlags(raw: Raw, flags: ConfigFlags): void {
  if (flags.listen !== undefined) raw.listen = flags.listen;
  if (flags.data !== undefined) section(raw, 'storage').path = flags.data;
  if (flags.adminListen !== undefined) section(raw, 'admin').listen = flags.adminListen;
  if (flags.logLevel !== undefined) section(raw, 'log').level = flags.logLevel;
  if (flags.upstream !== undefined) {
    const list = upstreamList(raw);
    const target = list.find((u) => u.default === true) ?? list[0];
    if (target) target.url = flags.upstream;
  }
}

/** An upstream or mirror without its own `proxy` gets the one HTTPS_PROXY / HTTP_PROXY / NO_PROXY name for its URL. */
function applyProxyEnv(raw: Raw, env: NodeJS.ProcessEnv): void {
  for (const upstream of Array.isArray(raw.upstreams) ? upstreamList(raw) : []) {
    for (const holder of [upstream, ...mirrorList(upstream).map(([, mirror]) => mirror)]) {
      if (holder.proxy !== undefined || typeof holder.url !== 'string') continue;
      const proxy = proxyFromEnv(holder.url, env);
      if (proxy !== undefined) holder.proxy = proxy;
    }
  }
}

/** An upstream's mirrors that are objects, each with its index in the list (for the key path). */
function mirrorList(upstream: Raw): Array<[number, Raw]> {
  const mirrors = Array.isArray(upstream.mirrors) ? (upstream.mirrors as unknown[]) : [];
  return [...mirrors.entries()].filter((entry): entry is [number, Raw] => typeof entry[1] === 'object' && entry[1] !== null && !Array.isArray(entry[1]));
}

/**
 * `passwordFile` / `tokenFile` / `caFile` become `password` / `token` / `ca` (trailing newline
 * trimmed), for each upstream and each of its mirrors.
 */
async function resolveSecretFiles(raw: Raw): Promise<void> {
  if (!Array.isArray(raw.upstreams)) return;
  for (const [index, upstream] of upstreamList(raw).entries()) {
    await resolveFilesOf(upstream, `upstreams.${index}`);
    for (const [m, mirror] of mirrorList(upstream)) await resolveFilesOf(mirror, `upstreams.${index}.mirrors.${m}`);
  }
}

async function resolveFilesOf(holder: Raw, path: string): Promise<void> {
  for (const [fileKey, key] of [['passwordFile', 'password'], ['tokenFile', 'token'], ['caFile', 'ca']] as const) {
    const file = holder[fileKey];
    if (file === undefined) continue;
    delete holder[fileKey];
    if (typeof file !== 'string') throw new ConfigError([{ path: `${path}.${fileKey}`, message: 'must be a file path' }]);
    try {
      holder[key] = (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
    } catch (error) {
      throw new ConfigError([{ path: `${path}.${fileKey}`, message: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}` }]);
    }
  }
}

/** `auth.tokensFile`: one token per line (blank lines and `#` comments skipped), added to `auth.tokens`. */
async function resolveTokensFile(raw: Raw): Promise<void> {
  const auth = raw.auth;
  if (typeof auth !== 'object' || auth === null || Array.isArray(auth)) return;
  const section = auth as Raw;
  const file = section.tokensFile;
  if (file === undefined) return;
  delete section.tokensFile;
  if (typeof file !== 'string') throw new ConfigError([{ path: 'auth.tokensFile', message: 'must be a file path' }]);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError([{ path: 'auth.tokensFile', message: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}` }]);
  }
  addTokens(section, splitTokens(text, '\n').filter((t) => !t.startsWith('#')));
}

/** Every source of tokens adds to the accepted set: a rotation can run old and new side by side. */
function addTokens(auth: Raw, tokens: string[]): void {
  const current = Array.isArray(auth.tokens) ? (auth.tokens as unknown[]) : [];
  auth.tokens = [...current, ...tokens];
}

function splitTokens(text: string, separator: string): string[] {
  return text
    .split(separator)
    .map((t) => t.trim())
    .filter((t) => t !== '');
}
