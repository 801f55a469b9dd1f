/**
 * The upstream faults regcache must survive, as data: what is damaged (a blob, a manifest by
 * tag or by digest), how (the fault proxy's fault, how many requests it hits), what the
 * client must get (an error or a broken body — or the right body anyway), and what the
 * counters must show. upstream-faults.test.ts runs every case against a real registry.
 */
import type { BlobHost, Fault, FaultProxy } from '@regcache/testkit';
import type { Pulled, Subject, SubjectKind } from './subjects.js';

export interface FaultEnv {
  readonly proxy: FaultProxy;
  readonly blobHost: BlobHost;
}

export interface FaultCase {
  readonly name: string;
  readonly subject: SubjectKind;
  fault(env: FaultEnv, subject: Subject): Fault;
  readonly methods?: readonly string[];
  /** The fault hits only this many matching requests (a burst); default all of them. */
  readonly times?: number;
  /** 'fails': every pull during the fault gets an error or a broken body; 'serves': the right body. */
  readonly outcome: 'fails' | 'serves';
  /** Pulls during the fault, started after these pauses (ms) one after another; default two at once. */
  readonly sequence?: readonly number[];
  /** The status every failed pull must get, when the fault is an answer rather than damage. */
  readonly status?: number;
  /** The `status` label of `regcache_upstream_errors_total` that must move. */
  readonly upstreamErrorLabel?: string;
  /** The fill must be counted as failed (fill metric, `fillFailures`, a `fill failed` log line). */
  readonly fillFails?: boolean;
  /** Wait this long before the recovery pull (Retry-After). */
  readonly recoverAfterMs?: number;
  check?(env: FaultEnv, subject: Subject, pulls: readonly Pulled[]): void;
}

const KiB = 1024;
const OTHER_DIGEST = `sha256:${'0'.repeat(64)}`;
const INVALID_MANIFEST = '{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": {"digest": ';

export function faultCases(): FaultCase[] {
  return [
    { name: 'connection reset mid-blob', subject: 'blob', fault: () => ({ kind: 'reset' }), outcome: 'fails', fillFails: true, upstreamErrorLabel: 'unreachable' },
    { name: 'blob truncated with a correct Content-Length', subject: 'blob', fault: () => ({ kind: 'truncate' }), outcome: 'fails', fillFails: true, upstreamErrorLabel: 'unreachable' },
    { name: 'one byte flipped mid-blob', subject: 'blob', fault: () => ({ kind: 'corrupt' }), outcome: 'fails', fillFails: true, upstreamErrorLabel: 'content' },
    { name: 'the last byte flipped', subject: 'blob', fault: (_env, s) => ({ kind: 'corrupt', at: s.size - 1 }), outcome: 'fails', fillFails: true, upstreamErrorLabel: 'content' },
    { name: 'stall mid-blob longer than the timeouts', subject: 'blob', fault: () => ({ kind: 'stall' }), outcome: 'fails', fillFails: true, upstreamErrorLabel: 'timeout' },
    { name: 'no answer before the headers timeout', subject: 'blob', fault: () => ({ kind: 'hang' }), outcome: 'fails', status: 503, upstreamErrorLabel: 'timeout' },
    { name: 'slow trickle at 1 KiB/s', subject: 'blob', fault: () => ({ kind: 'trickle', bytesPerSecond: KiB }), outcome: 'serves', check: streamedWhileTrickling },
    {
      name: 'a burst of 503s',
      subject: 'blob',
      fault: () => ({ kind: 'status', status: 503 }),
      times: 3,
      sequence: [0, 0, 0],
      outcome: 'fails',
      status: 503,
      upstreamErrorLabel: '503',
    },
    {
      name: 'a burst of 429s with Retry-After',
      subject: 'blob',
      fault: () => ({ kind: 'status', status: 429, headers: { 'retry-after': '1' } }),
      times: 2,
      sequence: [0, 0, 1100],
      outcome: 'fails',
      status: 429,
      upstreamErrorLabel: '429',
      recoverAfterMs: 1100,
      check: waitedForRetryAfter,
    },
    { name: 'a blob with a wrong Docker-Content-Digest', subject: 'blob', fault: () => ({ kind: 'headers', headers: { 'docker-content-digest': OTHER_DIGEST } }), outcome: 'serves' },
    {
      name: 'a manifest with a wrong Docker-Content-Digest',
      subject: 'manifest-tag',
      fault: () => ({ kind: 'headers', headers: { 'docker-content-digest': OTHER_DIGEST } }),
      outcome: 'fails',
      status: 503,
    },
    { name: 'a manifest whose JSON is invalid', subject: 'manifest-tag', fault: () => ({ kind: 'body', body: INVALID_MANIFEST }), outcome: 'fails', status: 503 },
    { name: 'a manifest by digest with one byte flipped', subject: 'manifest-digest', fault: () => ({ kind: 'corrupt' }), outcome: 'fails', status: 503 },
    {
      name: 'a redirect loop',
      subject: 'blob',
      fault: (env) => ({ kind: 'redirect', location: (path) => `${env.proxy.url}${path}` }),
      outcome: 'fails',
      status: 503,
      upstreamErrorLabel: 'redirects',
    },
    {
      name: 'a redirect to another host',
      subject: 'blob',
      fault: (env) => ({ kind: 'redirect', location: (path) => env.blobHost.locationFor(path) }),
      outcome: 'serves',
      check: noAuthorizationElsewhere,
    },
  ];
}

/** 1 KiB/s: the client had its first byte long before the last. */
function streamedWhileTrickling(_env: FaultEnv, _subject: Subject, pulls: readonly Pulled[]): void {
  for (const pull of pulls) {
    if (pull.firstByteMs === undefined || pull.endMs - pull.firstByteMs < 1000) throw new Error(`not streamed while trickling: first byte ${pull.firstByteMs} ms, end ${pull.endMs} ms`);
  }
}

/** Three pulls, the upstream asked twice: the pull inside the Retry-After window never reached it. */
function waitedForRetryAfter(env: FaultEnv, subject: Subject, pulls: readonly Pulled[]): void {
  const asked = env.proxy.requests().filter((r) => r.url === subject.path && r.fault === 'status').length;
  if (asked !== 2) throw new Error(`the upstream was asked ${asked} times during a 429 burst, expected 2`);
  for (const pull of pulls) if (pull.headers['retry-after'] === undefined) throw new Error('a 429 without Retry-After');
}

/** The registry got the token; the other host never did, and it served the blob. */
function noAuthorizationElsewhere(env: FaultEnv, subject: Subject): void {
  const atRegistry = env.proxy.requests().filter((r) => r.url === subject.path && r.fault === 'redirect');
  const elsewhere = env.blobHost.requests().filter((r) => r.url.split('?')[0] === subject.path);
  if (atRegistry.length === 0 || atRegistry.some((r) => r.headers.authorization === undefined)) throw new Error('the registry did not see the credentials');
  if (elsewhere.length === 0) throw new Error('the redirect was not followed');
  if (elsewhere.some((r) => r.headers.authorization !== undefined)) throw new Error('Authorization was sent to another host');
}
