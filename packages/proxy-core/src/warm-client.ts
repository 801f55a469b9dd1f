/**
 * Warm pulls through the normal path — routing, tags, links, the fill engine, stats and
 * metrics — by sending real requests to the cache's own registry handler on a listener of
 * its own: 127.0.0.1, an ephemeral port, open only while the warm runs. That handler accepts
 * only a random token made for this warm, so the listener is no way around client auth.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { CURRENT_MANIFEST_MEDIA_TYPES, parseDigest, type Digest } from '@regcache/registry-protocol';
import type { ClientAuth } from './client-auth.js';
import { ClientAuthError } from './errors.js';
import type { RegistryHandler } from './handler.js';

export interface FetchedManifestBytes {
  bytes: Buffer;
  mediaType: string;
  digest: Digest;
}

export interface LoopbackClient {
  manifest(upstream: string, name: string, reference: string): Promise<FetchedManifestBytes>;
  /** GETs a blob and reads it to the end; resolves with the bytes received. */
  blob(upstream: string, name: string, digest: Digest): Promise<number>;
  /** GETs a small blob (an image config) and keeps its bytes; WarmFetchError past `limit` bytes. */
  blobBytes(upstream: string, name: string, digest: Digest, limit: number): Promise<Buffer>;
  close(): Promise<void>;
}

/** The answer to a warm request was not a 200. */
export class WarmFetchError extends Error {
  override readonly name = 'WarmFetchError';
}

const sha = (value: string): Buffer => createHash('sha256').update(value).digest();

function tokenAuth(token: string): ClientAuth {
  const expected = sha(`Bearer ${token}`);
  const allows = (req: IncomingMessage): boolean => timingSafeEqual(sha(req.headers.authorization ?? ''), expected);
  return {
    enabled: true,
    check(req) {
      return allows(req) ? Promise.resolve() : Promise.reject(new ClientAuthError('bad-token', 'regcache'));
    },
    allows,
  };
}

function failure(what: string, status: number, body: string): WarmFetchError {
  let detail = body.slice(0, 200);
  try {
    const first = (JSON.parse(body) as { errors?: Array<{ code?: string; message?: string }> }).errors?.[0];
    if (first) detail = `${first.code ?? ''} ${first.message ?? ''}`.trim();
  } catch {
    // not an OCI error body: keep the text
  }
  return new WarmFetchError(`${what}: ${status}${detail ? ` ${detail}` : ''}`);
}

export async function openLoopback(makeHandler: (auth: ClientAuth) => RegistryHandler): Promise<LoopbackClient> {
  const token = randomBytes(32).toString('hex');
  const handler = makeHandler(tokenAuth(token));
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const agent = new Agent({ connections: 8 });
  const get = (path: string, upstream: string, accept?: string) =>
    request(`${origin}${path}?ns=${encodeURIComponent(upstream)}`, {
      dispatcher: agent,
      headers: { authorization: `Bearer ${token}`, ...(accept === undefined ? {} : { accept }) },
      headersTimeout: 600_000,
      bodyTimeout: 600_000,
    });
  return {
    async manifest(upstream, name, reference) {
      const res = await get(`/v2/${name}/manifests/${reference}`, upstream, CURRENT_MANIFEST_MEDIA_TYPES.join(', '));
      const bytes = Buffer.from(await res.body.arrayBuffer());
      if (res.statusCode !== 200) throw failure(`manifest ${reference}`, res.statusCode, bytes.toString('utf8'));
      const digest = parseDigest(String(res.headers['docker-content-digest'] ?? ''));
      if (!digest.ok) throw new WarmFetchError(`manifest ${reference}: no valid Docker-Content-Digest`);
      return { bytes, mediaType: String(res.headers['content-type'] ?? ''), digest: digest.value };
    },
    async blob(upstream, name, digest) {
      const res = await get(`/v2/${name}/blobs/${digest}`, upstream);
      if (res.statusCode !== 200) throw failure(`blob ${digest}`, res.statusCode, await res.body.text());
      let received = 0;
      for await (const chunk of res.body) received += (chunk as Buffer).length;
      return received;
    },
    async blobBytes(upstream, name, digest, limit) {
      const res = await get(`/v2/${name}/blobs/${digest}`, upstream);
      if (res.statusCode !== 200) throw failure(`blob ${digest}`, res.statusCode, await res.body.text());
      const chunks: Buffer[] = [];
      let received = 0;
      for await (const chunk of res.body) {
        received += (chunk as Buffer).length;
        if (received > limit) {
          res.body.destroy();
          throw new WarmFetchError(`blob ${digest} is larger than the ${limit} bytes warm reads`);
        }
        chunks.push(chunk as Buffer);
      }
      return Buffer.concat(chunks);
    },
    async close() {
      await agent.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
