/**
 * The request heads a front thread answers itself, read straight from the socket's bytes, and
 * the bytes of its answers. node:http costs ≈ 20 µs a request in objects and calls
 * (IncomingMessage, ServerResponse, header objects, writev of head and body apart): on this
 * kind of machine one thread answers 45–50k small requests a second through it, and 83k when
 * it reads the head itself and writes one prepared buffer — what a C epoll server does here.
 *
 * Only the plainest request is read here: `GET` or `HEAD`, an origin-form target, HTTP/1.1
 * (or 1.0), header lines `name: value`, nothing that announces a body or a change of protocol. Anything else is `unusual` and goes, bytes untouched, to node:http in the main
 * thread, which answers it (or refuses it) as it answers every request.
 */
import type { HotAnswer, HotRequest } from '@regcache/proxy-core/front';

/** Heads longer than this are node:http's to judge (431 and friends). */
export const MAX_HEAD_BYTES = 16 * 1024;

export interface RawRequest extends HotRequest {
  readonly method: 'GET' | 'HEAD';
  readonly url: string;
  readonly rawHeaders: string[];
  /** `Connection: close`: answer, then end the connection. */
  readonly close: boolean;
  /** Offset just past the head's empty line. */
  readonly end: number;
}

const CR = 0x0d;
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
/** Headers whose presence hands the request to node:http. */
const UNUSUAL = new Set(['content-length', 'transfer-encoding', 'upgrade', 'expect', 'te', 'trailer']);

export type HeadReader = (buf: Buffer, start: number) => RawRequest | 'incomplete' | 'unusual';

/** The request head at `start`, `incomplete` if its end has not arrived, or `unusual`. */
export function readHead(buf: Buffer, start: number): RawRequest | 'incomplete' | 'unusual' {
  const stop = buf.indexOf(HEAD_END, start);
  if (stop < 0) return buf.length - start > MAX_HEAD_BYTES ? 'unusual' : 'incomplete';
  if (stop - start > MAX_HEAD_BYTES) return 'unusual';
  return readComplete(buf, start, stop);
}

/** Heads remembered per reader (then it starts over), and the longest remembered. */
const MEMO_HEADS = 256;
const MEMO_HEAD_BYTES = 4096;

/**
 * readHead, remembering what it read per head: a client polling a tag sends the same bytes
 * every time (a kubelet, a CI runner, ab), and looking them up costs a string of the head and
 * one map probe where reading them costs ≈ 1.6 µs of splitting and case-folding. With it the
 * bench's HEAD load (ab -k -c32, one regcache) went from 64.6k to 70.5k req/s (medians of
 * eight alternating 5 s runs; 7 of 8 pairs faster). Unique heads (a trace id per request) only
 * cost the lookup. One per thread; what it holds is derived from the bytes alone.
 */
export function createHeadReader(): HeadReader {
  const memo = new Map<string, Omit<RawRequest, 'end'> | 'unusual'>();
  const last = lastHead();
  return (buf, start) => {
    const again = last.match(buf, start);
    if (again !== undefined) return again;
    const stop = buf.indexOf(HEAD_END, start);
    if (stop < 0 || stop - start > MEMO_HEAD_BYTES) return readHead(buf, start);
    const key = buf.toString('latin1', start, stop);
    let known = memo.get(key);
    if (known === undefined) {
      known = readComplete(buf, start, stop);
      if (memo.size >= MEMO_HEADS) memo.clear();
      memo.set(key, known);
    }
    if (known === 'unusual') return known;
    last.keep(buf, start, stop + 4, known);
    return { ...known, end: stop + 4 };
  };
}

/**
 * The last plain head read, byte for byte, and what it read as: under a polling load every
 * connection sends the same head, and comparing the bytes (a memcmp) costs less than the
 * memo's string of the head and its hash (String hashing was 2.3 % of a front thread's time
 * under ab). With this and raw-front's timer set once, a front under `ab -k -c32` spent 3–6 %
 * less CPU per request (twelve runs alternating with the build before; req/s within the noise,
 * as ab's own thread limits it). The kept bytes end at the head's first empty line, so bytes
 * at `start` that equal them are that same whole head.
 */
function lastHead(): {
  match(buf: Buffer, start: number): RawRequest | undefined;
  keep(buf: Buffer, start: number, end: number, read: Omit<RawRequest, 'end'>): void;
} {
  let last: { bytes: Buffer; read: Omit<RawRequest, 'end'> } | undefined;
  return {
    match(buf, start) {
      if (last === undefined || buf.length - start < last.bytes.length) return undefined;
      const end = start + last.bytes.length;
      return buf.compare(last.bytes, 0, last.bytes.length, start, end) === 0 ? { ...last.read, end } : undefined;
    },
    // Called only where `match` failed: these bytes differ from the kept ones. A copy, as `buf`
    // may be a pooled read buffer that is reused.
    keep: (buf, start, end, read) => void (last = { bytes: Buffer.from(buf.subarray(start, end)), read }),
  };
}

/** A head whose empty line is at `stop`. */
function readComplete(buf: Buffer, start: number, stop: number): RawRequest | 'unusual' {
  const lineEnd = buf.indexOf(CR, start);
  // The request line ends in CRLF before the empty line (no header at all: HTTP/1.0 without keep-alive, rare enough for node:http).
  if (lineEnd >= stop || buf[lineEnd + 1] !== 0x0a) return 'unusual';
  const line = buf.toString('latin1', start, lineEnd);
  const method = line.startsWith('GET ') ? 'GET' : line.startsWith('HEAD ') ? 'HEAD' : undefined;
  const version = line.endsWith(' HTTP/1.1') ? 1 : line.endsWith(' HTTP/1.0') ? 0 : -1;
  if (method === undefined || version < 0) return 'unusual';
  const url = line.slice(method.length + 1, line.length - 9);
  if (url.charCodeAt(0) !== 0x2f || !visible(url)) return 'unusual';
  const headers = readHeaders(buf.toString('latin1', lineEnd + 2, stop), version === 0);
  if (headers === undefined) return 'unusual';
  return { method, url, rawHeaders: headers.raw, close: headers.close, end: stop + 4 };
}

/** Printable ASCII only (no space, no control character). */
function visible(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

/**
 * `name, value, …` as node's rawHeaders, and whether to close after the answer (`Connection:
 * close`, or HTTP/1.0 without `Connection: keep-alive` — ab -k, say). Undefined for a head
 * node:http should judge: a line without a name, folded, with whitespace before its colon or a
 * stray CR/LF/NUL, an UNUSUAL header, a Connection other than one close or keep-alive, or an
 * HTTP/1.1 request without Host (node:http answers it 400).
 */
function readHeaders(block: string, http10: boolean): { raw: string[]; close: boolean } | undefined {
  const raw: string[] = [];
  let host = false;
  let connection: string | undefined;
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0 || line.charCodeAt(0) <= 0x20 || line.charCodeAt(colon - 1) <= 0x20) return undefined;
    if (line.includes('\n') || line.includes('\r') || line.includes('\0')) return undefined;
    const name = line.slice(0, colon).toLowerCase();
    if (UNUSUAL.has(name)) return undefined;
    const value = line.slice(colon + 1).trim();
    if (name === 'host') host = true;
    else if (name === 'connection') {
      if (connection !== undefined) return undefined;
      connection = value.toLowerCase();
      if (connection !== 'close' && connection !== 'keep-alive') return undefined;
    }
    raw.push(line.slice(0, colon), value);
  }
  if (!host && !http10) return undefined;
  return { raw, close: connection === undefined ? http10 : connection === 'close' };
}

/** The wire bytes of a replay, as node:http would write them (Date, Connection), prepared once a second per answer. */
export function createReplayBytes(keepAliveTimeoutMs: number): (answer: HotAnswer, req: Pick<RawRequest, 'method' | 'close'>, now: number) => Buffer {
  const endings = [`Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(keepAliveTimeoutMs / 1000)}\r\n\r\n`, 'Connection: close\r\n\r\n'];
  /** Per answer: GET, HEAD, GET + close, HEAD + close — each built on first use within the second. */
  const prepared = new WeakMap<HotAnswer, { second: number; bytes: Array<Buffer | undefined> }>();
  let second = -1;
  let date = '';
  return (answer, req, now) => {
    const s = Math.floor(now / 1000);
    if (s !== second) {
      second = s;
      date = new Date(s * 1000).toUTCString();
    }
    let entry = prepared.get(answer);
    if (entry === undefined || entry.second !== s) {
      entry = { second: s, bytes: [] };
      prepared.set(answer, entry);
    }
    const variant = (req.method === 'HEAD' ? 1 : 0) + (req.close ? 2 : 0);
    let bytes = entry.bytes[variant];
    if (bytes === undefined) {
      let head = 'HTTP/1.1 200 OK\r\n';
      for (const [name, value] of Object.entries(answer.head)) head += `${name}: ${value}\r\n`;
      const headBytes = Buffer.from(`${head}Date: ${date}\r\n${endings[req.close ? 1 : 0] ?? ''}`, 'latin1');
      bytes = req.method === 'HEAD' ? headBytes : Buffer.concat([headBytes, answer.body]);
      entry.bytes[variant] = bytes;
    }
    return bytes;
  };
}
