/**
 * `regcache-admin upstreams`: can each upstream be reached the way fills reach it — its CA, its
 * proxy, its credentials? One `GET /v2/` to each, all at once, through the upstream's own
 * client, which answers the upstream's challenge with the configured credentials. A 200 means
 * it can be used as configured. Credentials it refuses fail the row, saying so — the check an
 * operator runs after setting a password. Without credentials configured, a 401 (from the
 * registry or its token realm) still passes, with a note: the upstream speaks the registry API
 * and may serve public repositories anonymously. Any other status, or a connection that fails
 * (DNS, refused, a certificate, a proxy's 407, a timeout), is reported with its cause — the
 * check an operator runs after setting `ca` or `proxy`, before the first pull needs it. Each
 * upstream's mirrors are checked the same way, through their own clients, on rows of their own.
 */
import type { UpstreamConfig } from './config.js';
import type { Upstream } from './context.js';
import { describeError, UpstreamRefusedError } from './errors.js';
import type { UpstreamClient } from './upstream/client.js';

export interface UpstreamCheck {
  name: string;
  /** For a mirror: the upstream it mirrors. */
  mirrorOf?: string;
  url: string;
  /** `direct`, or the proxy's host:port (never its credentials). */
  via: string;
  /** A CA of its own (`ca` / `caFile`) is trusted for it. */
  ownCa: boolean;
  ok: boolean;
  /** The answer's status, when there was one. */
  status?: number;
  ms: number;
  /** Why it failed, with the causes. */
  detail?: string;
}

/** A check waits no longer than this, whatever the upstream's own timeouts. */
export const CHECK_TIMEOUT_MS = 10_000;

type About = Pick<UpstreamCheck, 'name' | 'url' | 'via' | 'ownCa' | 'mirrorOf'>;

/** What a row says of the client it checks, from the config the client was built from. */
function about(config: UpstreamConfig, mirrorOf?: string): About {
  const via = config.proxy === undefined ? 'direct' : new URL(config.proxy.reveal()).host;
  return { name: config.name, url: config.url, via, ownCa: config.ca !== undefined, ...(mirrorOf === undefined ? {} : { mirrorOf }) };
}

export function checkUpstreams(upstreams: readonly Upstream[], timeoutMs = CHECK_TIMEOUT_MS): Promise<UpstreamCheck[]> {
  return Promise.all(
    upstreams.flatMap((upstream) => [
      checkOne(about(upstream.config), upstream.config, upstream.client, timeoutMs),
      ...upstream.mirrors.map((mirror) => checkOne(about(mirror.config, upstream.config.name), mirror.config, mirror.client, timeoutMs)),
    ]),
  );
}

const ANONYMOUS = 'it asks for credentials and none are configured: only what it serves anonymously can be pulled';

async function checkOne(about: About, config: UpstreamConfig, client: UpstreamClient, timeoutMs: number): Promise<UpstreamCheck> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  const anonymous = config.username === undefined && config.token === undefined;
  try {
    const res = await client.request({ method: 'GET', path: '/v2/', signal: AbortSignal.timeout(timeoutMs) });
    await res.body.dump();
    const row = { ...about, status: res.status, ms: elapsed() };
    if (res.status === 200) return { ...row, ok: true };
    if (res.status === 401 && anonymous) return { ...row, ok: true, detail: ANONYMOUS };
    if (res.status === 401) return { ...row, ok: false, detail: 'it refused the configured credentials' };
    return { ...row, ok: false, detail: `the registry API at /v2/ answered ${res.status}` };
  } catch (error) {
    // Without credentials, a token realm refusing an anonymous token says the same as a 401.
    if (error instanceof UpstreamRefusedError && anonymous) return { ...about, ok: true, status: error.status, ms: elapsed(), detail: ANONYMOUS };
    // The check's own deadline: the client passes an abort on as it is (DOMException TimeoutError).
    const detail = (error as { name?: unknown }).name === 'TimeoutError' ? `upstream ${config.name} unavailable (timeout): no answer within ${timeoutMs / 1000}s` : describeError(error);
    return { ...about, ok: false, ...(error instanceof UpstreamRefusedError ? { status: error.status } : {}), ms: elapsed(), detail };
  }
}
