/**
 * LevelDB key layout (keys and values are utf8 strings):
 *
 *   b:<digest>                          → JSON BlobMeta           one per committed blob
 *   l:<upstream>\0<repo>\0<digest>      → ''                      link: digest is served to upstream/repo
 *   r:<digest>\0<upstream>\0<repo>      → ''                      the same link reversed, so deleting a
 *                                                                 blob drops its links without a full scan
 *   t:<upstream>\0<repo>\0<tag>         → JSON TagRecord          cached tag
 *   c:<name>                            → decimal number          stats counter
 *
 * `\0` separates components: repository names, tags and upstream names never contain it
 * (they are validated by registry-protocol before they get here, and checked again below).
 * Each prefix is a contiguous key range, iterated with `gte: 'x:'`, `lt: 'x;'`.
 */
import { parseDigest, type Digest } from '@regcache/registry-protocol';
import type { BlobMeta, TagRecord } from './types.js';

const SEP = '\x00';

export interface KeyRange {
  gte: string;
  lt: string;
}

function component(value: string, what: string): string {
  if (value.length === 0 || value.includes(SEP)) throw new TypeError(`invalid ${what} for the blob index: ${JSON.stringify(value)}`);
  return value;
}

/** All keys starting with `prefix`. */
export function prefixRange(prefix: string): KeyRange {
  const last = prefix.charCodeAt(prefix.length - 1);
  return { gte: prefix, lt: prefix.slice(0, -1) + String.fromCharCode(last + 1) };
}

export const BLOB_RANGE = prefixRange('b:');
export const TAG_RANGE = prefixRange('t:');
export const LINK_RANGE = prefixRange('l:');
export const COUNTER_RANGE = prefixRange('c:');

export function blobKey(digest: Digest): string {
  return `b:${digest}`;
}

export function linkKey(upstream: string, repo: string, digest: Digest): string {
  return `l:${component(upstream, 'upstream')}${SEP}${component(repo, 'repository')}${SEP}${digest}`;
}

export function reverseLinkKey(digest: Digest, upstream: string, repo: string): string {
  return `r:${digest}${SEP}${component(upstream, 'upstream')}${SEP}${component(repo, 'repository')}`;
}

/** Every reverse link of one digest. */
export function reverseLinkRange(digest: Digest): KeyRange {
  return prefixRange(`r:${digest}${SEP}`);
}

export function tagKey(upstream: string, repo: string, tag: string): string {
  return `t:${component(upstream, 'upstream')}${SEP}${component(repo, 'repository')}${SEP}${component(tag, 'tag')}`;
}

export function counterKey(name: string): string {
  return `c:${component(name, 'counter name')}`;
}

/** The forward link key matching a reverse link key (both are written and deleted together). */
export function linkKeyFromReverse(reverse: string): string | undefined {
  const parts = reverse.slice(2).split(SEP);
  if (parts.length !== 3) return undefined;
  const [digest, upstream, repo] = parts as [string, string, string];
  return `l:${upstream}${SEP}${repo}${SEP}${digest}`;
}

/** Splits `l:<upstream>\0<repo>\0<digest>`. */
export function parseLinkKey(key: string): { upstream: string; repo: string; digest: Digest } | undefined {
  const parts = key.slice(2).split(SEP);
  const digest = parts.length === 3 ? parseDigest(parts[2] as string) : undefined;
  if (digest === undefined || !digest.ok) return undefined;
  return { upstream: parts[0] as string, repo: parts[1] as string, digest: digest.value };
}

/** Splits `t:<upstream>\0<repo>\0<tag>`. */
export function parseTagKey(key: string): { upstream: string; repo: string; tag: string } | undefined {
  const parts = key.slice(2).split(SEP);
  if (parts.length !== 3) return undefined;
  const [upstream, repo, tag] = parts as [string, string, string];
  return { upstream, repo, tag };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function parseJsonObject(value: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Decodes a `b:` value; undefined when it is not a well-formed BlobMeta. */
export function decodeMeta(value: string): BlobMeta | undefined {
  const o = parseJsonObject(value);
  const digest = typeof o?.['digest'] === 'string' ? parseDigest(o['digest']) : undefined;
  if (o === undefined || digest === undefined || !digest.ok) return undefined;
  const { size, createdAt, lastAccess, hits, mediaType } = o;
  if (!isCount(size) || !isCount(createdAt) || !isCount(lastAccess) || !isCount(hits)) return undefined;
  const meta: BlobMeta = { digest: digest.value, size, createdAt, lastAccess, hits };
  if (typeof mediaType === 'string') meta.mediaType = mediaType;
  return meta;
}

/** Decodes a `t:` value; undefined when it is not a well-formed TagRecord. */
export function decodeTag(value: string): TagRecord | undefined {
  const o = parseJsonObject(value);
  const digest = typeof o?.['digest'] === 'string' ? parseDigest(o['digest']) : undefined;
  if (o === undefined || digest === undefined || !digest.ok) return undefined;
  const { mediaType, size, fetchedAt } = o;
  if (typeof mediaType !== 'string' || !isCount(size) || !isCount(fetchedAt)) return undefined;
  return { digest: digest.value, mediaType, size, fetchedAt };
}

/** Decodes a `c:` value (a missing or garbled counter counts as 0). */
export function decodeCounter(value: string | undefined): number {
  const n = value === undefined ? 0 : Number(value);
  return Number.isFinite(n) ? n : 0;
}
