/**
 * Where the CLI gets its answers: the running server's admin API when one holds the store
 * (LevelDB is single-process), else the store opened directly. Both paths call the same
 * proxy-core functions, so the output is the same either way.
 */
import { createBlobStore, type BlobStore } from '@regcache/blob-store';
import { adminEndpoint, loadConfig, type RegcacheConfig } from '@regcache/proxy-core';
import { connectAdmin, type AdminClient } from './admin-client.js';

export interface GlobalFlags {
  config?: string;
  data?: string;
  json?: boolean;
}

export type Target = { kind: 'server'; admin: AdminClient; config: RegcacheConfig } | { kind: 'direct'; store: BlobStore; config: RegcacheConfig };

export async function withTarget<T>(flags: GlobalFlags, run: (target: Target) => Promise<T>): Promise<T> {
  const config = await loadConfig({ config: flags.config, data: flags.data });
  const admin = await connectAdmin(adminEndpoint(config));
  if (admin) {
    try {
      return await run({ kind: 'server', admin, config });
    } finally {
      await admin.close();
    }
  }
  const store = await createBlobStore({ root: config.storage.path });
  try {
    return await run({ kind: 'direct', store, config });
  } finally {
    await store.close();
  }
}
