/**
 * Manifest media types: Docker image manifest v2 schema 2 and manifest list, OCI image-spec
 * v1.1 image manifest and image index, and the legacy Docker schema 1 types.
 */
import { essenceOf } from './http-syntax.js';

export const MEDIA_TYPES: {
  readonly dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json';
  readonly dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json';
  readonly ociManifest: 'application/vnd.oci.image.manifest.v1+json';
  readonly ociIndex: 'application/vnd.oci.image.index.v1+json';
  readonly dockerManifestV1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws';
  readonly dockerManifestV1: 'application/vnd.docker.distribution.manifest.v1+json';
} = Object.freeze({
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifestV1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  dockerManifestV1: 'application/vnd.docker.distribution.manifest.v1+json',
} as const);

/** The four manifest types registries serve today, in the order regcache asks for them. */
export const CURRENT_MANIFEST_MEDIA_TYPES: readonly string[] = Object.freeze([
  MEDIA_TYPES.dockerManifest,
  MEDIA_TYPES.dockerManifestList,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.ociIndex,
]);

/** Every manifest type, the schema 1 legacy types included. */
export const MANIFEST_MEDIA_TYPES: readonly string[] = Object.freeze([
  ...CURRENT_MANIFEST_MEDIA_TYPES,
  MEDIA_TYPES.dockerManifestV1Signed,
  MEDIA_TYPES.dockerManifestV1,
]);

/** Whether a media type (parameters and case ignored) is one of the manifest types. */
export function isManifestMediaType(t: string): boolean {
  return MANIFEST_MEDIA_TYPES.includes(essenceOf(t));
}

/** Whether a media type is a Docker manifest list or an OCI image index. */
export function isIndexMediaType(t: string): boolean {
  const e = essenceOf(t);
  return e === MEDIA_TYPES.dockerManifestList || e === MEDIA_TYPES.ociIndex;
}
