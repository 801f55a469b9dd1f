/** The target factories by id. */
import type { TargetId } from '../options.js';
import { startDirect } from './direct.js';
import { startDistribution } from './distribution.js';
import { startNginx } from './nginx.js';
import { startRegcache } from './regcache.js';
import type { TargetFactory } from './target.js';

export const TARGET_FACTORIES: Record<TargetId, TargetFactory> = {
  direct: startDirect,
  distribution: startDistribution,
  nginx: startNginx,
  regcache: startRegcache,
};

export { TARGET_LABELS } from './target.js';
export type { Target, TargetContext, TargetFactory } from './target.js';
