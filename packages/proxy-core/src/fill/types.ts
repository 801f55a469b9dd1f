/** The shapes shared by the fill engine, a running fill and the clients that follow it. */
import type { Readable } from 'node:stream';
import type { Digest } from '@regcache/registry-protocol';
import type { BlobMeta, BlobStore } from '@regcache/blob-store';
import type { Logger } from '../logger.js';
import type { BodyHandOff } from '../upstream/plain-get.js';

export interface FillSource {
  body: Readable & { dump(): Promise<void> };
  /** Lent chunks (see UpstreamRequest.lend): the fill hands each back once it is on disk. */
  release?: (chunk: Buffer) => void;
  /** The body's socket for the native receive loop, when the body allows it (upstream/plain-get.ts). */
  handOff?: BodyHandOff;
  size: number | undefined;
  mediaType: string;
  /** The configured upstream the body comes from (or through a mirror of): its limits apply, its stats count a failure. */
  upstream: string;
  /** A mirror's host when a mirror sends the body (else `upstream` does): a stalled or lost body fails as the sender's (stall.ts), as the metric names it. */
  sender?: string;
  /** The bytes did not match the digest or size (the fill failed for it): the source is told, once. */
  distrust?: () => void;
}

/**
 * running → committed (verified, in the store) | passed (disk failed, bytes verified in
 * memory and handed through, nothing stored) | failed (upstream or verification error).
 */
export type FillStatus = 'running' | 'committed' | 'passed' | 'failed';

/** One client following a fill: its own read position, and (after a disk failure) its queue. */
export interface FillReader {
  /** Bytes at `position` that only exist in memory (pass-through); undefined when none are queued for this reader. */
  fromMemory(position: number, max: number): Buffer | undefined;
  detach(): void;
}

export interface Fill {
  readonly digest: Digest;
  readonly size: number | undefined;
  readonly mediaType: string;
  readonly tempPath: string;
  readonly finalPath: string;
  /**
   * How far a client may read now: all of a verified blob; before that, all that has
   * arrived except the last byte of a blob of known size, which is only released once the
   * digest is verified — so a wrong blob never reaches a client complete-looking.
   */
  readable(): number;
  /** Bytes readable from the temp file (all of them, unless the disk failed mid-fill). */
  onDisk(): number;
  /** Recently written bytes at `position` straight from memory, if still in the window. */
  fromRecent(position: number, max: number): Buffer | undefined;
  status(): FillStatus;
  complete(): boolean;
  /** All bytes arrived and match the digest (commit may still be running, or have failed after). */
  verified(): boolean;
  error(): unknown;
  /** Resolves once more than `offset` bytes are readable, or the fill has settled. */
  wait(offset: number): Promise<void>;
  /** A client follows this fill; `detach` it when it stops. */
  attach(): FillReader;
  readonly done: Promise<BlobMeta | undefined>;
}

export interface FillOutcome {
  ok: boolean;
  /** The configured upstream of the fill's source (a failure is counted in its stats, whoever sent the body). */
  upstream: string;
  /**
   * Not ok, but by intent rather than a fault: every client left a blob over the detached
   * limit, or the server is shutting down (FillStoppedError). Counted apart from failures.
   */
  stopped: boolean;
  error?: unknown;
  durationMs: number;
  bytes: number;
}

export interface FillEngineOptions {
  store: BlobStore;
  logger: Logger;
  /** Keep filling when every client has gone (default true), up to this many bytes. */
  continueWhenClientsGone: boolean;
  detachedMaxSize: number;
  /**
   * fill.idleTimeout: a fill that receives nothing for this long fails as its upstream's
   * timeout — or sooner, when that upstream's own `timeouts.body` is shorter (stall.ts).
   */
  idleTimeoutMs: number;
  onSettled?: (fill: Fill, outcome: FillOutcome) => void;
  /** Called when the disk fails mid-fill and the fill falls back to pass-through. */
  onDiskError?: (fill: Fill, error: unknown) => void;
  /**
   * Called after every RECLAIM_BYTES that fills (all of them together) have written, when those
   * bytes came within RECLAIM_FAST_MS: the place for the embedder to free the upstream's read
   * buffers, garbage once on disk (apps/server runs a young-generation GC there; see engine.ts).
   * Bytes of a lent body (FillSource.release: a pooled plain-http read) do not count: they
   * leave no buffers behind.
   */
  reclaim?: () => void;
}
