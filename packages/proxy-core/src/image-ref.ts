/**
 * Image references as an operator types them for `regcache-admin warm` and `rm`:
 *   alpine:3.20                     the default upstream, Docker Hub's `library/` added for docker.io
 *   docker.io/library/alpine        tag `latest`
 *   ghcr.io/owner/tool@sha256:…     a configured upstream named by the first component
 * A first component that looks like a host (has a dot or a port, or is `localhost`) must be
 * a configured upstream: warm never reaches a registry the server does not know.
 */
import {
  normalizeDockerHubName,
  parseDigest,
  parseRepositoryName,
  parseTag,
  referenceString,
  type Reference,
  type RepositoryName,
  type Tag,
} from '@regcache/registry-protocol';
import { OperationInputError } from './operation-errors.js';

export interface ImageRef {
  upstream: string;
  /** The repository as sent to regcache (the upstream routes it: `library/` is added for docker.io). */
  name: RepositoryName;
  /** The repository as the cache stores it (`library/alpine` for docker.io's `alpine`). */
  repository: RepositoryName;
  reference: Reference;
  /** `upstream/repository:tag` as the cache stores it. */
  display: string;
}

function splitReference(input: string): { path: string; reference: Reference } {
  const at = input.indexOf('@');
  if (at >= 0) {
    const digest = parseDigest(input.slice(at + 1));
    if (!digest.ok) throw new OperationInputError(`"${input}": ${digest.error.message}`);
    const path = input.slice(0, at);
    const colon = path.lastIndexOf(':');
    return { path: colon > path.lastIndexOf('/') ? path.slice(0, colon) : path, reference: { kind: 'digest', digest: digest.value } };
  }
  const colon = input.lastIndexOf(':');
  if (colon <= input.lastIndexOf('/')) return { path: input, reference: { kind: 'tag', tag: parseTagOrThrow(input, 'latest') } };
  return { path: input.slice(0, colon), reference: { kind: 'tag', tag: parseTagOrThrow(input, input.slice(colon + 1)) } };
}

function parseTagOrThrow(input: string, tag: string): Tag {
  const parsed = parseTag(tag);
  if (!parsed.ok) throw new OperationInputError(`"${input}": ${parsed.error.message}`);
  return parsed.value;
}

function looksLikeHost(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost';
}

export function parseImageRef(input: string, upstreams: readonly string[], fallback: string): ImageRef {
  const { path, reference } = splitReference(input.trim());
  const slash = path.indexOf('/');
  const first = slash < 0 ? undefined : path.slice(0, slash);
  let upstream = fallback;
  let rest = path;
  if (first !== undefined && (upstreams.includes(first) || looksLikeHost(first))) {
    if (!upstreams.includes(first)) {
      throw new OperationInputError(`"${input}": no upstream named "${first}" is configured (configured: ${upstreams.join(', ')})`);
    }
    upstream = first;
    rest = path.slice(slash + 1);
  }
  const name = parseRepositoryName(rest);
  if (!name.ok) throw new OperationInputError(`"${input}": ${name.error.message}`);
  const stored = upstream === 'docker.io' ? normalizeDockerHubName(name.value) : name.value;
  const separator = reference.kind === 'tag' ? ':' : '@';
  return { upstream, name: name.value, repository: stored, reference, display: `${upstream}/${stored}${separator}${referenceString(reference)}` };
}

/**
 * A repository, for the operations that take every cached tag of one (`rm --all-tags`): the
 * image reference grammar without a tag or digest, which would say less than the operator meant.
 */
export interface RepositoryRef {
  upstream: string;
  /** As the cache stores it. */
  repository: RepositoryName;
  /** `upstream/repository`. */
  display: string;
}

export function parseRepositoryRef(input: string, upstreams: readonly string[], fallback: string): RepositoryRef {
  const trimmed = input.trim();
  if (trimmed.includes('@') || trimmed.lastIndexOf(':') > trimmed.lastIndexOf('/')) {
    throw new OperationInputError(`"${input}": all tags of a repository were asked for: name the repository (docker.io/library/alpine) without a tag or digest`);
  }
  const ref = parseImageRef(trimmed, upstreams, fallback);
  return { upstream: ref.upstream, repository: ref.repository, display: `${ref.upstream}/${ref.repository}` };
}
