/**
 * A fault-injecting HTTP proxy in front of a real registry: requests are forwarded as they
 * are, and responses to matching requests are damaged on the way back the way real networks
 * and registries damage them — cut short with a correct Content-Length, one byte flipped,
 * stalled, reset mid-stream, trickled, never answered, replaced by an error status, given wrong headers or a
 * wrong body, compressed whatever the request's Accept-Encoding (as some CDNs do), or redirected (to itself in a loop, or to another host). A fault can be limited
 * to the next N matching requests (a burst). It records every request with its headers, so a
 * test can assert how often regcache asked and what it sent.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { damage, encodeBody, type BodyFault, type CutKind } from './fault-damage.js';
import { httpListener } from './http-listener.js';
import { sendOn } from './relay.js';

export type Fault =
  | { kind: 'none' }
  | BodyFault
  /** Never answer (until the proxy stops): an upstream that times out before its headers. */
  | { kind: 'hang' }
  /** Answer this status instead of forwarding (e.g. 503, or 429 with `retry-after`). */
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  /** Forward, then override these response headers (e.g. a wrong `docker-content-digest`). */
  | { kind: 'headers'; headers: Record<string, string> }
  /**
   * Forward status and headers, replace the body; Docker-Content-Digest is recomputed to match
   * it, then `headers` override (e.g. a Content-Type, or a digest that is not the body's).
   */
  | { kind: 'body'; body: string | Buffer; headers?: Record<string, string> }
  /**
   * Forward, then send the body (or `body` instead, its Docker-Content-Digest recomputed) encoded
   * with `encoding` and labelled so — gzip, deflate (zlib) or br; any other name labels the
   * bytes unchanged — however the request asked (Accept-Encoding).
   */
  | { kind: 'encode'; encoding: string; body?: string | Buffer }
  /** Answer a redirect to `location` (a URL, or made from the request path) instead of forwarding. */
  | { kind: 'redirect'; location: string | ((path: string) => string); status?: number };

export interface FaultOptions {
  /** Requests whose path (and query) matches; default every blob GET. */
  match?: RegExp;
  /** Methods damaged (default GET only). */
  methods?: readonly string[];
  /** Damage only the next `times` matching requests, then forward unharmed. */
  times?: number;
  /** Forward the first `skip` matching requests unharmed, then damage (a retry, a second fetch). */
  skip?: number;
}

export interface ProxiedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** The fault applied to it ('none' when forwarded unharmed). */
  fault: Fault['kind'];
  /** Which client connection it came on: 1 for the proxy's first accepted connection, and so on. */
  connection: number;
}

export interface FaultProxy {
  readonly url: string;
  readonly host: string;
  /** Damage responses to matching requests (a RegExp is `{ match }`). */
  setFault(fault: Fault, options?: RegExp | FaultOptions): void;
  /** Requests seen, as `METHOD path`. */
  seen(): string[];
  /** Requests seen, with their headers and the fault applied. */
  requests(): ProxiedRequest[];
  stop(): Promise<void>;
}

const BLOB_GET = /\/blobs\/sha\d+:/;
const NONE: Fault = { kind: 'none' };

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  let fault: Fault = NONE;
  let options: Required<FaultOptions> = { match: BLOB_GET, methods: ['GET'], times: Infinity, skip: 0 };
  const log: ProxiedRequest[] = [];
  const connectionIds = new WeakMap<object, number>();
  let connections = 0;

  function faultFor(req: IncomingMessage): Fault {
    if (fault.kind === 'none' || options.times <= 0) return NONE;
    if (!options.methods.includes(req.method ?? '') || !options.match.test(req.url ?? '')) return NONE;
    if (options.skip > 0) {
      options.skip -= 1;
      return NONE;
    }
    options.times -= 1;
    return fault;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const active = faultFor(req);
    let connection = connectionIds.get(req.socket);
    if (connection === undefined) connectionIds.set(req.socket, (connection = ++connections));
    log.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, fault: active.kind, connection });
    if (active.kind === 'hang') return void req.resume();
    if (active.kind === 'status' || active.kind === 'redirect') return answer(req, res, active);
    const upstreamRes = await sendOn(req, { host: upstream.hostname, port: upstream.port, path: req.url, headers: { ...req.headers, host: upstream.host } });
    if (active.kind === 'none' || upstreamRes.statusCode !== 200) {
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      await pipeline(upstreamRes, res).catch(() => undefined);
      return;
    }
    if (active.kind === 'headers' || active.kind === 'body' || active.kind === 'encode') return rewrite(upstreamRes, res, active);
    res.writeHead(200, upstreamRes.headers);
    const length = Number(upstreamRes.headers['content-length'] ?? 0);
    const cut = (how: CutKind) => {
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
    setFault(next, opts = {}) {
      const given = opts instanceof RegExp ? { match: opts } : opts;
      fault = next;
      options = { match: given.match ?? BLOB_GET, methods: given.methods ?? ['GET'], times: given.times ?? Infinity, skip: given.skip ?? 0 };
    },
    seen: () => log.map((r) => `${r.method} ${r.url}`),
    requests: () => [...log],
    stop: () => listener.stop(),
  };
}

/** A status or redirect of the proxy's own; the request is never forwarded. */
function answer(req: IncomingMessage, res: ServerResponse, fault: Extract<Fault, { kind: 'status' | 'redirect' }>): void {
  req.resume();
  if (fault.kind === 'redirect') {
    const location = typeof fault.location === 'string' ? fault.location : fault.location(req.url ?? '/');
    res.writeHead(fault.status ?? 307, { location, 'content-length': '0' });
    res.end();
    return;
  }
  res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
  res.end(fault.body ?? JSON.stringify({ errors: [{ code: fault.status === 429 ? 'TOOMANYREQUESTS' : 'UNKNOWN', message: 'injected fault' }] }));
}

/** The upstream's answer with headers overridden, or its body replaced or encoded. */
async function rewrite(upstreamRes: IncomingMessage, res: ServerResponse, fault: Extract<Fault, { kind: 'headers' | 'body' | 'encode' }>): Promise<void> {
  if (fault.kind === 'headers') {
    res.writeHead(200, { ...upstreamRes.headers, ...fault.headers });
    await pipeline(upstreamRes, res).catch(() => undefined);
    return;
  }
  const replaced = fault.body === undefined ? undefined : Buffer.from(fault.body);
  const chunks: Buffer[] = [];
  if (replaced === undefined) for await (const chunk of upstreamRes) chunks.push(chunk as Buffer);
  else upstreamRes.resume();
  const decoded = replaced ?? Buffer.concat(chunks);
  const body = fault.kind === 'encode' ? encodeBody(fault.encoding, decoded) : decoded;
  const { 'transfer-encoding': _chunked, ...headers } = upstreamRes.headers;
  if (replaced !== undefined) headers['docker-content-digest'] = `sha256:${createHash('sha256').update(replaced).digest('hex')}`;
  const extra = fault.kind === 'encode' ? { 'content-encoding': fault.encoding } : fault.headers;
  res.writeHead(200, { ...headers, 'content-length': String(body.length), ...extra });
  res.end(body);
}
