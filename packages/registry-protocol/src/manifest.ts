/**
 * Manifest parsing for the four current manifest types:
 *  - Docker image manifest v2 schema 2 / OCI image manifest (image-spec manifest.md):
 *    `schemaVersion: 2`, a `config` descriptor, a `layers` array of descriptors;
 *  - Docker manifest list / OCI image index (image-spec image-index.md):
 *    `schemaVersion: 2`, a `manifests` array of descriptors with optional `platform`.
 * Descriptors (image-spec descriptor.md) need `mediaType`, `digest` and a non-negative
 * integer `size`. Schema 1 manifests carry no blob sizes and are refused.
 * Everything wrong is MANIFEST_INVALID with a detail naming the failing field.
 */
import { parseDigest, type Digest } from './digest.js';
import { essenceOf } from './http-syntax.js';
import { isIndexMediaType, isManifestMediaType, MEDIA_TYPES } from './media-types.js';
import { err, fail, ok, type Result } from './result.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  platform?: Platform;
}

export interface ParsedManifest {
  mediaType: string;
  kind: 'image' | 'index';
  config?: Descriptor;
  layers: Descriptor[];
  manifests: Descriptor[];
  /** OCI 1.1 `subject`: the manifest this one refers to (referrers API). */
  subject?: Descriptor;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid<T>(field: string, reason: string): Result<T> {
  return err('MANIFEST_INVALID', `manifest invalid: ${field} ${reason}`, { field, reason });
}

function parsePlatform(v: unknown, field: string): Result<Platform | undefined> {
  if (v === undefined) return ok(undefined);
  if (!isObject(v) || typeof v.os !== 'string' || typeof v.architecture !== 'string') {
    return invalid(field, 'must be an object with string os and architecture');
  }
  if (v.variant !== undefined && typeof v.variant !== 'string') {
    return invalid(`${field}.variant`, 'must be a string');
  }
  const platform: Platform = { os: v.os, architecture: v.architecture };
  if (typeof v.variant === 'string') platform.variant = v.variant;
  return ok(platform);
}

/** descriptor.md: mediaType (string), digest (valid digest), size (int64 >= 0). */
export function parseDescriptor(v: unknown, field: string): Result<Descriptor> {
  if (!isObject(v)) return invalid(field, 'must be a descriptor object');
  if (typeof v.mediaType !== 'string' || v.mediaType === '') {
    return invalid(`${field}.mediaType`, 'must be a non-empty string');
  }
  const digest = typeof v.digest === 'string' ? parseDigest(v.digest) : undefined;
  if (!digest?.ok) return invalid(`${field}.digest`, 'must be a sha256 or sha512 digest');
  if (typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0) {
    return invalid(`${field}.size`, 'must be a non-negative integer');
  }
  const platform = parsePlatform(v.platform, `${field}.platform`);
  if (!platform.ok) return fail(platform.error);
  const d: Descriptor = { mediaType: v.mediaType, digest: digest.value, size: v.size };
  if (platform.value) d.platform = platform.value;
  return ok(d);
}

function parseDescriptorList(v: unknown, field: string): Result<Descriptor[]> {
  if (!Array.isArray(v)) return invalid(field, 'must be an array');
  const out: Descriptor[] = [];
  for (let i = 0; i < v.length; i++) {
    const d = parseDescriptor(v[i], `${field}[${i}]`);
    if (!d.ok) return fail(d.error);
    out.push(d.value);
  }
  return ok(out);
}

/** Body's mediaType first (image-spec), then a manifest Content-Type, then the shape. */
function mediaTypeOf(body: Json, contentType: string | undefined): Result<string> {
  if (body.mediaType !== undefined) {
    return typeof body.mediaType === 'string' ? ok(essenceOf(body.mediaType)) : invalid('mediaType', 'must be a string');
  }
  if (contentType !== undefined && isManifestMediaType(contentType)) return ok(essenceOf(contentType));
  if (body.schemaVersion === 1) return ok(MEDIA_TYPES.dockerManifestV1);
  if (Array.isArray(body.manifests)) return ok(MEDIA_TYPES.ociIndex);
  return ok(MEDIA_TYPES.ociManifest);
}

function parseSubject(body: Json): Result<Descriptor | undefined> {
  return body.subject === undefined ? ok(undefined) : parseDescriptor(body.subject, 'subject');
}

function parseIndex(body: Json, mediaType: string): Result<ParsedManifest> {
  const manifests = parseDescriptorList(body.manifests, 'manifests');
  if (!manifests.ok) return fail(manifests.error);
  const subject = parseSubject(body);
  if (!subject.ok) return fail(subject.error);
  const m: ParsedManifest = { mediaType, kind: 'index', layers: [], manifests: manifests.value };
  if (subject.value) m.subject = subject.value;
  return ok(m);
}

function parseImage(body: Json, mediaType: string): Result<ParsedManifest> {
  const config = parseDescriptor(body.config, 'config');
  if (!config.ok) return fail(config.error);
  const layers = parseDescriptorList(body.layers, 'layers');
  if (!layers.ok) return fail(layers.error);
  const subject = parseSubject(body);
  if (!subject.ok) return fail(subject.error);
  const m: ParsedManifest = { mediaType, kind: 'image', config: config.value, layers: layers.value, manifests: [] };
  if (subject.value) m.subject = subject.value;
  return ok(m);
}

export function parseManifest(json: string, contentType?: string): Result<ParsedManifest> {
  let body: unknown;
  try {
    body = JSON.parse(typeof json === 'string' ? json : '');
  } catch {
    return err('MANIFEST_INVALID', 'manifest invalid: not JSON', { reason: 'not JSON' });
  }
  if (!isObject(body)) return invalid('manifest', 'must be a JSON object');
  const mediaType = mediaTypeOf(body, contentType);
  if (!mediaType.ok) return fail(mediaType.error);
  const type = mediaType.value;
  if (type === MEDIA_TYPES.dockerManifestV1 || type === MEDIA_TYPES.dockerManifestV1Signed || body.schemaVersion === 1) {
    return invalid('schemaVersion', 'schema 1 manifests are not supported');
  }
  if (!isManifestMediaType(type)) return invalid('mediaType', `is not a manifest media type: ${type.slice(0, 100)}`);
  if (body.schemaVersion !== 2) return invalid('schemaVersion', 'must be 2');
  return isIndexMediaType(type) ? parseIndex(body, type) : parseImage(body, type);
}
