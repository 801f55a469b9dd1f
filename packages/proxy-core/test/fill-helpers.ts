/** Clients for fill tests: stream a blob through regcache, hashing it, and report what arrived; read an upstream body as a fill does. */
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { complete, hashedGet, type Hashed } from '@regcache/testkit';
import type { PlainResponse } from '../src/upstream/plain-get.js';

/** What a fill test's client received (testkit's hashedGet). */
export type Received = Hashed;

/** Streams a blob, hashing it; `stopAfter` leaves early (then `broken`). */
export function getBlob(url: string, headers: Record<string, string> = {}, opts: { stopAfter?: number } = {}): Promise<Received> {
  return hashedGet(url, { headers, stopAfter: opts.stopAfter, timeoutMs: 60_000 });
}

export function randomBlob(size: number): { bytes: Buffer; digest: string } {
  const bytes = randomBytes(size);
  return { bytes, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` };
}

/** A body that is complete-looking: full length, not cut. Such a body must be the right one. */
export const looksComplete = complete;

/** Reads a whole plain-get.ts body, handing each chunk back as a fill does once it is written. */
export async function drain(res: PlainResponse): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of res.body) {
    chunks.push(Buffer.from(chunk as Buffer));
    res.release?.(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Threads named regcache-fill in this process: native receive loops running (fill/native-receive.ts). */
export async function fillThreads(): Promise<number> {
  const tasks = await readdir('/proc/self/task');
  const names = await Promise.all(tasks.map((task) => readFile(`/proc/self/task/${task}/comm`, 'utf8').then((n) => n.trim(), () => '')));
  return names.filter((name) => name === 'regcache-fill').length;
}
