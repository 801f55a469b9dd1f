/** The public surface other packages are written against: every name, exactly. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';

const REQUIRED_VALUES = [
  // result.ts / errors.ts
  'ok', 'err', 'ERROR_CODES', 'ProtocolError', 'isProtocolError', 'errorStatus', 'errorBody',
  // digest.ts
  'parseDigest', 'makeDigest', 'digestAlgorithm', 'digestHex',
  // names.ts
  'parseRepositoryName', 'parseTag', 'parseReference', 'referenceString', 'normalizeDockerHubName', 'splitFirstComponent',
  // routes.ts
  'parseRequestTarget', 'parseRoute',
  // media-types.ts
  'MEDIA_TYPES', 'MANIFEST_MEDIA_TYPES', 'isManifestMediaType', 'isIndexMediaType', 'parseAccept', 'acceptsMediaType',
  'upstreamManifestAccept', 'manifestAcceptEntries', 'parseManifest',
  // auth.ts
  'parseWwwAuthenticate', 'pullScope', 'bearerChallenge', 'basicChallenge',
  // range.ts
  'parseRange', 'contentRange', 'unsatisfiedContentRange',
  // link.ts
  'parseLinkNext', 'tagsListLink', 'parseTagsList',
];

const EXTRA_VALUES = [
  'fail', 'isErrorCode', 'DIGEST_ALGORITHMS', 'DIGEST_HEX_LENGTH', 'isDigest', 'isDigestAlgorithm',
  'MAX_NAME_LENGTH', 'MAX_TAG_LENGTH', 'isNameComponent', 'MAX_LAST_LENGTH', 'MAX_PAGE_SIZE', 'parseLast',
  'parseNamespace', 'parsePageSize', 'parseQuery', 'MAX_TARGET_LENGTH', 'CURRENT_MANIFEST_MEDIA_TYPES', 'essenceOf',
  'parseDescriptor',
  // repository-pattern.ts (proxy-core's per-upstream repository policy)
  'parseRepositoryPattern', 'normalizeDockerHubPattern', 'repositoryMatcher',
  // conditional.ts (If-None-Match and If-Range against a digest's entity tag)
  'noneMatchHits', 'rangeStillApplies',
];

describe('public API', () => {
  it('exports every name of the agreed API', () => {
    for (const name of REQUIRED_VALUES) expect(api, name).toHaveProperty(name);
  });

  it('exports nothing beyond the agreed API and the documented extras', () => {
    expect(Object.keys(api).sort()).toEqual([...REQUIRED_VALUES, ...EXTRA_VALUES].sort());
  });

  it('index.ts lists its exports by name', () => {
    const index = readFileSync(fileURLToPath(new URL('../src/index.ts', import.meta.url)), 'utf8');
    expect(index).not.toMatch(/export\s+\*/);
  });
});
