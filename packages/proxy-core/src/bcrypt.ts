/**
 * bcrypt verification (`$2a$`, `$2b$`, `$2y$` — what `htpasswd -B` writes), on node:crypto
 * and BigInt alone so client auth needs no native or third-party dependency.
 *
 * bcrypt is Blowfish with an expensive key schedule (EksBlowfish): the state starts from
 * the hex digits of π, is keyed with the salt and password, re-keyed 2^cost times, then
 * encrypts "OrpheanBeholderScryDoubt" 64 times. Only verification is offered: regcache never
 * writes password hashes. The result is compared with `timingSafeEqual`.
 */
import { timingSafeEqual } from 'node:crypto';
import { blowfishInitialState } from './blowfish-pi.js';

const ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const HASH = /^\$(2[aby])\$(\d{2})\$([./A-Za-z0-9]{22})([./A-Za-z0-9]{31})$/;
const MAGIC = Buffer.from('OrpheanBeholderScryDoubt');
const MAX_KEY_BYTES = 72;
const MIN_COST = 4;
/**
 * The highest cost accepted. In JavaScript one check takes about 0.4 s at cost 12 and doubles
 * with each step: 7 s at 16, 14 s at 17 (htpasswd's own maximum) — past what a client waits for
 * a login. Checks never block the server (see password-checks.ts); this keeps them answerable.
 */
export const MAX_BCRYPT_COST = 16;

export interface BcryptHash {
  readonly prefix: string;
  readonly cost: number;
  readonly salt: Buffer;
  readonly encoded: string;
}

/** Parses a bcrypt hash string; undefined when it is not one, a number (its cost) when its cost is out of range. */
export function parseBcryptHash(hash: string): BcryptHash | number | undefined {
  const m = HASH.exec(hash);
  if (!m || m[1] === undefined || m[2] === undefined || m[3] === undefined) return undefined;
  const cost = Number(m[2]);
  if (cost < MIN_COST || cost > MAX_BCRYPT_COST) return cost;
  return { prefix: m[1], cost, salt: decode(m[3], 16), encoded: hash };
}

/** True when the password matches the hash; constant-time in the comparison of the result. */
export function bcryptVerify(password: string, hash: BcryptHash): boolean {
  return matches(runToEnd(hashSteps(password, hash.prefix, hash.cost, hash.salt)), hash);
}

/**
 * The same check in slices of about `ROUNDS_PER_SLICE` key-schedule rounds (1–2 ms each), with
 * `pause()` awaited between them: a check at cost 12 takes about half a second of CPU, and a
 * server doing it in one piece answers nothing else meanwhile, health checks included.
 */
export async function bcryptVerifySliced(password: string, hash: BcryptHash, pause: () => Promise<void>): Promise<boolean> {
  const steps = hashSteps(password, hash.prefix, hash.cost, hash.salt);
  for (let step = steps.next(); ; step = steps.next()) {
    if (step.done === true) return matches(step.value, hash);
    await pause();
  }
}

/** The full `$2y$CC$salthash` string for a password, salt and cost. */
export function bcryptHash(password: string, prefix: string, cost: number, salt: Buffer): string {
  return runToEnd(hashSteps(password, prefix, cost, salt));
}

const ROUNDS_PER_SLICE = 16;

function matches(computed: string, hash: BcryptHash): boolean {
  const actual = Buffer.from(computed);
  const expected = Buffer.from(hash.encoded);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

function runToEnd(steps: Generator<void, string>): string {
  for (let step = steps.next(); ; step = steps.next()) if (step.done === true) return step.value;
}

/** bcrypt itself, yielding every `ROUNDS_PER_SLICE` rounds of the expensive key schedule. */
function* hashSteps(password: string, prefix: string, cost: number, salt: Buffer): Generator<void, string> {
  const key = Buffer.concat([Buffer.from(password, 'utf8'), Buffer.from([0])]).subarray(0, MAX_KEY_BYTES);
  const { p, s } = blowfishInitialState();
  expandKey(p, s, key, salt);
  for (let round = 0; round < 2 ** cost; round++) {
    expandKey(p, s, key);
    expandKey(p, s, salt);
    if (round % ROUNDS_PER_SLICE === ROUNDS_PER_SLICE - 1) yield;
  }
  const text = new Uint32Array(6);
  for (let i = 0; i < 6; i++) text[i] = MAGIC.readUInt32BE(i * 4);
  const block = new Uint32Array(2);
  for (let i = 0; i < 6; i += 2) {
    block[0] = text[i] ?? 0;
    block[1] = text[i + 1] ?? 0;
    for (let n = 0; n < 64; n++) encipher(p, s, block);
    text[i] = block[0] ?? 0;
    text[i + 1] = block[1] ?? 0;
  }
  const out = Buffer.alloc(24);
  for (let i = 0; i < 6; i++) out.writeUInt32BE(text[i] ?? 0, i * 4);
  const cc = String(cost).padStart(2, '0');
  return `$${prefix}$${cc}$${encode(salt, 16)}${encode(out, 23)}`;
}

/** A 32-bit big-endian word read cyclically from `data` (the key or salt stream). */
function streamWord(data: Uint8Array, offset: { at: number }): number {
  let word = 0;
  for (let i = 0; i < 4; i++) {
    word = ((word << 8) | (data[offset.at] ?? 0)) >>> 0;
    offset.at = (offset.at + 1) % data.length;
  }
  return word;
}

/** Blowfish's key schedule; with `salt`, EksBlowfish's salted variant (salt mixed into each block). */
function expandKey(p: Uint32Array, s: Uint32Array, key: Uint8Array, salt?: Uint8Array): void {
  const keyAt = { at: 0 };
  for (let i = 0; i < p.length; i++) p[i] = ((p[i] ?? 0) ^ streamWord(key, keyAt)) >>> 0;
  const saltAt = { at: 0 };
  const block = new Uint32Array(2);
  const fill = (target: Uint32Array): void => {
    for (let i = 0; i < target.length; i += 2) {
      if (salt !== undefined) {
        block[0] = (block[0] ?? 0) ^ streamWord(salt, saltAt);
        block[1] = (block[1] ?? 0) ^ streamWord(salt, saltAt);
      }
      encipher(p, s, block);
      target[i] = block[0] ?? 0;
      target[i + 1] = block[1] ?? 0;
    }
  };
  fill(p);
  fill(s);
}

/** One Blowfish block encryption in place: 16 Feistel rounds over P and the four S-boxes (s holds all four). */
function encipher(p: Uint32Array, s: Uint32Array, block: Uint32Array): void {
  let l = block[0] ?? 0;
  let r = block[1] ?? 0;
  for (let i = 0; i < 16; i += 2) {
    l = (l ^ (p[i] ?? 0)) >>> 0;
    r = (r ^ feistel(s, l)) >>> 0;
    r = (r ^ (p[i + 1] ?? 0)) >>> 0;
    l = (l ^ feistel(s, r)) >>> 0;
  }
  block[0] = (r ^ (p[17] ?? 0)) >>> 0;
  block[1] = (l ^ (p[16] ?? 0)) >>> 0;
}

function feistel(s: Uint32Array, x: number): number {
  const a = s[x >>> 24] ?? 0;
  const b = s[256 + ((x >>> 16) & 0xff)] ?? 0;
  const c = s[512 + ((x >>> 8) & 0xff)] ?? 0;
  const d = s[768 + (x & 0xff)] ?? 0;
  return ((((a + b) >>> 0) ^ c) + d) >>> 0;
}

/** bcrypt's own base64: its alphabet, no padding, `length` bytes. */
function encode(bytes: Uint8Array, length: number): string {
  let out = '';
  for (let i = 0; i < length; i += 3) {
    const b0 = bytes[i] ?? 0;
    // Bytes past `length` count as zero even when the buffer holds more.
    const b1 = i + 1 < length ? (bytes[i + 1] ?? 0) : 0;
    const b2 = i + 2 < length ? (bytes[i + 2] ?? 0) : 0;
    out += ALPHABET[b0 >> 2];
    out += ALPHABET[((b0 & 0x03) << 4) | (b1 >> 4)];
    if (i + 1 >= length) break;
    out += ALPHABET[((b1 & 0x0f) << 2) | (b2 >> 6)];
    if (i + 2 >= length) break;
    out += ALPHABET[b2 & 0x3f];
  }
  return out;
}

function decode(text: string, length: number): Buffer {
  const values = [...text].map((c) => ALPHABET.indexOf(c));
  const out = Buffer.alloc(length);
  let o = 0;
  for (let i = 0; i < values.length && o < length; i += 4) {
    const [c0 = 0, c1 = 0, c2 = 0, c3 = 0] = values.slice(i, i + 4);
    out[o++] = (c0 << 2) | (c1 >> 4);
    if (o < length) out[o++] = ((c1 & 0x0f) << 4) | (c2 >> 2);
    if (o < length) out[o++] = ((c2 & 0x03) << 6) | c3;
  }
  return out;
}
