/** Test fixtures: real-looking digests and manifests of the four current media types. */

export const EMPTY_SHA256 = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** The OCI spec's own digest example. */
export const SPEC_SHA256 = 'sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b';
export const EMPTY_SHA512 =
  'sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e';

export const CONFIG_DIGEST = 'sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7';
export const LAYER1_DIGEST = 'sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f';
export const LAYER2_DIGEST = 'sha256:3c3a4604a545cdc127456d94e421cd355bca5b528f4a9c1905b15da2eb4a4c6b';
export const AMD64_DIGEST = 'sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270';
export const ARM64_DIGEST = 'sha256:e2e16842c9b54d985bf1ef9242a313f36b856181f188de21313820e177002501';
export const ARMV7_DIGEST = 'sha256:f9e1b4a2c3d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f';

/** Docker image manifest v2 schema 2, as distribution's manifest-v2-2.md example. */
export const DOCKER_MANIFEST = JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
  config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 7023, digest: CONFIG_DIGEST },
  layers: [
    { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 32654, digest: LAYER1_DIGEST },
    { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 16724, digest: LAYER2_DIGEST },
  ],
});

/** Docker manifest list, as manifest-v2-2.md's example (ppc64le, amd64, arm v7). */
export const DOCKER_MANIFEST_LIST = JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
  manifests: [
    {
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      size: 7143,
      digest: AMD64_DIGEST,
      platform: { architecture: 'ppc64le', os: 'linux' },
    },
    {
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      size: 7682,
      digest: ARM64_DIGEST,
      platform: { architecture: 'amd64', os: 'linux', features: ['sse4'] },
    },
    {
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      size: 7682,
      digest: ARMV7_DIGEST,
      platform: { architecture: 'arm', os: 'linux', variant: 'v7' },
    },
  ],
});

/** OCI image manifest, as image-spec manifest.md's example (annotations, no top-level mediaType needed). */
export const OCI_MANIFEST = JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: CONFIG_DIGEST, size: 7023 },
  layers: [
    { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: LAYER1_DIGEST, size: 32654 },
    { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: LAYER2_DIGEST, size: 16724 },
  ],
  annotations: { 'com.example.key1': 'value1' },
});

/** OCI image index with platforms, as image-spec image-index.md's example plus an attestation entry. */
export const OCI_INDEX = JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.index.v1+json',
  manifests: [
    {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: 7143,
      digest: AMD64_DIGEST,
      platform: { architecture: 'amd64', os: 'linux' },
    },
    {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: 7682,
      digest: ARM64_DIGEST,
      platform: { architecture: 'arm64', os: 'linux', variant: 'v8', 'os.version': '' },
    },
    {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: 566,
      digest: ARMV7_DIGEST,
      platform: { architecture: 'unknown', os: 'unknown' },
      annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
    },
  ],
  annotations: { 'com.example.key1': 'value1' },
});
