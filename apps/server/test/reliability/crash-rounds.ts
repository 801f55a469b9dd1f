/**
 * What the server is doing when the crash test kills it: fills (two clients on a trickled
 * blob, one of which may leave early), index writes (manifests pulled by tag with a zero tag
 * TTL, so every pull revalidates and rewrites its tag, links and access data), and gc through
 * the admin socket evicting down to a small budget (file unlinks and index deletes).
 */
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import type { SmallImage } from '@regcache/testkit';
import { complete, hashedGet, type Hashed } from './hashed-get.js';

export type RoundKind = 'fill' | 'index' | 'gc';

export interface CrashBlob {
  digest: string;
  size: number;
}

export interface RoundWork {
  /** Every client that got a whole body (by its Content-Length), with the digest it had to have. */
  readonly finished: Promise<Array<{ expected: string; got: Hashed }>>;
  /** Blobs a gc round removed before the kill (undefined: no gc, or killed first). */
  readonly evicted: Promise<number | undefined>;
}

export const MANIFEST_ACCEPT = 'application/vnd.oci.image.manifest.v1+json';

/** Fetches, swallowing the connection errors a kill causes. */
async function attempt(url: string, expected: string, headers?: Record<string, string>): Promise<{ expected: string; got: Hashed } | undefined> {
  try {
    return { expected, got: await hashedGet(url, { headers }) };
  } catch {
    return undefined;
  }
}

/** A client that leaves after a random part of the blob. */
async function leaveEarly(url: string, size: number): Promise<undefined> {
  await hashedGet(url, { stopAfter: Math.floor(Math.random() * size) }).catch(() => undefined);
  return undefined;
}

/** POST /gc on the admin socket; resolves with how many blobs it removed, or undefined if it was killed first. */
function runGc(dataDir: string, maxSize: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = httpRequest({ socketPath: join(dataDir, 'admin.sock'), path: '/gc', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('error', () => resolve(undefined));
      res.on('end', () => resolve(removedIn(text)));
    });
    req.on('error', () => resolve(undefined));
    req.end(JSON.stringify({ maxSize }));
  });
}

/** The `removed` count of an NDJSON gc answer's result line. */
function removedIn(ndjson: string): number | undefined {
  for (const line of ndjson.split('\n')) {
    if (!line.startsWith('{"result"')) continue;
    const parsed = JSON.parse(line) as { result?: { removed?: unknown[] } };
    return parsed.result?.removed?.length;
  }
  return undefined;
}

export function startRound(kind: RoundKind, base: string, blob: CrashBlob, images: readonly SmallImage[], dataDir: string): RoundWork {
  const url = `${base}/v2/crash/blobs/blobs/${blob.digest}`;
  const work: Array<Promise<{ expected: string; got: Hashed } | undefined>> = [attempt(url, blob.digest), leaveEarly(url, blob.size)];
  const evicted = kind === 'gc' ? runGc(dataDir, '8MiB') : Promise.resolve(undefined);
  if (kind === 'index') {
    for (const image of images) {
      work.push(attempt(`${base}/v2/${image.name}/manifests/${image.tag}`, image.digest, { accept: MANIFEST_ACCEPT }));
      for (const digest of image.blobs) work.push(attempt(`${base}/v2/${image.name}/blobs/${digest}`, digest));
    }
  }
  return { evicted, finished: Promise.all(work).then((all) => all.filter((r): r is { expected: string; got: Hashed } => r !== undefined && complete(r.got))) };
}
