/**
 * Row 6: one cold `skopeo copy docker://HOST/bench/image:v1 dir:…` of the 20-layer image (skopeo
 * verifies every blob's digest as it copies), timed from spawn to exit; the result must hold
 * every layer. The destination is removed afterwards. The upstream's requests during the pull
 * are counted by method (a cache adds its own HEADs and token/ping requests to the pull's).
 */
import { readdir, rm } from 'node:fs/promises';
import { skopeo, tempDir, type RunningRegistry } from '@regcache/testkit';
import type { BenchContent } from '../content.js';
import type { Target } from '../targets/index.js';

export interface SkopeoPullResult {
  seconds: number;
  files: number;
  /** Upstream requests during the pull, by method. */
  upstreamRequests: Record<string, number>;
}

function countByMethod(upstream: RunningRegistry): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const entry of upstream.requests()) counts[entry.method] = (counts[entry.method] ?? 0) + 1;
  return counts;
}

export async function skopeoColdPull(upstream: RunningRegistry, target: Target, image: BenchContent['image']): Promise<SkopeoPullResult> {
  const dir = await tempDir('bench-skopeo');
  await upstream.settle();
  upstream.resetRequests();
  try {
    const src = `docker://${target.host}/${image.repo}:${image.tag}`;
    const startMs = performance.now();
    const result = await skopeo(['copy', '--quiet', '--retry-times', '0', '--src-tls-verify=false', src, `dir:${dir}`], { timeoutMs: 600_000 });
    const seconds = (performance.now() - startMs) / 1000;
    if (result.code !== 0) throw new Error(`skopeo copy ${src} exited ${result.code}:\n${result.stderr}`);
    const blobs = (await readdir(dir)).filter((name) => /^[a-f0-9]{64}$/.test(name));
    // 20 layers + the config
    if (blobs.length !== image.layers + 1) throw new Error(`skopeo copy ${src}: ${blobs.length} blobs written, expected ${image.layers + 1}`);
    await upstream.settle();
    return { seconds, files: blobs.length, upstreamRequests: countByMethod(upstream) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
