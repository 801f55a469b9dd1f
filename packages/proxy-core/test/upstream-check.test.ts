/**
 * `regcache-admin upstreams`' check of one upstream that accepts and never answers (a real
 * registry behind the testkit's fault proxy, holding every request): reported as the upstream
 * unavailable (timeout) within the check's own deadline, in the words the README uses — not the
 * AbortSignal's "The operation was aborted due to timeout".
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/index.js';
import { createUpstreamClient } from '../src/upstream/client.js';
import { checkUpstreams } from '../src/upstream-check.js';
import { useProxiedRegistry } from './helpers.js';

describe('the upstream check', () => {
  const fx = useProxiedRegistry();

  it('says an upstream that never answers is unavailable (timeout), within its deadline', async () => {
    const { proxy } = fx();
    const [config] = parseConfig({ upstreams: [{ name: 'silent.internal', url: proxy.url }] }).upstreams;
    if (config === undefined) throw new Error('no upstream');
    const client = createUpstreamClient(config);
    proxy.setFault({ kind: 'hang' }, /^\/v2\/$/);
    try {
      const [check] = await checkUpstreams([{ config, client, mirrors: [] }], 500);
      expect(check).toMatchObject({ name: 'silent.internal', ok: false, detail: 'upstream silent.internal unavailable (timeout): no answer within 0.5s' });
      expect(check?.ms).toBeLessThan(2000);
    } finally {
      await client.close();
    }
  });
});
