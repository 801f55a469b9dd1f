/**
 * A target is one way of serving the upstream's content to clients: the upstream itself
 * (direct), distribution's proxy mode, nginx proxy_cache, or regcache. Every cache starts with an
 * empty data directory, which is removed when it stops.
 */
import type { RunningRegistry } from '@regcache/testkit';
import type { BenchBlob } from '../content.js';
import type { TargetId } from '../options.js';
import type { Tools } from '../prerequisites.js';

export interface Target {
  readonly id: TargetId;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `127.0.0.1:PORT` */
  readonly host: string;
  /** The processes whose peak RSS is the server's. */
  pids(): Promise<number[]>;
  /**
   * Caches: the file that exists once the blob's fill is committed (fully stored). The cold-fill
   * row waits for it before counting upstream fetches, so a cache still storing in the
   * background (distribution) is counted whole and the warm rows find it really warm.
   */
  committedBlobPath?(blob: BenchBlob): string;
  /** The last lines the server printed (for error messages). */
  tail(): string[];
  stop(): Promise<void>;
}

export interface TargetContext {
  upstream: RunningRegistry;
  tools: Tools;
  serverMain: string;
  /** Extra node flags for the regcache process (profiling). */
  nodeArgs?: string[];
  /** regcache: use (and keep) this data directory instead of a fresh one (profiling a warm cache). */
  dataDir?: string;
}

export type TargetFactory = (ctx: TargetContext) => Promise<Target>;

export const TARGET_LABELS: Record<TargetId, string> = {
  direct: 'direct from upstream',
  distribution: 'distribution proxy',
  nginx: 'nginx proxy_cache',
  regcache: 'regcache',
};
