import { describe, expect, it } from 'vitest';
import { MEDIA_TYPES, parseManifest } from '../src/index.js';
import {
  AMD64_DIGEST,
  ARM64_DIGEST,
  ARMV7_DIGEST,
  CONFIG_DIGEST,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  LAYER1_DIGEST,
  LAYER2_DIGEST,
  OCI_INDEX,
  OCI_MANIFEST,
} from './fixtures.js';

describe('parseManifest: the four media types', () => {
  it('Docker image manifest v2 schema 2', () => {
    const r = parseManifest(DOCKER_MANIFEST, MEDIA_TYPES.dockerManifest);
    expect(r).toEqual({
      ok: true,
      value: {
        mediaType: MEDIA_TYPES.dockerManifest,
        kind: 'image',
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 7023, digest: CONFIG_DIGEST },
        layers: [
          { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 32654, digest: LAYER1_DIGEST },
          { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 16724, digest: LAYER2_DIGEST },
        ],
        manifests: [],
      },
    });
  });

  it('Docker manifest list with platforms (extra platform fields dropped)', () => {
    const r = parseManifest(DOCKER_MANIFEST_LIST);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.mediaType).toBe(MEDIA_TYPES.dockerManifestList);
    expect(r.value.kind).toBe('index');
    expect(r.value.config).toBeUndefined();
    expect(r.value.layers).toEqual([]);
    expect(r.value.manifests.map((m) => [m.digest, m.platform])).toEqual([
      [AMD64_DIGEST, { architecture: 'ppc64le', os: 'linux' }],
      [ARM64_DIGEST, { architecture: 'amd64', os: 'linux' }],
      [ARMV7_DIGEST, { architecture: 'arm', os: 'linux', variant: 'v7' }],
    ]);
    expect(r.value.manifests.every((m) => m.mediaType === MEDIA_TYPES.dockerManifest)).toBe(true);
  });

  it('OCI image manifest', () => {
    const r = parseManifest(OCI_MANIFEST, `${MEDIA_TYPES.ociManifest}; charset=utf-8`);
    expect(r.ok && r.value.kind).toBe('image');
    expect(r.ok && r.value.mediaType).toBe(MEDIA_TYPES.ociManifest);
    expect(r.ok && r.value.config?.digest).toBe(CONFIG_DIGEST);
    expect(r.ok && r.value.layers.map((l) => l.size)).toEqual([32654, 16724]);
  });

  it('OCI image index with platforms, including an attestation entry', () => {
    const r = parseManifest(OCI_INDEX);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toMatchObject({ mediaType: MEDIA_TYPES.ociIndex, kind: 'index', layers: [] });
    expect(r.value.manifests.map((m) => m.platform)).toEqual([
      { architecture: 'amd64', os: 'linux' },
      { architecture: 'arm64', os: 'linux', variant: 'v8' },
      { architecture: 'unknown', os: 'unknown' },
    ]);
    expect(r.value.manifests.map((m) => m.size)).toEqual([7143, 7682, 566]);
  });
});

describe('parseManifest: where the media type comes from', () => {
  const withoutMediaType = (json: string): string => {
    const body = JSON.parse(json) as Record<string, unknown>;
    delete body.mediaType;
    return JSON.stringify(body);
  };

  it('the body wins over the Content-Type', () => {
    const r = parseManifest(OCI_MANIFEST, 'application/octet-stream');
    expect(r.ok && r.value.mediaType).toBe(MEDIA_TYPES.ociManifest);
  });

  it('a manifest Content-Type is used when the body has no mediaType', () => {
    const r = parseManifest(withoutMediaType(DOCKER_MANIFEST), MEDIA_TYPES.dockerManifest);
    expect(r.ok && r.value.mediaType).toBe(MEDIA_TYPES.dockerManifest);
  });

  it('otherwise the shape decides (OCI 1.0 made mediaType optional)', () => {
    const image = parseManifest(withoutMediaType(OCI_MANIFEST), 'application/json');
    expect(image.ok && image.value.mediaType).toBe(MEDIA_TYPES.ociManifest);
    const index = parseManifest(withoutMediaType(OCI_INDEX));
    expect(index.ok && index.value).toMatchObject({ mediaType: MEDIA_TYPES.ociIndex, kind: 'index' });
  });

  it('an OCI 1.1 subject is parsed', () => {
    const body = JSON.parse(OCI_MANIFEST) as Record<string, unknown>;
    body.subject = { mediaType: MEDIA_TYPES.ociManifest, digest: AMD64_DIGEST, size: 7143 };
    body.artifactType = 'application/vnd.example.sbom';
    const r = parseManifest(JSON.stringify(body));
    expect(r.ok && r.value.subject).toEqual({ mediaType: MEDIA_TYPES.ociManifest, digest: AMD64_DIGEST, size: 7143 });
  });
});

describe('parseManifest: MANIFEST_INVALID', () => {
  const mutate = (json: string, f: (b: Record<string, unknown>) => void): string => {
    const body = JSON.parse(json) as Record<string, unknown>;
    f(body);
    return JSON.stringify(body);
  };
  const layer0 = (b: Record<string, unknown>): Record<string, unknown> =>
    (b.layers as Record<string, unknown>[])[0] as Record<string, unknown>;

  it.each<[string, string]>([
    ['not JSON', '{"schemaVersion":'],
    ['empty', ''],
    ['an array', '[]'],
    ['null', 'null'],
    ['a string', '"manifest"'],
    ['schema 1', JSON.stringify({ schemaVersion: 1, name: 'a', tag: 'b', fsLayers: [], history: [] })],
    ['schemaVersion 3', mutate(OCI_MANIFEST, (b) => { b.schemaVersion = 3; })],
    ['schemaVersion missing', mutate(OCI_MANIFEST, (b) => { delete b.schemaVersion; })],
    ['unknown mediaType', mutate(OCI_MANIFEST, (b) => { b.mediaType = 'application/vnd.oci.artifact.manifest.v1+json'; })],
    ['numeric mediaType', mutate(OCI_MANIFEST, (b) => { b.mediaType = 2; })],
    ['no config', mutate(OCI_MANIFEST, (b) => { delete b.config; })],
    ['layers not an array', mutate(OCI_MANIFEST, (b) => { b.layers = {}; })],
    ['bad layer digest', mutate(OCI_MANIFEST, (b) => { layer0(b).digest = 'sha256:1234'; })],
    ['sha384 layer digest', mutate(OCI_MANIFEST, (b) => { layer0(b).digest = `sha384:${'a'.repeat(96)}`; })],
    ['negative size', mutate(OCI_MANIFEST, (b) => { layer0(b).size = -1; })],
    ['fractional size', mutate(OCI_MANIFEST, (b) => { layer0(b).size = 1.5; })],
    ['string size', mutate(OCI_MANIFEST, (b) => { layer0(b).size = '10'; })],
    ['huge size', mutate(OCI_MANIFEST, (b) => { layer0(b).size = 2 ** 60; })],
    ['layer without mediaType', mutate(OCI_MANIFEST, (b) => { delete layer0(b).mediaType; })],
    ['null layer', mutate(OCI_MANIFEST, (b) => { (b.layers as unknown[])[1] = null; })],
    ['index without manifests', mutate(OCI_INDEX, (b) => { delete b.manifests; })],
    ['platform without os', mutate(OCI_INDEX, (b) => {
      ((b.manifests as Record<string, unknown>[])[0] as Record<string, unknown>).platform = { architecture: 'amd64' };
    })],
    ['numeric variant', mutate(DOCKER_MANIFEST_LIST, (b) => {
      ((b.manifests as Record<string, unknown>[])[2] as Record<string, unknown>).platform = { os: 'linux', architecture: 'arm', variant: 7 };
    })],
    ['bad subject', mutate(OCI_MANIFEST, (b) => { b.subject = { digest: 'x' }; })],
    ['list content under an image mediaType', mutate(OCI_INDEX, (b) => { b.mediaType = MEDIA_TYPES.ociManifest; })],
  ])('%s', (_label, json) => {
    const r = parseManifest(json, MEDIA_TYPES.ociManifest);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('MANIFEST_INVALID');
      expect(r.error.status).toBe(400);
    }
  });

  it('names the failing field in the detail', () => {
    const body = JSON.parse(OCI_MANIFEST) as { layers: { digest: string }[] };
    (body.layers[1] as { digest: string }).digest = 'sha256:nope';
    const r = parseManifest(JSON.stringify(body));
    expect(!r.ok && r.error.detail).toEqual({ field: 'layers[1].digest', reason: 'must be a sha256 or sha512 digest' });
  });
});
