/**
 * Repository names, tags and references — OCI distribution-spec v1.1 §Pulling manifests:
 *   <name>      MUST match `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`
 *               (and clients limit it to 255 characters);
 *   <reference> as a tag MUST match `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`, else it is a digest.
 */
import { parseDigest, type Digest } from './digest.js';
import { err, fail, ok, type Result } from './result.js';

export type RepositoryName = string & { readonly __brand: 'RepositoryName' };
export type Tag = string & { readonly __brand: 'Tag' };
export type Reference = { kind: 'tag'; tag: Tag } | { kind: 'digest'; digest: Digest };

export const MAX_NAME_LENGTH = 255;
export const MAX_TAG_LENGTH = 128;

const COMPONENT_SOURCE = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const COMPONENT = new RegExp(`^${COMPONENT_SOURCE}$`);
const NAME = new RegExp(`^${COMPONENT_SOURCE}(?:/${COMPONENT_SOURCE})*$`);
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** Whether one path component obeys the name-component grammar. */
export function isNameComponent(s: string): boolean {
  return typeof s === 'string' && s.length <= MAX_NAME_LENGTH && COMPONENT.test(s);
}

export function parseRepositoryName(input: string): Result<RepositoryName> {
  if (typeof input !== 'string' || input.length === 0) {
    return err('NAME_INVALID', 'invalid repository name: empty');
  }
  if (input.length > MAX_NAME_LENGTH) {
    return err('NAME_INVALID', `invalid repository name: longer than ${MAX_NAME_LENGTH} characters`);
  }
  if (!NAME.test(input)) {
    return err('NAME_INVALID', 'invalid repository name: must match the distribution name grammar');
  }
  return ok(input as RepositoryName);
}

export function parseTag(input: string): Result<Tag> {
  if (typeof input !== 'string' || !TAG.test(input)) {
    return err('TAG_INVALID', 'invalid tag: must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}');
  }
  return ok(input as Tag);
}

/** A reference with a ':' is a digest (DIGEST_INVALID when bad), otherwise a tag (TAG_INVALID). */
export function parseReference(input: string): Result<Reference> {
  if (typeof input !== 'string') return err('TAG_INVALID', 'invalid reference');
  if (input.includes(':')) {
    const d = parseDigest(input);
    return d.ok ? ok({ kind: 'digest', digest: d.value }) : fail(d.error);
  }
  const t = parseTag(input);
  return t.ok ? ok({ kind: 'tag', tag: t.value }) : fail(t.error);
}

export function referenceString(r: Reference): string {
  return r.kind === 'tag' ? r.tag : r.digest;
}

/**
 * Docker Hub's implicit namespace: official images live under `library/`, so a
 * one-component name gets that prefix (docker/distribution reference normalize.go).
 */
export function normalizeDockerHubName(name: RepositoryName): RepositoryName {
  return name.includes('/') ? name : (`library/${name}` as RepositoryName);
}

/** Splits off the first component (an upstream key such as `ghcr.io`); undefined if there is one component. */
export function splitFirstComponent(
  name: RepositoryName,
): { first: string; rest: RepositoryName } | undefined {
  const slash = name.indexOf('/');
  if (slash < 0) return undefined;
  return { first: name.slice(0, slash), rest: name.slice(slash + 1) as RepositoryName };
}
