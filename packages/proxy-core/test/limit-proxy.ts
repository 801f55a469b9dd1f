/**
 * Fault injection in front of a real registry for the offline tests: every request (HEAD
 * included — the testkit fault proxy only damages GETs) is either forwarded as it is, with
 * Docker Hub's `ratelimit-*` headers added to the answer, or refused with a status such as
 * 429 + Retry-After or 503, or left hanging. It records what reached it, so a test can show regcache did not
 * ask while it was told to wait.
 */
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { listen } from './images.js';

export type LimitMode =
  | { kind: 'forward' }
  | { kind: 'refuse'; status: number; headers?: Record<string, string> }
  /** Never answer (until the proxy stops): an upstream that times out. */
  | { kind: 'hang' };

export interface LimitProxy {
  readonly url: string;
  set(mode: LimitMode): void;
  /** `METHOD path?query` of every request that reached the proxy. */
  seen(): string[];
  stop(): Promise<void>;
}

export async function startLimitProxy(target: string, rateLimitHeaders: Record<string, string>): Promise<LimitProxy> {
  const upstream = new URL(target);
  let mode: LimitMode = { kind: 'forward' };
  const seen: string[] = [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    seen.push(`${req.method} ${req.url}`);
    if (mode.kind === 'hang') return;
    if (mode.kind === 'refuse') {
      req.resume();
      res.writeHead(mode.status, { 'content-type': 'application/json', ...mode.headers });
      res.end(JSON.stringify({ errors: [{ code: mode.status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', message: 'injected' }] }));
      return;
    }
    const answer = await forward(req, upstream);
    res.writeHead(answer.statusCode ?? 502, { ...answer.headers, ...rateLimitHeaders });
    await pipeline(answer, res);
  }

  const listener = await listen((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  return {
    url: listener.url,
    set(next) {
      mode = next;
    },
    seen: () => [...seen],
    stop: () => listener.close(),
  };
}

function forward(req: IncomingMessage, upstream: URL): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } }, resolve);
    out.on('error', reject);
    pipeline(req, out).catch(reject);
  });
}
