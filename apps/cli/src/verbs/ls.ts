/**
 * `regcache-admin ls [upstream/repo]`: the cached repositories with their tags, sizes and last
 * use; given a repository (or an upstream), its tags one per line.
 */
import type { Command } from 'commander';
import { formatBytes, type Inventory } from '@regcache/proxy-core';
import { verb } from '../command.js';
import { clip, formatTime, printJson, shortDigest } from '../format.js';
import { renderTable } from '../table.js';
import { withTarget, type GlobalFlags } from '../target.js';

function repositoriesTable(inventory: Inventory): string {
  const rows = inventory.repositories.map((r) => [
    r.name,
    clip(r.tags.map((t) => t.tag).join(', ') || '-', 40),
    String(r.blobs),
    formatBytes(r.sizeBytes),
    formatTime(r.lastUsed),
  ]);
  return renderTable(['repository', 'tags', 'blobs', 'size', 'last used'], rows, [2, 3]);
}

function tagsTable(inventory: Inventory): string {
  const rows = inventory.repositories.flatMap((r) =>
    r.tags.length === 0
      ? [[r.name, '-', '-', formatBytes(r.sizeBytes), formatTime(r.lastUsed), '-']]
      : r.tags.map((t) => [r.name, t.tag, shortDigest(t.digest), formatBytes(t.sizeBytes), formatTime(t.lastUsed), t.checkDue ? 'due' : formatTime(t.fetchedAt)]),
  );
  // "due": past its tagTtl (or expired) — the next pull asks the upstream; the time is then no longer the point.
  return renderTable(['repository', 'tag', 'manifest', 'size', 'last used', 'tag checked'], rows, [3]);
}

export function formatInventory(inventory: Inventory): string {
  if (inventory.repositories.length === 0) {
    return inventory.filter === null ? 'the cache is empty\n' : `no cached repository matches "${inventory.filter}"\n`;
  }
  return `${inventory.filter === null ? repositoriesTable(inventory) : tagsTable(inventory)}\n`;
}

export function registerLs(program: Command): void {
  verb(program, 'ls [repository]', 'cached repositories (or one repository’s tags, e.g. docker.io/library/alpine): sizes, last use').action(
    async (repository: string | undefined, flags: GlobalFlags) => {
      const inventory = await withTarget(flags, ({ ops }) => ops.inventory(repository));
      if (flags.json) printJson(inventory);
      else process.stdout.write(formatInventory(inventory));
    },
  );
}
