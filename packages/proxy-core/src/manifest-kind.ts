/**
 * What kind of manifest the upstream sent, from its JSON and Content-Type (the body's
 * `mediaType` first, as image-spec says):
 *  - one of the four current types: parsed and validated; its config, layers and child
 *    manifests are linked and prefetched;
 *  - Docker schema 1: refused with UnsupportedManifestError. A signed one's digest is that of
 *    its payload without the signatures, not of the bytes served, and no current client pulls
 *    it (docker, containerd 2 and distribution 3 dropped it);
 *  - any other well-formed JSON manifest — the withdrawn OCI artifact manifest, a vendor's
 *    type: kept and served verbatim under its mediaType (the upstream's Content-Type when the
 *    body names none) once its bytes match the digest, like any manifest, and to any Accept
 *    (servesToAccept). What it references regcache cannot read, so nothing is linked or
 *    prefetched for it; a client fetches those blobs like any other miss.
 */
import { acceptsMediaType, CURRENT_MANIFEST_MEDIA_TYPES, essenceOf, MEDIA_TYPES, parseManifest, type AcceptEntry, type ParsedManifest } from '@regcache/registry-protocol';
import { UnsupportedManifestError, UpstreamContentError } from './errors.js';
import { jsonObject } from './json-object.js';

export interface ManifestKind {
  /** What it is served as (Content-Type) and stored under. */
  mediaType: string;
  /** Present for the four current types only: what regcache can read of it. */
  parsed?: ParsedManifest;
}

const SCHEMA1_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.dockerManifestV1, MEDIA_TYPES.dockerManifestV1Signed]);
/** Content-Types that say nothing about which manifest a body is. */
const GENERIC_TYPES: ReadonlySet<string> = new Set(['application/json', 'application/octet-stream', 'text/plain']);
/** RFC 9110 §8.3.1 type "/" subtype, both tokens: safe to send back as a Content-Type. */
const MEDIA_TYPE = /^[a-z0-9!#$%&'*+.^_`|~-]{1,127}\/[a-z0-9!#$%&'*+.^_`|~-]{1,127}$/;

export function manifestKind(upstream: string, bytes: Buffer, contentType: string | undefined): ManifestKind {
  const text = bytes.toString('utf8');
  const body = jsonObject(text);
  const served = contentType === undefined ? undefined : specificType(contentType);
  const declared = body === undefined ? undefined : declaredType(body, served);
  if (body !== undefined && (body.schemaVersion === 1 || (declared !== undefined && SCHEMA1_TYPES.has(declared)))) {
    throw new UnsupportedManifestError(upstream, 'schema1', `upstream ${upstream} sent a Docker schema 1 manifest: schema 1 manifest not supported (deprecated; push the image again with a current client)`);
  }
  // Not JSON, a non-string mediaType, one of the current types or none named: parsed strictly.
  if (declared === undefined || CURRENT_MANIFEST_MEDIA_TYPES.includes(declared)) {
    const parsed = parseManifest(text, contentType);
    if (!parsed.ok) throw new UpstreamContentError(upstream, `upstream sent an invalid manifest: ${parsed.error.message}`);
    return { mediaType: parsed.value.mediaType, parsed: parsed.value };
  }
  // Kept under the body's own mediaType (its digest covers it) over a Content-Type that
  // disagrees: one naming a current type would file bytes regcache cannot read as one it reads.
  if (!MEDIA_TYPE.test(declared)) throw new UpstreamContentError(upstream, `upstream sent an invalid manifest: mediaType is not a media type`);
  return { mediaType: declared };
}

/**
 * Whether a client with this Accept is given a manifest of `mediaType` as the tag names it.
 * One of a type regcache cannot read leaves nothing for the upstream to pick instead: asked
 * with only the current types, it sent this one all the same. So it is served from the cache
 * (offline too) whatever the Accept, as the upstream would, not passed through on every pull.
 */
export function servesToAccept(accept: readonly AcceptEntry[], mediaType: string): boolean {
  return acceptsMediaType(accept, mediaType) || !CURRENT_MANIFEST_MEDIA_TYPES.includes(essenceOf(mediaType));
}

/** The body's mediaType, else the Content-Type; undefined (strict parsing decides) for a mediaType that is not a string. */
function declaredType(body: Record<string, unknown>, served: string | undefined): string | undefined {
  if (typeof body.mediaType === 'string') return essenceOf(body.mediaType);
  return body.mediaType === undefined ? served : undefined;
}

/** A Content-Type's essence, unless it is absent or generic. */
function specificType(contentType: string): string | undefined {
  const essence = essenceOf(contentType);
  return essence === '' || GENERIC_TYPES.has(essence) ? undefined : essence;
}
