/**
 * The addon's functions (src/sendfile.c, src/receive.c, src/replay.c), loaded once per
 * process, or undefined where it is not built or cannot work (not Linux).
 */
import { createRequire } from 'node:module';
import { constants } from 'node:os';

export type NativeSend = (socketFd: number, fileFd: number, offset: number, length: number, stallMs: number, cancel: Int32Array, callback: (errno: number, sent: number) => void) => void;

export type NativeReceive = (
  socketFd: number,
  fileFd: number,
  prefix: Buffer,
  length: number,
  idleMs: number,
  cancel: Int32Array,
  progress: (written: number) => void,
  callback: (errno: number, side: number, written: number, sha256: string, unwritten: Buffer | undefined) => void,
) => void;

/** An opaque handle to one replay loop (src/replay-js.h). */
export interface NativeLoop {
  readonly __replayLoop: unique symbol;
}

export interface NativeReplay {
  replayStart(
    generation: Int32Array,
    loads: Int32Array,
    index: number,
    headersMs: number,
    keepAliveMs: number,
    recording: boolean,
    onMiss: (fd: number, unread: Buffer, learned: number) => void,
  ): NativeLoop;
  replayAdopt(loop: NativeLoop, fd: number, unread: Buffer | undefined, learned: number): boolean;
  replayLearn(loop: NativeLoop, head: Buffer, response: Buffer, dateAt: number, id: number, bodyBytes: number, close: boolean, generation: number, expiresAt: number): boolean;
  replayTake(loop: NativeLoop): [Float64Array, Int32Array, Float64Array] | undefined;
  replayStop(loop: NativeLoop): void;
}

export interface Native {
  send: NativeSend;
  dup: (fd: number) => number;
  tcpTuning: (fd: number) => [string, number] | undefined;
  receive: NativeReceive;
  replay: NativeReplay;
}

const REPLAY_FUNCTIONS = ['replayStart', 'replayAdopt', 'replayLearn', 'replayTake', 'replayStop'] as const;

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, value]) => [value, name]));

export const errnoName = (errno: number): string => errnoNames.get(errno) ?? `errno ${errno}`;

function fn(addon: unknown, name: string): unknown {
  return typeof addon === 'object' && addon !== null ? Reflect.get(addon, name) : undefined;
}

function load(): Native | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    // The same relative path from src/ (tests, typecheck) and dist/ (built packages).
    const addon: unknown = createRequire(import.meta.url)('../build/Release/regcache_sendfile.node');
    const [send, dup, tcpTuning, receive] = [fn(addon, 'send'), fn(addon, 'dup'), fn(addon, 'tcpTuning'), fn(addon, 'receive')];
    if (typeof send !== 'function' || typeof dup !== 'function' || typeof tcpTuning !== 'function' || typeof receive !== 'function') return undefined;
    if (REPLAY_FUNCTIONS.some((name) => typeof fn(addon, name) !== 'function')) return undefined;
    const replay = addon as NativeReplay;
    return { send: send as NativeSend, dup: dup as Native['dup'], tcpTuning: tcpTuning as Native['tcpTuning'], receive: receive as NativeReceive, replay };
  } catch {
    return undefined;
  }
}

let loaded: { native: Native | undefined } | undefined;

export function loadNative(): Native | undefined {
  loaded ??= { native: load() };
  return loaded.native;
}
