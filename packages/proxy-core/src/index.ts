export { createRegistryCache } from './cache.js';
export type { RegistryCache, RegistryCacheOptions } from './cache.js';
export { configSchema, parseConfig, defaultUpstream, ConfigError } from './config.js';
export type { RegcacheConfig, RegcacheConfigInput, UpstreamConfig, ConfigIssue } from './config.js';
export type { RegistryHandler } from './handler.js';
export type { Logger } from './logger.js';
export { silentLogger } from './logger.js';
export { createSecret, isSecret } from './secret.js';
export type { Secret } from './secret.js';
export { parseDurationMs, parseSizeBytes, formatBytes } from './units.js';
export {
  UpstreamUnavailableError,
  UpstreamRateLimitedError,
  UpstreamRefusedError,
  UpstreamContentError,
  UnknownUpstreamError,
  RangeNotSatisfiableError,
} from './errors.js';
export type { StatName, Stats } from './stats.js';
export { loadConfig } from './load-config.js';
export type { ConfigFlags } from './load-config.js';
export { parseListen, adminEndpoint } from './listen-address.js';
export type { ListenAddress } from './listen-address.js';
export { collectStats } from './report.js';
export type { StatsReport, UpstreamStats } from './report.js';
