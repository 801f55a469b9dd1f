/**
 * Reading an htpasswd file for client auth. Only bcrypt entries (`htpasswd -B`) are
 * accepted — the same rule as distribution's htpasswd auth — because the other formats
 * (MD5-crypt, SHA-1, crypt, plain) are too cheap to brute-force. A file with any other entry
 * is a configuration error at start, naming the line, never a silent lockout at request time.
 */
import { readFile } from 'node:fs/promises';
import { MAX_BCRYPT_COST, parseBcryptHash, type BcryptHash } from './bcrypt.js';
import { ConfigError } from './config.js';

export type HtpasswdUsers = ReadonlyMap<string, BcryptHash>;

export async function loadHtpasswd(path: string): Promise<HtpasswdUsers> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError([{ path: 'auth.htpasswd', message: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}` }]);
  }
  return parseHtpasswd(text, path);
}

/** `user:hash` lines; blank lines and `#` comments are skipped. */
export function parseHtpasswd(text: string, source: string): HtpasswdUsers {
  const users = new Map<string, BcryptHash>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const user = colon > 0 ? line.slice(0, colon) : '';
    const hash = colon > 0 ? parseBcryptHash(line.slice(colon + 1)) : undefined;
    if (typeof hash !== 'object') {
      // The line itself is not quoted: it holds a password hash.
      const problem = hash === undefined ? 'not a bcrypt entry (create it with htpasswd -B)' : costProblem(hash);
      throw new ConfigError([{ path: 'auth.htpasswd', message: `${source} line ${index + 1}${user ? ` (user "${user}")` : ''}: ${problem}` }]);
    }
    users.set(user, hash);
  });
  return users;
}

function costProblem(cost: number): string {
  if (cost < 4) return `bcrypt cost ${cost} is below 4, the least bcrypt defines`;
  return `bcrypt cost ${cost} is above ${MAX_BCRYPT_COST}, the most regcache accepts (each login would take ${2 ** (cost - 16) * 7} s or more); recreate it with htpasswd -B -C ${MAX_BCRYPT_COST} or lower`;
}
