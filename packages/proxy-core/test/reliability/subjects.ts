/**
 * What a fault case pulls: a fresh blob or a fresh image pushed to the real registry for each
 * round, so no round can be answered from what an earlier one cached. Each subject knows its
 * URL through regcache, the digest its bytes must have, and the path a fault proxy matches.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hashedGet, MediaTypes, pushBlob, type RunningRegistry } from '@regcache/testkit';
import { looksComplete, type Received } from '../fill-helpers.js';
import { pushTinyImage } from '../images.js';

/** What a pull got: testkit's hashedGet result (status, headers, digest of the bytes, broken). */
export type Pulled = Received;

export type SubjectKind = 'blob' | 'manifest-tag' | 'manifest-digest';

export interface Subject {
  readonly kind: SubjectKind;
  readonly repo: string;
  /** The upstream path a fault matches (`/v2/<repo>/blobs/<digest>`, `/v2/<repo>/manifests/<ref>`). */
  readonly path: string;
  /** The digest the right body hashes to. */
  readonly digest: string;
  readonly tag?: string;
  readonly size: number;
  /** Pull it through regcache (at `base`), hashing the body. */
  pull(base: string): Promise<Pulled>;
}

const MANIFEST_ACCEPT = [MediaTypes.ociManifest, MediaTypes.dockerManifest, MediaTypes.ociIndex, MediaTypes.dockerManifestList].join(', ');

let counter = 0;

export async function makeSubject(upstream: RunningRegistry, kind: SubjectKind, label: string, blobSize: number): Promise<Subject> {
  counter += 1;
  const repo = `faults/${label}-${counter}`;
  if (kind === 'blob') {
    const bytes = randomBytes(blobSize);
    const digest = await pushBlob(upstream, repo, bytes);
    const path = `/v2/${repo}/blobs/${digest}`;
    return { kind, repo, path, digest, size: bytes.length, pull: (base) => pullHashed(`${base}${path}`) };
  }
  const tag = `t${counter}`;
  const image = await pushTinyImage(upstream, repo, tag);
  const path = `/v2/${repo}/manifests/${kind === 'manifest-tag' ? tag : image.digest}`;
  return { kind, repo, path, digest: image.digest, tag, size: 0, pull: (base) => pullHashed(`${base}${path}`, { accept: MANIFEST_ACCEPT }) };
}

/** A body that arrived whole must be the right one; anything else must look broken or be an error. */
export function wrongBody(subject: Subject, r: Received): boolean {
  return looksComplete(r) && r.digest !== subject.digest;
}

export function rightBody(subject: Subject, r: Received): boolean {
  return looksComplete(r) && r.digest === subject.digest;
}

/** Every request regcache sent for the subject's path, as the fault proxy recorded it. */
export function sentFor(subject: Subject, requests: ReadonlyArray<{ url: string }>): number {
  return requests.filter((r) => r.url.split('?')[0] === subject.path).length;
}

/** GET `url`, hashing the body as it comes; a body that breaks off is `broken`, never thrown. */
export function pullHashed(url: string, headers: Record<string, string> = {}): Promise<Pulled> {
  return hashedGet(url, { headers });
}
