/**
 * A second host for redirects, like the S3 bucket or CDN a registry sends blob downloads to:
 * a small server on its own loopback port that serves `…/blobs/<digest>` by reading the blob
 * from the real registry with the kit's own credentials (as a presigned URL would allow).
 * It records every request with its headers, so a test can assert that a client following a
 * redirect here did not bring the registry's Authorization along.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { httpListener } from './http-listener.js';
import { registryRequest } from './registry-client.js';
import type { RunningRegistry } from './registry.js';

export interface BlobHostRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface BlobHost {
  readonly url: string;
  readonly host: string;
  /** The URL on this host a registry would redirect `path` (`/v2/<name>/blobs/<digest>`) to. */
  locationFor(path: string): string;
  requests(): BlobHostRequest[];
  stop(): Promise<void>;
}

const BLOB_PATH = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]{64})$/;

export async function startBlobHost(registry: RunningRegistry): Promise<BlobHost> {
  const log: BlobHostRequest[] = [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    log.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const path = new URL(req.url ?? '/', 'http://blob-host.invalid').pathname;
    const match = BLOB_PATH.exec(path);
    if (match === null || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-length': '0' });
      res.end();
      return;
    }
    const [, name = '', digest = ''] = match;
    const blob = await registryRequest(registry, { method: 'GET', path: `/v2/${name}/blobs/${digest}`, repository: name });
    res.writeHead(blob.status, { 'content-type': 'application/octet-stream', 'content-length': String(blob.body.length) });
    res.end(req.method === 'HEAD' ? undefined : blob.body);
  }

  const listener = httpListener(handle);
  await listener.start();
  const host = `127.0.0.1:${listener.port}`;
  return {
    url: `http://${host}`,
    host,
    locationFor: (path) => `http://${host}${path.split('?')[0] ?? path}?X-Signature=testkit`,
    requests: () => [...log],
    stop: () => listener.stop(),
  };
}
