export { createRegistryCache } from './cache.js';
export type { RegistryCache, RegistryCacheOptions } from './cache.js';
export type { HotAnswerFeed, ReplayCredit, ReplayRecord } from './hot-feed.js';
export type { HotAnswer, HotKey } from './hot-responses.js';
export { configSchema, parseConfig, defaultUpstream, ConfigError } from './config.js';
export type { RegcacheConfig, RegcacheConfigInput, UpstreamConfig, ClientAuthConfig, ConfigIssue } from './config.js';
export type { RegistryHandler } from './handler.js';
export type { Logger } from './logger.js';
export { silentLogger } from './logger.js';
export { createSecret, isSecret } from './secret.js';
export type { Secret } from './secret.js';
export { parseDurationMs, parseSizeBytes, formatBytes, lacksUnit } from './units.js';
export {
  UpstreamUnavailableError,
  UpstreamRateLimitedError,
  UpstreamRefusedError,
  UpstreamContentError,
  UnknownUpstreamError,
  RangeNotSatisfiableError,
  ClientAuthError,
} from './errors.js';
export type { UpstreamState } from './upstream/client.js';
export type { StatName, Stats } from './stats.js';
export { loadConfig, loadConfigWithOverrides } from './load-config.js';
export type { ConfigFlags, ConfigOverride } from './load-config.js';
export { parseListen, adminEndpoint, defaultAdminUnbindable } from './listen-address.js';
export type { ListenAddress } from './listen-address.js';
export { collectStats } from './report.js';
export type { RepositoryTraffic, StatsContext, StatsReport, UpstreamStats } from './report.js';
export type { AdminHandler } from './admin.js';
export type { AdminOperations } from './operations.js';
export { OperationInputError, OperationUnavailableError } from './operation-errors.js';
export type { GcItem, GcReason } from './gc-plan.js';
export type { GcOptions, GcProgress, GcResult } from './gc.js';
export type { VerifyOptions, VerifyProgress, VerifyResult } from './verify.js';
export type { Inventory, RepositoryInfo, TagInfo } from './inventory.js';
export { parsePlatform } from './warm-platform.js';
export type { WarmedImage, WarmOptions, WarmProgress, WarmResult } from './warm.js';
export type { RemovedBlob, RemovedImage, RemoveOptions, RemoveProgress, RemoveResult } from './remove.js';
export type { ExpireOptions, ExpireResult } from './expire.js';
export type { NamedImage } from './image-tags.js';
export type { UpstreamCheck } from './upstream-check.js';
export { parseImageRef } from './image-ref.js';
export type { ImageRef } from './image-ref.js';
export type { CacheMetrics } from './metrics.js';
export { refuseConnect } from './respond.js';
export { answerClientErrors } from './client-errors.js';
export { loggedPath } from './logged-path.js';
export { sendfileAvailable } from './send-file.js';
