/**
 * Keys that say the same thing twice, refused before the files they name are read: an
 * upstream's (or mirror's) `ca` with `caFile`, and more than one of `password`, `passwordFile`,
 * `token`, `tokenFile` — before, the file quietly won over the inline value, and which
 * credential went upstream was the upstream client's guess. Each key is named with its env var
 * when it came from one (a credential from the environment replaces the file's of its kind:
 * config-sources.ts).
 */
import { ConfigError, type ConfigIssue } from './config-error.js';
import { credentialHolders, type Raw } from './config-raw.js';

const CREDENTIALS = ['password', 'passwordFile', 'token', 'tokenFile'] as const;

const listed = (keys: readonly string[]): string => (keys.length === 2 ? `${keys[0]} and ${keys[1]}` : `${keys.slice(0, -1).join(', ')} and ${keys[keys.length - 1]}`);

export function refuseConflictingKeys(raw: Raw, sources: ReadonlyMap<string, string>): void {
  const issues: ConfigIssue[] = [];
  for (const [path, holder] of credentialHolders(raw)) {
    const named = (key: string): string => {
      const source = sources.get(`${path}.${key}`);
      return source === undefined ? key : `${key} (from ${source})`;
    };
    if (holder.ca !== undefined && holder.caFile !== undefined) {
      issues.push({ path: `${path}.caFile`, message: 'ca is set too: give the CA certificates inline (ca) or from a file (caFile), not both' });
    }
    const given = CREDENTIALS.filter((key) => holder[key] !== undefined);
    if (given.length > 1) {
      const message = `${listed(given.map(named))} are ${given.length === 2 ? 'both' : 'all'} set: give one — a password (password or passwordFile, with username) or a token (token or tokenFile)`;
      issues.push({ path, message });
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
}
