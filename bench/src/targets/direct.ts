/**
 * "direct": clients talk to the upstream docker-registry itself — the reference every cache is
 * compared with. Nothing to start or stop; its peak RSS is reset before each block.
 */
import type { Target, TargetFactory } from './target.js';

export const startDirect: TargetFactory = async ({ upstream }) => {
  const target: Target = {
    id: 'direct',
    url: upstream.url,
    host: upstream.host,
    pids: async () => (upstream.pid === undefined ? [] : [upstream.pid]),
    tail: () => upstream.logTail(),
    stop: async () => undefined,
  };
  return target;
};
