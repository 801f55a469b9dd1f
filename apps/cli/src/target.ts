/**
 * Where the CLI gets its answers: the running server's admin API when one holds the store
 * (LevelDB is single-process), else a cache instance opened on the store directly — without
 * start-up repair or automatic eviction, so a dry run or a plain verify changes nothing.
 * Both run proxy-core's same operations, so the output is the same either way.
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { StoreLockedError } from '@regcache/blob-store';
import { adminEndpoint, createRegistryCache, defaultAdminUnbindable, loadConfigWithOverrides, type AdminOperations, type ConfigOverride, type ListenAddress, type RegcacheConfig } from '@regcache/proxy-core';
import { connectAdmin, describeAddress } from './admin-client.js';
import { CliError } from './errors.js';
import { remoteOperations } from './remote-operations.js';

export interface GlobalFlags {
  config?: string;
  data?: string;
  json?: boolean;
}

export interface Target {
  ops: AdminOperations;
  config: RegcacheConfig;
  via: 'server' | 'direct';
}

async function requireStore(path: string): Promise<void> {
  try {
    await stat(join(path, 'index'));
  } catch {
    throw new CliError(`no regcache store at ${resolve(path)} (pass the server's --config or --data)`, 2);
  }
}

async function openDirect(config: RegcacheConfig, where: string): Promise<Awaited<ReturnType<typeof createRegistryCache>>> {
  try {
    return await createRegistryCache(config, { recover: false, autoEvict: false });
  } catch (error) {
    if (!(error instanceof StoreLockedError)) throw error;
    const portZero = /:0$/.test(where) ? ': admin.listen has port 0, so the server took a port the kernel picked (its log says which); give admin.listen a fixed port to reach it' : ' (is the server running with another admin.listen? pass its --config)';
    throw new CliError(`the store at ${resolve(config.storage.path)} is held by another process, but no regcache server answers at ${where}${portZero}`);
  }
}

/**
 * Where a server of this config answers. None when admin.listen is unset and its default
 * socket path is too long to bind: a server refuses to start with it, so the store is opened
 * directly (`stats --data /a/long/path` still works).
 */
function serverEndpoint(config: RegcacheConfig): ListenAddress | undefined {
  return defaultAdminUnbindable(config) ? undefined : adminEndpoint(config);
}

/**
 * The config the verbs use. REGCACHE_DATA naming another store than the --config file's
 * storage.path is refused, as --data with --config is: the operator named a config file, and
 * an environment variable left set would otherwise open (or with warm, create) another store.
 */
async function loadTargetConfig(flags: GlobalFlags): Promise<RegcacheConfig> {
  const { config, overrides } = await loadConfigWithOverrides({ config: flags.config, data: flags.data });
  const fromEnv = overrides.find((o: ConfigOverride) => o.key === 'storage.path' && o.source === 'REGCACHE_DATA');
  if (fromEnv !== undefined && resolve(String(fromEnv.fileValue)) !== resolve(config.storage.path)) {
    const message = `REGCACHE_DATA (${config.storage.path}) is another store than storage.path of ${flags.config} (${String(fromEnv.fileValue)}): unset REGCACHE_DATA to use the config's store, or pass --data instead of --config`;
    throw new CliError(message, 2);
  }
  return config;
}

/** `create`: a verb that fills the store (warm) may start a new one; the others need an existing store. */
export async function withTarget<T>(flags: GlobalFlags, run: (target: Target) => Promise<T>, opts: { create?: boolean } = {}): Promise<T> {
  const config = await loadTargetConfig(flags);
  const endpoint = serverEndpoint(config);
  const admin = endpoint === undefined ? undefined : await connectAdmin(endpoint);
  if (admin) {
    try {
      return await run({ ops: remoteOperations(admin), config, via: 'server' });
    } finally {
      await admin.close();
    }
  }
  if (opts.create !== true) await requireStore(config.storage.path);
  const cache = await openDirect(config, endpoint === undefined ? 'its admin socket (admin.listen unset, and the default path too long)' : describeAddress(endpoint));
  try {
    return await run({ ops: cache.operations, config, via: 'direct' });
  } finally {
    await cache.close();
  }
}
