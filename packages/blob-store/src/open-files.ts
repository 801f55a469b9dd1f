/**
 * Committed blobs kept open between reads (nginx's open_file_cache): openBlob() of a hot blob
 * then costs no open, fstat and close — three trips through libuv's thread pool, a quarter of a
 * small blob hit's CPU on the bench machine (bench/NOTES.md, sixteenth session).
 *
 *   acquire(digest) ──▶ entry open? ── yes ─▶ refs++  ──▶ { fd, size, close: release }
 *                          │ no
 *                          └─▶ open + fstat (one per digest at a time), then as above
 *   release()  refs--; an entry that was forgotten meanwhile closes at its last release
 *   forget(digest) (delete, repair)  out of the cache; closed now, or at its last release
 *
 * Why sharing one descriptor is safe:
 * - Readers never move its file position: sendfile jobs dup it and send from explicit offsets,
 *   and the stream path opens its own descriptor. A descriptor is closed only once no reader
 *   holds it (refs), so its number cannot come to name another file under a reader.
 * - A blob's file is only ever replaced by a verified file of the same digest — the same bytes —
 *   so the inode an entry holds stays correct until the blob is deleted; delete() forgets the
 *   entry, so the space of a deleted blob is not held beyond its last reader.
 * - Bounded: at most `max` entries; past that the least recently acquired unheld ones are closed.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { Digest } from '@regcache/registry-protocol';
import { BlobNotFoundError, isNotFound } from './errors.js';
import type { OpenBlob } from './types.js';

export const OPEN_FILES_MAX = 64;

interface Entry {
  handle: FileHandle;
  size: number;
  refs: number;
  /** Out of the cache: close at the last release. */
  forgotten: boolean;
}

export interface OpenFiles {
  acquire(digest: Digest, path: string): Promise<OpenBlob>;
  forget(digest: Digest): void;
  /** Forgets every entry (a repair may have changed anything). */
  clear(): void;
  /** Open entries (tests, diagnostics). */
  size(): number;
}

async function openEntry(path: string, digest: Digest): Promise<Entry> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (isNotFound(error)) throw new BlobNotFoundError(digest, { cause: error });
    throw error;
  }
  try {
    const { size } = await handle.stat();
    return { handle, size, refs: 0, forgotten: false };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

const closeQuietly = (entry: Entry): void => void entry.handle.close().catch(() => undefined);

export function createOpenFiles(max = OPEN_FILES_MAX): OpenFiles {
  /** Insertion order is acquisition order: the first unheld entries are the ones to close. */
  const entries = new Map<Digest, Entry>();
  const opening = new Map<Digest, Promise<Entry>>();

  function trim(): void {
    for (const [digest, entry] of entries) {
      if (entries.size <= max) return;
      if (entry.refs > 0) continue;
      entries.delete(digest);
      closeQuietly(entry);
    }
  }

  function lend(digest: Digest, entry: Entry): OpenBlob {
    entry.refs += 1;
    // To the newest end: trim() closes from the oldest.
    entries.delete(digest);
    entries.set(digest, entry);
    let released = false;
    return {
      fd: entry.handle.fd,
      size: entry.size,
      close: async () => {
        if (released) return;
        released = true;
        entry.refs -= 1;
        if (entry.forgotten && entry.refs === 0) await entry.handle.close();
        else trim();
      },
    };
  }

  function forgetEntry(entry: Entry): void {
    entry.forgotten = true;
    if (entry.refs === 0) closeQuietly(entry);
  }

  function forget(digest: Digest): void {
    const entry = entries.get(digest);
    entries.delete(digest);
    if (entry !== undefined) forgetEntry(entry);
    // One being opened now is forgotten once it is in: a delete does not race an open into the cache.
    opening.get(digest)?.then(
      (opened) => {
        if (entries.get(digest) === opened) entries.delete(digest);
        forgetEntry(opened);
      },
      () => undefined,
    );
  }

  return {
    async acquire(digest, path) {
      const cached = entries.get(digest);
      if (cached !== undefined) return lend(digest, cached);
      let pending = opening.get(digest);
      if (pending === undefined) {
        pending = openEntry(path, digest).finally(() => opening.delete(digest));
        opening.set(digest, pending);
        const blob = lend(digest, await pending);
        trim();
        return blob;
      }
      const entry = await pending;
      // Forgotten while it was opening (a delete): the opener's entry is no longer in the cache.
      return entries.get(digest) === entry ? lend(digest, entry) : lend(digest, await openEntry(path, digest));
    },
    forget,
    clear() {
      for (const digest of new Set([...entries.keys(), ...opening.keys()])) forget(digest);
    },
    size: () => entries.size,
  };
}
