import { describe, expect, it } from 'vitest';
import {
  CURRENT_MANIFEST_MEDIA_TYPES,
  MANIFEST_MEDIA_TYPES,
  MEDIA_TYPES,
  acceptsMediaType,
  essenceOf,
  isIndexMediaType,
  isManifestMediaType,
  manifestAcceptEntries,
  parseAccept,
  upstreamManifestAccept,
} from '../src/index.js';

const DOCKER = MEDIA_TYPES.dockerManifest;
const LIST = MEDIA_TYPES.dockerManifestList;
const OCI = MEDIA_TYPES.ociManifest;
const INDEX = MEDIA_TYPES.ociIndex;

describe('media types', () => {
  it('names the six manifest types', () => {
    expect(MEDIA_TYPES).toEqual({
      dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
      dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
      ociManifest: 'application/vnd.oci.image.manifest.v1+json',
      ociIndex: 'application/vnd.oci.image.index.v1+json',
      dockerManifestV1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
      dockerManifestV1: 'application/vnd.docker.distribution.manifest.v1+json',
    });
    expect(MANIFEST_MEDIA_TYPES).toHaveLength(6);
    expect(CURRENT_MANIFEST_MEDIA_TYPES).toEqual([DOCKER, LIST, OCI, INDEX]);
  });

  it('isManifestMediaType / isIndexMediaType ignore case and parameters', () => {
    expect(isManifestMediaType(`${OCI}; charset=utf-8`)).toBe(true);
    expect(isManifestMediaType(DOCKER.toUpperCase())).toBe(true);
    expect(isManifestMediaType('application/json')).toBe(false);
    expect(isManifestMediaType('application/vnd.oci.image.config.v1+json')).toBe(false);
    expect(isIndexMediaType(LIST)).toBe(true);
    expect(isIndexMediaType(INDEX)).toBe(true);
    expect(isIndexMediaType(OCI)).toBe(false);
    expect(essenceOf(' Application/JSON ; q=1')).toBe('application/json');
  });
});

describe('parseAccept', () => {
  it('reads what docker 24 sends (several headers)', () => {
    const entries = parseAccept([
      'application/vnd.docker.distribution.manifest.v2+json',
      'application/vnd.docker.distribution.manifest.list.v2+json',
      'application/vnd.oci.image.index.v1+json',
      'application/vnd.oci.image.manifest.v1+json',
    ]);
    expect(entries.map((e) => e.type)).toEqual([DOCKER, LIST, INDEX, OCI]);
    expect(entries.every((e) => e.q === 1)).toBe(true);
  });

  it('reads what containerd sends (one comma list with q-values)', () => {
    const entries = parseAccept(
      `${LIST}, ${DOCKER}, ${INDEX}, ${OCI}, */*;q=0.8`,
    );
    expect(entries).toEqual([
      { type: LIST, q: 1 },
      { type: DOCKER, q: 1 },
      { type: INDEX, q: 1 },
      { type: OCI, q: 1 },
      { type: '*/*', q: 0.8 },
    ]);
  });

  it('sorts by q, stable, lower-cases and drops other parameters (RFC 9110 example)', () => {
    expect(parseAccept('text/*;q=0.3, text/plain;q=0.7, TEXT/plain;format=flowed, text/plain;format=fixed;q=0.4, */*;q=0.5')).toEqual([
      { type: 'text/plain', q: 1 },
      { type: 'text/plain', q: 0.7 },
      { type: '*/*', q: 0.5 },
      { type: 'text/plain', q: 0.4 },
      { type: 'text/*', q: 0.3 },
    ]);
  });

  it.each([
    ['empty', '', []],
    ['undefined', undefined, []],
    ['spaces and commas', ' , ,, ', []],
    ['no subtype', 'application', []],
    ['bad wildcard', '*/json', []],
    ['q too precise', 'a/b;q=0.1234', []],
    ['q above 1', 'a/b;q=1.5', []],
    ['q negative', 'a/b;q=-1', []],
    ['q not a number', 'a/b;q=high', []],
    ['parameter without value', 'a/b;charset', []],
    ['garbage before a good one', '@@@, a/b', [{ type: 'a/b', q: 1 }]],
    ['garbage after a type', 'a/b c/d, e/f;q=0', [{ type: 'e/f', q: 0 }]],
    ['quoted comma in a parameter', 'a/b;x="1,2";q=0.5, c/d', [{ type: 'c/d', q: 1 }, { type: 'a/b', q: 0.5 }]],
    ['q=1.000 and q=0.', 'a/b;q=1.000, c/d;q=0.', [{ type: 'a/b', q: 1 }, { type: 'c/d', q: 0 }]],
    ['OWS around ;', 'a/b ; q=0.2', [{ type: 'a/b', q: 0.2 }]],
  ])('%s', (_label, header, expected) => {
    expect(parseAccept(header)).toEqual(expected);
  });
});

describe('acceptsMediaType', () => {
  it('no Accept accepts anything', () => {
    expect(acceptsMediaType([], OCI)).toBe(true);
  });

  it('exact, type/* and */* ranges; the most specific range decides', () => {
    expect(acceptsMediaType(parseAccept(DOCKER), DOCKER)).toBe(true);
    expect(acceptsMediaType(parseAccept(DOCKER), OCI)).toBe(false);
    expect(acceptsMediaType(parseAccept('application/*'), OCI)).toBe(true);
    expect(acceptsMediaType(parseAccept('text/*'), OCI)).toBe(false);
    expect(acceptsMediaType(parseAccept('*/*'), OCI)).toBe(true);
    expect(acceptsMediaType(parseAccept(`*/*, ${OCI};q=0`), OCI)).toBe(false);
    expect(acceptsMediaType(parseAccept(`*/*;q=0, ${OCI}`), OCI)).toBe(true);
    expect(acceptsMediaType(parseAccept('application/*;q=0, */*'), OCI)).toBe(false);
    expect(acceptsMediaType(parseAccept(DOCKER), `${DOCKER}; charset=utf-8`)).toBe(true);
  });
});

describe('upstreamManifestAccept', () => {
  it('forwards the manifest types the client named, with q', () => {
    expect(upstreamManifestAccept(parseAccept(`${OCI}, ${INDEX};q=0.5, text/html`))).toBe(`${OCI}, ${INDEX};q=0.5`);
  });

  it('drops duplicates and q=0 entries', () => {
    expect(upstreamManifestAccept(parseAccept([DOCKER, DOCKER, `${LIST};q=0`]))).toBe(DOCKER);
  });

  it('asks for all four current types when the client named none', () => {
    const all = `${DOCKER}, ${LIST}, ${OCI}, ${INDEX}`;
    expect(upstreamManifestAccept([])).toBe(all);
    expect(upstreamManifestAccept(parseAccept('*/*'))).toBe(all);
    expect(upstreamManifestAccept(parseAccept('application/json'))).toBe(all);
  });

  it('leaves out types the client refused, but never sends nothing', () => {
    expect(upstreamManifestAccept(parseAccept(`*/*, ${LIST};q=0, ${INDEX};q=0`))).toBe(`${DOCKER}, ${OCI}`);
    expect(upstreamManifestAccept(parseAccept(`${DOCKER};q=0, ${LIST};q=0, ${OCI};q=0, ${INDEX};q=0`))).toBe(
      `${DOCKER}, ${LIST}, ${OCI}, ${INDEX}`,
    );
  });
});

describe('manifestAcceptEntries', () => {
  it('keeps an Accept that names a manifest type or a range covering one, refusals included', () => {
    for (const header of [OCI, '*/*', 'application/*', `text/html, ${INDEX};q=0`]) {
      expect(manifestAcceptEntries(parseAccept(header))).toEqual(parseAccept(header));
    }
  });

  it('drops one written for something else: it counts as no Accept', () => {
    for (const header of ['application/json', 'text/html, text/plain;q=0.5', 'image/*']) {
      expect(manifestAcceptEntries(parseAccept(header))).toEqual([]);
    }
  });
});
