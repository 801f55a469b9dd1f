/** The admin API of a test cache on its own loopback listener, the ops tests' fixture, and their small helpers. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { seedImages, startRegistry, type RunningRegistry, type TestImage } from '@regcache/testkit';
import type { RegcacheConfigInput, RegistryCache } from '../src/index.js';
import { startCache, type RunningCache } from './helpers.js';

export interface AdminListener {
  readonly url: string;
  get<T>(path: string): Promise<{ status: number; body: T }>;
  text(path: string): Promise<{ status: number; contentType: string | null; body: string }>;
  /** POSTs and reads the NDJSON stream: progress lines, then the result (an error line throws). */
  run<T>(path: string, body: unknown): Promise<{ result: T; progress: unknown[] }>;
  close(): Promise<void>;
}

export async function startAdmin(cache: RegistryCache): Promise<AdminListener> {
  const server: Server = createServer((req, res) => void cache.adminHandler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    async get<T>(path: string) {
      const res = await fetch(`${url}${path}`);
      return { status: res.status, body: (await res.json()) as T };
    },
    async text(path) {
      const res = await fetch(`${url}${path}`);
      return { status: res.status, contentType: res.headers.get('content-type'), body: await res.text() };
    },
    async run<T>(path: string, body: unknown) {
      const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${text}`);
      const progress: unknown[] = [];
      for (const line of text.split('\n').filter((l) => l.trim() !== '')) {
        const entry = JSON.parse(line) as { progress?: unknown; result?: T; error?: { message: string } };
        if (entry.error) throw new Error(`${path}: ${entry.error.message}`);
        if (entry.progress !== undefined) progress.push(entry.progress);
        if (entry.result !== undefined) return { result: entry.result, progress };
      }
      throw new Error(`${path}: no result line in ${text}`);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Every digest an image stores in the cache: manifest(s), configs, layers. */
export function imageDigests(image: TestImage): string[] {
  const children = image.children ?? [];
  return [image.digest, ...children.map((c) => c.digest), ...image.blobs.map((b) => b.digest)];
}

/** The bytes an image stores in the cache. */
export function imageBytes(image: TestImage): number {
  const children = image.children ?? [];
  return image.manifest.length + children.reduce((sum, c) => sum + c.manifest.length, 0) + image.blobs.reduce((sum, b) => sum + b.size, 0);
}

/** Polls `check` until it returns true (or fails after `timeoutMs`). */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A blob just committed is protected from gc for 2 s (guarded-store.ts): wait that out. */
export async function pinsLapse(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 2100));
}

export interface SeededCache {
  readonly upstream: RunningRegistry;
  /** The three images testkit seeds (Docker schema 2, OCI, multi-platform), under `<prefix>/`. */
  readonly images: { docker: TestImage; oci: TestImage; multiArch: TestImage };
  readonly cache: RunningCache;
  readonly admin: AdminListener;
}

/**
 * The ops tests' fixture: a real registry seeded with testkit's three images, regcache in front
 * of it (with `config`, which may depend on the images' sizes) and its admin API on a loopback
 * listener — started before the file's tests, stopped after them. Read the parts inside tests.
 */
export function useSeededCache(prefix: string, config: (images: SeededCache['images']) => Partial<RegcacheConfigInput> = () => ({})): SeededCache {
  let parts: SeededCache | undefined;
  beforeAll(async () => {
    const upstream = await startRegistry();
    const images = await seedImages(upstream, { prefix });
    const cache = await startCache({ upstreamUrl: upstream.url, ...config(images) });
    parts = { upstream, images, cache, admin: await startAdmin(cache.cache) };
  }, 120_000);
  afterAll(async () => {
    await parts?.admin.close();
    await parts?.cache.close();
    await parts?.upstream.stop();
  });
  const started = (): SeededCache => {
    if (parts === undefined) throw new Error('fixture not started');
    return parts;
  };
  return {
    get upstream() {
      return started().upstream;
    },
    get images() {
      return started().images;
    },
    get cache() {
      return started().cache;
    },
    get admin() {
      return started().admin;
    },
  };
}
