/**
 * The crash test's campaign. What the server is doing when it is killed: fills (two clients
 * on a trickled blob, one of which may leave early), index writes (manifests pulled by tag with
 * a zero tag TTL, so every pull revalidates and rewrites its tag, links and access data), and
 * gc through the admin socket evicting down to a small budget (file unlinks and index
 * deletes). After each kill, the store is re-hashed as it lies; at the end, everything is pulled.
 */
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { createBlobStore, type ConsistencyReport } from '@regcache/blob-store';
import type { SmallImage } from '@regcache/testkit';
import { runServer } from '../spawn.js';
import { complete, hashedGet, type Hashed } from '@regcache/testkit';

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

export interface KillTally {
  kills: Record<RoundKind, number>;
  /** Bodies clients received whole while the kills went on, and how many of them were wrong. */
  wholeBodies: number;
  wrongBodies: number;
  blobsEvicted: number;
  /** Re-hash of the store as each kill left it (no repair): wrong files, and repairable leftovers. */
  corruptOnDisk: number;
  leftovers: number;
}

export interface KillPlan {
  config: string;
  dataDir: string;
  kills: number;
  blobs: readonly CrashBlob[];
  images: readonly SmallImage[];
}

const KINDS: readonly RoundKind[] = ['fill', 'index', 'gc'];

/** `plan.kills` times: start the server, start a round's work, SIGKILL it 0–700 ms later, check what it left. */
export async function killRounds(plan: KillPlan): Promise<KillTally> {
  const tally: KillTally = { kills: { fill: 0, index: 0, gc: 0 }, wholeBodies: 0, wrongBodies: 0, blobsEvicted: 0, corruptOnDisk: 0, leftovers: 0 };
  for (let i = 0; i < plan.kills; i++) {
    const server = await runServer(['--config', plan.config]);
    const kind = KINDS[i % KINDS.length] as RoundKind;
    const round = startRound(kind, `http://${server.address}`, plan.blobs[i % plan.blobs.length] as CrashBlob, plan.images, plan.dataDir);
    await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 700)));
    if ((await server.stop('SIGKILL')) !== null) throw new Error('the server exited before it was killed');
    tally.kills[kind] += 1;
    for (const { expected, got } of await round.finished) {
      tally.wholeBodies += 1;
      if (got.digest !== expected) tally.wrongBodies += 1;
    }
    tally.blobsEvicted += (await round.evicted) ?? 0;
    const asLeft = await checkStore(plan.dataDir, false);
    tally.corruptOnDisk += asLeft.corrupt.length;
    tally.leftovers += asLeft.missingFiles.length + asLeft.unindexedFiles.length + asLeft.tempFiles;
  }
  return tally;
}

/** A full consistency check with every blob re-hashed; `recover: false` looks at the store as it lies. */
export async function checkStore(root: string, recover: boolean): Promise<ConsistencyReport> {
  const store = await createBlobStore({ root, recover });
  try {
    return await store.check({ rehash: true });
  } finally {
    await store.close();
  }
}

/** Pulls every blob, and every image by tag and by digest with its blobs; counts what was not whole and right. */
export async function pullEverything(base: string, blobs: readonly CrashBlob[], images: readonly SmallImage[]): Promise<{ pulls: number; wrong: number }> {
  const wanted = [
    ...blobs.map((b) => ({ url: `${base}/v2/crash/blobs/blobs/${b.digest}`, digest: b.digest })),
    ...images.flatMap((image) => [
      { url: `${base}/v2/${image.name}/manifests/${image.tag}`, digest: image.digest },
      { url: `${base}/v2/${image.name}/manifests/${image.digest}`, digest: image.digest },
      ...image.blobs.map((digest) => ({ url: `${base}/v2/${image.name}/blobs/${digest}`, digest })),
    ]),
  ];
  let wrong = 0;
  for (const { url, digest } of wanted) {
    const got = await hashedGet(url, { headers: { accept: MANIFEST_ACCEPT } });
    if (!complete(got) || got.digest !== digest) wrong += 1;
  }
  return { pulls: wanted.length, wrong };
}
