/**
 * The admin operations over a running server's admin API: the same interface proxy-core's
 * operations have, so every verb is written once and prints the same either way.
 */
import type { AdminOperations } from '@regcache/proxy-core';
import type { AdminClient } from './admin-client.js';

export function remoteOperations(admin: AdminClient): AdminOperations {
  return {
    stats: () => admin.get('/stats'),
    gc: (opts, onProgress) => admin.stream('/gc', opts, onProgress),
    verify: (opts, onProgress) => admin.stream('/verify', opts, onProgress),
    inventory: (filter) => admin.get(filter === undefined ? '/ls' : `/ls?repo=${encodeURIComponent(filter)}`),
    warm: (opts, onProgress) => admin.stream('/warm', opts, onProgress),
    remove: (opts, onProgress) => admin.stream('/rm', opts, onProgress),
    expire: (opts) => admin.stream('/expire', opts),
    upstreams: () => admin.get('/upstreams'),
  };
}
