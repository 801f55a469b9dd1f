/** Starting a real regcache (createRegistryCache + node:http on 127.0.0.1:0) in front of a real upstream. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect } from 'vitest';
import type { Digest } from '@regcache/registry-protocol';
import { startFaultProxy, startRegistry, tempDir, type FaultProxy, type RunningRegistry } from '@regcache/testkit';
import {
  createRegistryCache,
  parseConfig,
  refuseConnect,
  type Logger,
  type RegcacheConfigInput,
  type RegistryCache,
  type RegistryCacheOptions,
} from '../src/index.js';

export interface RunningCache {
  readonly url: string;
  readonly host: string;
  readonly cache: RegistryCache;
  readonly dataDir: string;
  readonly logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export function captureLogger(into: Array<Record<string, unknown>>): Logger {
  const push = (level: string) => (obj: object, msg?: string) => into.push({ level, msg, ...obj });
  return { debug: push('debug'), info: push('info'), warn: push('warn'), error: push('error') };
}

export async function startCache(
  input: Partial<RegcacheConfigInput> & { upstreamUrl?: string },
  options: Omit<RegistryCacheOptions, 'logger'> = {},
): Promise<RunningCache> {
  const { upstreamUrl, ...rest } = input;
  const dataDir = rest.storage?.path ?? (await tempDir('regcache-data-'));
  const config = parseConfig({
    upstreams: upstreamUrl ? [{ name: 'docker.io', url: upstreamUrl }] : undefined,
    ...rest,
    storage: { ...rest.storage, path: dataDir },
  });
  const logs: Array<Record<string, unknown>> = [];
  const cache = await createRegistryCache(config, { ...options, logger: captureLogger(logs) });
  const server: Server = createServer((req, res) => void cache.handler(req, res));
  server.on('connect', refuseConnect);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    cache,
    dataDir,
    logs,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await cache.close();
    },
  };
}

export interface PlainCache {
  readonly upstream: RunningRegistry;
  readonly cache: RunningCache;
}

/** A real registry and regcache in front of it — started before the file's tests, stopped after them. */
export function useCache(): () => PlainCache {
  let parts: PlainCache | undefined;
  beforeAll(async () => {
    const upstream = await startRegistry();
    parts = { upstream, cache: await startCache({ upstreamUrl: upstream.url }) };
  }, 60_000);
  afterAll(async () => {
    await parts?.cache.close();
    await parts?.upstream.stop();
  });
  return () => {
    if (parts === undefined) throw new Error('fixture not started');
    return parts;
  };
}

export interface ProxiedRegistry {
  readonly upstream: RunningRegistry;
  readonly proxy: FaultProxy;
}

export interface ProxiedCache extends ProxiedRegistry {
  readonly cache: RunningCache;
}

/** A real registry and a fault proxy in front of it — started before the file's tests, stopped after them. */
export function useProxiedRegistry(): () => ProxiedRegistry {
  let parts: ProxiedRegistry | undefined;
  beforeAll(async () => {
    const upstream = await startRegistry();
    parts = { upstream, proxy: await startFaultProxy(upstream.url) };
  }, 60_000);
  afterAll(async () => {
    await parts?.proxy.stop();
    await parts?.upstream.stop();
  });
  return () => {
    if (parts === undefined) throw new Error('fixture not started');
    return parts;
  };
}

/**
 * The common fixture of the fill tests: a real registry, a fault proxy in front of it, and
 * regcache in front of the proxy — started before the file's tests, stopped after them (the
 * cache first: vitest runs after-hooks in reverse).
 */
export function useProxiedCache(config: Partial<RegcacheConfigInput> = {}): () => ProxiedCache {
  const registry = useProxiedRegistry();
  let cache: RunningCache | undefined;
  beforeAll(async () => {
    const { upstreams, ...rest } = config;
    const { proxy } = registry();
    cache = await startCache({
      ...rest,
      upstreams: (upstreams ?? [{ name: 'docker.io', url: '' }]).map((u) => ({ ...u, url: proxy.url })),
    });
  }, 60_000);
  afterAll(async () => {
    await cache?.close();
  });
  return () => {
    if (cache === undefined) throw new Error('fixture not started');
    return { ...registry(), cache };
  };
}

/**
 * Waits until the store has `digest`. A pull ends as soon as its bytes verify; the fsync,
 * rename and index entry that store them follow a moment later.
 */
export async function expectStored(cache: RunningCache, digest: string, timeout = 10_000): Promise<void> {
  await expect.poll(() => cache.cache.store.stat(digest as Digest), { timeout, message: `${digest} stored` }).toBeDefined();
}
