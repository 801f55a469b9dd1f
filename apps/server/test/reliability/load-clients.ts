/**
 * The load: `connections` keep-alive connections (a node:http Agent with one socket each —
 * undici closes its connection after every HEAD, which real registry clients do not), each
 * looping over a mix of cached blob GETs, manifest GETs by tag and by digest, and HEADs of
 * both, until the deadline — every body re-hashed against its digest, every status checked.
 * Errors are kept by kind (the first few messages), not thrown, so one bad answer does not
 * stop the load. It also counts the connections it had to open.
 */
import { createHash } from 'node:crypto';
import { Agent, request } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LoadTarget {
  path: string;
  method: 'GET' | 'HEAD';
  /** The digest a GET's body (and every answer's Docker-Content-Digest) must have. */
  digest: string;
  accept?: string;
}

export interface LoadResult {
  requests: number;
  errors: number;
  firstErrors: string[];
  byMethod: Record<string, number>;
  /** Connections opened over the whole run: `connections` when every one was kept alive. */
  connectionsOpened: number;
}

/** One request; resolves with an error message, or undefined when the answer was right. */
function once(agent: Agent, address: string, target: LoadTarget, onSocket: (socket: Socket) => void): Promise<string | undefined> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const headers = target.accept ? { accept: target.accept } : {};
    const req = request({ agent, host, port: Number(port), path: target.path, method: target.method, headers }, (res) => {
      const hash = createHash('sha256');
      res.on('data', (chunk: Buffer) => hash.update(chunk));
      res.on('error', (error) => resolve(`${target.method} ${target.path}: ${error.message}`));
      res.on('end', () => {
        if (res.statusCode !== 200) return resolve(`${target.method} ${target.path}: ${res.statusCode}`);
        if (res.headers['docker-content-digest'] !== target.digest) return resolve(`${target.method} ${target.path}: digest header ${String(res.headers['docker-content-digest'])}`);
        const got = `sha256:${hash.digest('hex')}`;
        resolve(target.method === 'HEAD' || got === target.digest ? undefined : `GET ${target.path}: body hashes to ${got}`);
      });
    });
    req.on('error', (error) => resolve(`${target.method} ${target.path}: ${error.message}`));
    req.once('socket', onSocket);
    req.end();
  });
}

export async function runLoad(address: string, targets: readonly LoadTarget[], opts: { connections: number; seconds: number; pauseMs: number }): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.connections, maxFreeSockets: opts.connections, scheduling: 'fifo' });
  const result: LoadResult = { requests: 0, errors: 0, firstErrors: [], byMethod: {}, connectionsOpened: 0 };
  const seen = new WeakSet<Socket>();
  const onSocket = (socket: Socket): void => {
    if (seen.has(socket)) return;
    seen.add(socket);
    result.connectionsOpened += 1;
  };
  const deadline = Date.now() + opts.seconds * 1000;
  const loop = async (index: number): Promise<void> => {
    for (let i = index; Date.now() < deadline; i += 7) {
      const target = targets[i % targets.length] as LoadTarget;
      const error = await once(agent, address, target, onSocket);
      if (error !== undefined) {
        result.errors += 1;
        if (result.firstErrors.length < 5) result.firstErrors.push(error);
      }
      result.requests += 1;
      result.byMethod[target.method] = (result.byMethod[target.method] ?? 0) + 1;
      if (opts.pauseMs > 0) await sleep(opts.pauseMs);
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.connections }, (_, i) => loop(i)));
  } finally {
    agent.destroy();
  }
  return result;
}
