/**
 * The config.yml for Debian's docker-registry (distribution 2.8.2): loopback address, a
 * filesystem root, access log on, health checks and redirects off, and one auth mode.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runChecked } from './process.js';

export type RegistryAuthConfig =
  | { kind: 'none' }
  | { kind: 'basic'; htpasswdPath: string }
  | { kind: 'token'; realm: string; service: string; issuer: string; rootCertBundle: string };

export interface RegistryConfigInput {
  port: number;
  dataDir: string;
  deleteEnabled: boolean;
  auth: RegistryAuthConfig;
  /** http.secret; keep it across restarts so upload URLs stay valid. */
  secret: string;
}

/** YAML double-quoted scalars are JSON strings. */
const q = (value: string): string => JSON.stringify(value);

function authSection(auth: RegistryAuthConfig): string[] {
  switch (auth.kind) {
    case 'none':
      return [];
    case 'basic':
      return ['auth:', '  htpasswd:', '    realm: "regcache-testkit"', `    path: ${q(auth.htpasswdPath)}`];
    case 'token':
      return [
        'auth:',
        '  token:',
        `    realm: ${q(auth.realm)}`,
        `    service: ${q(auth.service)}`,
        `    issuer: ${q(auth.issuer)}`,
        `    rootcertbundle: ${q(auth.rootCertBundle)}`,
      ];
  }
}

/** The YAML text of the config. */
export function registryConfigYaml(input: RegistryConfigInput): string {
  return [
    'version: 0.1',
    'log:',
    '  level: info',
    '  formatter: text',
    '  accesslog:',
    '    disabled: false',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${q(input.dataDir)}`,
    '  delete:',
    `    enabled: ${input.deleteEnabled ? 'true' : 'false'}`,
    '  redirect:',
    '    disable: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: ${q(`127.0.0.1:${input.port}`)}`,
    `  secret: ${q(input.secret)}`,
    '  headers:',
    '    X-Content-Type-Options: [nosniff]',
    'health:',
    '  storagedriver:',
    '    enabled: false',
    ...authSection(input.auth),
    '',
  ].join('\n');
}

/** Writes the config into dir/config.yml and returns its path. */
export async function writeRegistryConfig(dir: string, input: RegistryConfigInput): Promise<string> {
  const path = join(dir, 'config.yml');
  await writeFile(path, registryConfigYaml(input));
  return path;
}

/** A bcrypt htpasswd file (`htpasswd -Bbn`) for one user; returns its path. */
export async function writeHtpasswd(dir: string, username: string, password: string): Promise<string> {
  const { stdout } = await runChecked('htpasswd', ['-Bbn', username, password]);
  const path = join(dir, 'htpasswd');
  await writeFile(path, `${stdout.trim()}\n`);
  return path;
}

/** A random http.secret. */
export function registrySecret(): string {
  return randomBytes(24).toString('hex');
}
