/**
 * @regcache/proxy-core/front — what a front thread (apps/server) needs to replay hot manifest
 * answers on its own connections, and nothing more: no store, no upstream client, no metrics
 * registry, so a thread that loads it stays small.
 */
export { createHotResponses, writeReplay } from './hot-responses.js';
export type { HotAnswer, HotKey, HotRequest, HotResponses } from './hot-responses.js';
export type { ReplayCredit, ReplayRecord } from './hot-feed.js';
export type { HitCell } from './stats.js';
export type { ResponseHead } from './headers.js';
export { rawHeader } from './headers.js';
export { refuseConnect, sendError } from './respond.js';
export { loggedPath } from './logged-path.js';
