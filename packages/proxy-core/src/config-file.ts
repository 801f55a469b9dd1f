/**
 * The config file: read, parsed as YAML (JSON is YAML), refused when it holds no settings, and
 * its relative paths made absolute against the file's own directory — so a config file means
 * the same store, secrets and sockets whichever directory the server or regcache-admin runs in.
 * Paths from the environment and flags are left to resolve against the working directory.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './config-error.js';
import { credentialHolders, isRecord, type Raw } from './config-raw.js';

const refuse = (message: string): ConfigError => new ConfigError([{ path: '--config', message }]);

export async function readConfigFile(path: string): Promise<Raw> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw refuse(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw refuse(`${path} is not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`);
  }
  // An empty file (a failed copy, a template never filled in) would start regcache with every
  // default — Docker Hub, ./data, 0.0.0.0:5000 — and client authentication off, without a word.
  if (parsed === null || parsed === undefined) {
    throw refuse(`${path} holds no settings (it is empty, or only comments): write {} to run with every default`);
  }
  if (!isRecord(parsed)) throw refuse(`${path} must hold a mapping of settings`);
  resolveRelativePaths(parsed, dirname(resolve(path)));
  return parsed;
}

/** Keys whose value is a file or directory, by the section that holds them. */
const SECTION_PATHS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['storage', ['path']],
  ['auth', ['htpasswd', 'tokensFile']],
  ['tls', ['cert', 'key']],
];
const HOLDER_PATHS = ['caFile', 'passwordFile', 'tokenFile'] as const;

function resolveRelativePaths(raw: Raw, dir: string): void {
  for (const [name, keys] of SECTION_PATHS) {
    const holder = raw[name];
    if (isRecord(holder)) for (const key of keys) resolveKey(holder, key, dir);
  }
  for (const [, holder] of credentialHolders(raw)) for (const key of HOLDER_PATHS) resolveKey(holder, key, dir);
  const admin = raw.admin;
  if (isRecord(admin) && typeof admin.listen === 'string') admin.listen = socketAt(admin.listen, dir);
}

function resolveKey(holder: Raw, key: string, dir: string): void {
  const value = holder[key];
  if (typeof value === 'string' && value !== '') holder[key] = resolve(dir, value);
}

/** A unix socket address (`unix:PATH`, `./PATH`, as listen-address.ts reads them) with its path made absolute; a host:port as it is. */
function socketAt(address: string, dir: string): string {
  if (address.startsWith('./')) return `unix:${resolve(dir, address)}`;
  const path = address.startsWith('unix:') ? address.slice('unix:'.length) : undefined;
  return path === undefined || path === '' || isAbsolute(path) ? address : `unix:${resolve(dir, path)}`;
}
