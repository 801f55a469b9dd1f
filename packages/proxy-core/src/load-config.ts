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
 * Relative paths in the file are relative to the file (config-file.ts); an error names the env
 * var or flag a bad value came from (config-sources.ts).
 */
import { readFile } from 'node:fs/promises';
import { ConfigError } from './config-error.js';
import { parseConfig, type RegcacheConfig } from './config.js';
import { readConfigFile } from './config-file.js';
import { refuseConflictingKeys } from './config-conflicts.js';
import { credentialHolders, isRecord, type Raw } from './config-raw.js';
import { addTokens, applyEnv, applyFlags, applyProxyEnv, attributed, newOrigins, splitTokens, type ConfigFlags, type ConfigOverride } from './config-sources.js';

export type { ConfigFlags, ConfigOverride } from './config-sources.js';

export async function loadConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv = process.env): Promise<RegcacheConfig> {
  return (await loadConfigWithOverrides(flags, env)).config;
}

/** The config, and which of the file's keys the environment or a flag replaced. */
export async function loadConfigWithOverrides(flags: ConfigFlags, env: NodeJS.ProcessEnv = process.env): Promise<{ config: RegcacheConfig; overrides: readonly ConfigOverride[] }> {
  const raw: Raw = flags.config === undefined ? {} : await readConfigFile(flags.config);
  const origins = newOrigins();
  try {
    applyEnv(raw, env, origins);
    applyFlags(raw, flags, origins);
    applyProxyEnv(raw, env, origins);
    refuseConflictingKeys(raw, origins.sources);
    await resolveSecretFiles(raw);
    await resolveTokensFile(raw);
    return { config: parseConfig(raw), overrides: origins.overrides };
  } catch (error) {
    throw error instanceof ConfigError ? attributed(error, origins.sources) : error;
  }
}

/**
 * `passwordFile` / `tokenFile` / `caFile` become `password` / `token` / `ca` (trailing newline
 * trimmed), for each upstream and each of its mirrors.
 */
async function resolveSecretFiles(raw: Raw): Promise<void> {
  for (const [path, holder] of credentialHolders(raw)) await resolveFilesOf(holder, path);
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
  const section = raw.auth;
  if (!isRecord(section)) return;
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
