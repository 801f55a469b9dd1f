/**
 * Small helpers for the routing, freshness and offline tests: a tiny real image pushed
 * straight to a registry (no skopeo: fast enough to retag in a test), a pull by plain HTTP
 * that checks every digest, and extra loopback listeners in front of one regcache.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildImage, MediaTypes, pushBlob, pushManifest, pushSmallImage, randomLayer, type RunningRegistry, type SmallImage } from '@regcache/testkit';

export type TinyImage = SmallImage;

/** One OCI image (config + one random 2 KiB layer) pushed under name:tag; a second call retags to a new digest. */
export function pushTinyImage(registry: RunningRegistry, name: string, tag: string): Promise<TinyImage> {
  return pushSmallImage(registry, name, tag, 2048);
}

/**
 * One image (manifest, config, a layer labelled `label`), built once and pushed as `name:tag` to
 * each [registry, name] target: the same digests everywhere (a mirror's copy, another repository).
 */
export async function pushSameImage(targets: ReadonlyArray<readonly [RunningRegistry, string]>, tag: string, label: string): Promise<{ digest: string; blobs: string[] }> {
  const built = buildImage({ layers: [await randomLayer(label)] });
  const manifest = built[built.length - 1];
  if (manifest === undefined) throw new Error('buildImage returned nothing');
  const blobs = built.slice(0, -1);
  let digest = '';
  for (const [registry, name] of targets) {
    for (const blob of blobs) await pushBlob(registry, name, blob.bytes);
    digest = await pushManifest(registry, name, tag, manifest.bytes, MediaTypes.ociManifest);
  }
  return { digest, blobs: blobs.map((b) => b.digest) };
}

/** Requests the registry answered with a 2xx (a token-auth registry also logs each 401 challenge). */
export function served(registry: RunningRegistry, method: string, path: string | RegExp): number {
  return registry
    .requests()
    .filter((e) => e.status < 300 && e.method === method && (typeof path === 'string' ? e.path === path : path.test(e.path))).length;
}

export interface HttpPull {
  status: number;
  digest: string | undefined;
  stale: boolean;
  /** Every blob the manifest names, fetched and re-hashed. */
  blobs: string[];
}

const sha256 = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** GET manifest + blobs through `base` (with `?ns=` when given), each body hashed against its digest. */
export async function httpPull(base: string, name: string, reference: string, opts: { ns?: string; headers?: Record<string, string> } = {}): Promise<HttpPull> {
  const query = opts.ns === undefined ? '' : `?ns=${encodeURIComponent(opts.ns)}`;
  const accept = [MediaTypes.ociManifest, MediaTypes.dockerManifest, MediaTypes.ociIndex, MediaTypes.dockerManifestList].join(', ');
  const res = await fetch(`${base}/v2/${name}/manifests/${reference}${query}`, { headers: { accept, ...opts.headers } });
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) return { status: res.status, digest: undefined, stale: false, blobs: [] };
  const digest = sha256(body);
  if (res.headers.get('docker-content-digest') !== digest) throw new Error(`manifest ${name}:${reference}: header does not match body`);
  const parsed = JSON.parse(body.toString('utf8')) as { config?: { digest: string }; layers?: Array<{ digest: string }> };
  const blobs: string[] = [];
  for (const wanted of [parsed.config, ...(parsed.layers ?? [])].flatMap((d) => (d ? [d.digest] : []))) {
    const blob = await fetch(`${base}/v2/${name}/blobs/${wanted}${query}`, { headers: opts.headers });
    const got = sha256(Buffer.from(await blob.arrayBuffer()));
    if (blob.status !== 200 || got !== wanted) throw new Error(`blob ${wanted}: status ${blob.status}, content ${got}`);
    blobs.push(got);
  }
  return { status: res.status, digest, stale: res.headers.get('x-regcache-stale') === 'true', blobs };
}

export interface Listener {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Another node:http listener on 127.0.0.1 for the same handler (a second Host a client can name). */
export async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void, port = 0): Promise<Listener> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    host: `127.0.0.1:${bound}`,
    port: bound,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
