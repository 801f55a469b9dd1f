/**
 * Request generators for the HTTP-surface fuzzer: hostile request lines, queries and headers
 * built from a seeded PRNG (so a failure is reproducible from its seed), aimed at the ways a
 * registry cache gets attacked — traversal in every encoding, over-long names and headers,
 * invalid UTF-8, NUL, huge `n=`, bad Range/Accept, `ns=` and path prefixes naming a host that
 * is not a configured upstream, absolute-form targets, and a zoo of methods. `rawExchange`
 * sends one over a raw socket (nothing normalises it on the way) and reads the answer.
 */
import { connect } from 'node:net';
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT', 'PROPFIND', 'get', 'G3T'];
const TRAVERSALS = ['..', '%2e%2e', '%2E%2E', '.%2e', '%252e%252e', '..%2f', '%2e%2e%2f', '..%5c', '%c0%ae%c0%ae', '..\\..', '....//', '%00', '.'];

export interface FuzzTargets {
  /** host:port of a server that must never be contacted. */
  trap: string;
  /** An absolute path outside the data directory whose content must never be served. */
  canaryPath: string;
}

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}

/** Characters an HTTP parser lets through in a request target (RFC 3986 pchar and friends). */
const URL_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@%/";

/**
 * Random printable junk. Mostly from URL_CHARS, so most hostile targets get past node's parser
 * and reach regcache's own parsing; one in five from all of printable ASCII (which the parser
 * usually refuses first).
 */
function junk(rand: () => number, length: number): string {
  const anything = rand() < 0.2;
  let out = '';
  for (let i = 0; i < length; i++) out += anything ? String.fromCharCode(33 + Math.floor(rand() * 94)) : (URL_CHARS[Math.floor(rand() * URL_CHARS.length)] as string);
  return out;
}

function path(rand: () => number, t: FuzzTargets): string {
  const trav = () => Array.from({ length: 1 + Math.floor(rand() * 6) }, () => pick(rand, TRAVERSALS)).join('/');
  const name = () => pick(rand, ['library/alpine', 'a', 'x/y/z', 'a'.repeat(300), `${'b/'.repeat(130)}c`, 'UPPER/case', 'a--b', trav(), junk(rand, 20)]);
  const ref = () => pick(rand, ['latest', DIGEST, 'sha256:zz', `sha512:${'0'.repeat(10)}`, '-bad', 't'.repeat(200), trav(), junk(rand, 12)]);
  const kinds = [
    () => `/v2/${name()}/manifests/${ref()}`,
    () => `/v2/${name()}/blobs/${ref()}`,
    () => `/v2/${name()}/tags/list`,
    () => `/v2/${name()}/blobs/uploads/${junk(rand, 8)}`,
    () => `/v2/${t.trap}/library/alpine/manifests/latest`,
    () => `/v2/${trav()}${t.canaryPath}`,
    () => `/${trav()}${t.canaryPath}`,
    () => `http://${t.trap}/v2/library/alpine/manifests/latest`,
    () => `/v2/_catalog`,
    () => `/v2/${junk(rand, 40)}`,
    () => `/${junk(rand, 30)}`,
    () => `/v2/${'x'.repeat(9000)}/manifests/latest`,
  ];
  return pick(rand, kinds)();
}

function query(rand: () => number, t: FuzzTargets): string {
  const params = [
    `ns=${t.trap}`,
    'ns=evil.example.com',
    `ns=${pick(rand, TRAVERSALS)}`,
    'ns=docker.io',
    `n=${pick(rand, ['-1', '1e309', '99999999999999999999', 'NaN', '0', '100', junk(rand, 5)])}`,
    `last=${pick(rand, ['%ff%fe', 'a'.repeat(300), junk(rand, 10)])}`,
    `digest=${pick(rand, [DIGEST, 'md5:abc', junk(rand, 8)])}`,
  ];
  const count = Math.floor(rand() * 3);
  return count === 0 ? '' : `?${Array.from({ length: count }, () => pick(rand, params)).join('&')}`;
}

function headers(rand: () => number, t: FuzzTargets): string[] {
  const all = [
    `Host: ${pick(rand, ['127.0.0.1', t.trap, 'evil.example.com', '', junk(rand, 10)])}`,
    `Accept: ${pick(rand, ['*/*', 'application/vnd.oci.image.index.v1+json;q=abc', ';;;,,,', 'x'.repeat(5000), junk(rand, 30)])}`,
    `Range: ${pick(rand, ['bytes=0-', 'bytes=-0', 'bytes=99999999999999999999-', 'bytes=5-1', 'bytes=0-1,2-3', 'items=0-1', junk(rand, 10)])}`,
    `Authorization: ${pick(rand, ['Basic', 'Basic !!!', 'Bearer ', `Bearer ${'a'.repeat(3000)}`, junk(rand, 20)])}`,
    `X-Long: ${'y'.repeat(Math.floor(rand() * 12_000))}`,
  ];
  return all.filter(() => rand() < 0.5);
}

/** One raw HTTP/1.1 request, sometimes with invalid UTF-8 or NUL bytes in its request line. */
export function fuzzRequest(rand: () => number, t: FuzzTargets): Buffer {
  const line = `${pick(rand, METHODS)} ${path(rand, t)}${query(rand, t)} HTTP/1.1`;
  const head = [line, ...headers(rand, t)];
  if (!head.some((h) => h.startsWith('Host:'))) head.push('Host: 127.0.0.1');
  const text = `${head.join('\r\n')}\r\nConnection: close\r\n\r\n`;
  const bytes = Buffer.from(text, 'latin1');
  const roll = rand();
  if (roll < 0.05) return Buffer.concat([bytes.subarray(0, 6), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), bytes.subarray(6)]);
  if (roll < 0.08) return Buffer.concat([bytes.subarray(0, 8), Buffer.from([0x00]), bytes.subarray(8)]);
  return bytes;
}

/** Sends `request` on a fresh connection and resolves with the status (0: no answer) and everything received. */
export function rawExchange(port: number, request: Buffer, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => socket.destroy());
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1];
      resolve({ status: status === undefined ? 0 : Number(status), body: text });
    });
    // write, not end: a client that half-closes first gets its connection closed by node:http
    // before an answer that needed the upstream is ready (real clients do not half-close).
    socket.write(request);
  });
}
