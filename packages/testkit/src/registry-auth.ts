/**
 * Auth set-up for a test registry: a bcrypt htpasswd file for `basic`, a token server and its
 * certificate bundle for `token`.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RegistryAuthConfig } from './registry-config.js';
import { writeHtpasswd } from './registry-config.js';
import type { JwtAlgorithm } from './signing-key.js';
import { startTokenServer, type RunningTokenServer } from './token-server.js';

export interface PreparedAuth {
  config: RegistryAuthConfig;
  credentials?: { username: string; password: string };
  tokenServer?: RunningTokenServer;
}

export const DEFAULT_USERNAME = 'testuser';
export const DEFAULT_PASSWORD = 'testpass';
export const TOKEN_SERVICE = 'regcache-testkit-registry';
export const TOKEN_ISSUER = 'regcache-testkit-token-issuer';

export async function prepareAuth(
  dir: string,
  mode: 'none' | 'basic' | 'token',
  opts: {
    username?: string;
    password?: string;
    anonymousPull?: boolean;
    tokenTtlSeconds?: number;
    tokenAlg?: JwtAlgorithm;
    tokenKeyHint?: 'x5c' | 'kid';
    tokenRealm?: (tokenServerUrl: string) => string | Promise<string>;
  },
): Promise<PreparedAuth> {
  if (mode === 'none') return { config: { kind: 'none' } };
  const credentials = { username: opts.username ?? DEFAULT_USERNAME, password: opts.password ?? DEFAULT_PASSWORD };
  if (mode === 'basic') {
    return { config: { kind: 'basic', htpasswdPath: await writeHtpasswd(dir, credentials.username, credentials.password) }, credentials };
  }
  const tokenServer = await startTokenServer({
    service: TOKEN_SERVICE,
    issuer: TOKEN_ISSUER,
    users: { [credentials.username]: credentials.password },
    anonymousPull: opts.anonymousPull ?? false,
    tokenTtlSeconds: opts.tokenTtlSeconds,
    alg: opts.tokenAlg,
    keyHint: opts.tokenKeyHint,
  });
  const rootCertBundle = join(dir, 'token-ca.pem');
  await writeFile(rootCertBundle, tokenServer.certPem);
  return {
    config: { kind: 'token', realm: (await opts.tokenRealm?.(tokenServer.url)) ?? tokenServer.url, service: TOKEN_SERVICE, issuer: TOKEN_ISSUER, rootCertBundle },
    credentials,
    tokenServer,
  };
}
