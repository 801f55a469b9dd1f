/**
 * @regcache/blob-store — content-addressed blob files plus a LevelDB index.
 * Every export is named here.
 */
export type {
  BlobMeta,
  BlobStore,
  BlobStoreOptions,
  BlobWriter,
  ExternalAppend,
  ByteRange,
  CheckOptions,
  ConsistencyReport,
  LinkEntry,
  OpenBlob,
  StoreLogger,
  TagEntry,
  TagRecord,
  WriteOptions,
} from './types.js';
export { createBlobStore, noopLogger } from './store.js';
export { blobPath, indexDir, tempDir } from './layout.js';
export type { BlobStoreErrorCode } from './errors.js';
export {
  BlobNotFoundError,
  BlobStoreError,
  DigestMismatchError,
  SizeMismatchError,
  StoreAccessError,
  StoreLockedError,
  StoreWriteError,
  isBlobStoreError,
} from './errors.js';
