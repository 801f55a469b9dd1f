/**
 * gc weighs images, not loose blobs: each stored manifest is a unit with everything it
 * references (an index → its platform manifests → their configs and layers), and a blob no
 * manifest references is a unit of its own. A use of a manifest is a use of all it references
 * — a node that holds the layers re-checks only the manifest, and its layers must not age out
 * under it — so units are ordered by when the image was last used, not by each blob's own
 * last access. `holders` counts the units a blob belongs to: gc removes a blob only when it
 * has taken every unit holding it, so a layer shared by a kept image stays (gc-plan.ts).
 */
import type { Digest } from '@regcache/registry-protocol';
import type { BlobMeta } from '@regcache/blob-store';
import type { References } from './gc-refs.js';
import { isManifest } from './manifest-closure.js';

export interface ImageUnit {
  root: Digest;
  /** The root and everything stored that it references, transitively. */
  members: Digest[];
  /** When the image was last used: the root's use, its referrers' and its own blobs'. */
  lastUsed: number;
  /** The root is referenced by another manifest (a platform manifest of an index). */
  nested: boolean;
  createdAt: number;
}

export interface Images {
  /** Least recently used first; a referencing manifest before those it references on a tie. */
  units: ImageUnit[];
  /** digest → how many units hold it. */
  holders: Map<Digest, number>;
}

function closureOf(root: Digest, refs: References): Digest[] {
  const seen = new Set<Digest>([root]);
  const queue: Digest[] = [root];
  for (let d = queue.shift(); d !== undefined; d = queue.shift()) {
    for (const child of refs.get(d) ?? []) if (!seen.has(child)) (seen.add(child), queue.push(child));
  }
  return [...seen];
}

/** digest → the latest use of it or of any manifest referencing it (directly or not). */
function effectiveUse(metas: ReadonlyMap<Digest, BlobMeta>, refs: References): Map<Digest, number> {
  const parents = new Map<Digest, Digest[]>();
  for (const [parent, children] of refs) for (const child of children) parents.set(child, [...(parents.get(child) ?? []), parent]);
  const memo = new Map<Digest, number>();
  const visit = (d: Digest, path: Set<Digest>): number => {
    const known = memo.get(d);
    if (known !== undefined) return known;
    let use = metas.get(d)?.lastAccess ?? 0;
    // Digests cannot form a cycle; the path guard only keeps a malformed store from looping.
    for (const p of parents.get(d) ?? []) if (!path.has(p)) use = Math.max(use, visit(p, new Set([...path, p])));
    memo.set(d, use);
    return use;
  };
  for (const d of metas.keys()) visit(d, new Set([d]));
  return memo;
}

function compareUnits(a: ImageUnit, b: ImageUnit): number {
  return a.lastUsed - b.lastUsed || Number(a.nested) - Number(b.nested) || a.createdAt - b.createdAt || (a.root < b.root ? -1 : a.root > b.root ? 1 : 0);
}

export function groupImages(metas: readonly BlobMeta[], refs: References): Images {
  const byDigest = new Map(metas.map((m) => [m.digest, m] as const));
  const referenced = new Set([...refs.values()].flat());
  const roots = metas.filter((m) => isManifest(m) || !referenced.has(m.digest));
  const closures = roots.map((m) => ({ meta: m, members: closureOf(m.digest, refs) }));
  const holders = new Map<Digest, number>();
  for (const { members } of closures) for (const d of members) holders.set(d, (holders.get(d) ?? 0) + 1);
  const use = effectiveUse(byDigest, refs);
  const units = closures.map(({ meta, members }): ImageUnit => {
    // A blob only this image holds was used as part of it: its own access counts for the image.
    const own = members.filter((d) => d === meta.digest || holders.get(d) === 1).map((d) => use.get(d) ?? 0);
    return { root: meta.digest, members, lastUsed: Math.max(...own), nested: referenced.has(meta.digest), createdAt: meta.createdAt };
  });
  return { units: units.sort(compareUnits), holders };
}
