/**
 * The messages between the main thread and its front threads (front-threads.ts, front-worker.ts).
 *
 *   main ──keep (an answer the hot table kept, with the generation it was kept at)──▶ front
 *   main ──adopt (a connection placed with this front, balance.ts: a dup of its fd)──▶ front
 *   main ──stop─────────────────────────────────────────────────────────────────────▶ front
 *   front ──ready (listening)──────────────────────────────────────────────────────▶ main
 *   front ──credit (what it replayed since the last one; request records at info)──▶ main
 *   front ──handoff (a connection whose request it cannot replay: a dup of its fd and the
 *                    bytes it read from that request on, for the main thread's server)──▶ main
 *   front ──give (a connection it accepted and placed with another thread, balance.ts:
 *                 a dup of its fd, nothing read yet; main serves it or relays it as adopt)──▶ main
 */
import type { HotAnswer, HotKey, ReplayCredit, ReplayRecord } from '@regcache/proxy-core/front';
import type { ConnectionOptions } from '../connection-limits.js';

export interface FrontData {
  /** A dup of the listening socket, the front's own to close. */
  readonly listenFd: number;
  readonly byHost: boolean;
  /** The hot table's generation counter (shared memory). */
  readonly generation: Int32Array;
  readonly logsRequests: boolean;
  /** The connections each thread serves (balance.ts), shared; this front's index in it. */
  readonly loads: Int32Array;
  readonly index: number;
  /** The main listener's connection limits (connection-limits.ts), so a slow client is cut the same in every thread. */
  readonly connections: ConnectionOptions;
}

/** A hot answer as it crosses threads (a Buffer arrives as a Uint8Array). */
export type WireAnswer = Omit<HotAnswer, 'counts' | 'body'> & { readonly body: Uint8Array };

export type ToFront =
  | { readonly kind: 'keep'; readonly key: HotKey; readonly answer: WireAnswer; readonly generation: number }
  | { readonly kind: 'adopt'; readonly fd: number }
  | { readonly kind: 'stop' };

export type FromFront =
  | { readonly kind: 'ready' }
  | { readonly kind: 'credit'; readonly credits: readonly ReplayCredit[]; readonly records: readonly ReplayRecord[] }
  | { readonly kind: 'handoff'; readonly fd: number; readonly unread: Uint8Array }
  | { readonly kind: 'give'; readonly fd: number; readonly to: number };

/** `answer` without its counter cell (which belongs to the thread that counts). */
export function toWire(answer: HotAnswer): WireAnswer {
  const { head, body, digest, upstream, repo, tag, expiresAt } = answer;
  return { head, body, digest, upstream, repo, tag, expiresAt };
}
