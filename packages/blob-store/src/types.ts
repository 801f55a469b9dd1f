/** The public shapes of the blob store: metadata records, options, the store and its writers. */
import type { Readable } from 'node:stream';
import type { Digest } from '@regcache/registry-protocol';

/** What the index knows about one committed blob. Times are ms since the epoch. */
export interface BlobMeta {
  digest: Digest;
  size: number;
  mediaType?: string;
  createdAt: number;
  lastAccess: number;
  hits: number;
}

/** A cached tag: which manifest it pointed to upstream, and when that was learned. */
export interface TagRecord {
  digest: Digest;
  mediaType: string;
  size: number;
  fetchedAt: number;
}

/** A pino-compatible logger subset; the store never creates its own. */
export interface StoreLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface BlobStoreOptions {
  /** Directory holding blobs/, tmp/ and index/ (created if missing). */
  root: string;
  logger?: StoreLogger;
  /** How often batched access times, hits and counters are written (default 5000 ms). */
  accessFlushIntervalMs?: number;
  /** Run crash recovery at start (default true). */
  recover?: boolean;
}

/** An inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface WriteOptions {
  expectedSize?: number;
  mediaType?: string;
}

export interface CheckOptions {
  /** Fix what is found: drop dangling entries, index or delete stray files, remove corrupt blobs and temp files. */
  repair?: boolean;
  /** Re-hash indexed files (slow: reads every byte). */
  rehash?: boolean;
  /** With rehash: only re-hash this many indexed blobs, chosen at random. */
  sample?: number;
  /** With rehash: called after each blob is re-hashed (bytes = that blob's size on disk so far). */
  onProgress?: (progress: { done: number; total: number; bytes: number }) => void;
}

export interface ConsistencyReport {
  /** Index entries and unindexed files examined. */
  checked: number;
  /** Index entries whose file is missing. */
  missingFiles: Digest[];
  /** Files under blobs/ with no index entry (or not a valid blob location). */
  unindexedFiles: string[];
  /** Indexed blobs whose content (rehash) or size does not match. */
  corrupt: Digest[];
  /** Blobs re-hashed (all indexed files with a file, or the sample), and their bytes. */
  rehashed: number;
  rehashedBytes: number;
  /** Files in tmp/ not belonging to a write in progress. */
  tempFiles: number;
  repaired: boolean;
}

export interface TagEntry {
  upstream: string;
  repo: string;
  tag: string;
  record: TagRecord;
}

/** A repository link: `digest` is served to `upstream/repo`. */
export interface LinkEntry {
  upstream: string;
  repo: string;
  digest: Digest;
}

export interface BlobWriter {
  readonly digest: Digest;
  /** The growing temp file; other readers may open it and read up to `written` bytes. */
  readonly tempPath: string;
  /** Bytes already in the temp file (readable by others). */
  readonly written: number;
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Waits for the writes and checks size and digest (a mismatch fails the write and removes
   * the temp file). After it, the bytes in the temp file are the blob — not yet durable nor
   * indexed; commit() makes them both. Optional: commit() verifies too.
   */
  verify(): Promise<void>;
  commit(): Promise<BlobMeta>;
  abort(): Promise<void>;
  /**
   * Hands the temp file to an appender that hashes what it writes itself (the fill's native
   * receive loop): only before the first write(), and only once; undefined otherwise. From then
   * on write() is refused, and verify() checks the size and the digest the appender reports.
   */
  external(): ExternalAppend | undefined;
}

/** See BlobWriter.external(). */
export interface ExternalAppend {
  /** The temp file's descriptor: the appender writes the blob's bytes from offset 0, in order. */
  readonly fd: number;
  /** This many bytes are now in the file (they become readable to others). */
  advance(written: number): void;
  /** Every byte is in; `hex` is the digest (of the writer's algorithm) of exactly those bytes. */
  end(hex: string): void;
}

/**
 * A committed blob held open: its descriptor stays readable (and names the same bytes) even if
 * the blob is deleted or replaced meanwhile, until close().
 */
export interface OpenBlob {
  readonly fd: number;
  /** Bytes in the file when it was opened. */
  readonly size: number;
  close(): Promise<void>;
}

export interface BlobStore {
  readonly root: string;
  path(digest: Digest): string;
  stat(digest: Digest): Promise<BlobMeta | undefined>;
  createReadStream(digest: Digest, range?: ByteRange): NodeJS.ReadableStream & Readable;
  /** The whole blob (small ones: manifests), checked against its digest: DigestMismatchError for a file changed outside regcache. */
  readBytes(digest: Digest): Promise<Buffer>;
  /** The committed blob opened for reading by descriptor (sendfile); close it when done. */
  openBlob(digest: Digest): Promise<OpenBlob>;
  beginWrite(digest: Digest, opts?: WriteOptions): Promise<BlobWriter>;
  putBytes(digest: Digest, bytes: Uint8Array, opts?: { mediaType?: string }): Promise<BlobMeta>;
  link(upstream: string, repo: string, digest: Digest): Promise<void>;
  isLinked(upstream: string, repo: string, digest: Digest): Promise<boolean>;
  /** Drops one repository's link, the blob and other links staying (rm: links to blobs not stored). */
  unlink(upstream: string, repo: string, digest: Digest): Promise<void>;
  putTag(upstream: string, repo: string, tag: string, rec: TagRecord): Promise<void>;
  getTag(upstream: string, repo: string, tag: string): Promise<TagRecord | undefined>;
  deleteTag(upstream: string, repo: string, tag: string): Promise<void>;
  touch(digest: Digest): void;
  delete(digest: Digest): Promise<boolean>;
  blobs(): AsyncIterable<BlobMeta>;
  tags(): AsyncIterable<TagEntry>;
  /** Every repository link, in key order (upstream, repository, digest). */
  links(): AsyncIterable<LinkEntry>;
  check(opts?: CheckOptions): Promise<ConsistencyReport>;
  counters(): Promise<Record<string, number>>;
  addCounters(deltas: Record<string, number>): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}
