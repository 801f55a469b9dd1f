/**
 * Baseline 1: Debian's docker-registry (CNCF distribution 2.8) in `proxy:` mode, pointed at the
 * upstream — configured as its docs recommend for a pull-through cache (filesystem storage,
 * in-memory blob descriptor cache, deletes enabled for the proxy's expiry scheduler), with its
 * access log off and log level error so logging costs it no more than the others.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, tempDir } from '@regcache/testkit';
import { startServerProcess } from '../server-process.js';
import type { Target, TargetFactory } from './target.js';

const q = (value: string): string => JSON.stringify(value);

function proxyConfig(port: number, dataDir: string, upstreamUrl: string): string {
  return [
    'version: 0.1',
    'log:',
    '  level: error',
    '  formatter: text',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${q(dataDir)}`,
    '  cache:',
    '    blobdescriptor: inmemory',
    '  delete:',
    '    enabled: true',
    '  redirect:',
    '    disable: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: ${q(`127.0.0.1:${port}`)}`,
    `  secret: ${q(randomBytes(24).toString('hex'))}`,
    'health:',
    '  storagedriver:',
    '    enabled: false',
    'proxy:',
    `  remoteurl: ${q(upstreamUrl)}`,
    '',
  ].join('\n');
}

/** The environment without REGISTRY_* variables, which would override the config file. */
function registryEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('REGISTRY_')));
}

/** distribution's filesystem layout: `<root>/docker/registry/v2/blobs/sha256/<2 hex>/<hex>/data`, moved in when complete. */
function blobPath(dataDir: string, digest: string): string {
  const [alg = 'sha256', hex = ''] = digest.split(':');
  return join(dataDir, 'docker', 'registry', 'v2', 'blobs', alg, hex.slice(0, 2), hex, 'data');
}

export const startDistribution: TargetFactory = async ({ upstream, tools }) => {
  const dir = await tempDir('bench-distribution');
  const dataDir = join(dir, 'data');
  await mkdir(dataDir);
  const port = await freePort();
  const configPath = join(dir, 'config.yml');
  await writeFile(configPath, proxyConfig(port, dataDir, upstream.url));
  const server = await startServerProcess({ name: 'docker-registry (proxy mode)', command: tools.dockerRegistry, args: ['serve', configPath], port, env: registryEnv() });
  const target: Target = {
    id: 'distribution',
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    pids: async () => [server.pid],
    committedBlobPath: (blob) => blobPath(dataDir, blob.digest),
    tail: () => server.tail(),
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return target;
};
