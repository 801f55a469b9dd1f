/**
 * @regcache/registry-protocol — pure parsing of everything a registry client or upstream
 * sends (no I/O). Every export is listed by name.
 */
export type { ErrorCode, ErrorDescriptor } from './errors.js';
export {
  ERROR_CODES,
  ProtocolError,
  errorBody,
  errorStatus,
  isErrorCode,
  isProtocolError,
} from './errors.js';

export type { Result } from './result.js';
export { err, fail, ok } from './result.js';

export type { Digest, DigestAlgorithm } from './digest.js';
export {
  DIGEST_ALGORITHMS,
  DIGEST_HEX_LENGTH,
  digestAlgorithm,
  digestHex,
  isDigest,
  isDigestAlgorithm,
  makeDigest,
  parseDigest,
} from './digest.js';

export type { Reference, RepositoryName, Tag } from './names.js';
export {
  MAX_NAME_LENGTH,
  MAX_TAG_LENGTH,
  isNameComponent,
  normalizeDockerHubName,
  parseReference,
  parseRepositoryName,
  parseTag,
  referenceString,
  splitFirstComponent,
} from './names.js';

export type { RepositoryPattern } from './repository-pattern.js';
export { normalizeDockerHubPattern, parseRepositoryPattern, repositoryMatcher } from './repository-pattern.js';

export type { Query } from './query.js';
export {
  MAX_LAST_LENGTH,
  MAX_PAGE_SIZE,
  parseLast,
  parseNamespace,
  parsePageSize,
  parseQuery,
} from './query.js';

export type { RequestTarget, Route, RouteKind } from './routes.js';
export { MAX_TARGET_LENGTH, parseRequestTarget, parseRoute } from './routes.js';

export {
  CURRENT_MANIFEST_MEDIA_TYPES,
  MANIFEST_MEDIA_TYPES,
  MEDIA_TYPES,
  isIndexMediaType,
  isManifestMediaType,
} from './media-types.js';
export { essenceOf } from './http-syntax.js';

export type { AcceptEntry } from './accept.js';
export { acceptsMediaType, manifestAcceptEntries, parseAccept, upstreamManifestAccept } from './accept.js';

export type { Descriptor, ParsedManifest, Platform } from './manifest.js';
export { parseDescriptor, parseManifest } from './manifest.js';

export type { Challenge } from './auth.js';
export { basicChallenge, bearerChallenge, parseWwwAuthenticate, pullScope } from './auth.js';

export type { RangeResult } from './range.js';
export { contentRange, parseRange, unsatisfiedContentRange } from './range.js';

export { parseLinkNext, parseTagsList, tagsListLink } from './link.js';

export { noneMatchHits, rangeStillApplies } from './conditional.js';
