/**
 * The request record (the `request` log line, and what the metrics and served-bytes counters
 * read from it) of a blob whose client closes the moment it has the body. sendfile hands the
 * body to the kernel off the JavaScript thread, so such a client can be gone before the handler
 * has ended the response: the record must still say the whole body went out, not aborted.
 *
 * The client runs on this thread, as the cache does: it holds the thread for a moment once the
 * first body bytes arrive (the sender thread meanwhile sends the rest), then closes as soon as it
 * has them all — so its close reaches the cache before the handler's own end, as skopeo's did
 * under load.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { pushBlob, sha256 } from '@regcache/testkit';
import { expectStored, useCache } from './helpers.js';

const BLOB_BYTES = 512 * 1024;

/** GETs `path`; closes the connection once the head and Content-Length body bytes are in. */
function getAndClose(host: string, path: string): Promise<number> {
  const [hostname = '', port = ''] = host.split(':');
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let head = '';
    let body = 0;
    let length: number | undefined;
    let held = false;
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      let rest = chunk;
      if (length === undefined) {
        head += chunk.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        length = Number(/\r\ncontent-length: *(\d+)/i.exec(head.slice(0, end))?.[1] ?? Number.NaN);
        rest = Buffer.from(head.slice(end + 4), 'latin1');
      }
      body += rest.length;
      if (!held) {
        held = true;
        const until = performance.now() + 50;
        while (performance.now() < until);
      }
      if (body >= length) {
        socket.destroy();
        resolve(body);
      }
    });
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: keep-alive\r\n\r\n`);
  });
}

describe('the request record of a client that closes once it has the body', () => {
  const fx = useCache();

  const recordOf = async (path: string, nth: number): Promise<Record<string, unknown>> => {
    const records = (): Array<Record<string, unknown>> => fx().cache.logs.filter((l) => l.msg === 'request' && l.path === path);
    await expect.poll(() => records().length, { timeout: 5000 }).toBeGreaterThanOrEqual(nth);
    return records()[nth - 1] ?? {};
  };

  it('counts the whole body, not aborted, from a fill (a miss) and from the store (a hit)', async () => {
    const { upstream, cache } = fx();
    for (let round = 0; round < 4; round++) {
      const bytes = randomBytes(BLOB_BYTES);
      const digest = sha256(bytes);
      await pushBlob(upstream, 'records/close', bytes);
      const path = `/v2/records/close/blobs/${digest}`;
      expect(await getAndClose(cache.host, path)).toBe(BLOB_BYTES);
      expect(await recordOf(path, 1)).toMatchObject({ cache: 'miss', status: 200, bytes: BLOB_BYTES, aborted: false });
      await expectStored(cache, digest);
      expect(await getAndClose(cache.host, path)).toBe(BLOB_BYTES);
      expect(await recordOf(path, 2)).toMatchObject({ cache: 'hit', status: 200, bytes: BLOB_BYTES, aborted: false });
    }
  });
});
