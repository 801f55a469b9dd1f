/**
 * A fault-injecting HTTP proxy in front of a real registry: requests are forwarded as they
 * are, and responses whose path matches are damaged on the way back the way real networks
 * and registries damage them — cut short with a correct Content-Length, one byte flipped,
 * stalled, reset mid-stream, trickled, or replaced by an error status. It counts what it
 * forwarded, so a test can assert how often regcache asked.
 */
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { httpListener } from './http-listener.js';

export type Fault =
  | { kind: 'none' }
  | { kind: 'truncate'; at?: number }
  | { kind: 'corrupt'; at?: number }
  | { kind: 'stall'; at?: number }
  | { kind: 'reset'; at?: number }
  | { kind: 'trickle'; bytesPerSecond: number }
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string };

export interface FaultProxy {
  readonly url: string;
  readonly host: string;
  /** Damage responses to requests whose path matches (default: every blob GET). */
  setFault(fault: Fault, match?: RegExp): void;
  /** Requests seen, as `METHOD path`. */
  seen(): string[];
  stop(): Promise<void>;
}

const BLOB_GET = /\/blobs\/sha\d+:/;

/** Passes bytes until `at`, then applies the damage. */
function damage(fault: Fault, length: number, onCut: (how: 'end' | 'reset' | 'stall') => void): Transform {
  let offset = 0;
  const at = 'at' in fault && fault.at !== undefined ? fault.at : Math.floor(length / 2);
  let cut = false;
  return new Transform({
    transform(chunk: Buffer, _enc, callback: TransformCallback) {
      if (cut) return callback();
      const start = offset;
      offset += chunk.length;
      if (fault.kind === 'corrupt' && at >= start && at < offset) {
        const copy = Buffer.from(chunk);
        copy[at - start] = (copy[at - start] ?? 0) ^ 0xff;
        return callback(null, copy);
      }
      if ((fault.kind === 'truncate' || fault.kind === 'stall' || fault.kind === 'reset') && offset > at) {
        cut = true;
        this.push(chunk.subarray(0, at - start));
        onCut(fault.kind === 'truncate' ? 'end' : fault.kind);
        return callback();
      }
      if (fault.kind === 'trickle') {
        const delay = (chunk.length / fault.bytesPerSecond) * 1000;
        setTimeout(() => callback(null, chunk), delay);
        return;
      }
      callback(null, chunk);
    },
  });
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  let fault: Fault = { kind: 'none' };
  let match = BLOB_GET;
  const seen: string[] = [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    seen.push(`${req.method} ${req.url}`);
    const active = match.test(req.url ?? '') && req.method === 'GET' ? fault : { kind: 'none' as const };
    if (active.kind === 'status') {
      res.writeHead(active.status, { 'content-type': 'application/json', ...active.headers });
      res.end(active.body ?? JSON.stringify({ errors: [{ code: 'UNKNOWN', message: 'injected fault' }] }));
      return;
    }
    const upstreamRes = await forward(req, upstream);
    res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
    if (active.kind === 'none' || upstreamRes.statusCode !== 200) {
      await pipeline(upstreamRes, res).catch(() => undefined);
      return;
    }
    const length = Number(upstreamRes.headers['content-length'] ?? 0);
    const cut = (how: 'end' | 'reset' | 'stall') => {
      // Let the bytes before the cut reach the client, then cut the way the fault says.
      setTimeout(() => {
        if (how === 'end') res.socket?.destroy();
        if (how === 'reset') res.socket?.resetAndDestroy();
        upstreamRes.destroy();
      }, 50);
    };
    await pipeline(upstreamRes, damage(active, length, cut), res).catch(() => undefined);
  }

  const listener = httpListener(handle);
  await listener.start();
  const host = `127.0.0.1:${listener.port}`;
  return {
    url: `http://${host}`,
    host,
    setFault(next, pattern = BLOB_GET) {
      fault = next;
      match = pattern;
    },
    seen: () => [...seen],
    stop: () => listener.stop(),
  };
}

function forward(req: IncomingMessage, upstream: URL): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const out = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      resolve,
    );
    out.on('error', reject);
    pipeline(req, out).catch(reject);
  });
}
