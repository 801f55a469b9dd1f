/**
 * `regcache-admin upstreams`: each configured upstream asked `GET /v2/` the way fills ask it
 * (its CA, its proxy, its credentials), with the answer's status and time, or why it failed.
 * Mirrors have rows of their own. Exits 1 when any upstream or mirror cannot be used, so a
 * deploy script can check a new `ca` or `proxy`.
 */
import type { Command } from 'commander';
import type { UpstreamCheck } from '@regcache/proxy-core';
import { verb } from '../command.js';
import { printJson } from '../format.js';
import { renderTable } from '../table.js';
import { withTarget, type GlobalFlags } from '../target.js';

export function formatUpstreams(checks: readonly UpstreamCheck[]): string {
  const rows = checks.map((c) => [
    c.mirrorOf === undefined ? c.name : `${c.name} (mirror of ${c.mirrorOf})`,
    c.url,
    c.ownCa ? `${c.via}, own CA` : c.via,
    c.ok ? 'ok' : 'FAILED',
    c.status === undefined ? '-' : String(c.status),
    `${c.ms} ms`,
    c.detail ?? '',
  ]);
  return `${renderTable(['upstream', 'url', 'via', 'result', 'status', 'time', 'detail'], rows, [4, 5])}\n`;
}

export function registerUpstreams(program: Command): void {
  verb(program, 'upstreams', 'check that every upstream answers GET /v2/ through its CA, proxy and credentials').action(async (flags: GlobalFlags) => {
    // Before a first start too: without a server it opens (and so creates) the store the server would.
    const checks = await withTarget(flags, ({ ops }) => ops.upstreams(), { create: true });
    if (flags.json) printJson(checks);
    else process.stdout.write(formatUpstreams(checks));
    if (checks.some((c) => !c.ok)) process.exitCode = 1;
  });
}
